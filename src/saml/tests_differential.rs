//! Parser-differential suite: what `xml-sec` verifies (`edge_idp_xml_verify::verify_post`) must be exactly
//! what our quick-xml reader ([`xml::parse`], through [`authn_request::parse`] and
//! [`logout::parse`]) reads.
//!
//! Each test builds one SAML message carrying one trick, signs it with the test SP key
//! (`tests/saml/keys/sp.key`) by running `xmlsec1 --sign` on a template (enveloped signature over
//! the document element, exclusive c14n, RSA-SHA256, SHA-256), checks the signing step with an
//! independent `xmlsec1 --verify`, optionally edits the signed bytes the way an attacker would
//! (edits that a conformant verifier does not see, such as a comment or a CDATA section), and
//! then runs it through the IdP's own path for an app that requires signed messages: UTF-8 (the
//! binding), the reader, "is there a `ds:Signature` child", `verify_post` with the SP's
//! registered key. The verdict must be either a refusal, or values (ID, Issuer, NameID,
//! Destination, IssueInstant, AssertionConsumerServiceURL) equal to the values of the canonical
//! signed form, worked out by hand for each case in its `expected` (text values: the XPath
//! string-value of the element — comments dropped, CDATA and text joined, references replaced,
//! line ends normalized — with leading and trailing XML white space (space, tab, CR, LF) removed;
//! attribute values: after XML attribute-value normalization). `None` as expected means the
//! signed form has no single SAML reading, so only a refusal is right.
//!
//! Cases marked **Former divergence, now refused or read as signed** showed the reader returning something other than what was
//! signed when this suite was written; they assert the safe behaviour and fail until the reader
//! is fixed.
//!
//! Run: `cargo test -q -p edge-idp tests_differential` (`-- --nocapture` prints each verdict).
//! Without `xmlsec1` on the PATH the tests print a notice and pass without checking anything,
//! like the other xmlsec1 checks of `saml::tests`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::logout::LogoutMessage;
use super::xml::{NS_DS, NS_SAML, NS_SAMLP};
use super::{authn_request, dsig, logout, time};

const SP: &str = "https://sp.example/metadata";
const SSO: &str = "https://acme.localhost/saml/demo-sp/sso";
const SLO: &str = "https://acme.localhost/saml/demo-sp/slo";
const ACS: &str = "https://sp.example/acs";
const NOW: &str = "2026-11-23T12:00:00Z";
const ID: &str = "_diff0request";
const SP_CERT: &str = include_str!("../../tests/saml/keys/sp.crt.b64");
const C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

/// Elements whose `ID` and `Id` attributes xmlsec1 treats as IDs (`--id-attr:ID ns:name`).
/// `urn:evil` is the namespace the namespace tricks bind prefixes to.
const ID_NODES: [&str; 5] = [
    "urn:oasis:names:tc:SAML:2.0:protocol:AuthnRequest",
    "urn:oasis:names:tc:SAML:2.0:protocol:LogoutRequest",
    "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
    "urn:evil:AuthnRequest",
    "urn:evil:Assertion",
];

// ------------------------------------------------------------------------------------ helpers

fn keys() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/saml/keys")
}

fn xmlsec1_installed() -> bool {
    let found = Command::new("xmlsec1")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("tests_differential: xmlsec1 is not installed, nothing checked");
    }
    found
}

/// A temporary file for one step of one case (removed after use).
fn scratch(case: &str, what: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "edge-idp-differential-{}-{case}-{what}.xml",
        std::process::id()
    ))
}

fn xmlsec1(args: &[&str], file: &PathBuf) -> std::process::Output {
    let mut cmd = Command::new("xmlsec1");
    cmd.args(args);
    for node in ID_NODES {
        cmd.args(["--id-attr:ID", node, "--id-attr:Id", node]);
    }
    cmd.arg(file).output().unwrap()
}

/// The empty signature template: enveloped, exclusive c14n, RSA-SHA256, SHA-256, over `#id`.
fn sig(id: &str) -> String {
    format!(
        "<ds:Signature xmlns:ds=\"{NS_DS}\"><ds:SignedInfo>\
<ds:CanonicalizationMethod Algorithm=\"{C14N}\"/>\
<ds:SignatureMethod Algorithm=\"{}\"/>\
<ds:Reference URI=\"#{id}\"><ds:Transforms>\
<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\
<ds:Transform Algorithm=\"{C14N}\"/></ds:Transforms>\
<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\
<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>\
<ds:SignatureValue></ds:SignatureValue></ds:Signature>",
        dsig::RSA_SHA256
    )
}

/// The text between the first `<tag>` and the following `</tag>` of `doc`.
fn between<'a>(doc: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = doc
        .find(&open)
        .unwrap_or_else(|| panic!("no {open} in {doc}"))
        + open.len();
    let len = doc[start..].find(&format!("</{tag}>")).unwrap();
    &doc[start..start + len]
}

/// Signs `template` (bytes, which hold exactly one [`sig`] template) with the SP key through
/// `xmlsec1 --sign`, and returns the template's own bytes with the DigestValue and
/// SignatureValue filled in — so every trick of the template (references, CDATA, encodings…)
/// stays as written, not as libxml2 would write it again. Asserts that `xmlsec1 --verify`
/// accepts the result: the independent check of the signing step.
fn sign(case: &str, template: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(template);
    assert_eq!(
        text.matches("<ds:DigestValue></ds:DigestValue>").count(),
        1,
        "{case}: one signature template"
    );
    let file = scratch(case, "template");
    std::fs::write(&file, template).unwrap();
    let key = keys().join("sp.key");
    let cert = keys().join("sp.crt");
    let keyarg = format!("{},{}", key.display(), cert.display());
    let out = xmlsec1(&["--sign", "--privkey-pem", &keyarg], &file);
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "{case}: xmlsec1 --sign: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signed = String::from_utf8_lossy(&out.stdout);
    let digest = between(&signed, "ds:DigestValue").to_string();
    let value = between(&signed, "ds:SignatureValue").to_string();
    let fill = |doc: &[u8], empty: &str, with: &str| -> Vec<u8> {
        let at = doc
            .windows(empty.len())
            .position(|w| w == empty.as_bytes())
            .unwrap();
        let open = empty.find("><").unwrap() + 1;
        [&doc[..at + open], with.as_bytes(), &doc[at + open..]].concat()
    };
    let doc = fill(template, "<ds:DigestValue></ds:DigestValue>", &digest);
    let doc = fill(&doc, "<ds:SignatureValue></ds:SignatureValue>", &value);
    assert!(
        xmlsec1_verifies(case, "signed", &doc),
        "{case}: xmlsec1 --verify refuses the signed template:\n{}",
        String::from_utf8_lossy(&doc)
    );
    doc
}

/// `xmlsec1 --verify` of the first signature of `doc` with the SP certificate.
fn xmlsec1_verifies(case: &str, what: &str, doc: &[u8]) -> bool {
    let file = scratch(case, what);
    std::fs::write(&file, doc).unwrap();
    let cert = keys().join("sp.crt");
    let out = xmlsec1(
        &["--verify", "--pubkey-cert-pem", &cert.display().to_string()],
        &file,
    );
    let _ = std::fs::remove_file(&file);
    out.status.success()
}

/// Replaces the one occurrence of `from` in `doc` (the attacker's edit of the signed bytes).
fn edit(doc: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(doc.to_vec()).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "edit: {from:?} once in {text}"
    );
    text.replacen(from, to, 1).into_bytes()
}

/// An AuthnRequest with ID [`ID`]: `attrs` more root attributes, `before` the elements before
/// the signature (the Issuer), `after` those after it.
fn authn(attrs: &str, before: &str, after: &str) -> String {
    format!(
        "<samlp:AuthnRequest xmlns:samlp=\"{NS_SAMLP}\" xmlns:saml=\"{NS_SAML}\" ID=\"{ID}\" \
Version=\"2.0\" IssueInstant=\"{NOW}\" Destination=\"{SSO}\" AssertionConsumerServiceURL=\"{ACS}\"{attrs}>\
{before}{}{after}</samlp:AuthnRequest>",
        sig(ID)
    )
}

fn issuer(text: &str) -> String {
    format!("<saml:Issuer>{text}</saml:Issuer>")
}

fn policy() -> String {
    format!("<samlp:NameIDPolicy Format=\"{UNSPECIFIED}\" AllowCreate=\"true\"/>")
}

/// The plain AuthnRequest.
fn authn_plain() -> String {
    authn("", &issuer(SP), &policy())
}

/// A LogoutRequest with ID [`ID`]: `attrs` more root attributes, `before` the elements before
/// the signature (the Issuer), `after` those after it (the NameID and SessionIndex).
fn logout_req(attrs: &str, before: &str, after: &str) -> String {
    format!(
        "<samlp:LogoutRequest xmlns:samlp=\"{NS_SAMLP}\" xmlns:saml=\"{NS_SAML}\" ID=\"{ID}\" \
Version=\"2.0\" IssueInstant=\"{NOW}\" Destination=\"{SLO}\"{attrs}>{before}{}{after}</samlp:LogoutRequest>",
        sig(ID)
    )
}

fn name_id(text: &str) -> String {
    format!("<saml:NameID>{text}</saml:NameID><samlp:SessionIndex>_s1</samlp:SessionIndex>")
}

/// The plain LogoutRequest.
fn logout_plain() -> String {
    logout_req("", &issuer(SP), &name_id("jsmith"))
}

/// What the IdP reads from a message it accepted, or what the canonical signed form says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Values {
    id: String,
    issuer: Option<String>,
    name_id: Option<String>,
    destination: Option<String>,
    issue_instant: Option<u64>,
    acs_url: Option<String>,
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// The values of [`authn_plain`].
fn authn_values() -> Values {
    Values {
        id: ID.into(),
        issuer: s(SP),
        name_id: None,
        destination: s(SSO),
        issue_instant: time::parse(NOW),
        acs_url: s(ACS),
    }
}

/// The values of [`logout_plain`].
fn logout_values() -> Values {
    Values {
        id: ID.into(),
        issuer: s(SP),
        name_id: s("jsmith"),
        destination: s(SLO),
        issue_instant: time::parse(NOW),
        acs_url: None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Authn,
    Logout,
}

#[derive(Debug)]
enum Verdict {
    Refused(String),
    Accepted(Values),
}

fn sp_spki() -> Vec<u8> {
    dsig::spki_of_certificate(&STANDARD.decode(SP_CERT.trim()).unwrap()).unwrap()
}

/// The IdP's path for a POST-binding message to an app that requires signed messages: the
/// binding's UTF-8 check, the reader, the signature presence the reader reports, `verify_post`
/// with the registered SP key.
fn idp(kind: Kind, doc: &[u8]) -> Verdict {
    let Ok(text) = std::str::from_utf8(doc) else {
        return Verdict::Refused("binding: not UTF-8".into());
    };
    let (values, signed) = match kind {
        Kind::Authn => match authn_request::parse(text) {
            Ok(r) => (
                Values {
                    id: r.id,
                    issuer: r.issuer,
                    name_id: None,
                    destination: r.destination,
                    issue_instant: Some(r.issue_instant),
                    acs_url: r.acs_url,
                },
                r.xml_signed,
            ),
            Err(e) => return Verdict::Refused(format!("reader: {e}")),
        },
        Kind::Logout => match logout::parse(text) {
            Ok(LogoutMessage::Request {
                id,
                issuer,
                issue_instant,
                name_id,
                destination,
                xml_signed,
            }) => (
                Values {
                    id,
                    issuer,
                    name_id,
                    destination,
                    issue_instant: Some(issue_instant),
                    acs_url: None,
                },
                xml_signed,
            ),
            Ok(LogoutMessage::Response { .. }) => {
                return Verdict::Refused("reader: a LogoutResponse".into())
            }
            Err(e) => return Verdict::Refused(format!("reader: {e}")),
        },
    };
    if !signed {
        return Verdict::Refused("reader: no ds:Signature child of the root (unsigned)".into());
    }
    // Both endpoints refuse a message whose Issuer is not the SP's (a missing one included),
    // and the SLO endpoint ends no session for a LogoutRequest without a NameID.
    if values.issuer.is_none() {
        return Verdict::Refused("reader: no Issuer (text-only) to match the SP".into());
    }
    if kind == Kind::Logout && values.name_id.is_none() {
        return Verdict::Refused("reader: no NameID (text-only): no session is ended".into());
    }
    match edge_idp_xml_verify::verify_post(text, &[sp_spki()]) {
        edge_idp_xml_verify::Verdict::Verified => Verdict::Accepted(values),
        refused => Verdict::Refused(format!("verify_post: {refused:?}")),
    }
}

/// The rule: `doc` is refused, or what the IdP reads equals `expected` (the canonical signed
/// form's values; `None`: refusal is the only right answer). `xmlsec1`: whether `xmlsec1
/// --verify` accepts the final document (is the trick live against a conformant verifier?);
/// `None` when not asserted.
fn check(
    case: &str,
    kind: Kind,
    doc: &[u8],
    xmlsec1: Option<bool>,
    expected: Option<Values>,
) -> Verdict {
    let independent = xmlsec1_verifies(case, "final", doc);
    if let Some(want) = xmlsec1 {
        assert_eq!(
            independent,
            want,
            "{case}: xmlsec1 --verify of the final document:\n{}",
            String::from_utf8_lossy(doc)
        );
    }
    let verdict = idp(kind, doc);
    eprintln!("differential {case}: xmlsec1 --verify {independent}; idp {verdict:?}");
    match (&verdict, &expected) {
        (Verdict::Refused(_), _) => {}
        (Verdict::Accepted(read), None) => panic!(
            "{case}: accepted although the signed form has no single SAML reading: {read:?}\n{}",
            String::from_utf8_lossy(doc)
        ),
        (Verdict::Accepted(read), Some(want)) => assert_eq!(
            read,
            want,
            "{case}: the reader reads something else than what was signed\n{}",
            String::from_utf8_lossy(doc)
        ),
    }
    verdict
}

fn accepted(v: &Verdict) -> bool {
    matches!(v, Verdict::Accepted(_))
}

/// Who refused, and why.
fn refusal(v: &Verdict) -> Option<&str> {
    match v {
        Verdict::Refused(why) => Some(why),
        Verdict::Accepted(_) => None,
    }
}

// ----------------------------------------------------------------------------------- controls

/// Control: the plain signed AuthnRequest is accepted and read as signed.
#[test]
fn control_authn_request() {
    if !xmlsec1_installed() {
        return;
    }
    let doc = sign("control_authn", authn_plain().as_bytes());
    let v = check(
        "control_authn",
        Kind::Authn,
        &doc,
        Some(true),
        Some(authn_values()),
    );
    assert!(accepted(&v), "{v:?}");
    // And a change after signing is refused: the suite's signatures mean something.
    let tampered = edit(&doc, ACS, "https://evil.example/acs");
    let v = check(
        "control_authn_tampered",
        Kind::Authn,
        &tampered,
        Some(false),
        None,
    );
    assert!(
        refusal(&v).is_some_and(|r| r.starts_with("verify_post")),
        "{v:?}"
    );
}

/// Control: the plain signed LogoutRequest is accepted and read as signed.
#[test]
fn control_logout_request() {
    if !xmlsec1_installed() {
        return;
    }
    let doc = sign("control_logout", logout_plain().as_bytes());
    let v = check(
        "control_logout",
        Kind::Logout,
        &doc,
        Some(true),
        Some(logout_values()),
    );
    assert!(accepted(&v), "{v:?}");
}

// ----------------------------------------------------------------------------------- comments

/// `<saml:Issuer>https://sp.example<!---->.evil</saml:Issuer>`: the signed Issuer is
/// "https://sp.example.evil" (c14n drops the comment and the text joins); a reader taking the
/// first text node would see "https://sp.example". The comment goes in after signing and
/// xmlsec1 still verifies.
#[test]
fn comment_in_issuer() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "comment_in_issuer";
    let doc = sign(
        case,
        authn("", &issuer("https://sp.example.evil"), &policy()).as_bytes(),
    );
    let doc = edit(
        &doc,
        "https://sp.example.evil<",
        "https://sp.example<!---->.evil<",
    );
    let expected = Values {
        issuer: s("https://sp.example.evil"),
        ..authn_values()
    };
    check(case, Kind::Authn, &doc, Some(true), Some(expected));
}

/// A comment inside a LogoutRequest's NameID: signed "jsmith.evil", read as "jsmith" by a
/// first-text-node reader (and jsmith's session would end).
#[test]
fn comment_in_name_id() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "comment_in_name_id";
    let doc = sign(
        case,
        logout_req("", &issuer(SP), &name_id("jsmith.evil")).as_bytes(),
    );
    let doc = edit(&doc, "jsmith.evil", "jsmith<!---->.evil");
    let expected = Values {
        name_id: s("jsmith.evil"),
        ..logout_values()
    };
    check(case, Kind::Logout, &doc, Some(true), Some(expected));
}

/// A comment signed inside the Issuer by the SP itself (not an edit): same signed value.
#[test]
fn comment_in_issuer_signed_by_the_sp() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "comment_in_issuer_signed";
    let doc = sign(
        case,
        authn(
            "",
            &issuer("https://sp.example<!-- x -->/metadata"),
            &policy(),
        )
        .as_bytes(),
    );
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

/// Comments before and after the document element (outside what the reference covers).
#[test]
fn comment_outside_the_root() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "comment_outside_the_root";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = [b"<!-- before -->".as_slice(), &doc, b"<!-- after -->"].concat();
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

/// A comment between two children of the root, after signing.
#[test]
fn comment_between_children() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "comment_between_children";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = edit(&doc, "</saml:Issuer>", "</saml:Issuer><!-- x -->");
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

// -------------------------------------------------------------------------------------- CDATA

/// CDATA inside the Issuer's text, signed: the signed Issuer is the joined text.
#[test]
fn cdata_in_issuer() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "cdata_in_issuer";
    let doc = sign(
        case,
        authn(
            "",
            &issuer("https://sp.example<![CDATA[/meta]]>data"),
            &policy(),
        )
        .as_bytes(),
    );
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

/// The Issuer's text rewritten as CDATA plus text after signing (c14n sees no change).
#[test]
fn cdata_rewrites_issuer_after_signing() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "cdata_rewrites_issuer";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = edit(
        &doc,
        &issuer(SP),
        &issuer("<![CDATA[https://sp.]]>example<![CDATA[]]>/metadata"),
    );
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

/// CDATA holding markup in a NameID: the signed value is the literal text "jsmith<!---->.evil",
/// not a comment.
#[test]
fn cdata_holding_markup_in_name_id() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "cdata_holding_markup";
    let doc = sign(
        case,
        logout_req(
            "",
            &issuer(SP),
            &name_id("<![CDATA[jsmith<!---->.evil &amp;]]>"),
        )
        .as_bytes(),
    );
    let expected = Values {
        name_id: s("jsmith<!---->.evil &amp;"),
        ..logout_values()
    };
    check(case, Kind::Logout, &doc, Some(true), Some(expected));
}

// --------------------------------------------------------------------- entity and character references

/// `&#x61;` inside the Issuer: the signed Issuer is "https://sp.example/metadata".
#[test]
fn char_reference_in_issuer() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "char_reference_in_issuer";
    let doc = sign(
        case,
        authn(
            "",
            &issuer("https://sp.ex&#x61;mple/met&#97;data"),
            &policy(),
        )
        .as_bytes(),
    );
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

/// Characters of the ID, Destination and Issuer rewritten as references after signing.
#[test]
fn char_references_rewritten_after_signing() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "char_references_rewritten";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = edit(&doc, &format!("ID=\"{ID}\""), "ID=\"_d&#x69;ff0request\"");
    let doc = edit(
        &doc,
        &format!("Destination=\"{SSO}\""),
        "Destination=\"https://acme.localhost&#x2F;saml/demo-sp/sso\"",
    );
    let doc = edit(
        &doc,
        &issuer(SP),
        &issuer("&#x68;ttps://sp.example/metadata"),
    );
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

/// `&amp;` and `&lt;` in the Issuer: the signed Issuer has `&` and `<`.
#[test]
fn predefined_entities_in_issuer() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "predefined_entities";
    let doc = sign(
        case,
        authn(
            "",
            &issuer("https://sp.example/metadata?a=1&amp;b=&lt;2&gt;&quot;&apos;"),
            &policy(),
        )
        .as_bytes(),
    );
    let expected = Values {
        issuer: s("https://sp.example/metadata?a=1&b=<2>\"'"),
        ..authn_values()
    };
    check(case, Kind::Authn, &doc, Some(true), Some(expected));
}

/// A newline written as `&#10;` in an attribute is kept (no attribute-value normalization of
/// references): the signed Destination ends with LF.
#[test]
fn char_reference_newline_in_attribute() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "char_reference_newline_in_attribute";
    let doc = sign(
        case,
        authn_plain()
            .replace(
                &format!("Destination=\"{SSO}\""),
                &format!("Destination=\"{SSO}&#10;\""),
            )
            .as_bytes(),
    );
    let expected = Values {
        destination: s(&format!("{SSO}\n")),
        ..authn_values()
    };
    check(case, Kind::Authn, &doc, Some(true), Some(expected));
}

/// An undeclared entity `&evil;` put into the Issuer after signing: not well-formed.
#[test]
fn undeclared_entity() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "undeclared_entity";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = edit(
        &doc,
        &issuer(SP),
        &issuer("https://sp.example&evil;/metadata"),
    );
    check(case, Kind::Authn, &doc, Some(false), None);
}

/// A character reference to U+0000 (not an XML character) in the NameID, after signing.
#[test]
fn char_reference_to_nul() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "char_reference_to_nul";
    let doc = sign(case, logout_plain().as_bytes());
    let doc = edit(&doc, "jsmith", "js&#0;mith");
    check(case, Kind::Logout, &doc, Some(false), None);
}

/// An internal DTD entity: the SP signed Issuer "https://sp.example/metadata"; the attacker's
/// copy spells it with an entity declared in a DOCTYPE (a DTD-processing verifier expands it
/// to the signed text). A DOCTYPE must be refused.
#[test]
fn internal_dtd_entity() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "internal_dtd_entity";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = edit(&doc, &issuer(SP), &issuer("https://sp.example&e;"));
    let doc = [
        b"<!DOCTYPE samlp:AuthnRequest [<!ENTITY e \"/metadata\">]>".as_slice(),
        &doc,
    ]
    .concat();
    check(case, Kind::Authn, &doc, None, None);
}

/// A DOCTYPE without any declaration, before a validly signed document: refused all the same.
#[test]
fn doctype_without_declarations() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "doctype_empty";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = [b"<!DOCTYPE samlp:AuthnRequest>".as_slice(), &doc].concat();
    check(case, Kind::Authn, &doc, Some(true), None);
}

/// A DOCTYPE whose ATTLIST gives the root a default AssertionConsumerServiceURL: a
/// DTD-processing reader would see an ACS the signer's parser may not have.
#[test]
fn doctype_attlist_default_attribute() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "doctype_attlist_default";
    let template = authn_plain().replace(&format!(" AssertionConsumerServiceURL=\"{ACS}\""), "");
    let doc = sign(case, template.as_bytes());
    let doc = [
        b"<!DOCTYPE samlp:AuthnRequest [<!ATTLIST samlp:AuthnRequest AssertionConsumerServiceURL CDATA \"https://evil.example/acs\">]>".as_slice(),
        &doc,
    ]
    .concat();
    check(case, Kind::Authn, &doc, None, None);
}

/// A lowercase `<!doctype>` (not XML, but some parsers take it) before a signed document.
#[test]
fn doctype_lowercase() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "doctype_lowercase";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = [
        b"<!doctype samlp:AuthnRequest [<!ENTITY e \"x\">]>".as_slice(),
        &doc,
    ]
    .concat();
    check(case, Kind::Authn, &doc, Some(false), None);
}

// --------------------------------------------------------------------------------- namespaces

/// The Issuer re-binds `saml` to another namespace: the signed document has no SAML Issuer.
#[test]
fn ns_child_rebinds_saml_prefix() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "ns_child_rebinds_saml";
    let doc = sign(
        case,
        authn(
            "",
            &format!("<saml:Issuer xmlns:saml=\"urn:evil\">{SP}</saml:Issuer>"),
            &policy(),
        )
        .as_bytes(),
    );
    let expected = Values {
        issuer: None,
        ..authn_values()
    };
    check(case, Kind::Authn, &doc, Some(true), Some(expected));
}

/// A decoy `saml:Issuer` in another namespace before the real one: the SAML Issuer is the
/// second element.
#[test]
fn ns_decoy_issuer_before_the_real_one() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "ns_decoy_issuer";
    let doc = sign(
        case,
        authn(
            "",
            &format!(
                "<saml:Issuer xmlns:saml=\"urn:evil\">https://evil.example/</saml:Issuer>{}",
                issuer(SP)
            ),
            &policy(),
        )
        .as_bytes(),
    );
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

/// `saml` bound to a non-SAML namespace on the root: neither Issuer nor NameID is SAML.
#[test]
fn ns_saml_prefix_bound_to_other_namespace() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "ns_saml_prefix_other";
    let template = logout_plain().replace(
        &format!("xmlns:saml=\"{NS_SAML}\""),
        "xmlns:saml=\"urn:evil\"",
    );
    let doc = sign(case, template.as_bytes());
    let expected = Values {
        issuer: None,
        name_id: None,
        ..logout_values()
    };
    check(case, Kind::Logout, &doc, Some(true), Some(expected));
}

/// Default namespaces instead of prefixes: the same SAML message.
#[test]
fn ns_default_namespaces() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "ns_default_namespaces";
    let template = format!(
        "<AuthnRequest xmlns=\"{NS_SAMLP}\" ID=\"{ID}\" Version=\"2.0\" IssueInstant=\"{NOW}\" \
Destination=\"{SSO}\" AssertionConsumerServiceURL=\"{ACS}\"><Issuer xmlns=\"{NS_SAML}\">{SP}</Issuer>{}\
<NameIDPolicy Format=\"{UNSPECIFIED}\" AllowCreate=\"true\"/></AuthnRequest>",
        sig(ID)
    );
    let doc = sign(case, template.as_bytes());
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

/// An unprefixed Issuer under a default namespace that is the protocol's: not a SAML Issuer.
#[test]
fn ns_default_namespace_is_not_the_assertion_one() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "ns_default_not_assertion";
    let doc = sign(
        case,
        authn(
            &format!(" xmlns=\"{NS_SAMLP}\""),
            &format!("<Issuer>{SP}</Issuer>"),
            &policy(),
        )
        .as_bytes(),
    );
    let expected = Values {
        issuer: None,
        ..authn_values()
    };
    check(case, Kind::Authn, &doc, Some(true), Some(expected));
}

/// The root's default namespace is the assertion one, the Issuer resets it with `xmlns=""`.
/// Observed: xmlsec1 verifies, `verify_post` refuses (its exclusive c14n of the `xmlns=""`
/// differs from libxml2's) — a false refusal, the safe direction.
#[test]
fn ns_default_namespace_reset() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "ns_default_reset";
    let doc = sign(
        case,
        authn(
            &format!(" xmlns=\"{NS_SAML}\""),
            &format!("<Issuer xmlns=\"\">{SP}</Issuer>"),
            &policy(),
        )
        .as_bytes(),
    );
    let expected = Values {
        issuer: None,
        ..authn_values()
    };
    check(case, Kind::Authn, &doc, Some(true), Some(expected));
}

/// The root itself is `{urn:evil}AuthnRequest`: not a SAML message at all.
#[test]
fn ns_root_not_saml() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "ns_root_not_saml";
    let template = authn_plain().replace(
        &format!("xmlns:samlp=\"{NS_SAMLP}\""),
        "xmlns:samlp=\"urn:evil\"",
    );
    let doc = sign(case, template.as_bytes());
    check(case, Kind::Authn, &doc, Some(true), None);
}

/// Namespace declarations nothing uses, added after signing (exclusive c14n drops them).
#[test]
fn ns_unused_declarations_added_after_signing() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "ns_unused_added";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = edit(
        &doc,
        &format!("xmlns:saml=\"{NS_SAML}\" ID="),
        &format!("xmlns:saml=\"{NS_SAML}\" xmlns:evil=\"urn:evil\" xmlns=\"urn:evil\" ID="),
    );
    let doc = edit(
        &doc,
        "<samlp:NameIDPolicy ",
        "<samlp:NameIDPolicy xmlns:saml=\"urn:evil\" ",
    );
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

/// After signing, the root's `saml` is re-bound to another namespace and the Issuer declares
/// the SAML one itself: the canonical form (which declares `saml` on the Issuer) is unchanged.
#[test]
fn ns_declaration_moved_after_signing() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "ns_declaration_moved";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = edit(
        &doc,
        &format!("xmlns:saml=\"{NS_SAML}\" ID="),
        "xmlns:saml=\"urn:evil\" ID=",
    );
    let doc = edit(
        &doc,
        "<saml:Issuer>",
        &format!("<saml:Issuer xmlns:saml=\"{NS_SAML}\">"),
    );
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

/// The namespace URI spelled with a character reference: still the SAML assertion namespace.
#[test]
fn ns_uri_with_char_reference() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "ns_uri_char_reference";
    let template = authn_plain().replace(
        &format!("xmlns:saml=\"{NS_SAML}\""),
        "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:&#x61;ssertion\"",
    );
    let doc = sign(case, template.as_bytes());
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

// ----------------------------------------------------------------------- duplicate attributes

/// A second, identical `ID` attribute added after signing: not well-formed.
#[test]
fn duplicate_id_same_value() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "duplicate_id_same";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = edit(
        &doc,
        &format!("ID=\"{ID}\""),
        &format!("ID=\"{ID}\" ID=\"{ID}\""),
    );
    check(case, Kind::Authn, &doc, Some(false), None);
}

/// A second `ID` with another value after the signed one.
#[test]
fn duplicate_id_other_value_after() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "duplicate_id_after";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = edit(
        &doc,
        &format!("ID=\"{ID}\""),
        &format!("ID=\"{ID}\" ID=\"_evil\""),
    );
    check(case, Kind::Authn, &doc, Some(false), None);
}

/// A second `ID` with another value before the signed one.
#[test]
fn duplicate_id_other_value_before() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "duplicate_id_before";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = edit(
        &doc,
        &format!("ID=\"{ID}\""),
        &format!("ID=\"_evil\" ID=\"{ID}\""),
    );
    check(case, Kind::Authn, &doc, Some(false), None);
}

/// A second Destination added after signing.
#[test]
fn duplicate_destination() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "duplicate_destination";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = edit(
        &doc,
        &format!("Destination=\"{SSO}\""),
        &format!("Destination=\"https://evil.example/\" Destination=\"{SSO}\""),
    );
    check(case, Kind::Authn, &doc, Some(false), None);
}

/// `ID` beside a prefixed `samlp:ID`, both signed: the message ID is the unqualified one.
#[test]
fn id_beside_prefixed_id() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "id_beside_prefixed_id";
    // xmlsec1 registers the first attribute named ID, whatever its namespace: the unqualified
    // one comes first here.
    let template = authn_plain().replace(
        &format!("ID=\"{ID}\""),
        &format!("ID=\"{ID}\" samlp:ID=\"_other\""),
    );
    let doc = sign(case, template.as_bytes());
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

/// The signature references the root through a prefixed `samlp:ID`; the unqualified `ID`
/// (signed too) is the message ID.
#[test]
fn id_prefixed_is_the_reference() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "id_prefixed_reference";
    // xmlsec1 registers the first attribute named ID, whatever its namespace: the prefixed one
    // comes first here.
    let template = authn_plain()
        .replace(
            &format!("ID=\"{ID}\""),
            &format!("samlp:ID=\"_other\" ID=\"{ID}\""),
        )
        .replace(&format!("URI=\"#{ID}\""), "URI=\"#_other\"");
    let doc = sign(case, template.as_bytes());
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

/// `ID` and `Id` on the root, the signature naming the `Id`.
#[test]
fn id_and_id_lowercase_d() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "id_and_Id";
    let template = format!(
        "<samlp:AuthnRequest xmlns:samlp=\"{NS_SAMLP}\" xmlns:saml=\"{NS_SAML}\" Id=\"_other\" ID=\"{ID}\" \
Version=\"2.0\" IssueInstant=\"{NOW}\" Destination=\"{SSO}\" AssertionConsumerServiceURL=\"{ACS}\">\
{}{}{}</samlp:AuthnRequest>",
        issuer(SP),
        sig("_other"),
        policy()
    );
    let doc = sign(case, template.as_bytes());
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

// --------------------------------------------------------------------------------- whitespace

/// XML white space around the Issuer's text and the NameID's: signed with it, read without.
#[test]
fn whitespace_around_issuer() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "whitespace_around_issuer";
    let doc = sign(
        case,
        authn("", &issuer(&format!("\n\t  {SP} \n")), &policy()).as_bytes(),
    );
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

/// White space around a LogoutRequest's NameID.
#[test]
fn whitespace_around_name_id() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "whitespace_around_name_id";
    let doc = sign(
        case,
        logout_req("", &issuer(SP), &name_id(" \t jsmith\n ")).as_bytes(),
    );
    check(case, Kind::Logout, &doc, Some(true), Some(logout_values()));
}

/// Spaces around attribute values are part of the signed values (attributes are not trimmed).
#[test]
fn whitespace_around_attribute_values() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "whitespace_around_attributes";
    let template = authn_plain()
        .replace(
            &format!("Destination=\"{SSO}\""),
            &format!("Destination=\" {SSO} \""),
        )
        .replace(
            &format!("AssertionConsumerServiceURL=\"{ACS}\""),
            &format!("AssertionConsumerServiceURL=\"{ACS} \""),
        );
    let doc = sign(case, template.as_bytes());
    let expected = Values {
        destination: s(&format!(" {SSO} ")),
        acs_url: s(&format!("{ACS} ")),
        ..authn_values()
    };
    check(case, Kind::Authn, &doc, Some(true), Some(expected));
}

/// **Former divergence, now refused or read as signed** (attribute-value normalization). A literal TAB or newline in an attribute
/// value is a space to an XML parser (XML 1.0 §3.3.3), so the signed Destination is
/// "https://acme.localhost/saml/demo-sp/sso " (trailing space); an attacker may turn that space
/// into a TAB/LF without breaking the signature. The reader (quick-xml `unescape_value`, no
/// normalization) returns the TAB. Safe: normalize literal TAB/CR/LF in attribute values to
/// spaces (or refuse them).
#[test]
fn literal_tab_in_attribute() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "literal_tab_in_attribute";
    let template = authn_plain().replace(
        &format!("Destination=\"{SSO}\""),
        &format!("Destination=\"{SSO} \""),
    );
    let doc = sign(case, template.as_bytes());
    let doc = edit(
        &doc,
        &format!("Destination=\"{SSO} \""),
        &format!("Destination=\"{SSO}\t\""),
    );
    let expected = Values {
        destination: s(&format!("{SSO} ")),
        ..authn_values()
    };
    check(case, Kind::Authn, &doc, Some(true), Some(expected));
}

/// **Former divergence, now refused or read as signed** (line-end normalization). An XML parser reads CR LF and a lone CR in text as
/// LF (XML 1.0 §2.11): the signed NameID "j\nsmith" may be sent as "j\r\nsmith" or "j\rsmith"
/// without breaking the signature. The reader returns the CR. Safe: normalize CR LF / CR to LF
/// before reading (or refuse a literal CR).
#[test]
fn carriage_return_in_text() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "carriage_return_in_text";
    let doc = sign(
        case,
        logout_req("", &issuer(SP), &name_id("j\nsmith")).as_bytes(),
    );
    let doc = edit(&doc, "j\nsmith", "j\r\nsmith");
    let expected = Values {
        name_id: s("j\nsmith"),
        ..logout_values()
    };
    check(case, Kind::Logout, &doc, Some(true), Some(expected));
}

/// A CR written as `&#13;` in text is a CR (references are not line-end normalized): the
/// signed NameID is "j\rsmith". Guards the fix of [`carriage_return_in_text`].
#[test]
fn char_reference_cr_in_text() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "char_reference_cr_in_text";
    let doc = sign(
        case,
        logout_req("", &issuer(SP), &name_id("j&#13;smith")).as_bytes(),
    );
    let expected = Values {
        name_id: s("j\rsmith"),
        ..logout_values()
    };
    check(case, Kind::Logout, &doc, Some(true), Some(expected));
}

/// **Former divergence, now refused or read as signed** (trimming beyond XML white space). The SP signed the Issuer
/// "https://sp.example/metadata" followed by U+00A0 (no-break space, not XML white space); the
/// reader's `str::trim` removes it and reads the registered entity ID. Safe: trim only XML
/// white space (space, TAB, CR, LF).
#[test]
fn non_xml_whitespace_around_issuer() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "non_xml_whitespace_around_issuer";
    let doc = sign(
        case,
        authn("", &issuer(&format!("{SP}\u{a0}")), &policy()).as_bytes(),
    );
    let expected = Values {
        issuer: s(&format!("{SP}\u{a0}")),
        ..authn_values()
    };
    check(case, Kind::Authn, &doc, Some(true), Some(expected));
}

// ------------------------------------------------------------------------ BOM and encodings

/// A UTF-8 byte order mark before a signed document. Observed: the reader skips it,
/// `verify_post` refuses the document (xml-sec does not parse a leading U+FEFF) — safe.
#[test]
fn bom_before_the_document() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "bom";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = [b"\xEF\xBB\xBF".as_slice(), &doc].concat();
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

/// A byte order mark, then an XML declaration.
#[test]
fn bom_then_declaration() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "bom_declaration";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = [
        b"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".as_slice(),
        &doc,
    ]
    .concat();
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

/// The declaration says UTF-16 but the bytes are UTF-8 (ASCII content).
#[test]
fn declaration_says_utf16_bytes_are_utf8() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "declaration_utf16_bytes_utf8";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = [
        b"<?xml version=\"1.0\" encoding=\"UTF-16\"?>".as_slice(),
        &doc,
    ]
    .concat();
    check(case, Kind::Authn, &doc, None, Some(authn_values()));
}

/// The declaration says ISO-8859-1, the content is ASCII: the same characters either way.
#[test]
fn declaration_says_latin1_ascii_content() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "declaration_latin1_ascii";
    let doc = sign(case, logout_plain().as_bytes());
    let doc = [
        b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>".as_slice(),
        &doc,
    ]
    .concat();
    check(case, Kind::Logout, &doc, Some(true), Some(logout_values()));
}

/// The declaration says ISO-8859-1 and the SP signed the document as such, but its bytes for
/// the NameID are the UTF-8 of "jösmith" (C3 B6): the signed NameID is "jÃ¶smith". The reader
/// ignores the declaration and would read "jösmith". Observed: `verify_post` ignores the
/// declaration as well (it gets the text already decoded as UTF-8), so the digest does not
/// match and the message is refused.
#[test]
fn declaration_says_latin1_bytes_are_utf8() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "declaration_latin1_bytes_utf8";
    let template = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>{}",
        logout_req("", &issuer(SP), &name_id("jösmith"))
    );
    let doc = sign(case, template.as_bytes());
    let expected = Values {
        name_id: s("j\u{c3}\u{b6}smith"),
        ..logout_values()
    };
    check(case, Kind::Logout, &doc, Some(true), Some(expected));
}

/// A real ISO-8859-1 document (byte F6 for ö), signed as such: the signed NameID is "jösmith".
#[test]
fn declaration_latin1_with_latin1_bytes() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "declaration_latin1_bytes_latin1";
    let template = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>{}",
        logout_req("", &issuer(SP), &name_id("j\u{1}smith"))
    )
    .into_bytes();
    let template: Vec<u8> = template
        .into_iter()
        .map(|b| if b == 1 { 0xF6 } else { b })
        .collect();
    let doc = sign(case, &template);
    let expected = Values {
        name_id: s("jösmith"),
        ..logout_values()
    };
    check(case, Kind::Logout, &doc, Some(true), Some(expected));
}

/// The whole signed document in UTF-16LE with a BOM and a UTF-16 declaration.
#[test]
fn utf16_document() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "utf16_document";
    let doc = sign(case, authn_plain().as_bytes());
    let text = format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-16\"?>{}",
        String::from_utf8(doc).unwrap()
    );
    let doc: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

// ------------------------------------------------------------------- processing instructions

/// A processing instruction inside the Issuer, signed: the Issuer's text is the joined text.
#[test]
fn pi_in_issuer() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "pi_in_issuer";
    let doc = sign(
        case,
        authn(
            "",
            &issuer("https://sp.example<?evil x?>/metadata"),
            &policy(),
        )
        .as_bytes(),
    );
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

/// A processing instruction before the root, added after signing (not covered, not read).
#[test]
fn pi_before_the_root() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "pi_before_the_root";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = [b"<?evil x?>".as_slice(), &doc, b"<?evil y?>"].concat();
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

/// An XML declaration in the middle of the Issuer, after signing: not well-formed (a PI
/// target `xml` is reserved), so no single reading. Observed: the reader alone accepts it
/// (quick-xml reports it as `Event::Decl`, which `xml::parse` skips at any depth) and reads
/// "https://sp.example/metadata"; `verify_post` refuses the document.
#[test]
fn xml_declaration_inside_issuer() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "xml_declaration_inside_issuer";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = edit(
        &doc,
        &issuer(SP),
        &issuer("https://sp.example<?xml version=\"1.0\"?>/metadata"),
    );
    check(case, Kind::Authn, &doc, Some(false), None);
}

// ---------------------------------------------------------------- nested and duplicate elements

/// Two Issuers, both signed: the SAML Issuer is the first (schema order); a reader picking the
/// last would read the other one.
#[test]
fn duplicate_issuer_siblings() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "duplicate_issuer_siblings";
    let doc = sign(
        case,
        authn(
            "",
            &format!("{}{}", issuer("https://evil.example/"), issuer(SP)),
            &policy(),
        )
        .as_bytes(),
    );
    let expected = Values {
        issuer: s("https://evil.example/"),
        ..authn_values()
    };
    check(case, Kind::Authn, &doc, Some(true), Some(expected));
}

/// An Issuer inside Extensions before the real one: only the root's own child counts.
#[test]
fn issuer_nested_in_extensions() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "issuer_nested_in_extensions";
    let doc = sign(
        case,
        authn(
            "",
            &format!(
                "<samlp:Extensions>{}</samlp:Extensions>{}",
                issuer("https://evil.example/"),
                issuer(SP)
            ),
            &policy(),
        )
        .as_bytes(),
    );
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

/// **Former divergence, now refused or read as signed** (element content inside a text value). The SP signed
/// `<saml:Issuer>https://sp.example/metadata<saml:Issuer>.evil</saml:Issuer></saml:Issuer>`:
/// the Issuer's string-value is "https://sp.example/metadata.evil"; the reader keeps only the
/// Issuer's own text and reads the registered entity ID. Safe: refuse element children inside
/// Issuer / NameID (simple content), or read the whole string-value.
#[test]
fn issuer_nested_in_issuer() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "issuer_nested_in_issuer";
    let doc = sign(
        case,
        authn("", &issuer(&format!("{SP}{}", issuer(".evil"))), &policy()).as_bytes(),
    );
    let expected = Values {
        issuer: s(&format!("{SP}.evil")),
        ..authn_values()
    };
    check(case, Kind::Authn, &doc, Some(true), Some(expected));
}

/// **Former divergence, now refused or read as signed** (element content inside a text value), for the NameID: signed
/// `<saml:NameID>jsmith<saml:NameID>.evil</saml:NameID></saml:NameID>` (string-value
/// "jsmith.evil"), read as "jsmith".
#[test]
fn name_id_nested_in_name_id() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "name_id_nested_in_name_id";
    let doc = sign(
        case,
        logout_req(
            "",
            &issuer(SP),
            &name_id("jsmith<saml:NameID>.evil</saml:NameID>"),
        )
        .as_bytes(),
    );
    let expected = Values {
        name_id: s("jsmith.evil"),
        ..logout_values()
    };
    check(case, Kind::Logout, &doc, Some(true), Some(expected));
}

/// Two NameIDs, both signed: the first is the NameID.
#[test]
fn duplicate_name_id_siblings() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "duplicate_name_id_siblings";
    let doc = sign(
        case,
        logout_req(
            "",
            &issuer(SP),
            "<saml:NameID>jsmith</saml:NameID><saml:NameID>admin</saml:NameID>",
        )
        .as_bytes(),
    );
    check(case, Kind::Logout, &doc, Some(true), Some(logout_values()));
}

// ----------------------------------------------------------------- markup a signature ignores

/// After signing: single-quoted attributes in another order, white space inside tags, an
/// empty element written as start and end tags — none of it reaches the canonical form.
#[test]
fn markup_rewritten_after_signing() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "markup_rewritten";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = edit(
        &doc,
        &format!(
            "ID=\"{ID}\" Version=\"2.0\" IssueInstant=\"{NOW}\" Destination=\"{SSO}\" \
AssertionConsumerServiceURL=\"{ACS}\">"
        ),
        &format!(
            "AssertionConsumerServiceURL = '{ACS}'\n Destination='{SSO}' IssueInstant='{NOW}'\t\
Version='2.0' ID='{ID}' >"
        ),
    );
    let doc = edit(&doc, "<saml:Issuer>", "<saml:Issuer\n>");
    let doc = edit(
        &doc,
        "AllowCreate=\"true\"/>",
        "AllowCreate=\"true\" ></samlp:NameIDPolicy >",
    );
    check(case, Kind::Authn, &doc, Some(true), Some(authn_values()));
}

/// The enveloped signature moved to the end of the root after signing (the enveloped
/// transform removes it wherever it is).
#[test]
fn signature_moved_to_the_end() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "signature_moved_to_the_end";
    let doc = String::from_utf8(sign(case, authn_plain().as_bytes())).unwrap();
    let start = doc.find("<ds:Signature").unwrap();
    let end = doc.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let moved = format!("{}{}", &doc[..start], &doc[end..]).replace(
        "</samlp:AuthnRequest>",
        &format!("{}</samlp:AuthnRequest>", &doc[start..end]),
    );
    check(
        case,
        Kind::Authn,
        moved.as_bytes(),
        Some(true),
        Some(authn_values()),
    );
}

/// The enveloped signature moved into the middle of the Issuer's text after signing: the
/// signed Issuer is still the joined text; the signature is no longer a child of the root.
#[test]
fn signature_moved_into_issuer() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "signature_moved_into_issuer";
    let doc = String::from_utf8(sign(case, authn_plain().as_bytes())).unwrap();
    let start = doc.find("<ds:Signature").unwrap();
    let end = doc.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let moved = format!("{}{}", &doc[..start], &doc[end..]).replace(
        "https://sp.example/metadata",
        &format!("https://sp.example{}/metadata", &doc[start..end]),
    );
    check(
        case,
        Kind::Authn,
        moved.as_bytes(),
        Some(true),
        Some(authn_values()),
    );
}

// ----------------------------------------------------------------------- signature wrapping

/// The signed original (ID `_diff0request`) hidden in the Extensions of an attacker's root that
/// takes the same ID and a copy of the signature.
#[test]
fn xsw_original_embedded_with_the_same_id() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "xsw_same_id";
    let original = String::from_utf8(sign(case, authn_plain().as_bytes())).unwrap();
    let signature = &original[original.find("<ds:Signature").unwrap()
        ..original.find("</ds:Signature>").unwrap() + "</ds:Signature>".len()];
    let evil = format!(
        "<samlp:AuthnRequest xmlns:samlp=\"{NS_SAMLP}\" xmlns:saml=\"{NS_SAML}\" ID=\"{ID}\" \
Version=\"2.0\" IssueInstant=\"{NOW}\" Destination=\"{SSO}\" AssertionConsumerServiceURL=\"https://evil.example/acs\">\
{}{signature}<samlp:Extensions>{original}</samlp:Extensions>{}</samlp:AuthnRequest>",
        issuer(SP),
        policy()
    );
    check(case, Kind::Authn, evil.as_bytes(), None, None);
}

/// The signature moved to an attacker's root (its own ID), still referencing the original
/// hidden in Extensions.
#[test]
fn xsw_signature_moved_to_a_wrapper() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "xsw_signature_moved";
    let original = String::from_utf8(sign(case, authn_plain().as_bytes())).unwrap();
    let start = original.find("<ds:Signature").unwrap();
    let end = original.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let signature = &original[start..end];
    let stripped = format!("{}{}", &original[..start], &original[end..]);
    let evil = format!(
        "<samlp:AuthnRequest xmlns:samlp=\"{NS_SAMLP}\" xmlns:saml=\"{NS_SAML}\" ID=\"_evil\" \
Version=\"2.0\" IssueInstant=\"{NOW}\" Destination=\"{SSO}\" AssertionConsumerServiceURL=\"https://evil.example/acs\">\
{}{signature}<samlp:Extensions>{stripped}</samlp:Extensions>{}</samlp:AuthnRequest>",
        issuer(SP),
        policy()
    );
    check(case, Kind::Authn, evil.as_bytes(), Some(true), None);
}

/// As above, the wrapper also carrying `xml:id` equal to the original's ID.
#[test]
fn xsw_wrapper_with_xml_id() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "xsw_xml_id";
    let original = String::from_utf8(sign(case, authn_plain().as_bytes())).unwrap();
    let start = original.find("<ds:Signature").unwrap();
    let end = original.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let signature = &original[start..end];
    let stripped = format!("{}{}", &original[..start], &original[end..]);
    let evil = format!(
        "<samlp:AuthnRequest xmlns:samlp=\"{NS_SAMLP}\" xmlns:saml=\"{NS_SAML}\" ID=\"_evil\" xml:id=\"{ID}\" \
Version=\"2.0\" IssueInstant=\"{NOW}\" Destination=\"{SSO}\" AssertionConsumerServiceURL=\"https://evil.example/acs\">\
{}{signature}<samlp:Extensions>{stripped}</samlp:Extensions>{}</samlp:AuthnRequest>",
        issuer(SP),
        policy()
    );
    check(case, Kind::Authn, evil.as_bytes(), None, None);
}

/// An Assertion with the root's ID put inside the signature (`ds:Object`), which the enveloped
/// transform removes from what is digested: the root still verifies, the ID is ambiguous.
#[test]
fn xsw_assertion_with_the_same_id_in_object() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "xsw_assertion_same_id";
    let doc = sign(case, authn_plain().as_bytes());
    let doc = edit(
        &doc,
        "</ds:Signature>",
        &format!(
            "<ds:Object><saml:Assertion ID=\"{ID}\" Version=\"2.0\" IssueInstant=\"{NOW}\">\
{}</saml:Assertion></ds:Object></ds:Signature>",
            issuer("https://evil.example/")
        ),
    );
    check(case, Kind::Authn, &doc, None, Some(authn_values()));
}

/// Attacker elements inside the signature's `ds:Object` (not digested): an Issuer and a
/// NameID that the reader must not take for the root's.
#[test]
fn xsw_content_in_object() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "xsw_content_in_object";
    let doc = sign(case, logout_plain().as_bytes());
    let doc = edit(
        &doc,
        "</ds:Signature>",
        &format!(
            "<ds:Object>{}<saml:NameID>admin</saml:NameID></ds:Object></ds:Signature>",
            issuer("https://evil.example/")
        ),
    );
    check(case, Kind::Logout, &doc, Some(true), Some(logout_values()));
}

/// A second, unsigned AuthnRequest after the signed root: not well-formed.
#[test]
fn xsw_second_root_after_the_signed_one() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "xsw_second_root";
    let doc = sign(case, authn_plain().as_bytes());
    let evil = authn_plain()
        .replace(ACS, "https://evil.example/acs")
        .replace(&sig(ID), "");
    let doc = [doc.as_slice(), evil.as_bytes()].concat();
    check(case, Kind::Authn, &doc, Some(false), None);
}

/// A second, unsigned AuthnRequest before the signed root: not well-formed either.
#[test]
fn xsw_second_root_before_the_signed_one() {
    if !xmlsec1_installed() {
        return;
    }
    let case = "xsw_second_root_before";
    let doc = sign(case, authn_plain().as_bytes());
    let evil = authn_plain()
        .replace(ACS, "https://evil.example/acs")
        .replace(&sig(ID), "")
        .replace(ID, "_evil");
    let doc = [evil.as_bytes(), doc.as_slice()].concat();
    check(case, Kind::Authn, &doc, Some(false), None);
}
