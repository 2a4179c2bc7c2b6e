//! Identifiers that name a tenant's apps and clients in KV keys, URLs, cookies and audit events,
//! and the SAML identifiers the IdP compares or hands back: entity IDs and session indexes.
//!
//! Each is a type whose every value has the identifier's shape: it is checked when the value is
//! made from request text, from a stored value or from a sealed cookie, and nowhere else. So a
//! loader that takes an [`AppId`] cannot be handed a path segment nobody checked, and a value of
//! one kind cannot be passed where the other is meant. Comparison is exact (case-sensitive).

/// Defines a checked text type: a `String` that `$accepts` accepts, made only through `parse` or
/// deserialization, read as `&str` (in keys, URLs and audit events). Also used beside the
/// protocols for values they check the same way (`saml::binding::RelayState`).
macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident, $accepts:path, $rule:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            #[doc = concat!("`id` as a value, if it is ", $rule, ".")]
            pub fn parse(id: &str) -> Option<Self> {
                $accepts(id).then(|| Self(id.to_owned()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(id: String) -> Result<Self, Self::Error> {
                if $accepts(&id) {
                    Ok(Self(id))
                } else {
                    Err(concat!("not ", $rule).to_owned())
                }
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

pub(crate) use identifier;

identifier!(
    /// The id of one of a tenant's SAML or bridge apps: the `{app}` of its KV key and its URLs.
    AppId,
    is_app_id,
    "an app id (1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit)"
);

identifier!(
    /// An OpenID Connect `client_id`: the `{client}` of its KV key.
    ClientId,
    is_client_id,
    "a client id (1 to 128 letters, digits, '.', '_' or '-')"
);

identifier!(
    /// A SAML entity ID, as an app's settings or an SP's metadata give it: an SP's is the
    /// `Issuer` its requests must carry, compared exactly.
    EntityId,
    is_entity_id,
    "an entity ID (1 to 1024 bytes, not only white space)"
);

identifier!(
    /// The `SessionIndex` the IdP put in an assertion, kept with the session so that a logout
    /// request to that SP names the same one.
    SessionIndex,
    is_session_index,
    "a session index (1 to 64 letters, digits, '_' or '-')"
);

impl SessionIndex {
    /// A new index: `_s` and the first 24 letters and digits of `random`.
    pub(crate) fn fresh(random: &str) -> Self {
        let tail: String = random
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(24)
            .collect();
        Self(format!("_s{tail}"))
    }
}

/// Whether `id` can be an entity ID: SAML allows up to 1024 characters, and a blank one
/// names nobody.
pub fn is_entity_id(id: &str) -> bool {
    !id.trim().is_empty() && id.len() <= 1024
}

fn is_session_index(index: &str) -> bool {
    (1..=64).contains(&index.len())
        && index
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

/// Whether `id` has the shape of the id of a tenant's SAML app or bridge app
/// (`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`).
pub fn is_app_id(id: &str) -> bool {
    let b = id.as_bytes();
    (1..=128).contains(&b.len())
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// Whether `id` has the shape of an OpenID Connect client id (`^[A-Za-z0-9._-]{1,128}$`).
pub fn is_client_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn an_app_id_is_made_only_from_an_id_an_app_can_have() {
        let id = AppId::parse("demo-sp.v2_1").unwrap();
        assert_eq!(&*id, "demo-sp.v2_1");
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""demo-sp.v2_1""#);
        assert_eq!(
            serde_json::from_str::<AppId>(r#""demo-sp.v2_1""#).unwrap(),
            id
        );
        let long = "a".repeat(129);
        for bad in ["", "-x", ".x", "a:b", "a/b", "a b", "é", &long] {
            assert_eq!(AppId::parse(bad), None, "{bad:?}");
            let json = serde_json::to_string(bad).unwrap();
            assert!(serde_json::from_str::<AppId>(&json).is_err(), "{bad:?}");
        }
        assert!(AppId::parse(&"a".repeat(128)).is_some());
    }

    #[test]
    fn a_client_id_is_made_only_from_an_id_a_client_can_have() {
        for good in ["portal", "-x", ".x", "A.b_c-9"] {
            let id = ClientId::parse(good).unwrap();
            assert_eq!(&*id, good);
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(serde_json::from_str::<ClientId>(&json).unwrap(), id);
        }
        let long = "a".repeat(129);
        for bad in ["", "a:b", "a/b", "a b", "é", "a\n", &long] {
            assert_eq!(ClientId::parse(bad), None, "{bad:?}");
            let json = serde_json::to_string(bad).unwrap();
            assert!(serde_json::from_str::<ClientId>(&json).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_entity_id_is_any_text_saml_allows_and_compares_exactly() {
        for good in [
            "urn:moodle",
            "https://sp.example/metadata",
            "x",
            &"e".repeat(1024),
        ] {
            let id = EntityId::parse(good).unwrap();
            assert_eq!(&*id, good);
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(serde_json::from_str::<EntityId>(&json).unwrap(), id);
        }
        let long = "e".repeat(1025);
        for bad in ["", " ", "\t\n", &long] {
            assert_eq!(EntityId::parse(bad), None, "{bad:?}");
            let json = serde_json::to_string(bad).unwrap();
            assert!(serde_json::from_str::<EntityId>(&json).is_err(), "{bad:?}");
        }
        assert_ne!(EntityId::parse("urn:Moodle"), EntityId::parse("urn:moodle"));
    }

    #[test]
    fn a_fresh_session_index_is_always_one_and_others_are_checked() {
        let fresh = SessionIndex::fresh("abcDEF0123456789abcdef0123456789");
        assert_eq!(&*fresh, "_sabcDEF0123456789abcdef01");
        // Whatever the random text holds, the index keeps the shape.
        let odd = SessionIndex::fresh("<\"é>");
        assert_eq!(&*odd, "_s");
        let json = serde_json::to_string(&odd).unwrap();
        assert_eq!(serde_json::from_str::<SessionIndex>(&json).unwrap(), odd);
        let long = "s".repeat(65);
        for bad in ["", "a b", "<x>", "a\"", &long] {
            assert_eq!(SessionIndex::parse(bad), None, "{bad:?}");
            let json = serde_json::to_string(bad).unwrap();
            assert!(
                serde_json::from_str::<SessionIndex>(&json).is_err(),
                "{bad:?}"
            );
        }
    }
}
