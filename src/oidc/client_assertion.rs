//! `private_key_jwt` client authentication (OpenID Connect Core §9, RFC 7523 §2.2 and §3): the
//! client proves itself with a short-lived JWT signed by a key of the JWKS registered for it.
//! `iss` and `sub` are the client id, `aud` is this token endpoint (or the issuer), `exp` is
//! near, and each `jti` is accepted once (the counter store remembers it until `exp`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::client::{Client, ASSERTION_ALGS};
use super::issuer;
use super::jwt::Unverified;
use crate::platform::Platform;
use crate::Ctx;

/// The only `client_assertion_type` (RFC 7523 §2.2).
pub(crate) const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest accepted assertion lifetime (`exp` − now). Libraries use 60 s to 1 h.
const MAX_LIFETIME_SECS: i64 = 3600;

/// Clock skew allowed on `exp`, `nbf` and `iat`.
const SKEW_SECS: i64 = 60;

/// Why an assertion is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    /// The assertion is wrong (answered as `invalid_client`).
    #[error("client assertion refused: {0}")]
    Refused(String),
    /// The replay store cannot be reached (the assertion is neither accepted nor spent).
    #[error("the replay store is unavailable")]
    Unavailable,
}

fn refused(msg: impl Into<String>) -> AssertionError {
    AssertionError::Refused(msg.into())
}

/// The client id an assertion claims to come from (`iss`), before anything is checked: it
/// says which client's keys to check it with.
pub fn claimed_client(assertion: &str) -> Option<String> {
    let jws = Unverified::parse(assertion)?;
    let iss = jws.unverified_claims().get("iss")?.as_str()?;
    Some(iss.to_string())
}

/// The replay-store key of a `jti` (hashed: the `jti` is the client's text).
fn jti_key(tenant: &str, client: &str, jti: &str) -> String {
    let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(jti.as_bytes()));
    crate::kv_key::oidc_jti(tenant, client, &digest)
}

fn int_claim(claims: &Value, name: &str) -> Result<Option<i64>, AssertionError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| refused(format!("{name} is not a number"))),
    }
}

/// Checks `assertion` as a `private_key_jwt` of `client`; on success its `jti` is spent.
pub async fn verify<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    assertion: &str,
) -> Result<(), AssertionError> {
    let jws = Unverified::parse(assertion).ok_or_else(|| refused("not a signed JWT"))?;
    let alg = jws.alg().to_string();
    if !ASSERTION_ALGS.contains(&alg.as_str()) {
        return Err(refused(format!(
            "alg {alg:?} is not accepted (use RS256 or ES256)"
        )));
    }
    if jws.header.get("crit").is_some() {
        return Err(refused("crit header parameters are not supported"));
    }
    let kid = jws
        .header
        .get("kid")
        .and_then(Value::as_str)
        .map(str::to_string);
    let candidates: Vec<_> = client
        .assertion_keys
        .iter()
        .filter(|k| k.alg == alg && (kid.is_none() || k.kid == kid))
        .map(|k| &k.verifier)
        .collect();
    if candidates.is_empty() {
        return Err(refused(match kid {
            Some(kid) => format!("no registered {alg} key has kid {kid:?}"),
            None => format!("no registered {alg} key"),
        }));
    }
    let claims = jws
        .verify_any(candidates)
        .ok_or_else(|| refused("signature does not verify with the registered keys"))?;

    let text = |n: &str| claims.get(n).and_then(Value::as_str);
    if text("iss") != Some(client.id.as_str()) || text("sub") != Some(client.id.as_str()) {
        return Err(refused("iss and sub must be the client_id"));
    }
    let iss = issuer(ctx);
    let token_endpoint = format!("{iss}/oidc/token");
    let audience_ok = |a: &Value| a.as_str().is_some_and(|a| a == token_endpoint || a == iss);
    let aud_ok = match claims.get("aud") {
        Some(Value::Array(list)) => list.iter().any(audience_ok),
        Some(a) => audience_ok(a),
        None => false,
    };
    if !aud_ok {
        return Err(refused(format!(
            "aud must be {token_endpoint} or the issuer"
        )));
    }
    let now = i64::try_from(ctx.platform.now().secs()).unwrap_or(i64::MAX);
    let exp = int_claim(&claims, "exp")?.ok_or_else(|| refused("exp is missing"))?;
    if exp <= now - SKEW_SECS {
        return Err(refused("the assertion has expired"));
    }
    if exp > now + MAX_LIFETIME_SECS + SKEW_SECS {
        return Err(refused(format!(
            "exp is too far ahead (at most {MAX_LIFETIME_SECS} s)"
        )));
    }
    for name in ["nbf", "iat"] {
        if int_claim(&claims, name)?.is_some_and(|t| t > now + SKEW_SECS) {
            return Err(refused(format!("{name} is in the future")));
        }
    }
    let jti = text("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| refused("jti is missing"))?;
    let window = u32::try_from((exp - now + SKEW_SECS).clamp(1, MAX_LIFETIME_SECS + 2 * SKEW_SECS))
        .unwrap_or(1);
    let key = jti_key(ctx.tenant.id.as_str(), &client.id, jti);
    match ctx.platform.count(&key, window, 1).await {
        Ok(1) => Ok(()),
        Ok(_) => Err(refused("this assertion (jti) was already used")),
        Err(_) => Err(AssertionError::Unavailable),
    }
}
