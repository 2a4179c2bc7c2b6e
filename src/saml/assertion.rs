//! The Assertion: who the member is (NameID by the app's format), for whom (bearer subject
//! confirmation to the ACS, audience when configured), since when (AuthnStatement with the
//! SessionIndex), and what iMIS says about them (Profile IQA columns, Role IQA roles).

use super::config::{NameIdFormat, RoleFormat};
use super::time;
use super::xml::El;
use crate::access::{value_text, Profile};
use crate::ids::SessionIndex;
use crate::platform::Platform;
use crate::signin::SessionUser;

/// How long an Assertion may be used from its issue.
const LIFETIME_SECS: u64 = 300;
/// Allowance for the SP's clock running behind ours.
const NOT_BEFORE_SKEW_SECS: u64 = 60;

/// A NameID as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NameId {
    pub(crate) value: String,
    /// The format URI.
    pub(crate) format: &'static str,
}

/// Why no NameID can be made for the member.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NameIdError {
    /// The member has no email and the app wants emails.
    #[error("the member has no email address in iMIS")]
    NoEmail,
    /// The member has no contact key and the app wants persistent NameIDs.
    #[error("the member has no contact key in iMIS")]
    NoContactKey,
}

/// The member's NameID in `format` (transient: fresh random 16 alphanumerics).
pub(crate) fn name_id(
    platform: &impl Platform,
    user: &SessionUser,
    format: NameIdFormat,
) -> Result<NameId, NameIdError> {
    let value = match format {
        NameIdFormat::Username => user.username.clone(),
        NameIdFormat::ImisId => user.imis_id.clone(),
        NameIdFormat::Email => user
            .email
            .clone()
            .filter(|e| !e.is_empty())
            .ok_or(NameIdError::NoEmail)?,
        NameIdFormat::Persistent => user
            .contact_key
            .clone()
            .filter(|k| !k.is_empty())
            .ok_or(NameIdError::NoContactKey)?,
        NameIdFormat::Transient => random_alnum(platform, 16),
    };
    Ok(NameId {
        value,
        format: format.uri(),
    })
}

/// `len` random characters from `[A-Za-z0-9]` (rejection sampling: no modulo bias).
pub(crate) fn random_alnum(platform: &impl Platform, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 32];
    while out.len() < len {
        platform.random(&mut buf);
        for b in buf {
            // 248 = 4 * 62: bytes at or above it would favour the first characters.
            match ALPHABET.get(usize::from(b) % 62) {
                Some(&c) if b < 248 && out.len() < len => out.push(char::from(c)),
                _ => {}
            }
        }
    }
    out
}

/// The attributes sent: each Profile IQA column with a value, then `roles`.
pub(crate) fn attributes(profile: &Profile, role_format: RoleFormat) -> Vec<(String, Vec<String>)> {
    let mut attrs: Vec<(String, Vec<String>)> = profile
        .columns
        .iter()
        .filter_map(|(name, v)| Some((name.clone(), vec![value_text(v)?])))
        .collect();
    if !profile.roles.is_empty() {
        let values = match role_format {
            RoleFormat::Separate => profile.roles.clone(),
            RoleFormat::CommaSeparated => vec![profile.roles.join(",")],
        };
        attrs.push(("roles".into(), values));
    }
    attrs
}

/// Everything an Assertion states.
#[derive(Debug, Clone)]
pub(crate) struct AssertionContent<'a> {
    /// Assertion ID.
    pub(crate) id: &'a str,
    /// IdP entity ID.
    pub(crate) issuer: &'a str,
    /// Now (seconds).
    pub(crate) now: u64,
    /// Subject.
    pub(crate) name_id: &'a NameId,
    /// The SP's entity ID (SPNameQualifier of persistent and transient NameIDs).
    pub(crate) sp_entity_id: &'a str,
    /// The ACS the Response goes to (Recipient).
    pub(crate) recipient: &'a str,
    /// The AuthnRequest answered, if any.
    pub(crate) in_response_to: Option<&'a str>,
    /// The Audience of the AudienceRestriction: the app's configured audience, else the SP's
    /// entity ID. Bearer assertions must name their audience (SAML profiles §4.1.4.2), so one
    /// SP cannot replay an assertion made for another.
    pub(crate) audience: &'a str,
    /// When the member signed in (seconds).
    pub(crate) authn_instant: u64,
    /// SessionIndex (for Single Logout).
    pub(crate) session_index: &'a SessionIndex,
    /// When the IdP session ends (seconds).
    pub(crate) session_not_on_or_after: u64,
    pub(crate) attributes: &'a [(String, Vec<String>)],
}

/// The unsigned Assertion.
pub(crate) fn build(c: &AssertionContent<'_>) -> El {
    let now = time::format(c.now);
    let expires = time::format(c.now + LIFETIME_SECS);
    let qualified = matches!(
        c.name_id.format,
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
            | "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
    );
    let subject = El::new("saml:Subject")
        .child(
            El::new("saml:NameID")
                .attr("Format", c.name_id.format)
                .attr_opt("SPNameQualifier", qualified.then_some(c.sp_entity_id))
                .text(c.name_id.value.as_str()),
        )
        .child(
            El::new("saml:SubjectConfirmation")
                .attr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
                .child(
                    El::new("saml:SubjectConfirmationData")
                        .attr_opt("InResponseTo", c.in_response_to)
                        .attr("NotOnOrAfter", expires.as_str())
                        .attr("Recipient", c.recipient),
                ),
        );
    let conditions = El::new("saml:Conditions")
        .attr(
            "NotBefore",
            time::format(c.now.saturating_sub(NOT_BEFORE_SKEW_SECS)),
        )
        .attr("NotOnOrAfter", expires.as_str())
        .child(
            El::new("saml:AudienceRestriction").child(El::new("saml:Audience").text(c.audience)),
        );
    let authn = El::new("saml:AuthnStatement")
        .attr("AuthnInstant", time::format(c.authn_instant))
        .attr("SessionIndex", c.session_index.as_str())
        .attr(
            "SessionNotOnOrAfter",
            time::format(c.session_not_on_or_after),
        )
        .child(
            El::new("saml:AuthnContext").child(
                El::new("saml:AuthnContextClassRef")
                    .text("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"),
            ),
        );
    let attributes = (!c.attributes.is_empty()).then(|| {
        c.attributes
            .iter()
            .fold(El::new("saml:AttributeStatement"), |st, (name, values)| {
                st.child(values.iter().fold(
                    El::new("saml:Attribute").attr("Name", name.as_str()).attr(
                        "NameFormat",
                        "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
                    ),
                    |a, v| {
                        a.child(
                            El::new("saml:AttributeValue")
                                .declare("xs")
                                .attr("xsi:type", "xs:string")
                                .text(v.as_str()),
                        )
                    },
                ))
            })
    });
    El::new("saml:Assertion")
        .attr("ID", c.id)
        .attr("IssueInstant", now)
        .attr("Version", "2.0")
        .child(El::new("saml:Issuer").text(c.issuer))
        .child(subject)
        .child(conditions)
        .child(authn)
        .child_opt(attributes)
}
