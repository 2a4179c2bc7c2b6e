//! Emulator-only control API under `/__emulator/` (README.md "Control API").

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::App;
use crate::http::{Request, Response};
use crate::state::{Fault, FaultSpec};

fn bad(msg: &str) -> Response {
    Response::value(400, &json!({ "error": msg }))
}

fn body_json(req: &Request) -> Result<Value, Response> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(&req.body).map_err(|e| bad(&format!("body is not JSON: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpireSpec {
    #[serde(default)]
    site: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MintSpec {
    site: String,
    client_id: String,
    username: String,
}

fn site_index(app: &App, name: &str) -> Option<usize> {
    app.model
        .sites
        .iter()
        .position(|s| s.name.eq_ignore_ascii_case(name))
}

/// Handle `/__emulator/...`.
pub fn handle(app: &App, req: &Request) -> Response {
    let sub = req.path["/__emulator".len()..]
        .trim_end_matches('/')
        .to_ascii_lowercase();
    let method = req.method.to_ascii_uppercase();
    match (method.as_str(), sub.as_str()) {
        ("GET", "/health") | ("GET", "") => {
            let names: Vec<&str> = app.model.sites.iter().map(|s| s.name.as_str()).collect();
            Response::value(200, &json!({ "status": "ok", "sites": names }))
        }
        ("POST", "/faults") => add_fault(app, req),
        ("GET", "/faults") => {
            let faults = app.state().faults.clone();
            Response::value(200, &serde_json::to_value(faults).unwrap_or(Value::Null))
        }
        ("DELETE", "/faults") => {
            app.state().faults.clear();
            app.epoch.fetch_add(1, Ordering::SeqCst);
            Response::value(200, &json!({ "cleared": true }))
        }
        ("GET", "/requests") => {
            let log = app.state().log.clone();
            Response::value(200, &serde_json::to_value(log).unwrap_or(Value::Null))
        }
        ("DELETE", "/requests") => {
            let mut state = app.state();
            state.log.clear();
            state.next_seq = 0;
            Response::value(200, &json!({ "cleared": true }))
        }
        ("POST", "/reset") => {
            app.state().reset();
            app.epoch.fetch_add(1, Ordering::SeqCst);
            Response::value(200, &json!({ "reset": true }))
        }
        ("POST", "/expire-tokens") => expire_tokens(app, req),
        ("POST", "/refresh-tokens") => mint_refresh_token(app, req),
        (
            _,
            "/health" | "" | "/faults" | "/requests" | "/reset" | "/expire-tokens"
            | "/refresh-tokens",
        ) => Response::value(405, &json!({ "error": "method not allowed" })),
        _ => Response::value(404, &json!({ "error": "unknown control endpoint" })),
    }
}

fn add_fault(app: &App, req: &Request) -> Response {
    let v = match body_json(req) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let spec: FaultSpec = match serde_json::from_value(v) {
        Ok(s) => s,
        Err(e) => return bad(&format!("bad fault: {e}")),
    };
    if let Some(s) = spec.status {
        if !(200..=599).contains(&s) {
            return bad("status must be 200..=599");
        }
    }
    if spec.times == Some(0) {
        return bad("times must be >= 1 (or null for always)");
    }
    if spec.latency_ms > 600_000 {
        return bad("latency_ms must be <= 600000");
    }
    let mut state = app.state();
    state.next_fault += 1;
    let fault = Fault {
        id: state.next_fault,
        spec,
    };
    state.faults.push(fault.clone());
    Response::value(201, &serde_json::to_value(fault).unwrap_or(Value::Null))
}

fn expire_tokens(app: &App, req: &Request) -> Response {
    let v = match body_json(req) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let spec: ExpireSpec = match serde_json::from_value(v) {
        Ok(s) => s,
        Err(e) => return bad(&format!("bad request: {e}")),
    };
    let site = match &spec.site {
        Some(name) => match site_index(app, name) {
            Some(i) => Some(i),
            None => return Response::value(404, &json!({ "error": "unknown site" })),
        },
        None => None,
    };
    let past = SystemTime::now() - Duration::from_secs(1);
    let mut state = app.state();
    let mut access = 0;
    for t in state.access.values_mut() {
        if site.is_none_or(|s| s == t.site) {
            t.expires = past;
            access += 1;
        }
    }
    let mut refresh = 0;
    for t in state.refresh.values_mut() {
        if site.is_none_or(|s| s == t.site) {
            t.expires = past;
            refresh += 1;
        }
    }
    Response::value(
        200,
        &json!({ "expired_access_tokens": access, "expired_refresh_tokens": refresh }),
    )
}

fn mint_refresh_token(app: &App, req: &Request) -> Response {
    let v = match body_json(req) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let spec: MintSpec = match serde_json::from_value(v) {
        Ok(s) => s,
        Err(e) => return bad(&format!("bad request: {e}")),
    };
    let Some(site) = site_index(app, &spec.site) else {
        return Response::value(404, &json!({ "error": "unknown site" }));
    };
    let s = &app.model.sites[site];
    let Some(client) = s.client(&spec.client_id) else {
        return Response::value(404, &json!({ "error": "unknown client_id" }));
    };
    let Some(user) = s.user_by_name(&spec.username) else {
        return Response::value(404, &json!({ "error": "unknown username" }));
    };
    let token = app.state().issue_refresh(&app.model, site, client, user);
    Response::value(200, &json!({ "refresh_token": token }))
}
