//! The tenant's signing keys, `tenant:{id}:keys` (kv-schema/keys.schema.json): `current` signs,
//! `next` is published in JWKS before it signs anything, `previous` stays published until the
//! tokens it signed expire, and an optional `ec` key (ES256) signs for clients that ask for it.
//! Private parts are sealed; they are opened once per isolate and the parsed public keys kept.

use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use crate::crypto::SignAlg;
use crate::platform::{Platform, MASTER_KEY_SECRET};
use crate::seal::{open_secret, MasterKey};
use crate::Ctx;

/// How long opened keys are kept in the per-isolate cache.
const KEYS_TTL_SECS: u64 = 60;

#[derive(Debug, Clone, Deserialize)]
struct StoredKey {
    kid: String,
    #[serde(default = "rs256")]
    alg: String,
    public_jwk: serde_json::Map<String, Value>,
    #[serde(default)]
    private_key: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    created: Option<String>,
}

fn rs256() -> String {
    "RS256".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredKeys {
    schema_version: u32,
    #[serde(default)]
    current: Option<StoredKey>,
    #[serde(default)]
    next: Option<StoredKey>,
    #[serde(default)]
    previous: Option<StoredKey>,
    #[serde(default)]
    ec: Option<StoredKey>,
}

/// A public key that checks signatures.
#[derive(Clone)]
pub enum Verifier {
    /// RSA PKCS#1 v1.5 SHA-256.
    Rsa(Box<rsa::pkcs1v15::VerifyingKey<sha2::Sha256>>),
    /// ECDSA P-256 SHA-256.
    Ec(Box<p256::ecdsa::VerifyingKey>),
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Rsa(_) => "Verifier::Rsa",
            Self::Ec(_) => "Verifier::Ec",
        })
    }
}

impl Verifier {
    /// Whether `sig` (JWS form: PKCS#1 bytes or `r || s`) signs `msg`.
    pub(crate) fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        use rsa::signature::Verifier as _;
        match self {
            Self::Rsa(k) => rsa::pkcs1v15::Signature::try_from(sig)
                .map(|s| k.verify(msg, &s).is_ok())
                .unwrap_or(false),
            Self::Ec(k) => p256::ecdsa::Signature::from_slice(sig)
                .map(|s| k.verify(msg, &s).is_ok())
                .unwrap_or(false),
        }
    }
}

/// One opened key.
#[derive(Debug, Clone)]
pub struct Key {
    /// Key id (JWS `kid`).
    pub(crate) kid: String,
    /// Algorithm.
    pub(crate) alg: SignAlg,
    /// The public JWK as published (with `kid`, `alg`, `use`).
    pub(crate) jwk: Value,
    /// Checks signatures.
    pub(crate) verifier: Verifier,
    /// PKCS#8 DER of the private key, when this key may sign.
    pub pkcs8: Option<Arc<Vec<u8>>>,
    /// Cache id for `Platform::sign`.
    pub(crate) cache_id: String,
}

impl Key {
    /// JWS `alg` name.
    pub(crate) fn alg_name(&self) -> &'static str {
        match self.alg {
            SignAlg::Rs256 => "RS256",
            SignAlg::Es256 => "ES256",
        }
    }
}

/// The tenant's opened key set.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    /// Signs RS256 tokens.
    pub current: Option<Key>,
    /// Published, not yet signing.
    next: Option<Key>,
    /// Published until its tokens expire.
    previous: Option<Key>,
    /// Signs ES256 tokens.
    pub ec: Option<Key>,
}

impl KeySet {
    /// Every published key.
    pub(crate) fn published(&self) -> impl Iterator<Item = &Key> {
        [&self.current, &self.next, &self.previous, &self.ec]
            .into_iter()
            .flatten()
    }

    /// The published key with `kid`.
    pub(crate) fn by_kid(&self, kid: &str) -> Option<&Key> {
        self.published().find(|k| k.kid == kid)
    }
}

/// Why the keys cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysError {
    /// KV failed or holds no keys.
    #[error("signing keys unavailable: {0}")]
    Unavailable(String),
    /// A key is malformed or its private part does not open.
    #[error("signing keys invalid: {0}")]
    Invalid(String),
}

fn b64u_field(jwk: &serde_json::Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    jwk.get(name)
        .and_then(Value::as_str)
        .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
        .ok_or_else(|| format!("{name} missing or not base64url"))
}

impl Verifier {
    /// The verifier of a public JWK (RFC 7517) for a JWS `alg`: RS256 needs an RSA key (`n`,
    /// `e`), ES256 a P-256 key (`x`, `y`).
    pub fn from_jwk(alg: &str, jwk: &serde_json::Map<String, Value>) -> Result<Self, String> {
        match alg {
            "RS256" => {
                let n = rsa::BigUint::from_bytes_be(&b64u_field(jwk, "n")?);
                let e = rsa::BigUint::from_bytes_be(&b64u_field(jwk, "e")?);
                let key =
                    rsa::RsaPublicKey::new(n, e).map_err(|e| format!("not an RSA key: {e}"))?;
                Ok(Self::Rsa(Box::new(rsa::pkcs1v15::VerifyingKey::new(key))))
            }
            "ES256" => {
                let mut point = vec![4u8];
                point.extend(b64u_field(jwk, "x")?);
                point.extend(b64u_field(jwk, "y")?);
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                    .map_err(|_| "not a P-256 key".to_string())?;
                Ok(Self::Ec(Box::new(key)))
            }
            other => Err(format!("unsupported alg {other}")),
        }
    }
}

fn open_key(
    stored: StoredKey,
    tenant: &str,
    master: Option<&MasterKey>,
    may_sign: bool,
) -> Result<Key, KeysError> {
    let alg = match stored.alg.as_str() {
        "RS256" => SignAlg::Rs256,
        "ES256" => SignAlg::Es256,
        other => {
            return Err(KeysError::Invalid(format!(
                "key {}: unsupported alg {other}",
                stored.kid
            )))
        }
    };
    let verifier = Verifier::from_jwk(&stored.alg, &stored.public_jwk)
        .map_err(|e| KeysError::Invalid(format!("key {}: public_jwk: {e}", stored.kid)))?;
    let pkcs8 = match (may_sign, stored.private_key.as_deref(), master) {
        (true, Some(sealed), Some(master)) => {
            let b64 = open_secret(master, tenant, sealed)
                .map_err(|e| KeysError::Invalid(format!("key {}: private key: {e}", stored.kid)))?;
            let der = STANDARD.decode(b64.trim()).map_err(|_| {
                KeysError::Invalid(format!("key {}: private key is not base64", stored.kid))
            })?;
            Some(Arc::new(der))
        }
        (true, Some(_), None) => {
            return Err(KeysError::Unavailable(
                "the runtime has no master key".into(),
            ))
        }
        _ => None,
    };
    let mut jwk = stored.public_jwk.clone();
    jwk.insert("kid".into(), Value::String(stored.kid.clone()));
    jwk.insert("alg".into(), Value::String(stored.alg.clone()));
    jwk.insert("use".into(), Value::String("sig".into()));
    Ok(Key {
        cache_id: format!("{tenant}:oidc:{}", stored.kid),
        kid: stored.kid,
        alg,
        jwk: Value::Object(jwk),
        verifier,
        pkcs8,
    })
}

/// Parses a keys value and opens the private parts of the keys that sign.
pub fn parse(tenant: &str, bytes: &[u8], master: Option<&MasterKey>) -> Result<KeySet, KeysError> {
    let stored: StoredKeys =
        serde_json::from_slice(bytes).map_err(|e| KeysError::Invalid(e.to_string()))?;
    if stored.schema_version != 1 {
        return Err(KeysError::Invalid("schema_version must be 1".into()));
    }
    let open = |k: Option<StoredKey>, sign: bool| -> Result<Option<Key>, KeysError> {
        k.map(|k| open_key(k, tenant, master, sign)).transpose()
    };
    let set = KeySet {
        current: open(stored.current, true)?,
        next: open(stored.next, false)?,
        previous: open(stored.previous, false)?,
        ec: open(stored.ec, true)?,
    };
    if let Some(k) = &set.current {
        if k.alg != SignAlg::Rs256 || k.pkcs8.is_none() {
            return Err(KeysError::Invalid(
                "the current key must be an RS256 key with its private part".into(),
            ));
        }
    }
    if let Some(k) = &set.ec {
        if k.alg != SignAlg::Es256 || k.pkcs8.is_none() {
            return Err(KeysError::Invalid(
                "the ec key must be an ES256 key with its private part".into(),
            ));
        }
    }
    Ok(set)
}

/// The tenant's keys, from the per-isolate cache or KV.
pub(crate) async fn load<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Arc<KeySet>, KeysError> {
    let tenant = ctx.tenant.id.as_str();
    let key = crate::kv_key::oidc_keys(tenant);
    let now = ctx.platform.now();
    if let Some(hit) = ctx.idp.oidc.keys.get(&key, now) {
        return Ok(hit);
    }
    let bytes = match ctx.platform.config_get(&key).await {
        Ok(Some(b)) => b,
        Ok(None) => return Err(KeysError::Unavailable("no keys for this tenant".into())),
        Err(e) => return Err(KeysError::Unavailable(e.to_string())),
    };
    let master = ctx
        .platform
        .secret(MASTER_KEY_SECRET)
        .and_then(|m| MasterKey::from_base64(&m).ok());
    let set = Arc::new(parse(tenant, &bytes, master.as_ref())?);
    ctx.idp
        .oidc
        .keys
        .put(&key, set.clone(), now.plus_secs(KEYS_TTL_SECS), now);
    Ok(set)
}
