//! Token-bridge SSO (issue 7): one-time tokens for vendors without SAML or OIDC.
//!
//! Scaffolding: the seams the rest of the IdP calls. No bridge endpoint answers yet.

use serde::{Deserialize, Serialize};

use crate::http::Response;
use crate::platform::Platform;
use crate::signin::Session;
use crate::Ctx;

/// A bridge sign-in waiting for the member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignin {
    /// Bridge app id.
    pub app: String,
}

/// Answers `/bridge/{app}/…`; `None` for other paths.
pub async fn route<P: Platform>(_ctx: &Ctx<'_, P>) -> Option<Response> {
    None
}

/// Finishes a bridge sign-in after sign-in.
pub async fn resume<P: Platform>(
    ctx: &Ctx<'_, P>,
    _pending: PendingSignin,
    _session: &mut Session,
) -> Response {
    ctx.error_page(
        501,
        "Not available",
        "This sign-in is not available yet.",
        Some("/"),
    )
}
