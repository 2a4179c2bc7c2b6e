//! Sealed cookies: AES-256-GCM with a key derived per tenant from the runtime's master secret
//! ([`crate::seal::Purpose::Cookies`]), the cookie's name as associated data (a value cannot be
//! moved from one cookie to another), `__Host-` names, `Secure; HttpOnly; SameSite=None` (iMIS
//! returns members with a cross-site POST that must carry them).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::platform::{Platform, MASTER_KEY_SECRET};
use crate::seal::{MasterKey, Purpose, SealKey};

/// Largest cookie value we write or read; browsers keep about 4 KB per cookie.
const MAX_COOKIE_LEN: usize = 3800;

/// The tenant's cookie key, or `None` when the runtime has no usable master key (then no cookie
/// is trusted and none is written: fail closed).
pub fn cookie_key(platform: &impl Platform, tenant_id: &str) -> Option<SealKey> {
    let master = MasterKey::from_base64(&platform.secret(MASTER_KEY_SECRET)?).ok()?;
    Some(SealKey::derive(&master, tenant_id, Purpose::Cookies))
}

/// Seals `value` for the cookie `name`. `None` if it would be too large.
pub fn seal<T: Serialize>(
    platform: &impl Platform,
    key: &SealKey,
    name: &str,
    value: &T,
) -> Option<String> {
    let plain = serde_json::to_vec(value).ok()?;
    let mut nonce = [0u8; 12];
    platform.random(&mut nonce);
    let text = URL_SAFE_NO_PAD.encode(key.seal(nonce, name.as_bytes(), &plain));
    (text.len() <= MAX_COOKIE_LEN).then_some(text)
}

/// Opens a cookie value sealed by [`seal`]; anything tampered, foreign or malformed is `None`.
pub fn open<T: DeserializeOwned>(key: &SealKey, name: &str, text: &str) -> Option<T> {
    if text.len() > MAX_COOKIE_LEN {
        return None;
    }
    let sealed = URL_SAFE_NO_PAD.decode(text).ok()?;
    let plain = key.open(name.as_bytes(), &sealed).ok()?;
    serde_json::from_slice(&plain).ok()
}

/// A `Set-Cookie` value that stores `value` for `max_age` seconds.
pub(crate) fn set(name: &str, value: &str, max_age: u64) -> String {
    format!("{name}={value}; Path=/; Max-Age={max_age}; Secure; HttpOnly; SameSite=None")
}

/// A `Set-Cookie` value that deletes the cookie.
pub(crate) fn clear(name: &str) -> String {
    format!("{name}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=None")
}
