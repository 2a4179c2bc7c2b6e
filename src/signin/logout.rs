//! Single logout across every participant of an IdP session.
//!
//! Whatever starts it (`/signout`, a SAML LogoutRequest, OIDC RP-initiated logout, the bridge's
//! sign-out), the IdP session ends at once; then the browser visits each participant in turn:
//! SAML service providers with Single Logout get a LogoutRequest (front channel, one after the
//! other, each returning to `/signout/continue`), OIDC clients with a front-channel logout URI are
//! loaded in hidden frames on the last page, and the browser finally goes to `done`.
//! What remains to do is kept in a sealed, short-lived cookie. This module keeps that state; the
//! journey module, which knows every protocol, takes each step.

use serde::{Deserialize, Serialize};

use super::Participant;
use crate::cookie;
use askama::Template;

use crate::http::Response;
use crate::platform::Platform;
use crate::Ctx;

/// The logout-progress cookie's name.
pub const LOGOUT_COOKIE: &str = "__Host-idp-logout";
/// Where each participant's logout returns to.
pub(crate) const CONTINUE_PATH: &str = "/signout/continue";

/// What remains of a logout.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LogoutState {
    /// Session id of the ended session (OIDC `sid`).
    pub(crate) sid: String,
    /// Participants still to visit.
    pub(crate) remaining: Vec<Participant>,
    /// Front-channel logout URIs collected for the last page.
    pub(crate) frames: Vec<String>,
    /// Where the browser goes at the end (a local path or a verified URL).
    pub(crate) done: String,
}

/// The logout in progress in this request's cookie, if any.
pub(crate) fn load<P: Platform>(ctx: &Ctx<'_, P>) -> Option<LogoutState> {
    let key = cookie::cookie_key(ctx.platform, ctx.tenant.id.as_str())?;
    cookie::open(&key, LOGOUT_COOKIE, &ctx.req.cookie(LOGOUT_COOKIE)?)
}

/// `Set-Cookie` keeping `state` while the browser visits a participant.
pub(crate) fn save<P: Platform>(ctx: &Ctx<'_, P>, state: &LogoutState) -> Option<String> {
    let key = cookie::cookie_key(ctx.platform, ctx.tenant.id.as_str())?;
    let text = cookie::seal(ctx.platform, &key, LOGOUT_COOKIE, state)?;
    Some(cookie::set(LOGOUT_COOKIE, &text, 300))
}

#[derive(Template)]
#[template(path = "front_channel_logout.html")]
struct FrontChannelLogout<'a> {
    frames: &'a [String],
    done: &'a str,
    nonce: &'a str,
}

/// The end of the chain: the front-channel frames (if any), then `done`.
pub(crate) fn finish<P: Platform>(ctx: &Ctx<'_, P>, state: &LogoutState) -> Response {
    let clear = cookie::clear(LOGOUT_COOKIE);
    if state.frames.is_empty() {
        return Response::redirect(&state.done).with_header("set-cookie", clear);
    }
    // Front-channel logout: each client's URI in a hidden frame, then on to `done`.
    let origins: Vec<String> = state
        .frames
        .iter()
        .filter_map(|u| crate::http::origin_of(u))
        .collect();
    let body = crate::pages::render_template(&FrontChannelLogout {
        frames: &state.frames,
        done: &state.done,
        nonce: &ctx.nonce,
    });
    let mut resp = ctx
        .page(200, "Signing out", &body)
        .with_header("set-cookie", clear);
    for (k, v) in resp.headers.iter_mut() {
        if k == "content-security-policy" {
            *v = format!("{v}; frame-src {}", origins.join(" "));
        }
    }
    resp
}
