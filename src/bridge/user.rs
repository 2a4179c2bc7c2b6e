//! `GET /bridge/{app}/user?token=…`: the user service (server to server). The vendor proves itself
//! with its API secret (`Authorization: Bearer <secret>` or `X-Bridge-Secret: <secret>`) and
//! redeems a one-time token for the member's data: iMIS ID, first and last name, email and member
//! type, plus the columns of the app's Profile IQA (`iqa`), the roles of its Role IQA (`roles`) and
//! every row of each of its data IQAs (`data.{name}`). Every failure is a JSON error that says
//! nothing about the member.

use std::sync::Arc;

use futures_util::future::{join, join_all};
use serde_json::{json, Map, Value};

use super::app::{AppId, BridgeApp};
use super::token;
use crate::access::{self, Asking, Decision, Profile};
use crate::audit::Outcome;
use crate::http::Response;
use crate::imis::ImisError;
use crate::platform::Platform;
use crate::seal::SecretMatch;
use crate::signin::SessionUser;
use crate::Ctx;

/// A JSON error response.
pub(crate) fn json_error(status: u16, error: &str, description: &str) -> Response {
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
pub(crate) async fn handle<P: Platform>(ctx: &Ctx<'_, P>, app_id: &AppId) -> Response {
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
    let member = match member_data(ctx, &app, &user).await {
        Ok(member) => member,
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
            "iqa": Value::Object(member.profile.columns.into_iter().collect()),
            "roles": member.profile.roles,
            "data": Value::Object(member.data),
        }),
    )
    .with_header("cache-control", "no-store")
}

/// The app whose vendor presented its secret, or the JSON error to answer.
async fn vendor_app<P: Platform>(
    ctx: &Ctx<'_, P>,
    app_id: &AppId,
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
        Err(_) => return Err(invalid_client()),
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
        return Err(invalid_client());
    }
    Ok(app)
}

/// The answer to a wrong or missing vendor secret, and to an unknown app alike.
pub(super) fn invalid_client() -> Response {
    json_error(401, "invalid_client", "the app or its secret is not valid")
}

/// What the app's IQAs say about the member, beyond the sign-in's own fields.
#[derive(Default)]
struct MemberData {
    /// Profile IQA columns and Role IQA roles (empty without those IQAs).
    profile: Profile,
    /// Each data IQA's rows, by its name.
    data: Map<String, Value>,
}

/// Runs the app's IQAs for `user` (all at once) and applies its No Access Mapping; or the JSON
/// error to answer.
async fn member_data<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &BridgeApp,
    user: &SessionUser,
) -> Result<MemberData, Response> {
    let settings = app.access_settings();
    let asks_access = settings.profile_iqa.is_some()
        || settings.role_iqa.is_some()
        || settings.no_access_mapping.is_some();
    if !asks_access && app.data_iqas.is_empty() {
        return Ok(MemberData::default());
    }
    if !app.data_iqas.is_empty() {
        // One background token for every query below, before they run side by side.
        if let Err(e) = ctx.imis().background_token(ctx.imis_tokens()).await {
            return Err(imis_failed(ctx, app, &e, e.to_string()));
        }
    }
    let asking = Asking {
        event: "bridge.no_access",
        app_id: &app.id,
        app_name: &app.name,
        user: &user.username,
    };
    // The vendor's server calls here, not the member's browser: nothing is remembered.
    let access = async {
        if asks_access {
            access::check(ctx, settings, asking, None).await
        } else {
            Decision::Granted(Profile::default())
        }
    };
    let (decision, data) = join(access, data_rows(ctx, app, &user.username)).await;
    let profile = match decision {
        Decision::Granted(profile) => profile,
        Decision::TurnedAway(_) => {
            return Err(json_error(
                403,
                "access_denied",
                "the member may not use this app",
            ))
        }
        Decision::Unavailable => return Err(unavailable()),
    };
    match data {
        Ok(data) => Ok(MemberData { profile, data }),
        Err((iqa, e)) => Err(imis_failed(ctx, app, &e, format!("data IQA {iqa}: {e}"))),
    }
}

/// Every row of each data IQA of the app for `username`, as a list of objects under its name; or
/// the path of a query that failed, and why.
async fn data_rows<'a, P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &'a BridgeApp,
    username: &str,
) -> Result<Map<String, Value>, (&'a str, ImisError)> {
    let imis = ctx.imis();
    let cache = ctx.imis_tokens();
    let parameters = [username];
    let answers = join_all(
        app.data_iqas
            .iter()
            .map(|iqa| imis.iqa(cache, &iqa.path, &parameters)),
    )
    .await;
    let mut data = Map::new();
    for (iqa, rows) in app.data_iqas.iter().zip(answers) {
        let rows = rows
            .map_err(|e| (iqa.path.as_str(), e))?
            .into_iter()
            .map(|row| Value::Object(row.into_iter().collect()))
            .collect();
        data.insert(iqa.name.clone(), Value::Array(rows));
    }
    Ok(data)
}

/// The answer when iMIS failed a query of this app's own (audited as `e` says, with `detail`).
fn imis_failed<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &BridgeApp,
    e: &ImisError,
    detail: String,
) -> Response {
    ctx.audit(
        e.audit_event(),
        Outcome::Failure,
        Some(&app.id),
        Some(detail),
    );
    unavailable()
}

fn unavailable() -> Response {
    json_error(
        502,
        "temporarily_unavailable",
        "the membership system did not answer",
    )
}
