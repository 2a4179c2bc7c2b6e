//! `GET /bridge/{app}/ping`: "is this member signed in?" for the vendor's pages.
//!
//! - JSONP: `?callback=name` answers `/**/name({...});` as `application/javascript` with
//!   `nosniff`; the name must match a strict identifier pattern (dotted, at most four parts).
//! - CORS: without `callback`, a JSON answer that browsers let only the app's allowed origins read
//!   (credentials allowed); an `Origin` not allowed gets a 403 and no token.
//!
//! The answer is `{"signed_in": false}` or `{"signed_in": true}`, never personal data. A fresh
//! one-time token (`"token": "…"`) is added only for a page of the app's `allowed_origins`: the
//! vendor redeems it with its secret, but the member's browser is signed in to the vendor's site
//! by whoever holds it, so a page elsewhere must never get one. A JSONP answer is readable by any
//! page that includes it as a script, and the session cookie goes along; the only witness of the
//! including page is the `Referer` it sends, so without an allowed `Referer` there is no token.
//! A CORS answer is readable only by the origin it names, so there `Origin` decides.

use serde_json::{json, Value};

use super::app::{AppId, BridgeApp};
use super::{app_failure_json, token};
use crate::audit::Outcome;
use crate::http::Response;
use crate::platform::{HttpMethod, Platform};
use crate::signin::{self, Participant, Session};
use crate::Ctx;

/// Whether `name` is an acceptable JSONP callback: `ident(.ident){0,3}`, identifiers of ASCII
/// letters, digits, `_` and `$`, not starting with a digit, at most 64 characters each.
pub fn is_callback_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    name.len() <= 128
        && parts.len() <= 4
        && parts.iter().all(|p| {
            let b = p.as_bytes();
            (1..=64).contains(&b.len())
                && !b.first().is_some_and(u8::is_ascii_digit)
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$')
        })
}

fn cors(resp: Response, origin: &str) -> Response {
    resp.with_header("access-control-allow-origin", origin)
        .with_header("access-control-allow-credentials", "true")
        .with_header("vary", "Origin")
}

/// `GET` / `OPTIONS /bridge/{app}/ping`.
pub(crate) async fn handle<P: Platform>(ctx: &Ctx<'_, P>, app_id: &AppId) -> Response {
    let app = match super::app::load(ctx, app_id).await {
        Ok(app) => app,
        Err(e) => return app_failure_json(ctx, app_id, &e),
    };
    let callback = ctx.req.query_param("callback");
    let origin = ctx.req.header("origin").map(str::to_string);
    let origin_allowed = origin
        .as_deref()
        .is_some_and(|o| app.allowed_origins.iter().any(|a| a == o));
    if callback.is_none() && origin.is_some() && !origin_allowed {
        ctx.audit(
            "bridge.ping_refused",
            Outcome::Refused,
            Some(&app.id),
            Some("origin not allowed".into()),
        );
        return super::user::json_error(403, "origin_not_allowed", "this origin may not ask");
    }
    if ctx.req.method == HttpMethod::Options {
        let resp = Response::empty(204)
            .with_header("access-control-allow-methods", "GET")
            .with_header("access-control-max-age", "600");
        return match origin.as_deref() {
            Some(o) if origin_allowed => cors(resp, o),
            _ => resp,
        };
    }
    if let Some(name) = callback.as_deref() {
        if !is_callback_name(name) {
            ctx.audit(
                "bridge.ping_refused",
                Outcome::Refused,
                Some(&app.id),
                Some("invalid JSONP callback name".into()),
            );
            return super::user::json_error(
                400,
                "invalid_callback",
                "the callback name is not allowed",
            );
        }
    }
    let allowed = |o: &str| app.allowed_origins.iter().any(|a| a == o);
    let asker_allowed = match callback {
        Some(_) => ctx
            .req
            .header("referer")
            .and_then(crate::http::origin_of)
            .is_some_and(|o| allowed(&o)),
        None => origin_allowed,
    };
    let mut session = signin::current(ctx).await;
    let body = match ping_body(ctx, &app, session.as_mut(), asker_allowed).await {
        Ok(body) => body,
        Err(resp) => return resp,
    };
    let resp = answer(callback.as_deref(), origin.as_deref(), &body);
    match session.as_mut() {
        Some(s) => signin::with_session(ctx, s, resp),
        None => resp,
    }
}

/// What the answer says: whether the member is signed in, and a fresh token for an asking page
/// of an allowed origin; or the error to answer when no token can be made.
async fn ping_body<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &BridgeApp,
    session: Option<&mut Session>,
    asker_allowed: bool,
) -> Result<Value, Response> {
    Ok(match session {
        None => json!({"signed_in": false}),
        Some(_) if !asker_allowed => {
            ctx.audit(
                "bridge.ping_without_token",
                Outcome::Refused,
                Some(&app.id),
                Some("the asking page is not of an allowed origin".into()),
            );
            json!({"signed_in": true})
        }
        Some(session) => match token::mint(ctx, app, &session.user).await {
            Ok(t) => {
                session.add_participant(Participant::Bridge {
                    app: app.id.clone(),
                });
                json!({"signed_in": true, "token": t})
            }
            Err(e) => {
                ctx.audit(
                    "bridge.token_store_failed",
                    Outcome::Failure,
                    Some(&app.id),
                    Some(e.to_string()),
                );
                return Err(super::user::json_error(
                    503,
                    "temporarily_unavailable",
                    "try again in a moment",
                ));
            }
        },
    })
}

/// `body` as JSONP for `callback`, else as JSON readable by `origin`.
fn answer(callback: Option<&str>, origin: Option<&str>, body: &Value) -> Response {
    match callback {
        Some(name) => Response {
            status: 200,
            headers: vec![(
                "content-type".into(),
                "application/javascript; charset=utf-8".into(),
            )],
            body: format!("/**/{name}({body});").into_bytes(),
        },
        None => {
            let resp = Response::json(200, body);
            match origin {
                Some(o) => cors(resp, o),
                None => resp,
            }
        }
    }
    .with_header("x-content-type-options", "nosniff")
    .with_header("cache-control", "no-store")
}

#[cfg(test)]
mod tests {
    use super::is_callback_name;

    #[test]
    fn callback_names() {
        for good in ["cb", "jQuery123_456", "$", "a.b.c.d", "_x$1"] {
            assert!(is_callback_name(good), "{good}");
        }
        for bad in [
            "",
            "1cb",
            "a.b.c.d.e",
            "alert(1)",
            "cb;alert(1)",
            "a[0]",
            "a..b",
            "a b",
            "a\nb",
            "<script>",
            "cb//",
            "a.",
            ".a",
            "x=1",
        ] {
            assert!(!is_callback_name(bad), "{bad}");
        }
    }
}
