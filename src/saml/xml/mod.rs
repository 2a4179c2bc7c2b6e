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
//!
//! The writer is `write.rs`, the reader `read.rs`; both know the namespaces below.

mod read;
mod write;

pub(crate) use self::read::XmlError;
pub use self::read::{parse, Element};
pub(crate) use self::write::{El, INCLUSIVE_PREFIXES};

/// SAML 2.0 protocol namespace.
pub(crate) const NS_SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// SAML 2.0 assertion namespace.
pub(crate) const NS_SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// SAML 2.0 metadata namespace.
pub(crate) const NS_MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// XML-DSig namespace.
pub(crate) const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// XML Schema namespace (attribute value types).
const NS_XS: &str = "http://www.w3.org/2001/XMLSchema";
/// XML Schema instance namespace (`xsi:type`).
const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// XML Encryption namespace (`EncryptedAssertion` content).
const NS_XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
/// Exclusive c14n namespace (`ec:InclusiveNamespaces`).
const NS_EC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// Largest XML document we parse (after base64 decoding and inflating).
pub const MAX_XML_BYTES: usize = 128 * 1024;

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
        "xenc" => NS_XENC,
        _ => "",
    }
}
