//! The local Spin store's file names: the lowercase hex of their key (`hex::encode`), as the
//! key-value provider writes them.

/// The key a file of the store holds; `None` for any other name. Upper case is refused although
/// hex allows it, so that a key has exactly one file name and a stray `686F…` copy is never read
/// as the key of `686f…`; an empty name or one that decodes to no text is no key either.
pub(super) fn unhex(name: &str) -> Option<String> {
    if name.is_empty() || name.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    String::from_utf8(hex::decode(name).ok()?).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// The hand-written decoder `unhex` replaced, kept to compare with.
    fn reference(name: &str) -> Option<String> {
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let raw = name.as_bytes();
        if raw.is_empty() || !raw.len().is_multiple_of(2) {
            return None;
        }
        let bytes = raw
            .chunks_exact(2)
            .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
            .collect::<Option<Vec<u8>>>()?;
        String::from_utf8(bytes).ok()
    }

    #[test]
    fn hex_of_a_key_and_back() {
        assert_eq!(hex::encode(b"host:a"), "686f73743a61");
        assert_eq!(hex::encode([0x00, 0xff, 0x10]), "00ff10");
        assert_eq!(unhex("686f73743a61").as_deref(), Some("host:a"));
        for key in ["host:a", "tenant:acme:saml:sp", "ü", "日本", "a\u{0}b"] {
            assert_eq!(unhex(&hex::encode(key)).as_deref(), Some(key), "{key}");
        }
        for bad in [
            "",
            "6",
            "686F",
            "6A",
            "ABCD",
            ".lock-6861",
            "zz",
            "ff",
            "c3",
            "+1",
            "0x61",
            " 61",
        ] {
            assert_eq!(unhex(bad), None, "{bad}");
        }
    }

    #[test]
    fn decodes_exactly_what_the_hand_written_decoder_did() {
        let ascii = (0u8..128).map(char::from);
        let mut names: Vec<String> = ascii.clone().map(String::from).collect();
        for a in ascii.clone() {
            for b in ascii.clone() {
                names.push(format!("{a}{b}"));
            }
        }
        names.extend(
            [
                "c3a9",
                "C3A9",
                "c3a",
                "e697a5e69cac",
                "e697a5e69c",
                "f09f9880",
                "eda080",
                "00",
            ]
            .map(String::from),
        );
        for name in names {
            assert_eq!(unhex(&name), reference(&name), "{name:?}");
        }
    }
}
