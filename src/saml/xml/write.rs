//! The writer: an element tree serialized straight into its exclusive canonical form.

use super::ns_of;

/// The prefixes [`El::declare`] may force: our signatures name them in the exclusive c14n
/// transform's `InclusiveNamespaces PrefixList`, which makes a verifier keep them as we do.
pub(crate) const INCLUSIVE_PREFIXES: &str = "xs";

/// An element to write. `name` is a QName with one of the known prefixes (`samlp`, `saml`, `md`,
/// `ds`, `xs`, `xsi`, `ec`, `xenc`); attribute names are unqualified or use a known prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct El {
    name: &'static str,
    attrs: Vec<(&'static str, String)>,
    /// Prefixes declared here although not visibly used (they appear in attribute values, such as
    /// `xsi:type="xs:string"`); signatures list them in `InclusiveNamespaces`, so the canonical
    /// form keeps them too.
    declared: Vec<&'static str>,
    kids: Vec<Node>,
}

/// A child of an [`El`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    El(El),
    Text(String),
}

impl El {
    /// A new element.
    pub(crate) fn new(name: &'static str) -> Self {
        Self {
            name,
            attrs: Vec::new(),
            declared: Vec::new(),
            kids: Vec::new(),
        }
    }

    /// Declares `prefix` here even though no name uses it (see [`INCLUSIVE_PREFIXES`]).
    pub(crate) fn declare(mut self, prefix: &'static str) -> Self {
        self.declared.push(prefix);
        self
    }

    /// Adds an attribute.
    pub(crate) fn attr(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.attrs.push((name, value.into()));
        self
    }

    /// Adds an attribute when `value` is `Some`.
    pub(crate) fn attr_opt(self, name: &'static str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.attr(name, v),
            None => self,
        }
    }

    /// Adds a child element.
    pub(crate) fn child(mut self, e: El) -> Self {
        self.kids.push(Node::El(e));
        self
    }

    /// Adds a child element when `e` is `Some`.
    pub(crate) fn child_opt(self, e: Option<El>) -> Self {
        match e {
            Some(e) => self.child(e),
            None => self,
        }
    }

    /// Adds text content.
    pub(crate) fn text(mut self, t: impl Into<String>) -> Self {
        self.kids.push(Node::Text(t.into()));
        self
    }

    /// Inserts a child element at position `pos` among the children (clamped).
    pub(crate) fn insert(&mut self, pos: usize, e: El) {
        let pos = pos.min(self.kids.len());
        self.kids.insert(pos, Node::El(e));
    }

    /// The position of the first child element named `name` among all children.
    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.kids
            .iter()
            .position(|k| matches!(k, Node::El(e) if e.name == name))
    }

    /// The exclusive canonical form of this element as the apex of its own document.
    pub(crate) fn to_c14n(&self) -> String {
        let mut out = String::with_capacity(2048);
        self.write(&mut Vec::new(), &mut out);
        out
    }

    fn write(&self, scope: &mut Vec<(&'static str, &'static str)>, out: &mut String) {
        let prefix_of = |q: &'static str| q.split_once(':').map_or("", |(p, _)| p);
        // Visibly utilized prefixes: the element's own, then those of its prefixed attributes.
        let mut used: Vec<&'static str> = vec![prefix_of(self.name)];
        for p in self
            .attrs
            .iter()
            .map(|(k, _)| prefix_of(k))
            .chain(self.declared.iter().copied())
        {
            if !p.is_empty() && p != "xml" && !used.contains(&p) {
                used.push(p);
            }
        }
        let mut decls: Vec<(&'static str, &'static str)> = used
            .into_iter()
            .filter_map(|p| {
                let uri = ns_of(p);
                let rendered = scope.iter().rev().find(|(k, _)| *k == p).map(|(_, v)| *v);
                let needed = if p.is_empty() {
                    rendered.unwrap_or("") != uri
                } else {
                    rendered != Some(uri)
                };
                needed.then_some((p, uri))
            })
            .collect();
        decls.sort_by(|a, b| a.0.cmp(b.0));
        out.push('<');
        out.push_str(self.name);
        for (p, uri) in &decls {
            out.push_str(if p.is_empty() { " xmlns" } else { " xmlns:" });
            out.push_str(p);
            out.push_str("=\"");
            escape_attr(uri, out);
            out.push('"');
        }
        let mut attrs: Vec<(String, &'static str, &String)> = self
            .attrs
            .iter()
            .map(|(k, v)| {
                let key = match k.split_once(':') {
                    Some((p, local)) => format!("{}\u{0}{local}", ns_of(p)),
                    None => format!("\u{0}{k}"),
                };
                (key, *k, v)
            })
            .collect();
        attrs.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, k, v) in attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            escape_attr(v, out);
            out.push('"');
        }
        out.push('>');
        let depth = scope.len();
        scope.extend(decls);
        for kid in &self.kids {
            match kid {
                Node::Text(t) => escape_text(t, out),
                Node::El(e) => e.write(scope, out),
            }
        }
        scope.truncate(depth);
        out.push_str("</");
        out.push_str(self.name);
        out.push('>');
    }
}

/// Canonical escaping of text content: `& < > CR`.
fn escape_text(s: &str, out: &mut String) {
    crate::http::escape_into(s, out, |b| match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        b'\r' => Some("&#xD;"),
        _ => None,
    });
}

/// Canonical escaping of attribute values: `& < " TAB LF CR`.
fn escape_attr(s: &str, out: &mut String) {
    crate::http::escape_into(s, out, |b| match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'"' => Some("&quot;"),
        b'\t' => Some("&#x9;"),
        b'\n' => Some("&#xA;"),
        b'\r' => Some("&#xD;"),
        _ => None,
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn writes_exclusive_canonical_form() {
        let e = El::new("samlp:Response")
            .attr("Version", "2.0")
            .attr("ID", "_a")
            .child(El::new("saml:Issuer").text("x & <y> \"q\" 'a'\r"))
            .child(
                El::new("saml:Attribute").attr("Name", "a\"b<\t\n").child(
                    El::new("saml:AttributeValue")
                        .attr("xsi:type", "xs:string")
                        .text(""),
                ),
            );
        assert_eq!(
            e.to_c14n(),
            "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_a\" Version=\"2.0\">\
<saml:Issuer xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">x &amp; &lt;y&gt; \"q\" 'a'&#xD;</saml:Issuer>\
<saml:Attribute xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" Name=\"a&quot;b&lt;&#x9;&#xA;\">\
<saml:AttributeValue xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"xs:string\"></saml:AttributeValue>\
</saml:Attribute></samlp:Response>"
        );
    }
}
