//! `/healthz`: liveness and the tenant's configuration version; with `?deep=1` and the tenant's
//! admin token also whether iMIS answers for this tenant with its background account — the
//! admin's "Online/Offline" status.
//!
//! The deep check makes iMIS calls, so only an admin may start it: `Authorization: Bearer` with
//! [`admin_token`], derived from the master key for the tenant. The admin CLI holds the master key
//! and derives the same token, so nothing more is stored or handed out.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::audit::Outcome;
use crate::http::{percent_encode, Response};
use crate::platform::{Platform, MASTER_KEY_SECRET};
use crate::seal::{constant_time_eq, MasterKey};
use crate::Ctx;

/// What the MAC of an admin token starts with, so that it can never equal another MAC made
/// under the master key.
const ADMIN_TOKEN_LABEL: &[u8] = b"edge-idp/v1/healthz-admin/";

/// What `?deep=1` says instead of probing iMIS when no admin token came with it.
const NEEDS_ADMIN_TOKEN: &str = "needs admin token";

/// The bearer token that opens `/healthz?deep=1` of `tenant_id`: base64url without padding of
/// HMAC-SHA256, under the raw master key, of `edge-idp/v1/healthz-admin/{tenant_id}`.
pub fn admin_token(master: &MasterKey, tenant_id: &str) -> String {
    let mut message = ADMIN_TOKEN_LABEL.to_vec();
    message.extend_from_slice(tenant_id.as_bytes());
    URL_SAFE_NO_PAD.encode(master.mac(&message))
}

/// What the request's `Authorization` header is worth for the deep check.
enum Admin {
    /// No header: an ordinary health check.
    Absent,
    /// The tenant's admin token.
    Valid,
    /// Something else, and why (for the audit log).
    Refused(&'static str),
}

/// Checks the request's bearer token against the tenant's admin token, in constant time.
fn admin<P: Platform>(ctx: &Ctx<'_, P>) -> Admin {
    let Some(header) = ctx.req.header("authorization") else {
        return Admin::Absent;
    };
    let token = match header.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => return Admin::Refused("not a bearer token"),
    };
    let Some(master) = ctx
        .platform
        .secret(MASTER_KEY_SECRET)
        .and_then(|m| MasterKey::from_base64(&m).ok())
    else {
        return Admin::Refused("the runtime has no usable master key");
    };
    let expected = admin_token(&master, ctx.tenant.id.as_str());
    if constant_time_eq(token.as_bytes(), expected.as_bytes()) {
        Admin::Valid
    } else {
        Admin::Refused("wrong admin token")
    }
}

/// Answers `/healthz`.
pub(crate) async fn handle<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    let mut body = Map::new();
    body.insert("status".into(), json!("ok"));
    body.insert("tenant".into(), json!(ctx.tenant.id.as_str()));
    body.insert("config_version".into(), json!(ctx.tenant.config_version));
    let deep = matches!(ctx.req.query_param("deep").as_deref(), Some("1" | "true"));
    if !deep {
        return Response::json(200, &Value::Object(body));
    }
    match admin(ctx) {
        Admin::Valid => probe(ctx, body).await,
        // A monitor that only asks whether the host is up keeps working, at no iMIS cost.
        Admin::Absent => {
            body.insert("deep".into(), json!(NEEDS_ADMIN_TOKEN));
            Response::json(200, &Value::Object(body))
        }
        Admin::Refused(reason) => {
            ctx.audit(
                "healthz.admin_refused",
                Outcome::Refused,
                None,
                Some(reason.to_owned()),
            );
            Response::json(401, &json!({"error": "admin token refused"}))
                .with_header("www-authenticate", "Bearer")
        }
    }
}

/// Looks the background account up in iMIS and says whether, and how fast, iMIS answered.
async fn probe<P: Platform>(ctx: &Ctx<'_, P>, mut body: Map<String, Value>) -> Response {
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
            // and accounts, and a leaked admin token must not reveal them either.
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
