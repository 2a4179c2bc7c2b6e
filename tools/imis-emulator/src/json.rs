//! A tiny ordered JSON value used for responses, so that `$type` comes first and
//! properties appear in the order iMIS writes them (serde_json's default map is sorted).

use serde_json::Value;

/// Ordered JSON.
#[derive(Clone, Debug)]
pub enum J {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<J>),
    /// An object with ordered keys.
    Obj(Vec<(String, J)>),
    /// A serde_json value written as is (numbers, fixture values).
    Val(Value),
}

impl J {
    /// Build an object from `(key, value)` pairs.
    pub fn obj(fields: Vec<(&str, J)>) -> J {
        J::Obj(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    /// A string value.
    pub fn s(x: impl Into<String>) -> J {
        J::Str(x.into())
    }

    /// Serialize compactly.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Int(i) => out.push_str(&i.to_string()),
            J::Str(s) => write_str(out, s),
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            J::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
            J::Val(v) => match serde_json::to_string(v) {
                Ok(s) => out.push_str(&s),
                Err(_) => out.push_str("null"),
            },
        }
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keeps_order_and_escapes() {
        let j = J::obj(vec![
            ("z", J::Int(1)),
            ("$type", J::s("a\"b\\c\n\u{1}")),
            ("n", J::Null),
            ("v", J::Val(serde_json::json!(1.5))),
            ("a", J::Arr(vec![J::Bool(true), J::Bool(false)])),
        ]);
        let text = j.render();
        assert_eq!(
            text,
            r#"{"z":1,"$type":"a\"b\\c\n\u0001","n":null,"v":1.5,"a":[true,false]}"#
        );
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["$type"], "a\"b\\c\n\u{1}");
    }
}
