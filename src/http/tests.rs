use super::*;

/// The hand-written codec the crates replaced, kept to compare with.
mod reference {
    pub(crate) fn parse_urlencoded(input: &str) -> Vec<(String, String)> {
        input
            .split('&')
            .filter(|part| !part.is_empty())
            .map(|part| {
                let (k, v) = part.split_once('=').unwrap_or((part, ""));
                (percent_decode(k, true), percent_decode(v, true))
            })
            .collect()
    }

    pub(crate) fn percent_decode(input: &str, plus_as_space: bool) -> String {
        let mut out = Vec::with_capacity(input.len());
        let mut rest = input.as_bytes();
        while let Some((&b, tail)) = rest.split_first() {
            rest = tail;
            match b {
                b'+' if plus_as_space => out.push(b' '),
                b'%' => match tail {
                    [h, l, after @ ..] => match (hex_val(*h), hex_val(*l)) {
                        (Some(h), Some(l)) => {
                            out.push(h << 4 | l);
                            rest = after;
                        }
                        _ => out.push(b'%'),
                    },
                    _ => out.push(b'%'),
                },
                b => out.push(b),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn hex_val(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }

    /// On bytes rather than text, so that every byte value can be compared.
    pub(crate) fn percent_encode(input: &[u8]) -> String {
        let mut out = String::with_capacity(input.len() * 3 / 2);
        for &b in input {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(b as char)
                }
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }
}

/// Every string of up to `len` symbols from `alphabet`.
fn strings_over(alphabet: &[&str], len: usize) -> Vec<String> {
    let mut all = vec![String::new()];
    let mut last = vec![String::new()];
    for _ in 0..len {
        last = last
            .iter()
            .flat_map(|s| alphabet.iter().map(move |a| format!("{s}{a}")))
            .collect();
        all.extend(last.iter().cloned());
    }
    all
}

#[test]
fn encodes_every_byte_as_the_hand_written_encoder_did() {
    for b in 0..=u8::MAX {
        assert_eq!(
            percent_encoding::percent_encode(&[b], ESCAPED).to_string(),
            reference::percent_encode(&[b]),
            "byte {b:#04x}"
        );
    }
    let every_char = (0..=0x10ffff_u32).step_by(37).chain(0..0x800);
    for c in every_char.filter_map(char::from_u32) {
        let s = format!("a{c}~{c}");
        assert_eq!(
            percent_encode(&s),
            reference::percent_encode(s.as_bytes()),
            "{c:?}"
        );
    }
    assert_eq!(percent_encode("a b*+~/é"), "a%20b%2A%2B~%2F%C3%A9");
    assert_eq!(percent_encode(""), "");
}

#[test]
fn decodes_as_the_hand_written_decoder_did() {
    for s in [
        "",
        "%",
        "%4",
        "%zz",
        "%%41",
        "+",
        "%ff",
        "%FF%fe",
        "%C3%A9",
        "%c3%a9",
        "%C3",
        "é",
        "%E6%97%A5%E6%9C%AC",
        "%E6%97",
        "%ED%A0%80",
        "%F0%9F%98%80",
        "a+b%2Bc",
        "%+1",
        "%4+",
        "%%",
        "%%%",
        "100%",
        "%41%4",
        "%€1",
        "%4€",
        "%\u{0}0",
        "%g0",
        "%0g",
        "%-1",
        "%+F",
        "%20%2",
        "%2B+%2b",
        "%00",
        "%7F%80",
    ] {
        for plus in [false, true] {
            assert_eq!(
                percent_decode(s, plus),
                reference::percent_decode(s, plus),
                "{s:?} {plus}"
            );
        }
    }
    assert_eq!(percent_decode("%ff", false), "\u{fffd}");
    assert_eq!(percent_decode("%%41", false), "%A");
    assert_eq!(percent_decode("a+b%2B", true), "a b+");
    assert_eq!(percent_decode("a+b%2B", false), "a+b+");
    // Short strings of the symbols that matter, exhaustively.
    let symbols = ["%", "+", "4", "1", "f", "F", "z", "&", "=", "é", "\u{0}"];
    for s in strings_over(&symbols, 4) {
        for plus in [false, true] {
            assert_eq!(
                percent_decode(&s, plus),
                reference::percent_decode(&s, plus),
                "{s:?}"
            );
        }
        assert_eq!(
            parse_urlencoded(&s),
            reference::parse_urlencoded(&s),
            "{s:?}"
        );
    }
}

#[test]
fn splits_pairs_as_the_hand_written_parser_did() {
    for s in [
        "",
        "&",
        "&&a",
        "=",
        "==",
        "a==b",
        "a=1&a=2",
        "+=+",
        "%3D=%26",
        "a&b=",
        ";",
        "a;b=c",
        "a=%zz&b=%ff",
        "=x",
        "a=1&&b=2&",
        "%26=%3D&x",
        "a%=%",
        "a=b=c&d",
        "é=ü&%C3%A9=%",
    ] {
        assert_eq!(parse_urlencoded(s), reference::parse_urlencoded(s), "{s:?}");
    }
}

#[test]
fn a_raw_invalid_byte_in_a_form_body_stays_apart_from_escapes_after_it() {
    let mut req = Request::new(HttpMethod::Post, "a.example", "/");
    // 0xC3 followed by an escaped 0xA9 would be `é` if the body were decoded as bytes.
    req.body = b"k=\xC3%A9&x=\xFF+1".to_vec();
    assert_eq!(
        req.form(),
        vec![
            ("k".into(), "\u{fffd}\u{fffd}".into()),
            ("x".into(), "\u{fffd} 1".into()),
        ]
    );
    assert_eq!(
        req.form(),
        reference::parse_urlencoded(&String::from_utf8_lossy(&req.body))
    );
}

#[test]
fn decodes_forms_and_queries() {
    let pairs = parse_urlencoded("a=1&b=hello+world&c=%24%2FPath%20x&d&e=%zz");
    assert_eq!(
        pairs,
        vec![
            ("a".into(), "1".into()),
            ("b".into(), "hello world".into()),
            ("c".into(), "$/Path x".into()),
            ("d".into(), "".into()),
            ("e".into(), "%zz".into()),
        ]
    );
    assert_eq!(percent_decode("100%", false), "100%");
    assert_eq!(percent_decode("%41%4", false), "A%4");
    for (url, origin) in [
        (
            "https://Members.Acme.org:443/iMIS/",
            Some("https://members.acme.org"),
        ),
        ("http://127.0.0.1:8790/acme", Some("http://127.0.0.1:8790")),
        ("HTTPS://x.example:8443?q", Some("https://x.example:8443")),
        ("https://user@evil.example/", None),
        ("https://a;b.example/", None),
        ("javascript://x.example/", None),
        ("null", None),
    ] {
        assert_eq!(origin_of(url).as_deref(), origin, "{url}");
    }
    assert_eq!(percent_decode("%€1", false), "%€1");
    assert_eq!(percent_decode("%4", false), "%4");
}

#[test]
fn encodes_round_trip() {
    let s = "$/EdgeIdP/Profile & more=ü";
    assert_eq!(percent_decode(&percent_encode(s), true), s);
    assert_eq!(
        encode_form(&[("grant_type", "password"), ("u", "a b")]),
        "grant_type=password&u=a%20b"
    );
}

#[test]
fn splits_authorities() {
    assert_eq!(
        split_authority("Acme.Localhost:8787"),
        ("acme.localhost".into(), Some(8787))
    );
    assert_eq!(
        split_authority("sso.example.org."),
        ("sso.example.org".into(), None)
    );
    assert_eq!(split_authority("[::1]:3000"), ("[::1]".into(), Some(3000)));
}

#[test]
fn escapes_html() {
    assert_eq!(
        html_escape("<a href=\"x\">'&'</a>"),
        "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
    );
    // Runs of other characters, multi-byte ones included, are copied unchanged.
    assert_eq!(html_escape("Ünïcødé"), "Ünïcødé");
    assert_eq!(
        html_escape("é<ü>&日本\"'"),
        "é&lt;ü&gt;&amp;日本&quot;&#39;"
    );
    assert_eq!(html_escape(""), "");
    assert_eq!(html_escape("&"), "&amp;");
    assert_eq!(html_escape("a&"), "a&amp;");
}
