//! Token-bridge SSO: one-time tokens for vendors without SAML or
//! OIDC.
//!
//! - [`signin`]: `/bridge/{app}/signin` — the gatekeeper; silent re-auth or the sign-in journey,
//!   then the token is POSTed to the vendor, appended to the ReturnURL or set in a shared cookie.
//! - [`user`]: `/bridge/{app}/user` — the vendor redeems the token with its secret.
//! - [`ping`]: `/bridge/{app}/ping` — JSONP / CORS "is the member signed in?".
//! - [`signout`]: `/bridge/{app}/signout` — single logout, back to the validated ReturnURL.
//!
//! Apps are configured in `tenant:{id}:bridge:{app}` ([`app`]); every ReturnURL is checked by
//! [`return_url`]; tokens live in the take-once store ([`token`]).

pub mod app;
pub mod ping;
pub mod return_url;
pub mod signin;
pub(crate) mod signout;
pub mod token;
pub(crate) mod user;

use serde::{Deserialize, Serialize};

use crate::audit::Outcome;
use crate::http::Response;
use crate::platform::{HttpMethod, Platform};
use crate::signin::{Reply, Session};
use crate::text::{ErrorMessage, ErrorTitle};
use crate::Ctx;
use app::{AppError, Delivery};

/// A bridge sign-in waiting for the member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PendingSignin {
    /// Bridge app id.
    pub(crate) app: String,
    /// The validated ReturnURL, if the vendor gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) return_url: Option<String>,
    /// The delivery asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) delivery: Option<Delivery>,
}

impl crate::signin::Resumable for PendingSignin {
    const KIND: &'static str = "bridge";
}

/// Answers `/bridge/{app}/…`; `None` for other paths.
pub(crate) async fn route<P: Platform>(ctx: &Ctx<'_, P>) -> Option<Reply> {
    let rest = ctx.req.path.strip_prefix("/bridge/")?;
    let (app, endpoint) = rest.split_once('/')?;
    let get = matches!(ctx.req.method, HttpMethod::Get | HttpMethod::Head);
    if endpoint == "signout" && matches!(ctx.req.method, HttpMethod::Get | HttpMethod::Post) {
        return Some(signout::handle(ctx, app).await);
    }
    let resp = match (endpoint, get) {
        ("signin", true) => signin::handle(ctx, app).await,
        // GET only: a HEAD would spend the token without the vendor seeing the answer.
        ("user", _) if ctx.req.method == HttpMethod::Get => user::handle(ctx, app).await,
        ("ping", true) => ping::handle(ctx, app).await,
        ("ping", false) if ctx.req.method == HttpMethod::Options => ping::handle(ctx, app).await,
        ("signed-out", true) => signout::signed_out(ctx, app).await,
        _ => return None,
    };
    Some(resp.into())
}

/// Finishes a bridge sign-in after sign-in.
pub(crate) async fn resume<P: Platform>(
    ctx: &Ctx<'_, P>,
    pending: PendingSignin,
    session: &mut Session,
) -> Response {
    match app::load(ctx, &pending.app).await {
        Ok(app) => signin::finish(ctx, &app, pending, session).await,
        Err(e) => app_failure(ctx, &pending.app.clone(), &e),
    }
}

/// The front-channel logout URL of a bridge app that took part in an ending session, if it has
/// one (checked against its registered domains like every ReturnURL).
pub(crate) async fn frontchannel_logout_uri<P: Platform>(
    ctx: &Ctx<'_, P>,
    app_id: &str,
) -> Option<String> {
    let app = app::load(ctx, app_id).await.ok()?;
    let url = app.logout_url.as_deref()?;
    return_url::validate(&app, url).ok()
}

/// The page for an app that cannot be used.
pub(crate) fn app_failure<P: Platform>(ctx: &Ctx<'_, P>, app_id: &str, e: &AppError) -> Response {
    match e {
        AppError::Unknown => ctx.error_page(
            404,
            ErrorTitle::UnknownApp,
            ErrorMessage::NoAppHere,
            Some("/"),
        ),
        AppError::Invalid(why) | AppError::Unavailable(why) => {
            let safe_id = if app::is_app_id(app_id) { app_id } else { "?" };
            ctx.audit(
                "bridge.config_unusable",
                Outcome::Failure,
                Some(safe_id),
                Some(why.clone()),
            );
            ctx.error_page(
                503,
                ErrorTitle::SignInTemporarilyUnavailable,
                ErrorMessage::AppUnavailable,
                None,
            )
        }
    }
}

/// The JSON answer for an app that cannot be used (ping).
pub(crate) fn app_failure_json<P: Platform>(
    ctx: &Ctx<'_, P>,
    app_id: &str,
    e: &AppError,
) -> Response {
    match e {
        AppError::Unknown => user::json_error(404, "unknown_app", "no such application"),
        AppError::Invalid(why) | AppError::Unavailable(why) => {
            let safe_id = if app::is_app_id(app_id) { app_id } else { "?" };
            ctx.audit(
                "bridge.config_unusable",
                Outcome::Failure,
                Some(safe_id),
                Some(why.clone()),
            );
            user::json_error(503, "temporarily_unavailable", "try again later")
        }
    }
}

#[cfg(test)]
mod tests;
