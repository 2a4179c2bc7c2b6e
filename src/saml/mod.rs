//! SAML 2.0 identity provider (issue 5): per-app metadata, SSO (Redirect and POST bindings),
//! IdP-initiated login, signed Responses and Assertions, Single Logout.
//!
//! Scaffolding: the seams the rest of the IdP calls. No SAML endpoint answers yet.

use serde::{Deserialize, Serialize};

use crate::http::Response;
use crate::platform::Platform;
use crate::signin::{Participant, Session};
use crate::Ctx;

/// A SAML request waiting for the member to sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSso {
    /// SAML app (internal Client ID).
    pub app: String,
}

/// Answers `/saml/{app}/…`; `None` when the path is not a SAML endpoint.
pub async fn route<P: Platform>(_ctx: &Ctx<'_, P>) -> Option<Response> {
    None
}

/// Finishes a SAML request after sign-in.
pub async fn resume<P: Platform>(
    ctx: &Ctx<'_, P>,
    _pending: PendingSso,
    _session: &mut Session,
) -> Response {
    ctx.error_page(
        501,
        "Not available",
        "SAML sign-in is not available yet.",
        Some("/"),
    )
}

/// Sends a LogoutRequest to a SAML participant during single logout (returning to `continue_to`);
/// `None` when it has no Single Logout endpoint.
pub async fn logout_step<P: Platform>(
    _ctx: &Ctx<'_, P>,
    _participant: &Participant,
    _continue_to: &str,
) -> Option<Response> {
    None
}
