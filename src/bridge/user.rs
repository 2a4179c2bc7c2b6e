//! `GET /bridge/{app}/user?token=…`: the user service (server to server). The vendor proves itself
//! with its API secret (`Authorization: Bearer <secret>` or `X-Bridge-Secret: <secret>`) and
//! redeems a one-time token for the member's data: iMIS ID, first and last name, email and member
//! type, plus the columns of the app's Profile IQA. Every failure is a JSON
//! error that says nothing about the member.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::app::BridgeApp;
use super::token;
use crate::access::{self, Asking, Decision};
use crate::audit::Outcome;
use crate::http::Response;
use crate::platform::Platform;
use crate::seal::SecretMatch;
use crate::signin::SessionUser;
use crate::Ctx;

/// A JSON error response.
pub fn json_error(status: u16, error: &str, description: &str) -> Response {
    let mut resp = Response::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
    .with_header("cache-control", "no-store");
    if status == 401 {
        resp = resp.with_header("www-authenticate", "Bearer realm=\"bridge\"");
    }
    resp
}

/// The secret the vendor presented, from either header.
fn presented_secret<P: Platform>(ctx: &Ctx<'_, P>) -> Option<String> {
    if let Some(v) = ctx.req.header("x-bridge-secret") {
        return Some(v.trim().to_string());
    }
    let auth = ctx.req.header("authorization")?.trim();
    let (scheme, value) = auth.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| value.trim().to_string())
}

/// `GET /bridge/{app}/user`.
pub async fn handle<P: Platform>(ctx: &Ctx<'_, P>, app_id: &str) -> Response {
    let app = match vendor_app(ctx, app_id).await {
        Ok(app) => app,
        Err(refusal) => return refusal,
    };
    let token = ctx.req.query_param("token").unwrap_or_default();
    let grant = match token::redeem(ctx, &app, &token).await {
        Ok(Some(grant)) => grant,
        Ok(None) => {
            ctx.audit(
                "bridge.user_refused",
                Outcome::Refused,
                Some(&app.id),
                Some("unknown, used or expired token".into()),
            );
            return json_error(
                401,
                "invalid_token",
                "the token is unknown, already used or expired",
            );
        }
        Err(e) => {
            ctx.audit(
                "bridge.token_store_failed",
                Outcome::Failure,
                Some(&app.id),
                Some(e.to_string()),
            );
            return json_error(503, "temporarily_unavailable", "try again in a moment");
        }
    };
    let user = grant.user;
    let iqa = match iqa_columns(ctx, &app, &user).await {
        Ok(iqa) => iqa,
        Err(refusal) => return refusal,
    };
    ctx.audit(
        "bridge.user_served",
        Outcome::Success,
        Some(&app.id),
        Some(format!("user {}", user.username)),
    );
    let text = |v: &Option<String>| v.clone().map(Value::String).unwrap_or(Value::Null);
    Response::json(
        200,
        &json!({
            "imis_id": user.imis_id,
            "username": user.username,
            "first_name": text(&user.first_name),
            "last_name": text(&user.last_name),
            "email": text(&user.email),
            "member_type": text(&user.member_type),
            "iqa": Value::Object(iqa),
        }),
    )
    .with_header("cache-control", "no-store")
}

/// The app whose vendor presented its secret, or the JSON error to answer.
async fn vendor_app<P: Platform>(
    ctx: &Ctx<'_, P>,
    app_id: &str,
) -> Result<Arc<BridgeApp>, Response> {
    let app = match super::app::load(ctx, app_id).await {
        Ok(app) => app,
        Err(super::app::AppError::Unavailable(e)) => {
            ctx.audit(
                "bridge.config_unavailable",
                Outcome::Failure,
                Some(app_id),
                Some(e),
            );
            return Err(json_error(
                503,
                "temporarily_unavailable",
                "try again in a moment",
            ));
        }
        // An unknown app answers like a wrong secret: no way to probe which apps exist.
        Err(_) => {
            return Err(json_error(
                401,
                "invalid_client",
                "the app or its secret is not valid",
            ))
        }
    };
    let secret = presented_secret(ctx).map_or(SecretMatch::No, |s| {
        app.secret_match(&s, ctx.platform.now())
    });
    if secret == SecretMatch::Previous {
        ctx.audit(
            "bridge.previous_secret_used",
            Outcome::Success,
            Some(&app.id),
            Some("the vendor still uses the secret being replaced".into()),
        );
    }
    if !secret.accepted() {
        ctx.audit(
            "bridge.user_refused",
            Outcome::Refused,
            Some(&app.id),
            Some("wrong or missing vendor secret".into()),
        );
        return Err(json_error(
            401,
            "invalid_client",
            "the app or its secret is not valid",
        ));
    }
    Ok(app)
}

/// The columns of the app's Profile IQA for `user` (none without one), after the No Access
/// Mapping; or the JSON error to answer.
async fn iqa_columns<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &BridgeApp,
    user: &SessionUser,
) -> Result<Map<String, Value>, Response> {
    let mut iqa = Map::new();
    if app.profile_iqa.is_none() && app.no_access_mapping.is_none() {
        return Ok(iqa);
    }
    let asking = Asking {
        event: "bridge.no_access",
        app_id: &app.id,
        app_name: &app.name,
        user: &user.username,
    };
    // The vendor's server calls here, not the member's browser: nothing is remembered.
    match access::check(ctx, app.access_settings(), asking, None).await {
        Decision::Granted(profile) => {
            for (name, value) in profile.columns {
                iqa.insert(name, value);
            }
            Ok(iqa)
        }
        Decision::TurnedAway(_) => Err(json_error(
            403,
            "access_denied",
            "the member may not use this app",
        )),
        Decision::Unavailable => Err(json_error(
            502,
            "temporarily_unavailable",
            "the membership system did not answer",
        )),
    }
}
