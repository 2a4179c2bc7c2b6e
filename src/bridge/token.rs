//! One-time tokens: 256 random bits, handed to the vendor, redeemed once by its user service
//! call. Stored in the strongly consistent take-once store under a digest of the token (the token
//! itself is never stored or logged), bound to the tenant and app, with a short lifetime.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::app::BridgeApp;
use crate::platform::{Platform, PlatformError};
use crate::signin::SessionUser;
use crate::Ctx;

/// What a token stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Grant {
    /// The member, as known at sign-in.
    pub(crate) user: SessionUser,
    /// When the token was minted (seconds since the epoch).
    issued: u64,
}

fn store_key(tenant: &str, app: &str, token: &str) -> String {
    crate::kv_key::bridge_token(tenant, app, &hex::encode(Sha256::digest(token.as_bytes())))
}

/// Whether `token` has the shape of a token we mint.
pub fn is_token_shape(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Mints a token for `user` and app.
pub(crate) async fn mint<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &BridgeApp,
    user: &SessionUser,
) -> Result<String, PlatformError> {
    let mut buf = [0u8; 32];
    ctx.platform.random(&mut buf);
    let token = URL_SAFE_NO_PAD.encode(buf);
    let grant = Grant {
        user: user.clone(),
        issued: ctx.platform.now().secs(),
    };
    let value = serde_json::to_vec(&grant).map_err(|e| PlatformError::Store(e.to_string()))?;
    ctx.platform
        .put_once(
            &store_key(ctx.tenant.id.as_str(), &app.id, &token),
            &value,
            app.token_ttl(),
        )
        .await?;
    Ok(token)
}

/// Takes the grant of `token` (at most once; `None` when unknown, used or expired).
pub(crate) async fn redeem<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &BridgeApp,
    token: &str,
) -> Result<Option<Grant>, PlatformError> {
    if !is_token_shape(token) {
        return Ok(None);
    }
    let Some(bytes) = ctx
        .platform
        .take_once(&store_key(ctx.tenant.id.as_str(), &app.id, token))
        .await?
    else {
        return Ok(None);
    };
    let grant: Option<Grant> = serde_json::from_slice(&bytes).ok();
    // The store's TTL is the main guard; the issue time is checked too in case a store keeps
    // values a little longer than asked.
    let now = ctx.platform.now().secs();
    Ok(grant.filter(|g| now <= g.issued.saturating_add(u64::from(app.token_ttl()))))
}
