//! The consent page (branded): what the client will receive, Allow or Deny. A consent is
//! remembered per member and client for the client's grace period (a counter in the strongly
//! consistent store whose window is the grace period). `prompt=consent` always asks again.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::authorize::{error_to_client, finish};
use super::claims::{has_scope, OFFLINE_ACCESS};
use super::client::{self, Client};
use super::error::{ErrorCode, OidcError};
use super::PendingAuthorize;
use crate::audit::Outcome;
use crate::cookie;
use askama::Template;

use crate::http::{html_escape, Response};
use crate::pages::{fill, render_template, Brand};
use crate::platform::Platform;
use crate::signin::{self, Session, SessionUser};
use crate::text::{ErrorMessage, ErrorTitle, Text};
use crate::Ctx;

/// How long the consent form stays valid.
const FORM_TTL_SECS: u64 = 600;
const AAD: &str = "oidc-consent";

#[derive(Debug, Serialize, Deserialize)]
struct FormState {
    p: PendingAuthorize,
    sid: String,
    exp: u64,
}

fn key(ctx_tenant: &str, client: &str, user: &SessionUser) -> String {
    crate::kv_key::oidc_consent(ctx_tenant, client, &user.imis_id)
}

/// Whether the member consented to this client within its grace period.
pub(crate) async fn remembered<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    user: &SessionUser,
) -> bool {
    if client.consent.grace_days == 0 {
        return false;
    }
    ctx.platform
        .count(
            &key(ctx.tenant.id.as_str(), &client.id, user),
            client.consent.grace_days.saturating_mul(86400),
            0,
        )
        .await
        .is_ok_and(|n| n > 0)
}

/// What the member is told a claim is, as HTML.
fn describe<P: Platform>(ctx: &Ctx<'_, P>, name: &str) -> String {
    let known = match name {
        "name" | "given_name" | "family_name" => Text::ConsentName,
        "preferred_username" => Text::ConsentUsername,
        "email" => Text::ConsentEmail,
        "roles" => Text::ConsentRoles,
        other => return fill(ctx.t(Text::ConsentOther), &[("claim", &html_escape(other))]),
    };
    html_escape(ctx.t(known))
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    brand: Brand<'a>,
    title: &'a str,
    text: &'a str,
    /// What the client will receive, each already HTML.
    claims: &'a [String],
    token: &'a str,
}

/// The consent page for a pending request.
pub(crate) fn page<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    p: &PendingAuthorize,
    session: &Session,
    claims: &Map<String, Value>,
) -> Response {
    let state = FormState {
        p: p.clone(),
        sid: session.sid.clone(),
        exp: ctx.platform.now().secs() + FORM_TTL_SECS,
    };
    let Some(token) = cookie::cookie_key(ctx.platform, ctx.tenant.id.as_str())
        .and_then(|k| cookie::seal(ctx.platform, &k, AAD, &state))
    else {
        return ctx.error_page(
            503,
            ErrorTitle::SignInUnavailable,
            ErrorMessage::SignInUnavailable,
            None,
        );
    };
    let mut claims_html: Vec<String> = vec![html_escape(ctx.t(Text::ConsentSub))];
    for name in claims.keys() {
        let d = describe(ctx, name);
        if !claims_html.contains(&d) {
            claims_html.push(d);
        }
    }
    if has_scope(&p.scope, OFFLINE_ACCESS) {
        claims_html.push(html_escape(ctx.t(Text::ConsentOffline)));
    }
    let app = html_escape(&client.name);
    let body = render_template(&ConsentPage {
        brand: ctx.brand(),
        title: &fill(ctx.t(Text::ConsentTitle), &[("app", &app)]),
        text: &fill(
            ctx.t(Text::ConsentText),
            &[("app", &format!("<strong>{app}</strong>"))],
        ),
        claims: &claims_html,
        token: &token,
    });
    // The page title is text, escaped by the page: fill it in unescaped.
    let page_title = ctx.t(Text::ConsentTitle).replace("{app}", &client.name);
    ctx.page(200, &page_title, &body)
}

/// `POST /oidc/consent`.
pub(crate) async fn handle<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    let expired = || {
        ctx.error_page(
            400,
            ErrorTitle::PageExpired,
            ErrorMessage::PageExpired,
            None,
        )
    };
    let Some(mut session) = signin::current(ctx).await else {
        return expired();
    };
    let state: Option<FormState> = ctx.req.form_field("c").and_then(|c| {
        let k = cookie::cookie_key(ctx.platform, ctx.tenant.id.as_str())?;
        cookie::open(&k, AAD, &c)
    });
    let Some(state) = state.filter(|s| s.sid == session.sid && ctx.platform.now().secs() < s.exp)
    else {
        return expired();
    };
    let mut p = state.p;
    let Ok(Some(client)) = client::load(ctx, &p.client_id).await else {
        return expired();
    };
    if ctx.req.form_field("decision").as_deref() != Some("allow") {
        ctx.audit(
            "oidc.consent_denied",
            Outcome::Refused,
            Some(&client.id),
            None,
        );
        return error_to_client(
            ctx,
            &p,
            OidcError::new(ErrorCode::AccessDenied, "the member did not allow access"),
        );
    }
    if client.consent.grace_days > 0 {
        let _ = ctx
            .platform
            .count(
                &key(ctx.tenant.id.as_str(), &client.id, &session.user),
                client.consent.grace_days.saturating_mul(86400),
                1,
            )
            .await;
    }
    ctx.audit(
        "oidc.consent_given",
        Outcome::Success,
        Some(&client.id),
        None,
    );
    p.consented = true;
    let resp = finish(ctx, p, &mut session).await;
    signin::with_session(ctx, &mut session, resp)
}
