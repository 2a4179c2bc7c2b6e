//! OpenID Connect provider (issue 6): discovery, JWKS, authorization code + PKCE, tokens,
//! userinfo, logout, consent.
//!
//! Scaffolding: the seams the rest of the IdP calls. No OIDC endpoint answers yet.

use serde::{Deserialize, Serialize};

use crate::http::Response;
use crate::platform::Platform;
use crate::signin::Session;
use crate::Ctx;

/// An authorization request waiting for the member to sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAuthorize {
    /// Client id.
    pub client_id: String,
}

/// Answers `/.well-known/…`, `/oidc/…` and `/openid/userinfo`; `None` for other paths.
pub async fn route<P: Platform>(_ctx: &Ctx<'_, P>) -> Option<Response> {
    None
}

/// Finishes an authorization request after sign-in.
pub async fn resume<P: Platform>(
    ctx: &Ctx<'_, P>,
    _pending: PendingAuthorize,
    _session: &mut Session,
) -> Response {
    ctx.error_page(
        501,
        "Not available",
        "OpenID Connect sign-in is not available yet.",
        Some("/"),
    )
}

/// The front-channel logout URI of a client for session `sid`, if it registered one.
pub async fn frontchannel_logout_uri<P: Platform>(
    _ctx: &Ctx<'_, P>,
    _client: &str,
    _sid: &str,
) -> Option<String> {
    None
}
