//! Signing keys and pure-Rust signatures.
//!
//! The core never signs by itself on the request path: it hands the key to [`Platform::sign`],
//! which uses the fastest signer of its runtime (WebCrypto on Workers). This module is the
//! pure-Rust signer for runtimes without one (Spin), the fake platform of the tests and the CLI,
//! plus RSA verification of detached signatures (SAML Redirect binding, client assertions).
//!
//! [`Platform::sign`]: crate::platform::Platform::sign

use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::RsaPublicKey;

pub use edge_idp_rsa::RsaSigner;

/// A signature algorithm the IdP signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (SAML `rsa-sha256`, JWS `RS256`).
    Rs256,
    /// ECDSA P-256 with SHA-256, signature as `r || s` (JWS `ES256`).
    Es256,
}

/// A private key to sign with: an id the platform may cache derived state under (an imported
/// CryptoKey, a parsed key), the algorithm, and the PKCS#8 DER bytes.
#[derive(Clone, Copy)]
pub struct KeyRef<'a> {
    /// Cache id, unique per key material (e.g. `acme:saml:demo-sp:2026-11`).
    pub id: &'a str,
    /// Algorithm.
    pub alg: SignAlg,
    /// PKCS#8 DER of the private key.
    pub pkcs8_der: &'a [u8],
}

impl std::fmt::Debug for KeyRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRef")
            .field("id", &self.id)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// What went wrong with a key or signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The key bytes are not a key of the expected kind.
    #[error("key is not a valid {0} key")]
    BadKey(&'static str),
    /// Signing failed.
    #[error("signing failed")]
    Sign,
}

/// A parsed private key, ready to sign (parse once, keep it: parsing RSA costs milliseconds).
pub enum SoftKey {
    /// RSA-2048/4096 PKCS#1 v1.5 SHA-256.
    Rsa(Box<RsaSigner>),
    /// ECDSA P-256.
    Ec(Box<p256::ecdsa::SigningKey>),
}

impl SoftKey {
    /// Parses PKCS#8 DER for `alg`.
    pub fn parse(alg: SignAlg, pkcs8_der: &[u8]) -> Result<Self, CryptoError> {
        match alg {
            SignAlg::Rs256 => RsaSigner::from_pkcs8(pkcs8_der)
                .map(|k| Self::Rsa(Box::new(k)))
                .ok_or(CryptoError::BadKey("RSA")),
            SignAlg::Es256 => p256::ecdsa::SigningKey::from_pkcs8_der(pkcs8_der)
                .map(|k| Self::Ec(Box::new(k)))
                .map_err(|_| CryptoError::BadKey("P-256")),
        }
    }

    /// Signs `msg` (RS256 or ES256, both deterministic: RSA in constant time with a check of
    /// the result, ECDSA with RFC 6979 nonces).
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match self {
            Self::Rsa(k) => k.sign_sha256(msg).ok_or(CryptoError::Sign),
            Self::Ec(k) => {
                let sig: p256::ecdsa::Signature = rsa::signature::Signer::try_sign(k.as_ref(), msg)
                    .map_err(|_| CryptoError::Sign)?;
                Ok(sig.to_bytes().to_vec())
            }
        }
    }
}

/// A random-number generator over a fill function (`Platform::random`, WASI random).
pub struct FillRng<F: FnMut(&mut [u8])>(pub F);

impl<F: FnMut(&mut [u8])> rand_core::RngCore for FillRng<F> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        (self.0)(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        (self.0)(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        (self.0)(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        (self.0)(dest);
        Ok(())
    }
}

impl<F: FnMut(&mut [u8])> rand_core::CryptoRng for FillRng<F> {}

/// The hash of an RSA PKCS#1 v1.5 signature to verify (SHA-256 or SHA-512).
pub use edge_idp_rsa::Hash as RsaHash;

/// Verifies an RSA PKCS#1 v1.5 signature with a public key given as SubjectPublicKeyInfo DER.
/// The `rsa` crate reads the key and bounds it (modulus size, exponent); the arithmetic is the
/// Montgomery core of our signer: 0.25 ms per RSA-2048 check on the Spin route, where the `rsa`
/// crate's took about 1 ms (docs/performance.md).
pub fn rsa_verify(spki_der: &[u8], hash: RsaHash, msg: &[u8], sig: &[u8]) -> bool {
    RsaPublicKeyRef::parse(spki_der).is_some_and(|key| key.verify(hash, msg, sig))
}

/// An RSA public key the core accepts: the `rsa` crate read it from its SubjectPublicKeyInfo DER
/// and bounded it (at most 4096 bits, a sane exponent). Only [`RsaPublicKeyRef::parse`] makes
/// one, so whichever arithmetic checks a signature ([`crate::platform::Platform::rsa_verify`])
/// gets a key within those bounds.
pub struct RsaPublicKeyRef<'a> {
    /// The key as SubjectPublicKeyInfo DER (what WebCrypto imports).
    pub spki_der: &'a [u8],
    n: Vec<u8>,
    e: Vec<u8>,
}

impl<'a> RsaPublicKeyRef<'a> {
    /// The key in `spki_der`, when it is an RSA key within the bounds.
    pub fn parse(spki_der: &'a [u8]) -> Option<Self> {
        let key = RsaPublicKey::from_public_key_der(spki_der).ok()?;
        Some(Self {
            spki_der,
            n: key.n().to_bytes_be(),
            e: key.e().to_bytes_be(),
        })
    }

    /// Whether `sig` is its RSASSA-PKCS1-v1_5 signature of `msg` under `hash`, by our own
    /// arithmetic.
    pub fn verify(&self, hash: RsaHash, msg: &[u8], sig: &[u8]) -> bool {
        edge_idp_rsa::verify_pkcs1_v15(&self.n, &self.e, hash, msg, sig)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rsa::pkcs8::EncodePrivateKey;

    #[test]
    fn rsa_and_ec_sign_and_verify() {
        let der = include_bytes!("testdata/test-rsa2048.pk8.der");
        let spki = include_bytes!("testdata/test-rsa2048.spki.der");
        let soft = SoftKey::parse(SignAlg::Rs256, der).unwrap();
        let sig = soft.sign(b"hello").unwrap();
        assert_eq!(sig.len(), 256);
        assert!(rsa_verify(spki, RsaHash::Sha256, b"hello", &sig));
        assert!(!rsa_verify(spki, RsaHash::Sha256, b"hellO", &sig));
        assert!(!rsa_verify(spki, RsaHash::Sha512, b"hello", &sig));
        assert!(SoftKey::parse(SignAlg::Es256, der).is_err());

        let secret = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
        let ec_der = secret.to_pkcs8_der().unwrap();
        let ec = p256::ecdsa::SigningKey::from(&secret);
        let soft = SoftKey::parse(SignAlg::Es256, ec_der.as_bytes()).unwrap();
        let sig = soft.sign(b"msg").unwrap();
        assert_eq!(sig.len(), 64);
        let vk = p256::ecdsa::VerifyingKey::from(&ec);
        let sig = p256::ecdsa::Signature::from_slice(&sig).unwrap();
        assert!(rsa::signature::Verifier::verify(&vk, b"msg", &sig).is_ok());
    }
}
