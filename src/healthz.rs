//! `/healthz`: liveness and the tenant's configuration version; with `?deep=1` also whether iMIS
//! answers for this tenant with its background account — the admin's "Online/Offline" status.

use serde_json::{json, Map, Value};

use crate::audit::Outcome;
use crate::http::{percent_encode, Response};
use crate::platform::Platform;
use crate::Ctx;

/// Answers `/healthz`.
pub async fn handle<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    let mut body = Map::new();
    body.insert("status".into(), json!("ok"));
    body.insert("tenant".into(), json!(ctx.tenant.id.as_str()));
    body.insert("config_version".into(), json!(ctx.tenant.config_version));
    let deep = matches!(ctx.req.query_param("deep").as_deref(), Some("1" | "true"));
    if !deep {
        return Response::json(200, &Value::Object(body));
    }
    let started = ctx.platform.now();
    let username = &ctx.tenant.imis.background_account.username;
    let probe = ctx
        .imis()
        .get_json_as_service(
            ctx.imis_tokens(),
            &format!("User?UserName={}", percent_encode(username)),
        )
        .await;
    let elapsed = ctx.platform.now().millis.saturating_sub(started.millis);
    match probe {
        Ok(_) => {
            body.insert("imis".into(), json!("online"));
            body.insert("imis_ms".into(), json!(elapsed));
            Response::json(200, &Value::Object(body))
        }
        Err(e) => {
            // The reason goes to the audit log only: iMIS error text can name internal hosts
            // and accounts, and this page answers anyone.
            ctx.audit(
                "imis.unavailable",
                Outcome::Failure,
                None,
                Some(e.to_string()),
            );
            body.insert("status".into(), json!("degraded"));
            body.insert("imis".into(), json!("offline"));
            Response::json(503, &Value::Object(body))
        }
    }
}
