//! OpenID Connect provider: discovery, JWKS, authorization code + PKCE, tokens, userinfo,
//! revocation and introspection, RP-initiated and front-channel logout.
//!
//! One file per endpoint ([`discovery`], [`jwks`], [`authorize`], [`token`], [`userinfo`],
//! [`token_status`] for revocation and introspection, [`logout`]) and per grant ([`grant_authorization_code`], [`grant_refresh_token`]); the client
//! and key configuration ([`client`], [`keys`]), JWS encoding and checking ([`jwt`]) and the
//! claims a member's record gives ([`claims`]) beside them. RS256 and ES256 signatures go through
//! [`Platform::sign`] (WebCrypto on Workers); HS256/HS512 are computed here.

pub(crate) mod authorize;
pub(crate) mod backchannel;
pub mod claims;
pub mod client;
pub mod client_assertion;
pub(crate) mod consent;
pub(crate) mod discovery;
pub(crate) mod error;
pub(crate) mod grant_authorization_code;
pub(crate) mod grant_client_credentials;
pub(crate) mod grant_refresh_token;
pub(crate) mod jwks;
pub mod jwt;
pub mod keys;
pub(crate) mod logout;
pub(crate) mod token;
pub(crate) mod token_status;
pub(crate) mod userinfo;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_backchannel;
#[cfg(test)]
mod tests_client_credentials;
#[cfg(test)]
mod tests_private_key_jwt;
#[cfg(test)]
mod tests_token_status;

use serde::{Deserialize, Serialize};

use crate::http::Response;
use crate::platform::{HttpMethod, Platform};
use crate::signin::{Reply, Session};
use crate::Ctx;

/// Per-isolate caches of the OIDC configuration (clients and opened keys), about a minute each.
#[derive(Debug, Default)]
pub(crate) struct OidcCache {
    keys: crate::cache::TtlCache<std::sync::Arc<keys::KeySet>>,
}

/// An authorization request waiting for the member to sign in (kept in the pending cookie).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PendingAuthorize {
    client_id: client::ClientId,
    /// The verified redirect URI.
    redirect_uri: client::RegisteredRedirect,
    /// Granted scopes (space separated, `openid` first).
    scope: String,
    /// `state`, echoed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    /// `nonce`, put in the id_token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
    /// PKCE S256 code challenge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code_challenge: Option<String>,
    /// `form_post` instead of the query.
    #[serde(default)]
    form_post: bool,
    /// `prompt=consent` asked for.
    #[serde(default)]
    prompt_consent: bool,
    /// `prompt=none`: no page may be shown.
    #[serde(default)]
    prompt_none: bool,
    /// The member consented on the consent page just now.
    #[serde(default)]
    consented: bool,
}

impl crate::signin::Resumable for PendingAuthorize {
    const KIND: &'static str = "oidc";
}

/// The issuer of this request's host: `https://{host}` plus the port when it is not 443.
fn issuer<P: Platform>(ctx: &Ctx<'_, P>) -> String {
    match ctx.req.port {
        Some(p) if p != 443 => format!("https://{}:{p}", ctx.req.host),
        _ => format!("https://{}", ctx.req.host),
    }
}

/// The audience of access tokens that stand for a member (and so may read userinfo); a client's
/// own tokens (`client_credentials`) name the issuer instead.
fn member_audience(iss: &str) -> String {
    format!("{iss}/oidc/userinfo")
}

/// Answers `/.well-known/…`, `/oidc/…` and `/openid/userinfo`; `None` for other paths.
pub(crate) async fn route<P: Platform>(ctx: &Ctx<'_, P>) -> Option<Reply> {
    let method = ctx.req.method;
    let get = matches!(method, HttpMethod::Get | HttpMethod::Head);
    let post = method == HttpMethod::Post;
    let options = method == HttpMethod::Options;
    if ctx.req.path == "/oidc/logout" && (get || post) {
        return Some(logout::handle(ctx).await);
    }
    let resp = match ctx.req.path.as_str() {
        "/.well-known/openid-configuration" if get => discovery::handle(ctx),
        "/.well-known/jwks.json" if get => jwks::handle(ctx).await,
        "/.well-known/openid-configuration" | "/.well-known/jwks.json" if options => {
            cors_preflight("*", "GET")
        }
        "/oidc/authorize" if get || post => authorize::handle(ctx).await,
        "/oidc/token" if post => token::handle(ctx).await,
        "/oidc/token" if options => token::preflight(ctx).await,
        "/oidc/revoke" if post => token_status::revoke(ctx).await,
        "/oidc/introspect" if post => token_status::introspect(ctx).await,
        "/oidc/userinfo" | "/openid/userinfo" if get || post => userinfo::handle(ctx).await,
        "/oidc/userinfo" | "/openid/userinfo" if options => cors_preflight("*", "GET, POST"),
        "/oidc/consent" if post => consent::handle(ctx).await,
        _ => return None,
    };
    Some(resp.into())
}

/// A CORS preflight answer.
fn cors_preflight(origin: &str, methods: &str) -> Response {
    Response::empty(204)
        .with_header("access-control-allow-origin", origin)
        .with_header("access-control-allow-methods", methods)
        .with_header(
            "access-control-allow-headers",
            "authorization, content-type, dpop",
        )
        .with_header("access-control-max-age", "600")
        .with_header("vary", "origin")
}

/// Finishes an authorization request after sign-in.
pub(crate) async fn resume<P: Platform>(
    ctx: &Ctx<'_, P>,
    pending: PendingAuthorize,
    session: &mut Session,
) -> Response {
    authorize::finish(ctx, pending, session).await
}

/// The front-channel logout URI of a client for session `sid`, if it registered one
/// (OpenID Connect Front-Channel Logout 1.0: `iss` and `sid` added to the query).
pub(crate) async fn frontchannel_logout_uri<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &client::ClientId,
    sid: &str,
) -> Option<String> {
    let client = client::load(ctx, client).await.ok()??;
    let uri = client.frontchannel_logout_uri.as_ref()?;
    let sep = if uri.contains('?') { '&' } else { '?' };
    Some(format!(
        "{uri}{sep}{}",
        crate::http::encode_form(&[("iss", &issuer(ctx)), ("sid", sid)])
    ))
}
