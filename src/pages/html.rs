//! The page templates' escaper, and tenant texts filled with HTML.

use core::fmt;

use crate::http::{escape_pieces, html_entity, html_escape};

/// The templates' escaper (named in `askama.toml`): safe in element content and in quoted
/// attribute values.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Escaper;

impl askama::filters::Escaper for Escaper {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, text: &str) -> fmt::Result {
        escape_pieces(text, html_entity, |piece| dest.write_str(piece))
    }
}

/// `text` escaped, with each `{name}` replaced by its value, which is already HTML.
pub(crate) fn fill(text: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(html_escape(text), |out, (name, value)| {
        out.replace(&format!("{{{name}}}"), value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_text_is_escaped_and_only_its_placeholders_are_filled() {
        let hostile = "<img src=x onerror=alert(1)> {org} {app}";
        let html = fill(hostile, &[("org", "<b>Acme</b>")]);
        assert_eq!(html, "&lt;img src=x onerror=alert(1)&gt; <b>Acme</b> {app}");
    }

    #[test]
    fn the_template_escaper_escapes_as_the_code_does() {
        let text = "é<ü>&日本\"' plain";
        let mut out = String::new();
        askama::filters::Escaper::write_escaped_str(&Escaper, &mut out, text).unwrap_or_default();
        assert_eq!(out, html_escape(text));
    }
}
