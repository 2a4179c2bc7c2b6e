//! `/healthz`: liveness and the tenant's configuration version; with `?deep=1` also whether iMIS
//! answers for this tenant with its background account — the admin's "Online/Offline" status.

use serde_json::json;

use crate::audit::Outcome;
use crate::http::{percent_encode, Response};
use crate::platform::Platform;
use crate::Ctx;

/// Answers `/healthz`.
pub async fn handle<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    let mut body = json!({
        "status": "ok",
        "tenant": ctx.tenant.id.as_str(),
        "config_version": ctx.tenant.config_version,
    });
    let deep = matches!(ctx.req.query_param("deep").as_deref(), Some("1" | "true"));
    if !deep {
        return Response::json(200, &body);
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
            body["imis"] = json!("online");
            body["imis_ms"] = json!(elapsed);
            Response::json(200, &body)
        }
        Err(e) => {
            ctx.audit(
                "imis.unavailable",
                Outcome::Failure,
                None,
                Some(e.to_string()),
            );
            body["status"] = json!("degraded");
            body["imis"] = json!("offline");
            body["imis_error"] = json!(e.to_string());
            Response::json(503, &body)
        }
    }
}
