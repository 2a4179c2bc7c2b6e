//! `/signin`: a sign-in with no protocol behind it, and in legacy mode our own username and password
//! form (iMIS 2017 has no Single Sign On content item).

use super::callback::{complete, failure_page, identify, SignInFailure};
use super::pending::{self, DirectReturn, Family, Pending, PendingList};
use super::reply::Reply;
use super::{begin, current, pages, throttle, ticket, SignInOptions};
use crate::audit::Outcome;
use crate::http::{percent_encode, Response};
use crate::imis::{ImisError, Member};
use crate::platform::{Platform, UnixTime};
use crate::tenant::IdentityMode;
use crate::text::{ErrorMessage, ErrorTitle, Text};
use crate::Ctx;

/// `GET /signin`: start a sign-in with no protocol behind it, or (legacy mode, `?p=`) show the
/// sign-in form of a pending request, unless iMIS's forms cookie already says who the member is.
pub(crate) async fn signin_get<P: Platform>(ctx: &Ctx<'_, P>) -> Reply {
    let list = pending::read(ctx);
    if let Some(id) = ctx.req.query_param("p") {
        if ctx.tenant.identity_mode == IdentityMode::ImisLegacy {
            if let Some(p) = list.get(&id) {
                if !p.force {
                    if let Some(username) = ticket::username(ctx) {
                        return signed_in_by_ticket(ctx, &id, &username, list).await;
                    }
                }
                return pages::signin_form(ctx, &p.id, p.app_name.as_deref(), "", None, 200).into();
            }
        }
        // An unknown or expired pending id: start over.
        return Response::redirect("/signin").into();
    }
    let return_to = ctx
        .req
        .query_param("return")
        .filter(|r| crate::http::is_local_path(r))
        .unwrap_or_else(|| "/".into());
    let force = ctx.req.query_param("prompt").as_deref() == Some("login");
    if !force && current(ctx).await.is_some() {
        return Response::redirect(&return_to).into();
    }
    begin(
        ctx,
        Family::Oidc,
        &DirectReturn { return_to },
        SignInOptions {
            force,
            app_name: None,
        },
    )
    .await
    .into()
}

/// The pending request `id` resumed for the member iMIS's forms ticket names; a failure page if
/// iMIS does not know them (or cannot say).
async fn signed_in_by_ticket<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &str,
    username: &str,
    mut list: PendingList,
) -> Reply {
    let Some(pending) = list.take_id(id) else {
        return Response::redirect("/signin").into();
    };
    match identify(ctx, username).await {
        Ok(member) => complete(ctx, member, Some(pending), list).await,
        Err(f) => {
            let retry = format!("/signin?p={}", percent_encode(&pending.id));
            list.push(pending);
            let resp = failure_page(ctx, &f, username, &retry);
            match pending::cookie_for(ctx, &list) {
                Some(c) => resp.with_header("set-cookie", c).into(),
                None => resp.into(),
            }
        }
    }
}

/// Minimum time a failed password sign-in takes, so that the answer does not tell whether the
/// username exists.
const FAILED_SIGNIN_MIN_MS: u64 = 700;

/// `POST /signin` (legacy mode): the username and password form.
pub(crate) async fn legacy_submit<P: Platform>(ctx: &Ctx<'_, P>) -> Reply {
    match check_password(ctx).await {
        Ok((member, pending, list)) => complete(ctx, member, Some(pending), list).await,
        Err(resp) => resp.into(),
    }
}

/// The member whose username and password iMIS accepted, and the request this form was for; or
/// the form again (or an error page) saying why not.
async fn check_password<P: Platform>(
    ctx: &Ctx<'_, P>,
) -> Result<(Member, Pending, PendingList), Response> {
    if ctx.tenant.identity_mode != IdentityMode::ImisLegacy {
        return Err(ctx.error_page(
            404,
            ErrorTitle::PageNotFound,
            ErrorMessage::NoPageHere,
            Some("/"),
        ));
    }
    let started = ctx.platform.now();
    let (id, username, password) = credentials(&ctx.req.form());
    let mut list = pending::read(ctx);
    let Some(pending) = list.take_id(&id) else {
        // The form's anti-forgery token is the pending id held in this browser's sealed cookie.
        return Err(ctx.refuse(
            "signin.form_refused",
            "unknown or expired form",
            400,
            ErrorTitle::SignInExpired,
            ErrorMessage::SignInFormExpired,
            Some("/signin"),
        ));
    };
    let app_name = pending.app_name.clone();
    if username.is_empty() || password.is_empty() || username.len() > 256 || password.len() > 256 {
        return Err(pages::signin_form(
            ctx,
            &pending.id,
            app_name.as_deref(),
            &username,
            Some(Text::SignInMissing),
            400,
        ));
    }
    let throttle = throttle::Throttle::new(ctx, &username);
    if !throttle.admit(ctx.platform).await {
        ctx.audit(
            "signin.throttled",
            Outcome::Refused,
            None,
            Some(format!("user {username}")),
        );
        return Err(pages::signin_form(
            ctx,
            &pending.id,
            app_name.as_deref(),
            &username,
            Some(Text::SignInThrottled),
            429,
        ));
    }
    match ctx.imis().password_grant(&username, &password).await {
        Ok(grant) => {
            throttle.succeeded(ctx.platform).await;
            let name = grant.user_name.unwrap_or(username);
            match identify(ctx, &name).await {
                Ok(member) => Ok((member, pending, list)),
                Err(f) => Err(failure_page(ctx, &f, &name, "/signin")),
            }
        }
        Err(ImisError::InvalidGrant) => {
            Err(wrong_password(ctx, started, &pending.id, app_name.as_deref(), &username).await)
        }
        Err(e) => {
            // iMIS failed, not the member: keep the form's pending request for the retry.
            let retry = format!("/signin?p={}", percent_encode(&pending.id));
            list.push(pending);
            let resp = failure_page(ctx, &SignInFailure::Imis(e), &username, &retry);
            Err(match pending::cookie_for(ctx, &list) {
                Some(c) => resp.with_header("set-cookie", c),
                None => resp,
            })
        }
    }
}

/// The form's pending id, username and password, trimmed.
fn credentials(form: &[(String, String)]) -> (String, String, String) {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    (field("p"), field("username"), field("password"))
}

/// The form again after iMIS refused the password, no sooner than [`FAILED_SIGNIN_MIN_MS`] after
/// the attempt `started`.
async fn wrong_password<P: Platform>(
    ctx: &Ctx<'_, P>,
    started: UnixTime,
    pending_id: &str,
    app_name: Option<&str>,
    username: &str,
) -> Response {
    ctx.audit(
        "signin.failure",
        Outcome::Refused,
        None,
        Some(format!("user {username}")),
    );
    let elapsed = ctx.platform.now().millis.saturating_sub(started.millis);
    if elapsed < FAILED_SIGNIN_MIN_MS {
        ctx.platform
            .sleep((FAILED_SIGNIN_MIN_MS - elapsed) as u32)
            .await;
    }
    pages::signin_form(
        ctx,
        pending_id,
        app_name,
        username,
        Some(Text::SignInWrong),
        401,
    )
}
