//! OpenID Connect Back-Channel Logout 1.0: when a member's IdP session ends, every client it
//! signed in to that registered a `backchannel_logout_uri` is told server to server, with a
//! logout token (a signed JWT naming the session) POSTed as `logout_token`. The front channel
//! needs the member's browser to stay on our page; this does not, so a client learns of the
//! logout even when the browser is closed at once.
//!
//! All clients are told at once, each POST bounded by [`TIMEOUT_MS`], so a slow or dead client
//! delays the logout page by at most that; each outcome is audited, a failure is not retried.

use futures_util::future::join_all;
use serde_json::json;

use super::client::{self, Client, ClientId};
use super::keys::{self, KeySet};
use super::token::{client_hmac_key, id_token_signer, random_token};
use super::{issuer, jwt};
use crate::audit::Outcome;
use crate::platform::{HttpMethod, OutboundRequest, Platform};
use crate::Ctx;

/// The event a logout token carries.
const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How long one client gets to answer.
const TIMEOUT_MS: u32 = 2_000;

/// How long a logout token is valid: only long enough to be delivered.
const LIFETIME_SECS: u64 = 120;

/// Tells each of `clients` that registered a back-channel logout URI that session `sid` ended.
pub(crate) async fn notify<P: Platform>(ctx: &Ctx<'_, P>, sid: &str, clients: &[ClientId]) {
    let mut targets = Vec::new();
    for id in clients {
        if let Ok(Some(client)) = client::load(ctx, id).await {
            if client.backchannel_logout_uri.is_some() {
                targets.push(client);
            }
        }
    }
    if targets.is_empty() {
        return;
    }
    let keyset = match keys::load(ctx).await {
        Ok(keyset) => keyset,
        Err(e) => {
            for client in &targets {
                audit(
                    ctx,
                    client,
                    Outcome::Failure,
                    format!("no signing key: {e}"),
                );
            }
            return;
        }
    };
    join_all(targets.iter().map(|client| tell(ctx, &keyset, client, sid))).await;
}

/// POSTs one client its logout token, and audits what came of it.
async fn tell<P: Platform>(ctx: &Ctx<'_, P>, keyset: &KeySet, client: &Client, sid: &str) {
    let Some(uri) = client.backchannel_logout_uri.as_deref() else {
        return;
    };
    let token = match logout_token(ctx, keyset, client, sid).await {
        Ok(token) => token,
        Err(e) => return audit(ctx, client, Outcome::Failure, format!("not signed: {e}")),
    };
    let request = OutboundRequest {
        method: HttpMethod::Post,
        url: uri.to_string(),
        headers: vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: crate::http::encode_form(&[("logout_token", &token)]).into_bytes(),
        timeout_ms: TIMEOUT_MS,
    };
    match ctx.platform.fetch(request).await {
        Ok(answer) if (200..300).contains(&answer.status) => {
            audit(
                ctx,
                client,
                Outcome::Success,
                format!("HTTP {}", answer.status),
            );
        }
        Ok(answer) => audit(
            ctx,
            client,
            Outcome::Failure,
            format!("the client answered HTTP {}", answer.status),
        ),
        Err(e) => audit(ctx, client, Outcome::Failure, e.to_string()),
    }
}

/// The logout token for `client` and session `sid`, signed as its id_tokens are.
async fn logout_token<P: Platform>(
    ctx: &Ctx<'_, P>,
    keyset: &KeySet,
    client: &Client,
    sid: &str,
) -> Result<String, String> {
    let client_key = client_hmac_key(ctx, client);
    let signer = id_token_signer(client, keyset, client_key.as_deref())?;
    let now = ctx.platform.now().secs();
    // No `nonce`, by the specification: a logout token must not pass for an id_token.
    let claims = json!({
        "iss": issuer(ctx),
        "aud": client.id,
        "iat": now,
        "exp": now + LIFETIME_SECS,
        "jti": random_token(ctx),
        "sid": sid,
        "events": { EVENT: {} },
    });
    jwt::sign(ctx.platform, signer, "logout+jwt", &claims)
        .await
        .map_err(|e| e.to_string())
}

fn audit<P: Platform>(ctx: &Ctx<'_, P>, client: &Client, outcome: Outcome, detail: String) {
    ctx.audit(
        "oidc.backchannel_logout",
        outcome,
        Some(&client.id),
        Some(detail),
    );
}
