//! XML-DSig verification of SAML POST-binding messages, kept out of the IdP's bundle.
//!
//! The verifier (`xml-sec`) was more than half of the IdP's gzipped bundle (1.33 MB with it,
//! 0.58 MB without, on Workers), and only signed POST-binding messages from SPs need it. So it
//! runs as its own Worker (reached through a service binding) and its own Spin component (reached
//! by service chaining), and the IdP sends it the message and the keys to trust. This crate is
//! both sides of that call:
//! - [`request_body`] and [`read_verdict`]: what the IdP's core sends and reads back (its
//!   adapters only carry the bytes);
//! - [`answer`] and [`verify_post`] (feature `verifier`): what the verifier does with it.
//!
//! The verifier trusts only the keys the IdP sends, which come from the SP's stored metadata;
//! it never takes a key from the message. It keeps no state and reads nothing else.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The verifier's one path; anything else is not found.
pub const PATH: &str = "/verify";

/// The largest request the verifier reads: a message the IdP accepted (its own body cap is
/// smaller) plus the keys, base64-encoded in JSON.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// What the verifier found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Exactly one signature, over the document element, made by one of the keys.
    Verified,
    /// No key was given to verify with.
    NoKey,
    /// The message is not a document the verifier reads.
    Unparsable,
    /// No key verifies it, or the signature does not cover the message.
    Invalid,
}

#[derive(Serialize, Deserialize)]
struct VerifyRequest<'a> {
    /// The message exactly as received.
    #[serde(borrow)]
    xml: std::borrow::Cow<'a, str>,
    /// SubjectPublicKeyInfo DER of each trusted key, base64.
    keys: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct VerifyAnswer {
    verdict: Verdict,
}

/// The body of a request asking whether `xml` is signed by one of `spki_keys`.
pub fn request_body(xml: &str, spki_keys: &[Vec<u8>]) -> Vec<u8> {
    let request = VerifyRequest {
        xml: xml.into(),
        keys: spki_keys.iter().map(|k| STANDARD.encode(k)).collect(),
    };
    serde_json::to_vec(&request).unwrap_or_default()
}

/// The verdict in a verifier's answer; `None` when the answer is not one.
pub fn read_verdict(body: &[u8]) -> Option<Verdict> {
    serde_json::from_slice::<VerifyAnswer>(body)
        .ok()
        .map(|a| a.verdict)
}

/// The verifier's answer to a request body: a status and a JSON body.
#[cfg(feature = "verifier")]
pub fn answer(body: &[u8]) -> (u16, String) {
    let refuse = |why: &str| (400, serde_json::json!({ "error": why }).to_string());
    if body.len() > MAX_REQUEST_BYTES {
        return refuse("the request is too large");
    }
    let Ok(request) = serde_json::from_slice::<VerifyRequest>(body) else {
        return refuse("the request is not a verification request");
    };
    let Ok(keys) = request
        .keys
        .iter()
        .map(|k| STANDARD.decode(k))
        .collect::<Result<Vec<_>, _>>()
    else {
        return refuse("a key is not base64");
    };
    let verdict = verify_post(&request.xml, &keys);
    (
        200,
        serde_json::to_string(&VerifyAnswer { verdict }).unwrap_or_default(),
    )
}

#[cfg(feature = "verifier")]
mod verifier {
    use xml_sec::api::Operation;
    use xml_sec::policy::{PolicyCompileContext, PolicyCompiler, PolicyProfile};
    use xml_sec::provider::RustCryptoProvider;
    use xml_sec::xmldsig::{
        SignatureAlgorithm, SignatureRequirement, VerificationKey, VerificationRequest,
    };
    use xml_sec::XmlSecurity;

    use super::Verdict;

    static PROVIDER: RustCryptoProvider = RustCryptoProvider;

    thread_local! {
        /// xml-sec's compiled policy: once per isolate, never per request.
        static SECURITY: Option<XmlSecurity<'static>> = PolicyCompiler::new(PolicyProfile::Modern, &PROVIDER, None)
            .ok()
            .and_then(|c| c.compile(&PolicyCompileContext { external_resources: false, target_evidence: true }).ok())
            .and_then(|policies| XmlSecurity::new(Box::leak(Box::new(policies)), &PROVIDER).ok());
    }

    /// Verifies the enveloped XML signature of a POST-binding message: exactly one signature,
    /// its reference the document element, RSA-SHA256 or RSA-SHA512, made by one of
    /// `spki_keys` (SubjectPublicKeyInfo DER).
    pub fn verify_post(xml: &str, spki_keys: &[Vec<u8>]) -> Verdict {
        if spki_keys.is_empty() {
            return Verdict::NoKey;
        }
        SECURITY.with(|security| {
            // Without its policy the verifier verifies nothing: fail closed.
            let Some(security) = security.as_ref() else {
                return Verdict::Invalid;
            };
            let Ok(document) = security.parse_document(xml.to_owned(), Operation::Verify) else {
                return Verdict::Unparsable;
            };
            let root = document.with_view(|v| v.root_element());
            for spki in spki_keys {
                for algorithm in [SignatureAlgorithm::RsaSha256, SignatureAlgorithm::RsaSha512] {
                    let key = VerificationKey {
                        algorithm,
                        public_key_bytes: spki.clone(),
                        certificate_der: None,
                        name: None,
                    };
                    let Ok(verifier) = security.verifier() else {
                        return Verdict::Invalid;
                    };
                    let request = VerificationRequest {
                        expected_targets: &[root],
                        signatures: SignatureRequirement::Exactly(1),
                        ..Default::default()
                    };
                    if let Ok(evidence) = verifier.key(&key).verify(&document, &request) {
                        if evidence.accepted(&document).unwrap_or(false) {
                            return Verdict::Verified;
                        }
                    }
                }
            }
            Verdict::Invalid
        })
    }
}

#[cfg(feature = "verifier")]
pub use verifier::verify_post;

#[cfg(all(test, feature = "verifier"))]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips_and_a_hostile_one_is_refused() {
        let body = request_body("<a/>", &[vec![1, 2, 3]]);
        let (status, answer_body) = answer(&body);
        assert_eq!(status, 200);
        // A key that is no key verifies nothing.
        assert_eq!(read_verdict(answer_body.as_bytes()), Some(Verdict::Invalid));
        assert_eq!(
            read_verdict(answer(&request_body("<a/>", &[])).1.as_bytes()),
            Some(Verdict::NoKey)
        );
        for hostile in [
            &b"not json"[..],
            br#"{"xml":"<a/>"}"#,
            br#"{"xml":"<a/>","keys":["%%%"]}"#,
            br#"{"xml":1,"keys":[]}"#,
        ] {
            let (status, body) = answer(hostile);
            assert_eq!(status, 400, "{}", String::from_utf8_lossy(hostile));
            assert_eq!(read_verdict(body.as_bytes()), None);
        }
        let huge = vec![b' '; MAX_REQUEST_BYTES + 1];
        assert_eq!(answer(&huge).0, 400);
    }

    #[test]
    fn an_answer_that_is_not_a_verdict_reads_as_none() {
        for body in [&b""[..], b"{}", br#"{"verdict":"yes"}"#, b"<html>"] {
            assert_eq!(read_verdict(body), None);
        }
        assert_eq!(
            read_verdict(br#"{"verdict":"verified"}"#),
            Some(Verdict::Verified)
        );
    }
}
