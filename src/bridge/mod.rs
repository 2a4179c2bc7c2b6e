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
use app::{AppError, AppId, Delivery};

/// A bridge sign-in waiting for the member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PendingSignin {
    /// Bridge app id.
    app: AppId,
    /// The validated ReturnURL, if the vendor gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    return_url: Option<String>,
    /// The delivery asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delivery: Option<Delivery>,
}

impl crate::signin::Resumable for PendingSignin {
    const KIND: &'static str = "bridge";
}

/// A bridge endpoint of an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    SignIn,
    User,
    Ping,
    SignOut,
    SignedOut,
}

impl Endpoint {
    /// The endpoint a path's last part and a method ask for.
    fn of(path: &str, method: HttpMethod) -> Option<Self> {
        use HttpMethod::{Get, Head, Options, Post};
        match (path, method) {
            ("signin", Get | Head) => Some(Self::SignIn),
            // GET only: a HEAD would spend the token without the vendor seeing the answer.
            ("user", Get) => Some(Self::User),
            ("ping", Get | Head | Options) => Some(Self::Ping),
            ("signout", Get | Post) => Some(Self::SignOut),
            ("signed-out", Get | Head) => Some(Self::SignedOut),
            _ => None,
        }
    }

    /// What the endpoint answers for an app this tenant does not have.
    fn unknown_app<P: Platform>(self, ctx: &Ctx<'_, P>) -> Response {
        match self {
            Self::SignIn | Self::SignOut | Self::SignedOut => page_for_unknown_app(ctx),
            Self::Ping => json_for_unknown_app(),
            Self::User => user::invalid_client(),
        }
    }
}

/// Answers `/bridge/{app}/…`; `None` for other paths.
pub(crate) async fn route<P: Platform>(ctx: &Ctx<'_, P>) -> Option<Reply> {
    let rest = ctx.req.path.strip_prefix("/bridge/")?;
    let (app, endpoint) = rest.split_once('/')?;
    let endpoint = Endpoint::of(endpoint, ctx.req.method)?;
    // An id no app can have is answered as an app this tenant does not have.
    let Some(app) = AppId::parse(app) else {
        return Some(endpoint.unknown_app(ctx).into());
    };
    Some(match endpoint {
        Endpoint::SignIn => signin::handle(ctx, &app).await.into(),
        Endpoint::User => user::handle(ctx, &app).await.into(),
        Endpoint::Ping => ping::handle(ctx, &app).await.into(),
        Endpoint::SignOut => signout::handle(ctx, &app).await,
        Endpoint::SignedOut => signout::signed_out(ctx, &app).await.into(),
    })
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
    app_id: &AppId,
) -> Option<String> {
    let app = app::load(ctx, app_id).await.ok()?;
    let url = app.logout_url.as_deref()?;
    return_url::validate(&app, url).ok()
}

/// The page for an app that cannot be used.
fn app_failure<P: Platform>(ctx: &Ctx<'_, P>, app_id: &AppId, e: &AppError) -> Response {
    match e {
        AppError::Unknown => page_for_unknown_app(ctx),
        AppError::Invalid(why) | AppError::Unavailable(why) => {
            ctx.audit(
                "bridge.config_unusable",
                Outcome::Failure,
                Some(app_id),
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
fn app_failure_json<P: Platform>(ctx: &Ctx<'_, P>, app_id: &AppId, e: &AppError) -> Response {
    match e {
        AppError::Unknown => json_for_unknown_app(),
        AppError::Invalid(why) | AppError::Unavailable(why) => {
            ctx.audit(
                "bridge.config_unusable",
                Outcome::Failure,
                Some(app_id),
                Some(why.clone()),
            );
            user::json_error(503, "temporarily_unavailable", "try again later")
        }
    }
}

fn page_for_unknown_app<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    ctx.error_page(
        404,
        ErrorTitle::UnknownApp,
        ErrorMessage::NoAppHere,
        Some("/"),
    )
}

fn json_for_unknown_app() -> Response {
    user::json_error(404, "unknown_app", "no such application")
}

#[cfg(test)]
mod tests;
