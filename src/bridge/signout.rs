//! `/bridge/{app}/signout?ReturnURL=…`: single logout started by the vendor.
//!
//! A `GET` (the vendor's sign-out link) asks the member to confirm, as `/signout` does: any page
//! can make a browser GET this URL (an `<img>` tag), so only the confirmation form's `POST`,
//! carrying the session's anti-forgery token, ends the session. Without a session there is
//! nothing to end, and the browser goes straight on to the ReturnURL. Then the other participants are told as the protocols do (the shared
//! logout chain); per tenant setting the browser then passes through iMIS's `logout.aspx`, which
//! returns to `/bridge/{app}/signed-out?ReturnURL=…` on this host; that page checks the ReturnURL
//! again (it is reachable by anyone, so it must not become an open redirect) and goes there.

use super::app::AppId;
use super::{app_failure, return_url};
use crate::audit::Outcome;
use crate::http::{percent_encode, Response};
use crate::platform::Platform;
use crate::signin::{self, Participant, Reply};
use crate::Ctx;

/// `GET` / `POST /bridge/{app}/signout`.
pub(crate) async fn handle<P: Platform>(ctx: &Ctx<'_, P>, app_id: &AppId) -> Reply {
    let app = match super::app::load(ctx, app_id).await {
        Ok(app) => app,
        Err(e) => return app_failure(ctx, app_id, &e).into(),
    };
    let return_url = match super::signin::return_url_param(ctx) {
        Some(url) => match return_url::validate(&app, &url) {
            Ok(url) => Some(url),
            Err(why) => return super::signin::refused_return_url(ctx, &app, &why).into(),
        },
        None => None,
    };
    let Some(session) = signin::current(ctx).await else {
        return Response::redirect(return_url.as_deref().unwrap_or("/signed-out")).into();
    };
    if !signin::signout_confirmed(ctx, &session) {
        let action = match return_url.as_deref() {
            Some(url) => format!(
                "/bridge/{}/signout?ReturnURL={}",
                percent_encode(&app.id),
                percent_encode(url)
            ),
            None => format!("/bridge/{}/signout", percent_encode(&app.id)),
        };
        let token = signin::signout_token(ctx, &session);
        return signin::pages::signout_confirm(ctx, &action, &token, Some(&app.name)).into();
    }
    let mut ended = signin::end_session(ctx, session).await;
    // The app that asked already signed the member out of itself.
    ended
        .participants
        .retain(|p| !matches!(p, Participant::Bridge { app: a } if *a == app.id));
    ctx.audit("bridge.signout", Outcome::Success, Some(&app.id), None);
    let after = match return_url.as_deref() {
        Some(url) => format!(
            "/bridge/{}/signed-out?ReturnURL={}",
            percent_encode(&app.id),
            percent_encode(url)
        ),
        None => "/signed-out".to_string(),
    };
    let done = if ctx.tenant.imis.sign_out_of_imis.unwrap_or(true) {
        signin::imis_logout(ctx, &format!("{}{after}", signin::this_origin(ctx)))
    } else {
        return_url.unwrap_or(after)
    };
    ended.then(done)
}

/// `GET /bridge/{app}/signed-out?ReturnURL=…`: the last hop back to the vendor.
pub(crate) async fn signed_out<P: Platform>(ctx: &Ctx<'_, P>, app_id: &AppId) -> Response {
    let app = match super::app::load(ctx, app_id).await {
        Ok(app) => app,
        Err(e) => return app_failure(ctx, app_id, &e),
    };
    match super::signin::return_url_param(ctx) {
        Some(url) => match return_url::validate(&app, &url) {
            Ok(url) => Response::redirect(&url),
            Err(why) => super::signin::refused_return_url(ctx, &app, &why),
        },
        None => Response::redirect("/signed-out"),
    }
}
