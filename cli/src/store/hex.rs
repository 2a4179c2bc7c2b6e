//! Lowercase hex: the local Spin store's file names, and digests elsewhere in the CLI.

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// The UTF-8 text whose lowercase hex is `name`; `None` for any other name.
pub(super) fn unhex(name: &str) -> Option<String> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let raw = name.as_bytes();
    if raw.is_empty() || raw.len() % 2 != 0 {
        return None;
    }
    let bytes = raw
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn hex_of_a_key_and_back() {
        assert_eq!(hex(b"host:a"), "686f73743a61");
        assert_eq!(hex(&[0x00, 0xff, 0x10]), "00ff10");
        assert_eq!(unhex("686f73743a61").as_deref(), Some("host:a"));
        for bad in ["", "6", "686F", ".lock-6861", "zz", "ff"] {
            assert_eq!(unhex(bad), None, "{bad}");
        }
    }
}
