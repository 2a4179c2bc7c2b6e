//! Compact JWS (RFC 7515) for id_tokens and access tokens: built by hand, header and payload in
//! base64url, signed with [`Platform::sign`] (RS256, ES256 — WebCrypto on Workers) or with the
//! client's key (HS256, HS512). Also checks our own tokens when they come back (userinfo,
//! `id_token_hint`), with an algorithm allowlist: the header's `alg` must be the key's.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256, Sha512};

use super::keys::{Key, KeySet, Verifier};
use crate::crypto::KeyRef;
use crate::platform::{Platform, PlatformError};

/// Who signs a token.
#[derive(Clone, Copy)]
pub(crate) enum Signer<'a> {
    /// A tenant key (RS256 or ES256) through the platform.
    Key(&'a Key),
    /// HMAC-SHA256 with a client's key.
    Hs256(&'a [u8]),
    /// HMAC-SHA512 with a client's key.
    Hs512(&'a [u8]),
}

impl Signer<'_> {
    /// JWS `alg`.
    pub(crate) fn alg(&self) -> &'static str {
        match self {
            Self::Key(k) => k.alg_name(),
            Self::Hs256(_) => "HS256",
            Self::Hs512(_) => "HS512",
        }
    }
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(msg);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

fn hmac_sha512(key: &[u8], msg: &[u8]) -> Vec<u8> {
    match Hmac::<Sha512>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(msg);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Signs `claims` as a compact JWS with header `typ`.
pub(crate) async fn sign<P: Platform>(
    platform: &P,
    signer: Signer<'_>,
    typ: &str,
    claims: &Value,
) -> Result<String, PlatformError> {
    let mut header = serde_json::Map::new();
    header.insert("alg".into(), json!(signer.alg()));
    header.insert("typ".into(), json!(typ));
    if let Signer::Key(k) = signer {
        header.insert("kid".into(), Value::String(k.kid.clone()));
    }
    let header = Value::Object(header);
    let mut out = URL_SAFE_NO_PAD.encode(header.to_string());
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(claims.to_string(), &mut out);
    let sig = match signer {
        Signer::Key(k) => {
            let der = k
                .pkcs8
                .as_ref()
                .ok_or_else(|| PlatformError::Crypto(format!("key {} cannot sign", k.kid)))?;
            let key = KeyRef {
                id: &k.cache_id,
                alg: k.alg,
                pkcs8_der: der,
            };
            platform.sign(&key, out.as_bytes()).await?
        }
        Signer::Hs256(key) => hmac_sha256(key, out.as_bytes()),
        Signer::Hs512(key) => hmac_sha512(key, out.as_bytes()),
    };
    if sig.is_empty() {
        return Err(PlatformError::Crypto("empty signature".into()));
    }
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(sig, &mut out);
    Ok(out)
}

/// `at_hash` / `c_hash`: the left half of the hash of `value` that the JWS `alg` uses.
pub(crate) fn half_hash(alg: &str, value: &str) -> String {
    let digest = match alg {
        "HS512" => Sha512::digest(value.as_bytes()).to_vec(),
        _ => Sha256::digest(value.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(digest.get(..digest.len() / 2).unwrap_or_default())
}

/// A compact JWS taken apart, signature not yet checked.
#[derive(Debug, Clone)]
pub struct Unverified {
    /// The protected header.
    pub header: Value,
    /// The payload (claims).
    claims: Value,
    signing_input: String,
    signature: Vec<u8>,
}

impl Unverified {
    /// Splits a compact JWS; `None` if it is not one.
    pub fn parse(token: &str) -> Option<Self> {
        if token.len() > 16 * 1024 {
            return None;
        }
        let mut parts = token.split('.');
        let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
        let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()?;
        if !header.is_object() || !claims.is_object() {
            return None;
        }
        Some(Self {
            header,
            claims,
            signing_input: format!("{h}.{p}"),
            signature: URL_SAFE_NO_PAD.decode(s).ok()?,
        })
    }

    /// The header's `alg`.
    pub(crate) fn alg(&self) -> &str {
        self.header.get("alg").and_then(Value::as_str).unwrap_or("")
    }

    /// The claims, before checking the signature (to find the client of an HS token).
    pub fn unverified_claims(&self) -> &Value {
        &self.claims
    }

    /// The claims if a published tenant key with the header's `kid` and `alg` signed it.
    pub fn verify_keys(self, keys: &KeySet) -> Option<Value> {
        let kid = self.header.get("kid").and_then(Value::as_str)?;
        let key = keys.by_kid(kid)?;
        (key.alg_name() == self.alg()
            && key
                .verifier
                .verify(self.signing_input.as_bytes(), &self.signature))
        .then_some(self.claims)
    }

    /// The claims if one of `verifiers` signed it (the caller chose them for the header's `alg`
    /// and `kid`).
    pub(crate) fn verify_any<'k>(
        self,
        verifiers: impl IntoIterator<Item = &'k Verifier>,
    ) -> Option<Value> {
        let input = self.signing_input.as_bytes();
        verifiers
            .into_iter()
            .any(|v| v.verify(input, &self.signature))
            .then_some(self.claims)
    }

    /// The claims if the client's HMAC key signed it with `alg` (HS256 or HS512).
    pub fn verify_hmac(self, alg: &str, key: &[u8]) -> Option<Value> {
        if self.alg() != alg {
            return None;
        }
        let expected = match alg {
            "HS256" => hmac_sha256(key, self.signing_input.as_bytes()),
            "HS512" => hmac_sha512(key, self.signing_input.as_bytes()),
            _ => return None,
        };
        (!expected.is_empty() && crate::seal::constant_time_eq(&expected, &self.signature))
            .then_some(self.claims)
    }
}
