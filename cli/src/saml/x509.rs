//! X.509 for SAML apps: the IdP's signing key and self-signed certificate, the SP certificates an
//! admin hands in (PEM, DER or base64), and how a certificate is shown to a vendor.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use edge_idp::crypto::FillRng;
use edge_idp::saml::config::{decode_certificate, IdpKey};
use edge_idp::seal::{self, MasterKey, NONCE_LEN};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
use rsa::RsaPrivateKey;
use sha2::Sha256;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::Encode;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

use super::usage;
use crate::error::CliError;

/// How long a generated certificate is valid.
const CERT_YEARS: u64 = 10;

fn rng() -> FillRng<impl FnMut(&mut [u8])> {
    FillRng(|b: &mut [u8]| {
        // The OS generator does not fail on the platforms the CLI runs on; if it ever did, a
        // key must not come out of zeroes.
        if getrandom::fill(b).is_err() {
            std::process::abort();
        }
    })
}

fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    edge_idp::saml::time::format(secs)[..10].to_string()
}

/// A fresh RSA-2048 key and self-signed certificate, the key sealed for `tenant`.
pub(crate) fn new_key(master: &MasterKey, tenant: &str, app: &str) -> Result<IdpKey, CliError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        usage(format!("key generation failed ({what}): {e}"))
    };
    let mut rng = rng();
    let key = RsaPrivateKey::new(&mut rng, 2048).map_err(|e| fail("RSA", &e))?;
    let pkcs8 = key.to_pkcs8_der().map_err(|e| fail("PKCS#8", &e))?;
    let spki_der = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| fail("public key", &e))?;
    let spki = SubjectPublicKeyInfoOwned::try_from(spki_der.as_bytes())
        .map_err(|e| fail("public key", &e))?;
    let cn: String = format!("{app} ({tenant}) SAML signing")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || " .-_()".contains(*c))
        .collect();
    let subject = Name::from_str(&format!("CN={cn}")).map_err(|e| fail("name", &e))?;
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(CliError::Random)?;
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    let serial = SerialNumber::new(&serial).map_err(|e| fail("serial", &e))?;
    let validity = Validity::from_now(Duration::from_secs(CERT_YEARS * 365 * 86_400))
        .map_err(|e| fail("validity", &e))?;
    let signer = SigningKey::<Sha256>::new(key);
    let builder = CertificateBuilder::new(
        Profile::Leaf {
            issuer: subject.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        serial,
        validity,
        subject,
        spki,
        &signer,
    )
    .map_err(|e| fail("certificate", &e))?;
    let cert = builder
        .build_with_rng::<rsa::pkcs1v15::Signature>(&mut rng)
        .map_err(|e| fail("certificate", &e))?;
    let cert_der = cert.to_der().map_err(|e| fail("certificate", &e))?;
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(CliError::Random)?;
    Ok(IdpKey {
        certificate: STANDARD.encode(cert_der),
        private_key: seal::seal_secret(master, tenant, nonce, &STANDARD.encode(pkcs8.as_bytes())),
        created: Some(today()),
    })
}

pub(super) fn read_cert_file(path: &Path) -> Result<String, CliError> {
    let bytes = std::fs::read(path).map_err(|e| CliError::io("cannot read", path, e))?;
    let text = String::from_utf8_lossy(&bytes);
    let b64 = if let Some(start) = text.find("-----BEGIN CERTIFICATE-----") {
        let body = &text[start + 27..];
        let end = body
            .find("-----END CERTIFICATE-----")
            .ok_or_else(|| usage(format!("{}: unterminated PEM certificate", path.display())))?;
        body[..end].chars().filter(|c| !c.is_whitespace()).collect()
    } else if bytes.first() == Some(&0x30) {
        STANDARD.encode(&bytes)
    } else {
        text.chars().filter(|c| !c.is_whitespace()).collect()
    };
    if decode_certificate(&b64).is_none() {
        return Err(usage(format!(
            "{}: not an X.509 certificate (PEM, DER or base64 DER)",
            path.display()
        )));
    }
    Ok(b64)
}

/// `AB:CD:…`, the SHA-256 fingerprint of a certificate as vendors' forms show it.
pub(super) fn fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The `notAfter` of a DER certificate, in seconds since the epoch.
pub(crate) fn not_after_secs(der: &[u8]) -> Option<u64> {
    use x509_cert::der::Decode;
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    Some(
        cert.tbs_certificate
            .validity
            .not_after
            .to_unix_duration()
            .as_secs(),
    )
}

/// The `notAfter` date of a certificate, `YYYY-MM-DD`.
pub(super) fn expiry(der: &[u8]) -> Option<String> {
    let secs = not_after_secs(der)?;
    edge_idp::saml::time::format(secs)
        .split('T')
        .next()
        .map(str::to_string)
}

pub(super) fn pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn made_keys_sign_and_their_certificates_carry_them() {
        let master = MasterKey::from_bytes([7u8; 32]);
        let key = new_key(&master, "acme", "demo-sp").unwrap();
        let (_, spki) = decode_certificate(&key.certificate).unwrap();
        let pkcs8 = STANDARD
            .decode(seal::open_secret(&master, "acme", &key.private_key).unwrap())
            .unwrap();
        let soft =
            edge_idp::crypto::SoftKey::parse(edge_idp::crypto::SignAlg::Rs256, &pkcs8).unwrap();
        let sig = soft.sign(b"msg").unwrap();
        assert!(edge_idp::crypto::rsa_verify(
            &spki,
            edge_idp::crypto::RsaHash::Sha256,
            b"msg",
            &sig
        ));
        assert!(seal::open_secret(&master, "globex", &key.private_key).is_err());
    }
}
