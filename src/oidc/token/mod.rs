//! `/oidc/token` (RFC 6749 §3.2, OpenID Connect Core §3.1.3): client authentication, the grant
//! dispatcher, and the issuing of id_tokens, access tokens (signed JWTs, RFC 9068) and refresh
//! tokens. Every answer carries `Cache-Control: no-store`.
//!
//! This file is the endpoint; how its client authenticates is `client_auth.rs`, codes and refresh
//! tokens are spent once through `single_use.rs`, and tokens are made in `issue.rs`.

mod client_auth;
mod issue;
mod single_use;

pub(crate) use self::client_auth::authenticate;
pub(crate) use self::issue::{
    client_hmac_key, id_token_signer, issue, issue_client_token, open_claims, random_token,
    refresh_grant,
};
pub(crate) use self::single_use::put_back;
pub(crate) use self::single_use::{
    is_revoked, redeem_single_use, revoke, SingleUse, REVOCATION_TTL_SECS,
};

use super::client::{Client, ClientType};
use super::error::{ErrorCode, OidcError};
use super::{grant_authorization_code, grant_client_credentials, grant_refresh_token};
use crate::audit::Outcome;
use crate::http::Response;
use crate::platform::Platform;
use crate::Ctx;

/// The CORS header for a public client calling from one of its redirect URIs' origins.
fn cors(ctx_origin: Option<&str>, client: Option<&Client>) -> Option<String> {
    let origin = ctx_origin?;
    let client = client?;
    (client.client_type == ClientType::Public && client.origins().iter().any(|o| o == origin))
        .then(|| origin.to_string())
}

/// `OPTIONS /oidc/token`: browsers ask before a public client's cross-origin POST. A preflight
/// names no client, so any well-formed origin (`scheme://host[:port]`, exactly as
/// [`crate::http::origin_of`] writes it) gets a yes, and the POST itself is checked per client;
/// anything else is not echoed back into a header.
pub(crate) async fn preflight<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    match ctx.req.header("origin") {
        Some(origin) if crate::http::origin_of(origin).as_deref() == Some(origin) => {
            super::cors_preflight(origin, "POST")
        }
        _ => Response::empty(204),
    }
}

/// `POST /oidc/token`.
pub(crate) async fn handle<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    let form = ctx.req.form();
    let origin = ctx.req.header("origin").map(str::to_string);
    let auth = match authenticate(ctx, &form).await {
        Ok(a) => a,
        Err((e, basic)) => return e.token_response(basic),
    };
    let field = |n: &str| form.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let result = match field("grant_type") {
        Some("authorization_code") => {
            grant_authorization_code::handle(ctx, &auth.client, &form).await
        }
        Some("refresh_token") => grant_refresh_token::handle(ctx, &auth.client, &form).await,
        Some("client_credentials") => {
            grant_client_credentials::handle(ctx, &auth.client, &form).await
        }
        Some(_) => Err(OidcError::new(
            ErrorCode::UnsupportedGrantType,
            "grant_type must be authorization_code, refresh_token or client_credentials",
        )),
        None => Err(OidcError::new(
            ErrorCode::InvalidRequest,
            "grant_type is missing",
        )),
    };
    let resp = match result {
        Ok(body) => Response::json(200, &body)
            .with_header("cache-control", "no-store")
            .with_header("pragma", "no-cache"),
        Err(e) => {
            ctx.audit(
                "oidc.token_refused",
                Outcome::Refused,
                Some(&auth.client.id),
                Some(e.to_string()),
            );
            e.token_response(auth.basic)
        }
    };
    match cors(origin.as_deref(), Some(&auth.client)) {
        Some(o) => resp
            .with_header("access-control-allow-origin", o)
            .with_header("vary", "origin"),
        None => resp,
    }
}
