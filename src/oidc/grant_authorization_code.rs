//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6): the code is taken from the
//! take-once store (single use), bound to the client, the redirect URI and the PKCE verifier.
//! A second use fails with `invalid_grant` and revokes every token the first use issued.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::authorize::{token_hash, CodeRecord};
use super::client::Client;
use super::error::{ErrorCode, OidcError};
use super::token;
use crate::audit::Outcome;
use crate::platform::Platform;
use crate::seal::constant_time_eq;
use crate::Ctx;

/// How long a used code is remembered for reuse detection.
const USED_TTL_SECS: u32 = 3600;

/// The token family of a code: every token issued from it, revoked together.
fn family(code: &str) -> String {
    token_hash(code).chars().take(22).collect()
}

/// Whether `verifier` (RFC 7636 §4.1) matches the S256 `challenge`.
pub(crate) fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let shaped = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    shaped
        && constant_time_eq(
            URL_SAFE_NO_PAD
                .encode(Sha256::digest(verifier.as_bytes()))
                .as_bytes(),
            challenge.as_bytes(),
        )
}

fn invalid_grant(msg: &str) -> OidcError {
    OidcError::new(ErrorCode::InvalidGrant, msg)
}

/// Whether the code may be redeemed by this request: unexpired, issued to `client`, with the
/// authorization request's redirect URI and the verifier of its PKCE challenge.
fn check(
    record: &CodeRecord,
    client: &Client,
    now: u64,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
) -> Result<(), OidcError> {
    if now >= record.exp {
        return Err(invalid_grant("the authorization code has expired"));
    }
    if record.client_id != client.id {
        return Err(invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if redirect_uri != Some(record.redirect_uri.as_str()) {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&record.code_challenge, code_verifier) {
        (Some(challenge), Some(verifier)) if pkce_matches(verifier, challenge) => Ok(()),
        (Some(_), Some(_)) => Err(invalid_grant(
            "code_verifier does not match the code_challenge",
        )),
        (Some(_), None) => Err(invalid_grant("code_verifier is missing")),
        (None, Some(_)) => Err(invalid_grant(
            "no code_challenge was sent with the authorization request",
        )),
        (None, None) => Ok(()),
    }
}

/// Redeems a code.
pub(crate) async fn handle<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    form: &[(String, String)],
) -> Result<Value, OidcError> {
    let field = |n: &str| form.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let code = field("code")
        .filter(|c| !c.is_empty() && c.len() <= 256)
        .ok_or_else(|| OidcError::new(ErrorCode::InvalidRequest, "code is missing"))?;
    let family = family(code);
    let now = ctx.platform.now().secs();
    let record: CodeRecord = token::redeem_single_use(
        ctx,
        client,
        token::SingleUse {
            name: "authorization code",
            kind: "code",
            used_kind: "code-used",
            used_ttl_secs: USED_TTL_SECS,
            value: code,
            family: &family,
            reuse_event: "oidc.code_reused",
        },
        |record: &CodeRecord| {
            check(
                record,
                client,
                now,
                field("redirect_uri"),
                field("code_verifier"),
            )
        },
        |record| record.exp,
    )
    .await?;
    let refresh = token::refresh_grant(client, &record.grant);
    let body = token::issue(ctx, client, &record.grant, &family, refresh).await?;
    ctx.audit(
        "oidc.tokens_issued",
        Outcome::Success,
        Some(&client.id),
        Some("authorization_code".into()),
    );
    Ok(body)
}
