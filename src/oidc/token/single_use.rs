//! Codes and refresh tokens are spent once: the take-once store, the "used" markers that tell a
//! second presentation from a wrong one, and the revocation of a token family on reuse.

use crate::audit::Outcome;
use crate::oidc::authorize::store_key;
use crate::oidc::client::Client;
use crate::oidc::error::{ErrorCode, OidcError};
use crate::platform::{Platform, PlatformError};
use crate::Ctx;

/// How long a revocation flag of a token family is kept (the longest refresh token lifetime).
pub(crate) const REVOCATION_TTL_SECS: u32 = 90 * 86400;

/// A single-use credential presented at the token endpoint: an authorization code or a
/// refresh token, kept in the take-once store under `kind` with a "used" marker under
/// `used_kind` so that a second presentation can be told from a wrong one.
pub(crate) struct SingleUse<'a> {
    /// What it is called in errors ("authorization code", "refresh token").
    pub(crate) name: &'static str,
    /// Store kind of the credential's record.
    pub(crate) kind: &'static str,
    /// Store kind of its "used" marker.
    pub(crate) used_kind: &'static str,
    /// How long the "used" marker is kept.
    pub(crate) used_ttl_secs: u32,
    /// The presented value.
    pub(crate) value: &'a str,
    /// The token family it belongs to (revoked together on reuse).
    pub(crate) family: &'a str,
    /// Audit event of a reuse.
    pub(crate) reuse_event: &'static str,
}

/// Redeems a single-use credential: takes its record (exactly one taker wins) and runs `check`
/// on it (the client, redirect URI, PKCE…). A record that fails `check` is put back unspent, until
/// `expires(record)` (seconds): whoever merely holds a leaked code or refresh token must not be
/// able to burn it, and so revoke the real client's tokens. A credential that was already
/// redeemed revokes its whole family (RFC 6749 §4.1.2, OAuth 2.0 Security BCP §4.14).
pub(crate) async fn redeem_single_use<
    P: Platform,
    R: serde::de::DeserializeOwned + serde::Serialize,
>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    c: SingleUse<'_>,
    check: impl FnOnce(&R) -> Result<(), OidcError>,
    expires: impl FnOnce(&R) -> u64,
) -> Result<R, OidcError> {
    let tenant = ctx.tenant.id.as_str();
    let unavailable = |_| {
        OidcError::new(
            ErrorCode::TemporarilyUnavailable,
            "the token store is unavailable",
        )
    };
    let used_key = store_key(tenant, c.used_kind, c.value);
    let record_key = store_key(tenant, c.kind, c.value);
    let taken = ctx
        .platform
        .take_once(&record_key)
        .await
        .map_err(unavailable)?;
    let Some(bytes) = taken else {
        let used = ctx
            .platform
            .count(&used_key, c.used_ttl_secs, 0)
            .await
            .map_err(unavailable)?;
        if used == 0 {
            return Err(OidcError::new(
                ErrorCode::InvalidGrant,
                format!("the {} is not valid or has expired", c.name),
            ));
        }
        // The reused token is refused either way; the audit line says whether its family ended.
        let (outcome, detail) = match revoke(ctx, c.family).await {
            Ok(()) => (Outcome::Refused, "token family revoked".to_string()),
            Err(e) => (
                Outcome::Failure,
                format!("the token family could not be revoked: {e}"),
            ),
        };
        ctx.audit(c.reuse_event, outcome, Some(&client.id), Some(detail));
        return Err(OidcError::new(
            ErrorCode::InvalidGrant,
            format!(
                "the {} was already used; the tokens issued with it are revoked",
                c.name
            ),
        ));
    };
    let record: R = serde_json::from_slice(&bytes).map_err(|_| {
        OidcError::new(
            ErrorCode::InvalidGrant,
            format!("the {} is not valid", c.name),
        )
    })?;
    if let Err(e) = check(&record) {
        put_back(ctx, &record_key, &bytes, expires(&record)).await?;
        return Err(e);
    }
    ctx.platform
        .count(&used_key, c.used_ttl_secs, 1)
        .await
        .map_err(unavailable)?;
    Ok(record)
}

/// Puts a taken record back into the take-once store until `expires` (seconds since the epoch);
/// one already expired stays gone.
pub(crate) async fn put_back<P: Platform>(
    ctx: &Ctx<'_, P>,
    key: &str,
    bytes: &[u8],
    expires: u64,
) -> Result<(), OidcError> {
    let left = expires.saturating_sub(ctx.platform.now().secs());
    if left == 0 {
        return Ok(());
    }
    ctx.platform
        .put_once(key, bytes, u32::try_from(left).unwrap_or(u32::MAX))
        .await
        .map_err(|_| {
            OidcError::new(
                ErrorCode::TemporarilyUnavailable,
                "the token store is unavailable",
            )
        })
}

/// The revocation flag of a token family (set when a code or refresh token is used twice).
fn revocation_key(tenant: &str, family: &str) -> String {
    crate::kv_key::oidc_revoked(tenant, family)
}

/// Whether a token family has been revoked.
pub(crate) async fn is_revoked<P: Platform>(
    ctx: &Ctx<'_, P>,
    family: &str,
) -> Result<bool, OidcError> {
    ctx.platform
        .count(
            &revocation_key(ctx.tenant.id.as_str(), family),
            REVOCATION_TTL_SECS,
            0,
        )
        .await
        .map(|n| n > 0)
        .map_err(|_| {
            OidcError::new(
                ErrorCode::TemporarilyUnavailable,
                "the token store is unavailable",
            )
        })
}

/// Revokes a token family (every token issued from one authorization).
pub(crate) async fn revoke<P: Platform>(
    ctx: &Ctx<'_, P>,
    family: &str,
) -> Result<(), PlatformError> {
    ctx.platform
        .count(
            &revocation_key(ctx.tenant.id.as_str(), family),
            REVOCATION_TTL_SECS,
            1,
        )
        .await
        .map(|_| ())
}
