//! `GET /bridge/{app}/signin?ReturnURL=…[&delivery=post|query|cookie]`: the gatekeeper.
//!
//! A member with an IdP session gets a one-time token at once (silent re-auth); anyone else goes
//! through the sign-in journey first and comes back through [`resume`]. The token is then
//! delivered as the app asks: POSTed to its callback URL, appended to the ReturnURL, or set in a
//! cookie on the shared parent domain.

use std::sync::Arc;

use super::app::{AppId, BridgeApp, Delivery};
use super::{app_failure, return_url, token, PendingSignin};
use crate::access::{self, Asking, Decision};
use crate::audit::Outcome;
use crate::http::Response;
use crate::platform::Platform;
use crate::signin::{self, Family, Participant, Session, SignInOptions};
use crate::text::{ErrorMessage, ErrorTitle};
use crate::Ctx;

/// The ReturnURL query parameter (ISG spelling; `returnUrl` and `returnurl` are accepted too).
pub(crate) fn return_url_param<P: Platform>(ctx: &Ctx<'_, P>) -> Option<String> {
    ["ReturnURL", "ReturnUrl", "returnUrl", "returnurl"]
        .iter()
        .find_map(|name| ctx.req.query_param(name))
        .filter(|v| !v.is_empty())
}

/// The page shown for a refused ReturnURL.
pub(crate) fn refused_return_url<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &BridgeApp,
    why: &return_url::Refusal,
) -> Response {
    ctx.audit(
        "bridge.return_url_refused",
        Outcome::Refused,
        Some(&app.id),
        Some(why.to_string()),
    );
    ctx.error_page(
        400,
        ErrorTitle::ReturnNotAllowed,
        ErrorMessage::ReturnNotRegistered.with(&app.name),
        None,
    )
}

/// `GET /bridge/{app}/signin`.
pub(crate) async fn handle<P: Platform>(ctx: &Ctx<'_, P>, app_id: &AppId) -> Response {
    let app = match super::app::load(ctx, app_id).await {
        Ok(app) => app,
        Err(e) => return app_failure(ctx, app_id, &e),
    };
    let delivery = match ctx.req.query_param("delivery") {
        None => app.deliveries.first().copied(),
        Some(d) => Delivery::parse(&d).filter(|d| app.deliveries.contains(d)),
    };
    let Some(delivery) = delivery else {
        ctx.audit(
            "bridge.signin_refused",
            Outcome::Refused,
            Some(&app.id),
            Some("delivery not allowed for the app".into()),
        );
        return ctx.error_page(
            400,
            ErrorTitle::SignInUnavailable,
            ErrorMessage::UnsupportedDelivery,
            None,
        );
    };
    let return_url = match return_url_param(ctx) {
        Some(url) => match return_url::validate(&app, &url) {
            Ok(url) => Some(url),
            Err(why) => return refused_return_url(ctx, &app, &why),
        },
        None => None,
    };
    let pending = PendingSignin {
        app: app.id.clone(),
        return_url,
        delivery: Some(delivery),
    };
    let force = ctx.req.query_param("prompt").as_deref() == Some("login");
    if !force {
        if let Some(mut session) = signin::current(ctx).await {
            let resp = finish(ctx, &app, pending, &mut session).await;
            return signin::with_session(ctx, &mut session, resp);
        }
    }
    signin::begin(
        ctx,
        Family::Oidc,
        &pending,
        SignInOptions {
            force,
            app_name: Some(app.name.clone()),
        },
    )
    .await
}

/// Finishes a bridge sign-in for a member with `session`: the No Access Mapping, a fresh token,
/// the participant, the delivery.
pub(crate) async fn finish<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &Arc<BridgeApp>,
    pending: PendingSignin,
    session: &mut Session,
) -> Response {
    // The ReturnURL is checked again: the app's settings may have changed while the member signed in.
    let return_url = match pending.return_url.as_deref() {
        Some(url) => match return_url::validate(app, url) {
            Ok(url) => Some(url),
            Err(why) => return refused_return_url(ctx, app, &why),
        },
        None => None,
    };
    let delivery = pending
        .delivery
        .filter(|d| app.deliveries.contains(d))
        .or_else(|| app.deliveries.first().copied());
    let Some(delivery) = delivery else {
        return ctx.error_page(
            400,
            ErrorTitle::SignInUnavailable,
            ErrorMessage::SiteNotSetUp,
            None,
        );
    };
    if let Some(refusal) = access_refusal(ctx, app, session).await {
        return refusal;
    }
    // Where the browser lands: the ReturnURL, else the app's home URL.
    let landing = return_url.clone().or_else(|| {
        app.home_url
            .as_deref()
            .and_then(|u| return_url::validate(app, u).ok())
    });
    if delivery != Delivery::Post && landing.is_none() {
        return ctx.error_page(
            400,
            ErrorTitle::ReturnMissing,
            ErrorMessage::NoReturnAddress,
            None,
        );
    }
    let token = match token::mint(ctx, app, &session.user).await {
        Ok(t) => t,
        Err(e) => {
            ctx.audit(
                "bridge.token_store_failed",
                Outcome::Failure,
                Some(&app.id),
                Some(e.to_string()),
            );
            return ctx.error_page(
                503,
                ErrorTitle::SignInUnavailable,
                ErrorMessage::SignInUnavailable,
                None,
            );
        }
    };
    session.add_participant(Participant::Bridge {
        app: app.id.clone(),
    });
    ctx.audit(
        "bridge.token_issued",
        Outcome::Success,
        Some(&app.id),
        Some(format!("user {} via {delivery:?}", session.user.username)),
    );
    deliver(ctx, app, delivery, landing, return_url.as_deref(), &token)
}

/// The page that turns the member away under the app's No Access Mapping (or when iMIS cannot
/// tell); `None` when they may go on.
async fn access_refusal<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &BridgeApp,
    session: &Session,
) -> Option<Response> {
    if app.profile_iqa.is_none() && app.no_access_mapping.is_none() {
        return None;
    }
    let asking = Asking {
        event: "bridge.no_access",
        app_id: &app.id,
        app_name: &app.name,
        user: &session.user.username,
    };
    let session = Some(signin::session_ref(session));
    match access::check(ctx, app.access_settings(), asking, session).await {
        Decision::Granted(_) => None,
        Decision::TurnedAway(answer) => Some(answer),
        Decision::Unavailable => Some(ctx.error_page(
            502,
            ErrorTitle::ImisUnavailable,
            ErrorMessage::ImisUnexpected,
            None,
        )),
    }
}

/// Hands `token` to the site the way `delivery` says: posted to its callback, in the landing
/// URL's query, or in a cookie on its domain.
fn deliver<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &BridgeApp,
    delivery: Delivery,
    landing: Option<String>,
    return_url: Option<&str>,
    token: &str,
) -> Response {
    match (delivery, landing) {
        (Delivery::Post, _) => {
            let Some(callback) = app.callback_url.as_deref() else {
                return ctx.error_page(
                    503,
                    ErrorTitle::SignInUnavailable,
                    ErrorMessage::SiteNotSetUp,
                    None,
                );
            };
            let mut fields = vec![("token", token)];
            if let Some(url) = return_url {
                fields.push(("ReturnURL", url));
            }
            crate::pages::auto_post(ctx.brand(), callback, &fields, &ctx.nonce)
        }
        (Delivery::Query, Some(landing)) => {
            let (base, fragment) = match landing.split_once('#') {
                Some((b, f)) => (b.to_string(), format!("#{f}")),
                None => (landing.clone(), String::new()),
            };
            let sep = if base.contains('?') { '&' } else { '?' };
            Response::redirect(&format!("{base}{sep}token={token}{fragment}"))
        }
        (Delivery::Cookie, Some(landing)) => {
            let domain = app.cookie_domain.as_deref().unwrap_or_default();
            if !cookie_domain_fits(domain, &ctx.req.host) {
                ctx.audit(
                    "bridge.cookie_domain_mismatch",
                    Outcome::Failure,
                    Some(&app.id),
                    Some(format!(
                        "cookie_domain {domain} does not cover {}",
                        ctx.req.host
                    )),
                );
                return ctx.error_page(
                    503,
                    ErrorTitle::SignInUnavailable,
                    ErrorMessage::SiteNotSetUp,
                    None,
                );
            }
            Response::redirect(&landing).with_header(
                "set-cookie",
                format!(
                    "{}={token}; Domain={domain}; Path=/; Max-Age={}; Secure; HttpOnly; SameSite=Lax",
                    app.cookie_name,
                    app.token_ttl()
                ),
            )
        }
        (_, None) => ctx.error_page(
            400,
            ErrorTitle::ReturnMissing,
            ErrorMessage::NoReturnAddress,
            None,
        ),
    }
}

/// Whether a cookie for `domain` set by `host` reaches `host` (and so its sibling vendor sites).
pub fn cookie_domain_fits(domain: &str, host: &str) -> bool {
    let domain = domain.trim_start_matches('.').to_ascii_lowercase();
    !domain.is_empty()
        && domain.contains('.')
        && (host == domain || host.ends_with(&format!(".{domain}")))
}
