//! `POST {api}/token` (docs/imis-contract.md §1).

use std::time::{Duration, SystemTime};

use crate::app::App;
use crate::http::{form_get, Request, Response};
use crate::json::J;
use crate::util;

/// Katana writes token responses with these headers (docs/imis-contract.md §1.4).
fn token_response(status: u16, body: &J) -> Response {
    Response::new(status, "application/json;charset=UTF-8", body.render())
        .with_header("Cache-Control", "no-cache")
        .with_header("Pragma", "no-cache")
        .with_header("Expires", "-1")
}

/// An OAuth error (HTTP 400, docs/imis-contract.md §1.5).
pub fn error(code: &str, description: &str) -> Response {
    token_response(
        400,
        &J::obj(vec![
            ("error", J::s(code)),
            ("error_description", J::s(description)),
        ]),
    )
}

fn success(app: &App, site_idx: usize, user_idx: usize) -> Response {
    let site = &app.model.sites[site_idx];
    let lifetime = site.access_token_lifetime_seconds;
    let (token, issued, expires) =
        app.state()
            .issue_access(site_idx, user_idx, Duration::from_secs(lifetime));
    token_response(
        200,
        &J::obj(vec![
            ("access_token", J::s(token)),
            ("token_type", J::s("bearer")),
            ("expires_in", J::Int(lifetime as i64)),
            ("userName", J::s(&site.users[user_idx].username)),
            (".issued", J::s(util::http_date(issued))),
            (".expires", J::s(util::http_date(expires))),
        ]),
    )
}

/// Handle the token endpoint.
pub fn handle(app: &App, site_idx: usize, req: &Request) -> Response {
    if !req.method.eq_ignore_ascii_case("POST") {
        return error("invalid_request", "The token endpoint accepts only POST.");
    }
    if !req.is_form() {
        return error(
            "invalid_request",
            "The request must be application/x-www-form-urlencoded.",
        );
    }
    let form = req.form();
    let grant = form_get(&form, "grant_type").unwrap_or("");
    match grant {
        "" => error("invalid_request", "The grant_type parameter is missing."),
        "password" => password_grant(app, site_idx, &form),
        "refresh_token" => refresh_grant(app, site_idx, &form),
        _ => error(
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        ),
    }
}

fn required<'a>(form: &'a [(String, String)], key: &str) -> Result<&'a str, Response> {
    match form_get(form, key) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(error(
            "invalid_request",
            &format!("The {key} parameter is missing."),
        )),
    }
}

fn password_grant(app: &App, site_idx: usize, form: &[(String, String)]) -> Response {
    let (username, password) = match (required(form, "username"), required(form, "password")) {
        (Ok(u), Ok(p)) => (u, p),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    // client_id / client_secret, when present, are ignored (docs/imis-contract.md §1.3, §9.3).
    let checked = app
        .state()
        .check_password(&app.model, site_idx, username, password);
    match checked {
        Ok(user) => success(app, site_idx, user),
        Err(e) => error("invalid_grant", e.message()),
    }
}

fn refresh_grant(app: &App, site_idx: usize, form: &[(String, String)]) -> Response {
    let fields = (
        required(form, "client_id"),
        required(form, "client_secret"),
        required(form, "refresh_token"),
    );
    let (client_id, client_secret, token) = match fields {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return e,
    };
    let site = &app.model.sites[site_idx];
    let client = match site.client(client_id) {
        Some(c) if site.client_apps[c].client_secret == client_secret => c,
        _ => return error("invalid_client", "The client credentials are invalid."),
    };
    let mut state = app.state();
    let user = {
        let Some(rt) = state.refresh.get_mut(token) else {
            return error("invalid_grant", "The refresh token is invalid.");
        };
        if rt.site != site_idx {
            return error("invalid_grant", "The refresh token is invalid.");
        }
        if rt.used {
            return error("invalid_grant", "The refresh token has already been used.");
        }
        if SystemTime::now() > rt.expires {
            return error("invalid_grant", "The refresh token has expired.");
        }
        if rt.client != client {
            return error(
                "invalid_grant",
                "The refresh token was issued to a different client.",
            );
        }
        rt.used = true;
        rt.user
    };
    let u = &site.users[user];
    if u.is_disabled {
        return error("invalid_grant", "The user account is disabled.");
    }
    if state.is_locked(&app.model, site_idx, user) {
        return error(
            "invalid_grant",
            "The user account has been locked out because of too many invalid sign-in attempts.",
        );
    }
    drop(state);
    success(app, site_idx, user)
}
