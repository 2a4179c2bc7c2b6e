//! XML for SAML, both ways.
//!
//! **Writing**: a tiny element tree whose serializer emits Exclusive XML Canonicalization 1.0
//! (without comments) directly, so the bytes we send are the bytes we digest and sign — no c14n
//! engine. The rules (each one, broken alone, made xmlsec1 reject the signature; see
//! `docs/xml-signing.md`): a namespace is declared only on elements where it is visibly
//! used and not already declared by an output ancestor; namespace declarations first (default,
//! then by prefix), attributes sorted (unqualified first, then by namespace URI and local name);
//! canonical escaping; empty elements as `<x></x>`; no XML declaration, no whitespace.
//!
//! **Reading**: incoming messages are parsed with quick-xml into a small namespace-resolved
//! tree, refusing a DOCTYPE (so no entity can be declared, let alone expanded), comments and
//! processing instructions inside the document, unknown entities, duplicate `ID` attributes,
//! deep nesting and oversized documents.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// SAML 2.0 protocol namespace.
pub const NS_SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// SAML 2.0 assertion namespace.
pub const NS_SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// SAML 2.0 metadata namespace.
pub const NS_MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// XML-DSig namespace.
pub const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// XML Schema namespace (attribute value types).
pub const NS_XS: &str = "http://www.w3.org/2001/XMLSchema";
/// XML Schema instance namespace (`xsi:type`).
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// Exclusive c14n namespace (`ec:InclusiveNamespaces`).
pub const NS_EC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// Largest XML document we parse (after base64 decoding and inflating).
pub const MAX_XML_BYTES: usize = 128 * 1024;
/// Deepest element nesting we accept.
const MAX_DEPTH: usize = 24;
/// Most elements we accept in one document.
const MAX_ELEMENTS: usize = 2000;

/// The prefixes the writer knows, with their namespaces.
fn ns_of(prefix: &str) -> &'static str {
    match prefix {
        "samlp" => NS_SAMLP,
        "saml" => NS_SAML,
        "md" => NS_MD,
        "ds" => NS_DS,
        "xs" => NS_XS,
        "xsi" => NS_XSI,
        "ec" => NS_EC,
        _ => "",
    }
}

// ------------------------------------------------------------------------------------- writing

/// The prefixes [`El::declare`] may force: our signatures name them in the exclusive c14n
/// transform's `InclusiveNamespaces PrefixList`, which makes a verifier keep them as we do.
pub const INCLUSIVE_PREFIXES: &str = "xs";

/// An element to write. `name` is a QName with one of the known prefixes (`samlp`, `saml`, `md`,
/// `ds`, `xs`, `xsi`, `ec`); attribute names are unqualified or use a known prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct El {
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
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            attrs: Vec::new(),
            declared: Vec::new(),
            kids: Vec::new(),
        }
    }

    /// Declares `prefix` here even though no name uses it (see [`INCLUSIVE_PREFIXES`]).
    pub fn declare(mut self, prefix: &'static str) -> Self {
        self.declared.push(prefix);
        self
    }

    /// Adds an attribute.
    pub fn attr(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.attrs.push((name, value.into()));
        self
    }

    /// Adds an attribute when `value` is `Some`.
    pub fn attr_opt(self, name: &'static str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.attr(name, v),
            None => self,
        }
    }

    /// Adds a child element.
    pub fn child(mut self, e: El) -> Self {
        self.kids.push(Node::El(e));
        self
    }

    /// Adds a child element when `e` is `Some`.
    pub fn child_opt(self, e: Option<El>) -> Self {
        match e {
            Some(e) => self.child(e),
            None => self,
        }
    }

    /// Adds text content.
    pub fn text(mut self, t: impl Into<String>) -> Self {
        self.kids.push(Node::Text(t.into()));
        self
    }

    /// Inserts a child element at position `pos` among the children (clamped).
    pub fn insert(&mut self, pos: usize, e: El) {
        let pos = pos.min(self.kids.len());
        self.kids.insert(pos, Node::El(e));
    }

    /// The first child element named `name`, mutably.
    pub fn child_mut(&mut self, name: &str) -> Option<&mut El> {
        self.kids.iter_mut().find_map(|k| match k {
            Node::El(e) if e.name == name => Some(e),
            _ => None,
        })
    }

    /// The position of the first child element named `name` among all children.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.kids
            .iter()
            .position(|k| matches!(k, Node::El(e) if e.name == name))
    }

    /// The exclusive canonical form of this element as the apex of its own document.
    pub fn to_c14n(&self) -> String {
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

// ------------------------------------------------------------------------------------- reading

/// Why an incoming document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Larger than [`MAX_XML_BYTES`].
    #[error("the XML document is too large")]
    TooLarge,
    /// A DOCTYPE declaration (entities could be declared there).
    #[error("the XML document has a DOCTYPE, which is not allowed")]
    Doctype,
    /// A comment or processing instruction inside the document element.
    #[error("the XML document has a comment or processing instruction inside it")]
    Comment,
    /// Too deep or too many elements.
    #[error("the XML document is nested too deeply or has too many elements")]
    TooComplex,
    /// Two elements carry the same `ID`.
    #[error("the XML document has a duplicate ID")]
    DuplicateId,
    /// A prefix without a namespace declaration.
    #[error("the XML document uses an undeclared namespace prefix")]
    UndeclaredPrefix,
    /// Not well-formed.
    #[error("the XML document is not well-formed: {0}")]
    Malformed(String),
}

/// An element of an incoming document, with namespaces resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Namespace URI (empty for none).
    pub ns: String,
    /// Local name.
    pub local: String,
    /// Attributes: (namespace URI, local name, value). Namespace declarations are not listed.
    pub attrs: Vec<(String, String, String)>,
    /// Child elements, in order.
    pub children: Vec<Element>,
    /// The element's own text (concatenated text and CDATA children).
    pub text: String,
}

impl Element {
    /// Whether this element is `{ns}local`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns == ns && self.local == local
    }

    /// An unqualified attribute's value.
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(ns, l, _)| ns.is_empty() && l == local)
            .map(|(_, _, v)| v.as_str())
    }

    /// A namespaced attribute's value.
    pub fn attr_ns(&self, ns: &str, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, l, _)| n == ns && l == local)
            .map(|(_, _, v)| v.as_str())
    }

    /// The first child `{ns}local`.
    pub fn child(&self, ns: &str, local: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, local))
    }

    /// Every child `{ns}local`.
    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, local))
    }

    /// The text of the first child `{ns}local`, without leading and trailing XML whitespace.
    /// `None` when that child holds elements: a signature covers all of its text, so reading
    /// only its own text would read less than what was signed.
    pub fn child_text(&self, ns: &str, local: &str) -> Option<&str> {
        self.child(ns, local)
            .filter(|c| c.children.is_empty())
            .map(|c| c.text.trim_matches(is_xml_space))
    }
}

/// XML's whitespace (`S`): not every Unicode space, or a no-break space around an entity ID
/// would be trimmed away although it was signed.
fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Parses an incoming document into its root element.
///
/// Reads what an XML processor (and so the signature verifier) reads: line ends are normalized
/// (XML 1.0 §2.11: `\r\n` and `\r` become `\n` before parsing) and attribute values too (§3.3.3:
/// literal tabs and newlines become spaces; character references are kept).
pub fn parse(xml: &[u8]) -> Result<Element, XmlError> {
    if xml.len() > MAX_XML_BYTES {
        return Err(XmlError::TooLarge);
    }
    let text = std::str::from_utf8(xml).map_err(|_| XmlError::Malformed("not UTF-8".into()))?;
    let normalized;
    let text = if text.contains('\r') {
        normalized = text.replace("\r\n", "\n").replace('\r', "\n");
        normalized.as_str()
    } else {
        text
    };
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let malformed = |e: &dyn std::fmt::Display| XmlError::Malformed(e.to_string());

    // Open elements, and the namespace declarations in scope (prefix, uri) with the depth they
    // were declared at.
    let mut stack: Vec<Element> = Vec::new();
    let mut scopes: Vec<(usize, String, String)> = Vec::new();
    let mut root: Option<Element> = None;
    let mut ids: Vec<String> = Vec::new();
    let mut count = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| malformed(&e))?;
        match event {
            Event::DocType(_) => return Err(XmlError::Doctype),
            // Only at the very start of the document.
            Event::Decl(_) if count > 0 || !stack.is_empty() => {
                return Err(XmlError::Malformed(
                    "an XML declaration inside the document".into(),
                ))
            }
            Event::Decl(_) => {}
            Event::Comment(_) | Event::PI(_) if !stack.is_empty() => return Err(XmlError::Comment),
            Event::Comment(_) | Event::PI(_) => {}
            Event::Start(ref e) | Event::Empty(ref e) => {
                if root.is_some() {
                    return Err(XmlError::Malformed("content after the root element".into()));
                }
                count += 1;
                if count > MAX_ELEMENTS || stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooComplex);
                }
                let depth = stack.len();
                let el = open_element(e, depth, &mut scopes, &mut ids)?;
                if matches!(event, Event::Start(_)) {
                    stack.push(el);
                } else {
                    scopes.retain(|(d, _, _)| *d < depth + 1);
                    close(el, &mut stack, &mut root);
                }
            }
            Event::End(_) => {
                let depth = stack.len();
                scopes.retain(|(d, _, _)| *d < depth);
                let el = stack
                    .pop()
                    .ok_or_else(|| XmlError::Malformed("unbalanced end tag".into()))?;
                close(el, &mut stack, &mut root);
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(|e| malformed(&e))?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err(XmlError::Malformed("text outside the root".into())),
                }
            }
            Event::CData(c) => {
                let s = std::str::from_utf8(&c).map_err(|e| malformed(&e))?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(s),
                    None => return Err(XmlError::Malformed("CDATA outside the root".into())),
                }
            }
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Malformed("unclosed element".into()));
    }
    root.ok_or_else(|| XmlError::Malformed("no root element".into()))
}

fn close(el: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

fn open_element(
    e: &BytesStart<'_>,
    depth: usize,
    scopes: &mut Vec<(usize, String, String)>,
    ids: &mut Vec<String>,
) -> Result<Element, XmlError> {
    let malformed = |e: &dyn std::fmt::Display| XmlError::Malformed(e.to_string());
    let mut raw_attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| malformed(&e))?;
        let key = std::str::from_utf8(a.key.as_ref())
            .map_err(|e| malformed(&e))?
            .to_string();
        let raw = std::str::from_utf8(&a.value).map_err(|e| malformed(&e))?;
        let raw = raw.replace(['\t', '\n'], " ");
        let value = quick_xml::escape::unescape(&raw)
            .map_err(|e| malformed(&e))?
            .into_owned();
        if key == "xmlns" {
            scopes.push((depth + 1, String::new(), value));
        } else if let Some(p) = key.strip_prefix("xmlns:") {
            scopes.push((depth + 1, p.to_string(), value));
        } else {
            raw_attrs.push((key, value));
        }
    }
    let resolve = |prefix: &str| -> Option<String> {
        match prefix {
            "xml" => Some("http://www.w3.org/XML/1998/namespace".into()),
            p => scopes
                .iter()
                .rev()
                .find(|(_, k, _)| k == p)
                .map(|(_, _, v)| v.clone()),
        }
    };
    let qname = std::str::from_utf8(e.name().as_ref())
        .map_err(|e| malformed(&e))?
        .to_string();
    let (ns, local) = match qname.split_once(':') {
        Some((p, l)) => (resolve(p).ok_or(XmlError::UndeclaredPrefix)?, l.to_string()),
        None => (resolve("").unwrap_or_default(), qname.clone()),
    };
    let mut attrs = Vec::with_capacity(raw_attrs.len());
    for (key, value) in raw_attrs {
        let (ans, alocal) = match key.split_once(':') {
            Some((p, l)) => (resolve(p).ok_or(XmlError::UndeclaredPrefix)?, l.to_string()),
            None => (String::new(), key),
        };
        if ans.is_empty() && matches!(alocal.as_str(), "ID" | "Id" | "id") {
            if ids.contains(&value) {
                return Err(XmlError::DuplicateId);
            }
            ids.push(value.clone());
        }
        attrs.push((ans, alocal, value));
    }
    Ok(Element {
        ns,
        local,
        attrs,
        children: Vec::new(),
        text: String::new(),
    })
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

    #[test]
    fn parses_with_namespaces() {
        let doc = br#"<?xml version="1.0"?>
<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_1" Version="2.0">
  <saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"> https://sp &amp; co </saml:Issuer>
  <samlp:NameIDPolicy Format="f"/>
</samlp:AuthnRequest>"#;
        let root = parse(doc).unwrap();
        assert!(root.is(NS_SAMLP, "AuthnRequest"));
        assert_eq!(root.attr("ID"), Some("_1"));
        assert_eq!(root.child_text(NS_SAML, "Issuer"), Some("https://sp & co"));
        assert_eq!(
            root.child(NS_SAMLP, "NameIDPolicy").unwrap().attr("Format"),
            Some("f")
        );
    }

    #[test]
    fn reads_text_and_attributes_as_an_xml_processor_does() {
        let doc = "<x a=\"1\t2\r\n3&#9;4&#10;\"><y>j\r\nsmith&#13;x</y><z>\u{a0}e\u{a0}</z><w>a<v/>b</w></x>";
        let root = parse(doc.as_bytes()).unwrap();
        assert_eq!(root.attr("a"), Some("1 2 3\t4\n"));
        assert_eq!(root.child_text("", "y"), Some("j\nsmith\rx"));
        assert_eq!(root.child_text("", "z"), Some("\u{a0}e\u{a0}"));
        assert_eq!(root.child_text("", "w"), None, "text with elements inside");
    }

    #[test]
    fn refuses_hostile_documents() {
        let doctype = br#"<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>"#;
        assert_eq!(parse(doctype), Err(XmlError::Doctype));
        assert!(matches!(parse(b"<x>&a;</x>"), Err(XmlError::Malformed(_))));
        assert_eq!(parse(b"<x>a<!-- c -->b</x>"), Err(XmlError::Comment));
        assert_eq!(
            parse(br#"<x><y ID="a"/><z ID="a"/></x>"#),
            Err(XmlError::DuplicateId)
        );
        assert_eq!(parse(b"<p:x/>"), Err(XmlError::UndeclaredPrefix));
        assert!(parse(b"<x><?xml version=\"1.0\"?></x>").is_err());
        let deep = "<a>".repeat(30) + &"</a>".repeat(30);
        assert_eq!(parse(deep.as_bytes()), Err(XmlError::TooComplex));
        assert!(parse(b"<x></y>").is_err());
        assert!(parse(b"<x/><y/>").is_err());
        assert_eq!(
            parse(&vec![b' '; MAX_XML_BYTES + 1]),
            Err(XmlError::TooLarge)
        );
    }
}
