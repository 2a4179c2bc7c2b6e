//! The reader: incoming documents into a namespace-resolved tree, refusing what an attacker could
//! use against the parser or the signature check.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::MAX_XML_BYTES;

/// Deepest element nesting we accept.
const MAX_DEPTH: usize = 24;
/// Most elements we accept in one document.
const MAX_ELEMENTS: usize = 2000;

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
    pub(crate) ns: String,
    /// Local name.
    pub(crate) local: String,
    /// Attributes: (namespace URI, local name, value). Namespace declarations are not listed.
    attrs: Vec<(String, String, String)>,
    /// Child elements, in order.
    pub children: Vec<Element>,
    /// The element's own text (concatenated text and CDATA children).
    pub(crate) text: String,
}

impl Element {
    /// Whether this element is `{ns}local`.
    pub(crate) fn is(&self, ns: &str, local: &str) -> bool {
        self.ns == ns && self.local == local
    }

    /// An unqualified attribute's value.
    pub(crate) fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(ns, l, _)| ns.is_empty() && l == local)
            .map(|(_, _, v)| v.as_str())
    }

    /// The first child `{ns}local`.
    pub(crate) fn child(&self, ns: &str, local: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, local))
    }

    /// Every child `{ns}local`.
    pub(crate) fn children_named<'a>(
        &'a self,
        ns: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, local))
    }

    /// The text of the first child `{ns}local`, without leading and trailing XML whitespace.
    /// `None` when that child holds elements: a signature covers all of its text, so reading
    /// only its own text would read less than what was signed.
    pub(crate) fn child_text(&self, ns: &str, local: &str) -> Option<&str> {
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
    let mut tree = Tree::default();
    loop {
        match reader.read_event().map_err(|e| malformed(&e))? {
            Event::Eof => break,
            event => tree.take(event)?,
        }
    }
    tree.finish()
}

fn malformed(e: &dyn std::fmt::Display) -> XmlError {
    XmlError::Malformed(e.to_string())
}

/// The document read so far.
#[derive(Default)]
struct Tree {
    /// Open elements, outermost first.
    stack: Vec<Element>,
    /// Namespace declarations in scope (depth declared at, prefix, uri).
    scopes: Vec<(usize, String, String)>,
    root: Option<Element>,
    /// Every `ID` seen, to refuse a second element with the same one.
    ids: Vec<String>,
    /// Elements opened so far.
    count: usize,
}

impl Tree {
    /// Takes one event (the reader's end of input is the caller's).
    fn take(&mut self, event: Event<'_>) -> Result<(), XmlError> {
        match event {
            Event::DocType(_) => Err(XmlError::Doctype),
            // Only at the very start of the document.
            Event::Decl(_) if self.count > 0 || !self.stack.is_empty() => Err(XmlError::Malformed(
                "an XML declaration inside the document".into(),
            )),
            Event::Comment(_) | Event::PI(_) if !self.stack.is_empty() => Err(XmlError::Comment),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::Eof => Ok(()),
            Event::Start(ref e) => self.open(e, true),
            Event::Empty(ref e) => self.open(e, false),
            Event::End(_) => {
                let depth = self.stack.len();
                self.scopes.retain(|(d, _, _)| *d < depth);
                let el = self
                    .stack
                    .pop()
                    .ok_or_else(|| XmlError::Malformed("unbalanced end tag".into()))?;
                self.close(el);
                Ok(())
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(|e| malformed(&e))?;
                match self.stack.last_mut() {
                    Some(top) => top.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err(XmlError::Malformed("text outside the root".into())),
                }
                Ok(())
            }
            Event::CData(c) => {
                let s = std::str::from_utf8(&c).map_err(|e| malformed(&e))?;
                match self.stack.last_mut() {
                    Some(top) => top.text.push_str(s),
                    None => return Err(XmlError::Malformed("CDATA outside the root".into())),
                }
                Ok(())
            }
        }
    }

    /// Opens an element; one without content (`<x/>`) is closed at once.
    fn open(&mut self, e: &BytesStart<'_>, has_content: bool) -> Result<(), XmlError> {
        if self.root.is_some() {
            return Err(XmlError::Malformed("content after the root element".into()));
        }
        self.count += 1;
        if self.count > MAX_ELEMENTS || self.stack.len() >= MAX_DEPTH {
            return Err(XmlError::TooComplex);
        }
        let depth = self.stack.len();
        let el = open_element(e, depth, &mut self.scopes, &mut self.ids)?;
        if has_content {
            self.stack.push(el);
        } else {
            self.scopes.retain(|(d, _, _)| *d < depth + 1);
            self.close(el);
        }
        Ok(())
    }

    fn close(&mut self, el: Element) {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(el),
            None => self.root = Some(el),
        }
    }

    fn finish(self) -> Result<Element, XmlError> {
        if !self.stack.is_empty() {
            return Err(XmlError::Malformed("unclosed element".into()));
        }
        self.root
            .ok_or_else(|| XmlError::Malformed("no root element".into()))
    }
}

fn open_element(
    e: &BytesStart<'_>,
    depth: usize,
    scopes: &mut Vec<(usize, String, String)>,
    ids: &mut Vec<String>,
) -> Result<Element, XmlError> {
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
    use crate::saml::xml::{NS_SAML, NS_SAMLP};

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
