//! The only place that knows how SAML messages are signed and verified.
//!
//! - **Incoming POST-binding signatures** (XML-DSig): verified by the separate XML verifier
//!   ([`Platform::ask_xml_verifier`], `crates/xml-verify`: `xml-sec`, pinned exactly) against
//!   keys from the stored SP metadata only — never a key from the message's KeyInfo — requiring
//!   exactly one signature whose reference covers the document element (no signature wrapping),
//!   RSA-SHA256 or RSA-SHA512 only.
//! - **Incoming Redirect-binding signatures**: over the raw query string as received
//!   (`SAMLRequest=…&RelayState=…&SigAlg=…`), RSA-SHA256 or RSA-SHA512.
//! - **Outgoing signatures**: enveloped, exclusive c14n, RSA-SHA256, over the canonical bytes our
//!   own writer produces ([`super::xml::El`]), signed by [`Platform::sign`] (WebCrypto on Workers).

use super::binding::QuerySignature;
use super::xml::El;
use crate::crypto::{KeyRef, RsaHash, RsaPublicKeyRef};
use crate::platform::{Platform, PlatformError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use edge_idp_xml_verify::Verdict;
use sha2::{Digest, Sha256};

/// `SigAlg` of RSA-SHA256.
pub(crate) const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
/// `SigAlg` of RSA-SHA512.
const RSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsigError {
    /// The app has no SP certificate to verify with.
    #[error("no SP signing certificate is registered")]
    NoKey,
    /// The signature algorithm is not allowed (SHA-1, unknown).
    #[error("signature algorithm not allowed: {0}")]
    Algorithm(String),
    /// The signature is malformed or missing its parts.
    #[error("signature is malformed: {0}")]
    Malformed(&'static str),
    /// No registered key verifies it, or it does not cover the message.
    #[error("signature does not verify with the registered SP certificates")]
    Invalid,
    /// The XML verifier could not be asked, or did not answer with a verdict.
    #[error("the XML signature verifier is unavailable: {0}")]
    Unavailable(String),
}

/// Verifies the enveloped XML signature of a POST-binding message: exactly one signature, its
/// reference the document element, made by one of `spki_keys` (SubjectPublicKeyInfo DER). The
/// verifier runs apart from this bundle (`docs/xml-signing.md` §6); when it cannot be reached
/// the message is refused.
pub async fn verify_post(
    platform: &impl Platform,
    xml: &str,
    spki_keys: &[Vec<u8>],
) -> Result<(), DsigError> {
    if spki_keys.is_empty() {
        return Err(DsigError::NoKey);
    }
    let answer = platform
        .ask_xml_verifier(edge_idp_xml_verify::request_body(xml, spki_keys))
        .await
        .map_err(|e| DsigError::Unavailable(e.to_string()))?;
    // Only a verdict in a successful answer counts: a runtime's error page is no verdict.
    let verdict = (answer.status == 200)
        .then(|| edge_idp_xml_verify::read_verdict(&answer.body))
        .flatten();
    match verdict {
        Some(Verdict::Verified) => Ok(()),
        Some(Verdict::NoKey) => Err(DsigError::NoKey),
        Some(Verdict::Unparsable) => Err(DsigError::Malformed("document")),
        Some(Verdict::Invalid) => Err(DsigError::Invalid),
        None => Err(DsigError::Unavailable(format!(
            "it answered {} without a verdict",
            answer.status
        ))),
    }
}

/// Verifies the signature of a Redirect-binding query: RSA over the signed octets exactly as
/// received (see [`QuerySignature`]).
pub async fn verify_redirect(
    platform: &impl Platform,
    sig: &QuerySignature,
    spki_keys: &[Vec<u8>],
) -> Result<(), DsigError> {
    if spki_keys.is_empty() {
        return Err(DsigError::NoKey);
    }
    let hash = match sig.sig_alg.as_str() {
        RSA_SHA256 => RsaHash::Sha256,
        RSA_SHA512 => RsaHash::Sha512,
        other => return Err(DsigError::Algorithm(other.chars().take(100).collect())),
    };
    let signature = STANDARD
        .decode(sig.signature.replace([' ', '\n', '\r'], ""))
        .map_err(|_| DsigError::Malformed("Signature is not base64"))?;
    for key in spki_keys.iter().filter_map(|k| RsaPublicKeyRef::parse(k)) {
        if platform
            .rsa_verify(&key, hash, sig.signed.as_bytes(), &signature)
            .await
        {
            return Ok(());
        }
    }
    Err(DsigError::Invalid)
}

/// A signing key of an app: the key to hand to [`Platform::sign`] and the certificate to put
/// in KeyInfo.
#[derive(Clone)]
pub(crate) struct Signer<'a> {
    /// The private key.
    pub(crate) key: KeyRef<'a>,
    /// The certificate's DER.
    pub(crate) cert_der: &'a [u8],
}

/// Signs `target` (whose `ID` is `id`): computes the digest of its canonical form, signs the
/// canonical SignedInfo, and inserts the `ds:Signature` right after its `saml:Issuer`.
pub(crate) async fn sign_enveloped<P: Platform>(
    platform: &P,
    signer: &Signer<'_>,
    target: &mut El,
    id: &str,
) -> Result<(), PlatformError> {
    let digest = STANDARD.encode(Sha256::digest(target.to_c14n().as_bytes()));
    let alg = |name: &'static str, a: &'static str| El::new(name).attr("Algorithm", a);
    let signed_info = El::new("ds:SignedInfo")
        .child(alg("ds:CanonicalizationMethod", EXC_C14N))
        .child(alg("ds:SignatureMethod", RSA_SHA256))
        .child(
            El::new("ds:Reference")
                .attr("URI", format!("#{id}"))
                .child(
                    El::new("ds:Transforms")
                        .child(alg("ds:Transform", ENVELOPED))
                        .child(
                            alg("ds:Transform", EXC_C14N).child(
                                El::new("ec:InclusiveNamespaces")
                                    .attr("PrefixList", super::xml::INCLUSIVE_PREFIXES),
                            ),
                        ),
                )
                .child(alg("ds:DigestMethod", SHA256))
                .child(El::new("ds:DigestValue").text(digest)),
        );
    // SignedInfo is canonicalized as its own apex (it carries its own xmlns:ds).
    let signature = platform
        .sign(&signer.key, signed_info.to_c14n().as_bytes())
        .await?;
    let sig = El::new("ds:Signature")
        .child(signed_info)
        .child(El::new("ds:SignatureValue").text(STANDARD.encode(signature)))
        .child(
            El::new("ds:KeyInfo").child(
                El::new("ds:X509Data")
                    .child(El::new("ds:X509Certificate").text(STANDARD.encode(signer.cert_der))),
            ),
        );
    let pos = target.position("saml:Issuer").map_or(0, |p| p + 1);
    target.insert(pos, sig);
    Ok(())
}

/// Signs a Redirect-binding query `kind=…[&RelayState=…]` (already encoded): appends
/// `&SigAlg=…&Signature=…`.
pub(crate) async fn sign_redirect<P: Platform>(
    platform: &P,
    signer: &Signer<'_>,
    query: &str,
) -> Result<String, PlatformError> {
    let signed = format!("{query}&SigAlg={}", crate::http::percent_encode(RSA_SHA256));
    let sig = platform.sign(&signer.key, signed.as_bytes()).await?;
    Ok(format!(
        "{signed}&Signature={}",
        crate::http::percent_encode(&STANDARD.encode(sig))
    ))
}

/// The SubjectPublicKeyInfo DER inside an X.509 certificate's DER.
pub fn spki_of_certificate(cert: &[u8]) -> Option<Vec<u8>> {
    let (tag, cert_body, _) = der_tlv(cert)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, mut tbs, _) = der_tlv(cert_body)?;
    if tag != 0x30 {
        return None;
    }
    // [0] version (optional), serialNumber, signature, issuer, validity, subject, spki
    if tbs.first() == Some(&0xA0) {
        tbs = der_tlv(tbs)?.2;
    }
    for expected in [0x02, 0x30, 0x30, 0x30, 0x30] {
        let (tag, _, rest) = der_tlv(tbs)?;
        if tag != expected {
            return None;
        }
        tbs = rest;
    }
    let (tag, _, rest) = der_tlv(tbs)?;
    let whole = tbs.get(..tbs.len().saturating_sub(rest.len()))?;
    (tag == 0x30).then(|| whole.to_vec())
}

/// One DER TLV: (tag, contents, what follows).
fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)? as usize;
    let (len, header) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *input.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    Some((tag, input.get(header..end)?, input.get(end..)?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn finds_the_key_of_a_certificate() {
        let cert = STANDARD
            .decode(include_str!("../../tests/saml/keys/sp.crt.b64").trim())
            .unwrap();
        let spki = spki_of_certificate(&cert).unwrap();
        assert_eq!(spki[0], 0x30);
        assert!(spki.len() > 290 && spki.len() < 300, "{}", spki.len());
        assert!(spki_of_certificate(&cert[..100]).is_none());
        assert!(spki_of_certificate(b"\x30\x03\x02\x01\x01").is_none());
    }
}
