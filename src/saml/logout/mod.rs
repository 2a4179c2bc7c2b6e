//! Single Logout: LogoutRequest and LogoutResponse, both directions, both bindings, signed.
//!
//! - **SP-initiated** (`/saml/{app}/slo` with a LogoutRequest): the request is verified (Issuer,
//!   signature with the SP's registered certificates, IssueInstant), the IdP session ends, every
//!   other participant is visited through the shared logout chain ([`crate::signin::logout`]),
//!   and the chain ends at `/saml/{app}/slo/done`, which answers the initiating SP with a signed
//!   LogoutResponse.
//! - **IdP-initiated** (`/signout`, or another SP's logout): [`logout_step`] sends a signed
//!   LogoutRequest to an SP with Single Logout; its LogoutResponse comes back to
//!   `/saml/{app}/slo` and the chain continues.
//!
//! Reading and checking incoming messages is `message.rs`, sending signed ones `send.rs`; this
//! file holds the `/saml/{app}/slo` endpoints.

mod message;
mod send;

use serde::{Deserialize, Serialize};

use self::message::verify_signature;
pub use self::message::{parse, LogoutMessage};
use self::send::answer;
pub(crate) use self::send::logout_step;
use super::binding::{self, Incoming, RelayState};
use super::config::{AppId, LoadedApp};
use super::response::Status;
use super::{app_or_page, urls};
use crate::audit::Outcome;
use crate::cookie;
use crate::http::{percent_encode, Response};
use crate::platform::Platform;
use crate::signin::{self, Participant, Reply};
use crate::text::{ErrorMessage, ErrorTitle};
use crate::Ctx;

/// The sealed value in `/saml/{app}/slo/done?t=…` (AAD: this name).
const DONE_TOKEN: &str = "saml-slo-done";

/// What `/saml/{app}/slo/done` needs to answer the initiating SP.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Done {
    app: AppId,
    irt: String,
    relay: Option<RelayState>,
    exp: u64,
}

/// `/saml/{app}/slo` (GET: Redirect binding; POST: POST binding).
pub(crate) async fn slo<P: Platform>(ctx: &Ctx<'_, P>, app_id: &AppId) -> Reply {
    let app = match app_or_page(ctx, app_id).await {
        Ok(a) => a,
        Err(resp) => return resp.into(),
    };
    if !app.cfg.slo_enabled {
        return refuse(
            ctx,
            app_id,
            "Single Logout is not enabled for this app".into(),
        );
    }
    let incoming = match binding::read(ctx) {
        Ok(i) => i,
        Err(e) => return refuse(ctx, app_id, e.to_string()),
    };
    let message = match parse(&incoming.xml) {
        Ok(m) => m,
        Err(e) => return refuse(ctx, app_id, e.to_string()),
    };
    match message {
        LogoutMessage::Response {
            issuer,
            status,
            xml_signed,
        } => {
            // Our own chain continues whatever the SP says; a bad answer is only audited.
            let verdict = if !issuer_is_sp(&app, &issuer) {
                Err("Issuer is not this app's SP".to_string())
            } else {
                verify_signature(ctx.platform, &app, &incoming, xml_signed).await
            };
            match verdict {
                Ok(()) => ctx.audit(
                    "saml.slo_response",
                    Outcome::Success,
                    Some(app_id),
                    status.map(|s| s.rsplit(':').next().unwrap_or_default().to_string()),
                ),
                Err(e) => ctx.audit("saml.slo_response", Outcome::Refused, Some(app_id), Some(e)),
            }
            Response::redirect(signin::logout::CONTINUE_PATH).into()
        }
        LogoutMessage::Request {
            id,
            issuer,
            issue_instant,
            name_id,
            destination,
            xml_signed,
        } => {
            let request = SpRequest {
                id,
                issuer,
                issue_instant,
                name_id,
                destination,
                xml_signed,
            };
            sp_request(ctx, &app, app_id, incoming, request).await
        }
    }
}

/// The fields of an SP's LogoutRequest.
struct SpRequest {
    id: String,
    issuer: Option<String>,
    issue_instant: u64,
    name_id: Option<String>,
    destination: Option<String>,
    xml_signed: bool,
}

fn issuer_is_sp(app: &LoadedApp, issuer: &Option<String>) -> bool {
    issuer.as_deref() == Some(app.cfg.sp.entity_id.as_str())
}

/// Audits a refused logout message; the page the member sees.
fn refuse<P: Platform>(ctx: &Ctx<'_, P>, app_id: &AppId, reason: String) -> Reply {
    ctx.audit(
        "saml.slo_refused",
        Outcome::Refused,
        Some(app_id),
        Some(reason),
    );
    ctx.error_page(
        400,
        ErrorTitle::SignOutRequestRefused,
        ErrorMessage::SignOutRequestRefused,
        Some("/signout"),
    )
    .into()
}

/// An SP-initiated logout: the member's session ends (when the SP names this browser's member)
/// and the logout chain runs; the SP is answered at its end.
async fn sp_request<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &LoadedApp,
    app_id: &AppId,
    incoming: Incoming,
    request: SpRequest,
) -> Reply {
    let now = match check_request(ctx, app, app_id, &incoming, &request).await {
        Ok(now) => now,
        Err(reply) => return reply,
    };
    let session = signin::current(ctx).await;
    let ours = session.as_ref().is_some_and(|s| {
        s.participants.iter().any(|p| matches!(p,
            Participant::Saml { app: a, name_id: n, .. } if a == app_id && Some(n) == request.name_id.as_ref()))
    });
    if session.is_some() && !ours {
        // The SP names someone else than this browser's member: leave the session alone.
        ctx.audit(
            "saml.slo_refused",
            Outcome::Refused,
            Some(app_id),
            Some("NameID does not match the session".into()),
        );
        return answer(
            ctx,
            app,
            &request.id,
            incoming.relay_state.as_deref(),
            Status::UNKNOWN_PRINCIPAL,
        )
        .await
        .into();
    }
    let Some(session) = session else {
        return answer(
            ctx,
            app,
            &request.id,
            incoming.relay_state.as_deref(),
            Status::SUCCESS,
        )
        .await
        .into();
    };
    ctx.audit(
        "saml.slo",
        Outcome::Success,
        Some(app_id),
        Some(format!("user {}", session.user.username)),
    );
    let done = Done {
        app: app_id.clone(),
        irt: request.id,
        relay: incoming.relay_state,
        exp: now + 600,
    };
    let token = cookie::cookie_key(ctx.platform, ctx.tenant.id.as_str())
        .and_then(|k| cookie::seal(ctx.platform, &k, DONE_TOKEN, &done));
    let Some(token) = token else {
        return ctx
            .error_page(
                503,
                ErrorTitle::SignOutUnavailable,
                ErrorMessage::SignOutUnavailable,
                None,
            )
            .into();
    };
    let mut ended = signin::end_session(ctx, session).await;
    // The SP that asked is answered at the end, not sent a LogoutRequest of its own.
    ended
        .participants
        .retain(|p| !matches!(p, Participant::Saml { app: a, .. } if a == app_id));
    let done_path = format!("/saml/{}/slo/done?t={}", percent_encode(app_id), token);
    // Through iMIS's logout first (per tenant setting), then answer the SP.
    let done = signin::after_sign_out_then(ctx, &done_path);
    ended.then(done)
}

/// Checks an SP's LogoutRequest (issuer, signature, destination, time, replay, somewhere to
/// answer); the current time when it passes, else the page to show.
async fn check_request<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &LoadedApp,
    app_id: &AppId,
    incoming: &Incoming,
    request: &SpRequest,
) -> Result<u64, Reply> {
    if !issuer_is_sp(app, &request.issuer) {
        return Err(refuse(ctx, app_id, "Issuer is not this app's SP".into()));
    }
    if let Err(e) = verify_signature(ctx.platform, app, incoming, request.xml_signed).await {
        return Err(refuse(ctx, app_id, format!("signature: {e}")));
    }
    if request
        .destination
        .as_ref()
        .is_some_and(|d| *d != urls(ctx, app).slo)
    {
        return Err(refuse(
            ctx,
            app_id,
            "Destination is not this Single Logout endpoint".into(),
        ));
    }
    let now = ctx.platform.now().secs();
    if request.issue_instant.abs_diff(now) > crate::saml::authn_request::MAX_SKEW_SECS {
        return Err(refuse(
            ctx,
            app_id,
            "IssueInstant is too far from the current time".into(),
        ));
    }
    match crate::saml::first_sighting(ctx, "saml-logout-req", app_id, &request.id).await {
        Ok(true) => {}
        Ok(false) => {
            return Err(refuse(
                ctx,
                app_id,
                "the LogoutRequest ID was seen before".into(),
            ))
        }
        Err(e) => {
            ctx.audit(
                "saml.store_unavailable",
                Outcome::Failure,
                Some(app_id),
                Some(e.to_string()),
            );
            return Err(ctx
                .error_page(
                    503,
                    ErrorTitle::SignOutTemporarilyUnavailable,
                    ErrorMessage::TryAgainSoon,
                    Some("/signout"),
                )
                .into());
        }
    }
    if app.cfg.sp.slo.is_none() {
        return Err(refuse(
            ctx,
            app_id,
            "the SP has no Single Logout endpoint to answer".into(),
        ));
    }
    Ok(now)
}

/// The answer to `/saml/{app}/slo/done` without a valid token for the app: the signed-out page,
/// as the logout itself is done.
pub(crate) fn no_done_token() -> Response {
    Response::redirect("/signed-out")
}

/// `/saml/{app}/slo/done?t=…`: the end of an SP-initiated logout — answer that SP.
pub(crate) async fn done<P: Platform>(ctx: &Ctx<'_, P>, app_id: &AppId) -> Response {
    let done: Option<Done> = ctx.req.query_param("t").and_then(|t| {
        let key = cookie::cookie_key(ctx.platform, ctx.tenant.id.as_str())?;
        cookie::open(&key, DONE_TOKEN, &t)
    });
    let Some(done) = done.filter(|d| d.app == *app_id && ctx.platform.now().secs() < d.exp) else {
        return no_done_token();
    };
    let app = match app_or_page(ctx, app_id).await {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    answer(ctx, &app, &done.irt, done.relay.as_deref(), Status::SUCCESS).await
}
