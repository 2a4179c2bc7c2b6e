//! `grant_type=refresh_token` (RFC 6749 §6) with rotation and reuse detection (OAuth 2.0
//! Security BCP §4.14): each refresh token is taken once and replaced; presenting a used one
//! revokes its whole family. A token reads `{family}.{random}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::authorize::Grant;
use super::claims::has_scope;
use super::client::{Client, ClientId};
use super::error::{ErrorCode, OidcError};
use super::token;
use crate::audit::Outcome;
use crate::platform::Platform;
use crate::Ctx;

/// What a refresh token stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RefreshRecord {
    /// The client it was issued to.
    pub(crate) client_id: ClientId,
    pub(crate) grant: Grant,
    /// When it expires (seconds since the epoch); absent in records written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) exp: Option<u64>,
}

/// How long a refresh token record without an expiry is put back after a refused redemption.
const UNKNOWN_EXPIRY_PUT_BACK_SECS: u64 = 86_400;

fn invalid_grant(msg: &str) -> OidcError {
    OidcError::new(ErrorCode::InvalidGrant, msg)
}

/// Whether every scope of the space-separated `asked` is in `granted`.
fn within(asked: &str, granted: &str) -> bool {
    asked
        .split(' ')
        .filter(|s| !s.is_empty())
        .all(|s| has_scope(granted, s))
}

/// Redeems (and rotates) a refresh token.
pub(crate) async fn handle<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    form: &[(String, String)],
) -> Result<Value, OidcError> {
    if !client.allows_refresh() {
        return Err(OidcError::new(
            ErrorCode::UnauthorizedClient,
            "the client may not use refresh tokens",
        ));
    }
    let field = |n: &str| form.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let token = field("refresh_token")
        .filter(|t| !t.is_empty() && t.len() <= 256)
        .ok_or_else(|| OidcError::new(ErrorCode::InvalidRequest, "refresh_token is missing"))?;
    let family = token.split_once('.').map(|(f, _)| f).unwrap_or("");
    if family.is_empty() {
        return Err(invalid_grant("the refresh token is not valid"));
    }
    if token::is_revoked(ctx, family).await? {
        return Err(invalid_grant("the refresh token has been revoked"));
    }
    let now = ctx.platform.now().secs();
    let record: RefreshRecord = token::redeem_single_use(
        ctx,
        client,
        token::SingleUse {
            name: "refresh token",
            kind: "rt",
            used_kind: "rt-used",
            used_ttl_secs: token::REVOCATION_TTL_SECS,
            value: token,
            family,
            reuse_event: "oidc.refresh_token_reused",
        },
        // Checked before the token is spent: a wrong request puts it back.
        |record: &RefreshRecord| {
            if record.client_id != client.id {
                return Err(invalid_grant(
                    "the refresh token was issued to another client",
                ));
            }
            match field("scope") {
                Some(scope) if !within(scope, &record.grant.scope) => Err(OidcError::new(
                    ErrorCode::InvalidScope,
                    "scope exceeds the original grant",
                )),
                _ => Ok(()),
            }
        },
        |record| record.exp.unwrap_or(now + UNKNOWN_EXPIRY_PUT_BACK_SECS),
    )
    .await?;
    // The new refresh token stands for the whole original grant (RFC 6749 §6: its scope is the
    // one the client presented); a narrower `scope` narrows only this response's tokens.
    let original = record.grant;
    let mut grant = original.clone();
    if let Some(scope) = field("scope") {
        grant.scope = scope.to_string();
    }
    grant.nonce = None;
    let body = token::issue(ctx, client, &grant, family, Some(&original)).await?;
    ctx.audit(
        "oidc.tokens_issued",
        Outcome::Success,
        Some(&client.id),
        Some("refresh_token".into()),
    );
    Ok(body)
}
