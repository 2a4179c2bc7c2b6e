//! `/oidc/logout` (OpenID Connect RP-Initiated Logout 1.0): `id_token_hint` and/or `client_id`,
//! `post_logout_redirect_uri` (exact match with the client's registered ones), `state`. Ends the
//! IdP session through the shared single-logout chain, which notifies the session's other
//! participants (front-channel URIs of OIDC clients, SAML SLO). Without a valid `id_token_hint`
//! for the current session, the member confirms first (a third party cannot sign them out).

use serde_json::Value;

use super::client::{self, Client};
use super::{issuer, jwt, keys, token};
use crate::audit::Outcome;
use crate::http::{encode_form, Response};
use crate::platform::{HttpMethod, Platform};
use crate::signin::{self, Participant, Reply};
use crate::text::{ErrorMessage, ErrorTitle};
use crate::Ctx;

fn params<P: Platform>(ctx: &Ctx<'_, P>) -> Vec<(String, String)> {
    if ctx.req.method == HttpMethod::Post {
        ctx.req.form()
    } else {
        crate::http::parse_urlencoded(&ctx.req.query)
    }
}

fn refuse<P: Platform>(ctx: &Ctx<'_, P>, reason: &str) -> Reply {
    ctx.audit(
        "oidc.logout_refused",
        Outcome::Refused,
        None,
        Some(reason.to_string()),
    );
    ctx.error_page(
        400,
        ErrorTitle::InvalidSignOutLink,
        ErrorMessage::InvalidSignOutRequest.with(reason),
        Some("/signout"),
    )
    .into()
}

/// The claims of an `id_token_hint` we issued (expiry not checked, as the spec allows).
async fn check_hint<P: Platform>(ctx: &Ctx<'_, P>, hint: &str) -> Option<Value> {
    let jws = jwt::Unverified::parse(hint)?;
    let aud = match &jws.unverified_claims()["aud"] {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.first()?.as_str()?.to_string(),
        _ => return None,
    };
    let claims = match jws.alg() {
        "HS256" | "HS512" => {
            let c = client::load_named(ctx, &aud).await.ok()??;
            if c.id_token_signed_response_alg.as_str() != jws.alg() {
                return None;
            }
            let key = token::client_hmac_key(ctx, &c)?;
            let alg = jws.alg().to_string();
            jws.verify_hmac(&alg, &key)?
        }
        _ => jws.verify_keys(&*keys::load(ctx).await.ok()?)?,
    };
    (claims.get("iss").and_then(Value::as_str) == Some(issuer(ctx).as_str())).then_some(claims)
}

/// `GET|POST /oidc/logout`.
pub(crate) async fn handle<P: Platform>(ctx: &Ctx<'_, P>) -> Reply {
    let all = params(ctx);
    let get = |n: &str| {
        all.iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let hint = match get("id_token_hint") {
        Some(h) => match check_hint(ctx, &h).await {
            Some(c) => Some(c),
            None => {
                return refuse(
                    ctx,
                    "the id_token_hint is not a valid ID token of this provider",
                )
            }
        },
        None => None,
    };
    let hint_client = hint.as_ref().and_then(|c| match &c["aud"] {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_string),
        _ => None,
    });
    let client_id = match (hint_client, get("client_id")) {
        (Some(a), Some(b)) if a != b => {
            return refuse(ctx, "client_id does not match the id_token_hint")
        }
        (a, b) => a.or(b),
    };
    let client = match &client_id {
        Some(id) => match client::load_named(ctx, id).await {
            Ok(Some(c)) => Some(c),
            _ => return refuse(ctx, "the client is not registered"),
        },
        None => None,
    };
    let state = get("state").filter(|s| s.len() <= 512);
    let done = match done_url(
        ctx,
        client.as_deref(),
        get("post_logout_redirect_uri"),
        state,
    ) {
        Ok(done) => done,
        Err(reason) => return refuse(ctx, reason),
    };
    let Some(session) = signin::current(ctx).await else {
        return Response::redirect(&done).into();
    };
    let hinted_this_session = hint
        .as_ref()
        .is_some_and(|c| c["sid"].as_str() == Some(session.sid.as_str()));
    let confirmed = ctx.req.method == HttpMethod::Post
        && get("t").is_some_and(|t| {
            let expected = signin::signout_token(ctx, &session);
            !expected.is_empty() && crate::seal::constant_time_eq(t.as_bytes(), expected.as_bytes())
        });
    if !hinted_this_session && !confirmed {
        return confirm_page(
            ctx,
            &signin::signout_token(ctx, &session),
            &all,
            client.as_deref().map(|c| c.name.as_str()),
        )
        .into();
    }
    let mut ended = signin::end_session(ctx, session).await;
    if let Some(id) = &client_id {
        ended
            .participants
            .retain(|p| !matches!(p, Participant::Oidc { client } if client.as_str() == id));
    }
    ctx.audit("oidc.logout", Outcome::Success, client_id.as_deref(), None);
    ended.then(done)
}

/// Where the member goes once signed out: the client's registered `post_logout_redirect_uri`
/// (with `state`), else our own page; through iMIS's logout first when the tenant says so. Or
/// why the request is refused.
fn done_url<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: Option<&Client>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
) -> Result<String, &'static str> {
    let Some(uri) = post_logout_redirect_uri else {
        return Ok(signin::after_sign_out(ctx));
    };
    let Some(c) = client else {
        return Err("post_logout_redirect_uri needs id_token_hint or client_id");
    };
    if !c.post_logout_redirect_uris.contains(&uri) {
        return Err("the post_logout_redirect_uri is not registered for this client");
    }
    let back = match &state {
        Some(s) => {
            let sep = if uri.contains('?') { '&' } else { '?' };
            format!("{uri}{sep}{}", encode_form(&[("state", s)]))
        }
        None => uri,
    };
    Ok(signin::after_sign_out_then(ctx, &back))
}

fn confirm_page<P: Platform>(
    ctx: &Ctx<'_, P>,
    token: &str,
    all: &[(String, String)],
    app: Option<&str>,
) -> Response {
    let hidden: Vec<(&str, &str)> = all
        .iter()
        .filter(|(k, _)| {
            matches!(
                k.as_str(),
                "client_id" | "post_logout_redirect_uri" | "state"
            )
        })
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    signin::pages::signout_confirm_form(ctx, "/oidc/logout", token, app, &hidden, "oidc-logout")
}
