//! Signing with WebCrypto (`crypto.subtle`): 0.65–1.1 ms per RSA-2048 signature on Workers against
//! 8–9 ms for the `rsa` crate in wasm (docs/toolchain.md). Keys are imported once per isolate and kept,
//! keyed by [`KeyRef::id`]. SPs' RSA signatures are checked with it too (keys kept by their DER).

use std::cell::RefCell;
use std::collections::HashMap;

use edge_idp::crypto::{KeyRef, RsaHash, SignAlg};
use edge_idp::platform::PlatformError;
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

thread_local! {
    /// Imported keys (JS objects: not Send, so per thread — one per isolate).
    static KEYS: RefCell<HashMap<String, CryptoKey>> = RefCell::new(HashMap::new());
    /// Imported public keys of SPs, by hash and SubjectPublicKeyInfo DER.
    static PUBLIC_KEYS: RefCell<HashMap<(bool, Vec<u8>), CryptoKey>> = RefCell::new(HashMap::new());
}

/// At most this many SP keys stay imported; past it the cache starts again (each tenant's SPs
/// have a few, and a key is re-imported in well under a millisecond).
const MAX_PUBLIC_KEYS: usize = 256;

fn err(what: &str, e: JsValue) -> PlatformError {
    PlatformError::Crypto(format!(
        "{what}: {}",
        e.as_string().unwrap_or_else(|| "WebCrypto error".into())
    ))
}

fn subtle() -> Result<SubtleCrypto, PlatformError> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .map_err(|e| err("crypto", e))?;
    Ok(crypto.unchecked_into::<web_sys::Crypto>().subtle())
}

const RSASSA: &str = "RSASSA-PKCS1-v1_5";

/// A WebCrypto algorithm object with these members.
fn algorithm_object(members: &[(&str, &str)]) -> Result<Object, PlatformError> {
    let o = Object::new();
    for (name, value) in members {
        Reflect::set(&o, &(*name).into(), &(*value).into()).map_err(|e| err("algorithm", e))?;
    }
    Ok(o)
}

fn algorithm(alg: SignAlg, for_import: bool) -> Result<Object, PlatformError> {
    match (alg, for_import) {
        (SignAlg::Rs256, true) => algorithm_object(&[("name", RSASSA), ("hash", "SHA-256")]),
        (SignAlg::Rs256, false) => algorithm_object(&[("name", RSASSA)]),
        (SignAlg::Es256, true) => algorithm_object(&[("name", "ECDSA"), ("namedCurve", "P-256")]),
        (SignAlg::Es256, false) => algorithm_object(&[("name", "ECDSA"), ("hash", "SHA-256")]),
    }
}

/// Imports a non-extractable key from `der` (`format` "pkcs8" or "spki") for the one `usage`.
async fn import_key(
    subtle: &SubtleCrypto,
    format: &str,
    der: &[u8],
    algorithm: &Object,
    usage: &str,
) -> Result<CryptoKey, PlatformError> {
    let promise = subtle
        .import_key_with_object(
            format,
            &Uint8Array::from(der),
            algorithm,
            false,
            &Array::of1(&usage.into()),
        )
        .map_err(|e| err("importKey", e))?;
    Ok(JsFuture::from(promise)
        .await
        .map_err(|e| err("importKey", e))?
        .unchecked_into())
}

async fn import(subtle: &SubtleCrypto, key: &KeyRef<'_>) -> Result<CryptoKey, PlatformError> {
    if let Some(k) = KEYS.with(|m| m.borrow().get(key.id).cloned()) {
        return Ok(k);
    }
    let imported = import_key(
        subtle,
        "pkcs8",
        key.pkcs8_der,
        &algorithm(key.alg, true)?,
        "sign",
    )
    .await?;
    KEYS.with(|m| m.borrow_mut().insert(key.id.to_string(), imported.clone()));
    Ok(imported)
}

/// Signs `msg` with `key` (RSASSA-PKCS1-v1_5 SHA-256, or ECDSA P-256 SHA-256 as `r || s`).
pub async fn sign(key: &KeyRef<'_>, msg: &[u8]) -> Result<Vec<u8>, PlatformError> {
    let subtle = subtle()?;
    let crypto_key = import(&subtle, key).await?;
    let promise = subtle
        .sign_with_object_and_u8_array(&algorithm(key.alg, false)?, &crypto_key, msg)
        .map_err(|e| err("sign", e))?;
    let sig = JsFuture::from(promise).await.map_err(|e| err("sign", e))?;
    Ok(Uint8Array::new(&sig).to_vec())
}

/// Whether `sig` is the RSASSA-PKCS1-v1_5 signature of `msg` under `hash` by `spki_der`. The
/// caller has bounded the key ([`edge_idp::crypto::RsaPublicKeyRef`]).
pub async fn rsa_verify(
    spki_der: &[u8],
    hash: RsaHash,
    msg: &[u8],
    sig: &[u8],
) -> Result<bool, PlatformError> {
    let subtle = subtle()?;
    let sha512 = matches!(hash, RsaHash::Sha512);
    let cache_key = (sha512, spki_der.to_vec());
    let cached = PUBLIC_KEYS.with(|m| m.borrow().get(&cache_key).cloned());
    let key = match cached {
        Some(k) => k,
        None => {
            let hash_name = if sha512 { "SHA-512" } else { "SHA-256" };
            let for_import = algorithm_object(&[("name", RSASSA), ("hash", hash_name)])?;
            let imported = import_key(&subtle, "spki", spki_der, &for_import, "verify").await?;
            PUBLIC_KEYS.with(|m| {
                let mut m = m.borrow_mut();
                if m.len() >= MAX_PUBLIC_KEYS {
                    m.clear();
                }
                m.insert(cache_key, imported.clone());
            });
            imported
        }
    };
    let promise = subtle
        .verify_with_object_and_u8_array_and_u8_array(
            &algorithm_object(&[("name", RSASSA)])?,
            &key,
            sig,
            msg,
        )
        .map_err(|e| err("verify", e))?;
    let verdict = JsFuture::from(promise)
        .await
        .map_err(|e| err("verify", e))?;
    Ok(verdict.as_bool() == Some(true))
}
