//! RiSE pages: the Single Sign On content item, sign-in, forms-auth logout (docs/imis-contract.md §3, §6).

use crate::app::{not_found, App};
use crate::http::{form_get, Request, Response};
use crate::state::SignInError;
use crate::util::{html_escape, url_encode};

/// The forms-authentication cookie name (docs/imis-contract.md §6.1).
pub const COOKIE: &str = "Login";

fn cookie_path(app: &App, site: usize) -> String {
    let p = &app.model.sites[site].web_prefix;
    if p.is_empty() {
        "/".into()
    } else {
        p.clone()
    }
}

fn set_cookie(app: &App, site: usize, value: &str) -> String {
    format!(
        "{COOKIE}={value}; path={}; HttpOnly; SameSite=Lax",
        cookie_path(app, site)
    )
}

fn clear_cookie(app: &App, site: usize) -> String {
    format!(
        "{COOKIE}=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path={}; HttpOnly; SameSite=Lax",
        cookie_path(app, site)
    )
}

/// The signed-in user of this site, from the `Login` cookie.
fn current_user(app: &App, site: usize, req: &Request) -> Option<usize> {
    let id = req.cookie(COOKIE)?;
    let state = app.state();
    let s = state.sessions.get(&id)?;
    (s.site == site).then_some(s.user)
}

fn page(app: &App, site: usize, title: &str, body: &str) -> String {
    let s = &app.model.sites[site];
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} - {name}</title>\
<style>body{{font-family:sans-serif;max-width:32rem;margin:2rem auto}}label{{display:block;margin:.5rem 0}}.error{{color:#b00}}</style>\
</head><body><header><strong>{name}</strong> <small>(emulated iMIS, {style})</small></header>\n{body}\n</body></html>\n",
        title = html_escape(title),
        name = html_escape(&s.name),
        style = html_escape(&s.style),
    )
}

fn sign_in_form(
    app: &App,
    site: usize,
    action: &str,
    error: Option<&str>,
    username: &str,
) -> Response {
    let err = error
        .map(|e| {
            format!(
                "<p class=\"error\" id=\"error\" role=\"alert\">{}</p>",
                html_escape(e)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<main><h1>Sign In</h1>{err}\
<form method=\"post\" action=\"{action}\" id=\"signin-form\">\
<label>Username <input type=\"text\" name=\"username\" id=\"username\" autocomplete=\"username\" value=\"{user}\" required></label>\
<label>Password <input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"current-password\" required></label>\
<button type=\"submit\" id=\"signin\">Sign In</button></form></main>",
        action = html_escape(action),
        user = html_escape(username),
    );
    Response::html(200, page(app, site, "Sign In", &body))
}

/// Try the posted credentials; on success start a session.
fn try_sign_in(
    app: &App,
    site: usize,
    form: &[(String, String)],
) -> Result<(usize, String), SignInError> {
    let username = form_get(form, "username").unwrap_or("");
    let password = form_get(form, "password").unwrap_or("");
    let mut state = app.state();
    let user = state.check_password(&app.model, site, username, password)?;
    let sid = state.start_session(site, user);
    Ok((user, sid))
}

/// `{web}/sso/{clientId}`: a RiSE page holding the Single Sign On content item.
pub fn sso(app: &App, site: usize, req: &Request, client_id: &str) -> Response {
    let s = &app.model.sites[site];
    let Some(client) = s
        .client_apps
        .iter()
        .position(|c| c.client_id.eq_ignore_ascii_case(client_id))
    else {
        return not_found();
    };
    let action = req.path.clone();
    let is_post = req.method.eq_ignore_ascii_case("POST");
    if !is_post && !req.method.eq_ignore_ascii_case("GET") {
        return Response::text(405, "Method not allowed");
    }
    let form = if is_post { req.form() } else { Vec::new() };
    let mut cookie = None;
    let user = if is_post && form_get(&form, "username").is_some() {
        match try_sign_in(app, site, &form) {
            Ok((user, sid)) => {
                cookie = Some(set_cookie(app, site, &sid));
                user
            }
            Err(e) => {
                let typed = form_get(&form, "username").unwrap_or("");
                return sign_in_form(app, site, &action, Some(e.message()), typed);
            }
        }
    } else {
        match current_user(app, site, req) {
            Some(u) => u,
            None => return sign_in_form(app, site, &action, None, ""),
        }
    };
    let token = app.state().issue_refresh(&app.model, site, client, user);
    let redirect = &s.client_apps[client].login_redirect_url;
    let body = format!(
        "<main><p>Signing you in to {client}&hellip;</p>\
<form method=\"post\" action=\"{url}\" enctype=\"application/x-www-form-urlencoded\" id=\"sso-handoff\">\
<input type=\"hidden\" name=\"refresh_token\" value=\"{token}\">\
<button type=\"submit\">Continue</button></form>\
<script>document.getElementById('sso-handoff').submit();</script></main>",
        client = html_escape(&s.client_apps[client].client_id),
        url = html_escape(redirect),
        token = html_escape(&token),
    );
    let mut resp = Response::html(200, page(app, site, "Single Sign On", &body));
    if let Some(c) = cookie {
        resp = resp.with_header("Set-Cookie", &c);
    }
    resp
}

/// Only same-site relative paths are honoured as a sign-in return URL.
fn safe_return(url: &str) -> Option<&str> {
    let ok = url.starts_with('/')
        && !url.starts_with("//")
        && !url.starts_with("/\\")
        && !url.chars().any(|c| c.is_control());
    ok.then_some(url)
}

/// `{web}/SignIn?returnurl=...` (and forms-auth Login.aspx?ReturnUrl=...).
pub fn signin(app: &App, site: usize, req: &Request) -> Response {
    let web = &app.model.sites[site].web_prefix;
    let return_url = req.query_first("returnurl").unwrap_or("").to_string();
    let action = if return_url.is_empty() {
        req.path.clone()
    } else {
        format!("{}?returnurl={}", req.path, url_encode(&return_url))
    };
    let home = format!("{web}/");
    let destination = safe_return(&return_url).unwrap_or(&home).to_string();
    if req.method.eq_ignore_ascii_case("POST") {
        let form = req.form();
        return match try_sign_in(app, site, &form) {
            Ok((_, sid)) => Response::redirect(&destination)
                .with_header("Set-Cookie", &set_cookie(app, site, &sid)),
            Err(e) => sign_in_form(
                app,
                site,
                &action,
                Some(e.message()),
                form_get(&form, "username").unwrap_or(""),
            ),
        };
    }
    if current_user(app, site, req).is_some() && !return_url.is_empty() {
        return Response::redirect(&destination);
    }
    sign_in_form(app, site, &action, None, "")
}

/// Forms-auth logout.aspx: clear the cookie, 302 to `returnurl` (no allow-list, as in 2017).
pub fn logout(app: &App, site: usize, req: &Request) -> Response {
    if let Some(id) = req.cookie(COOKIE) {
        let mut state = app.state();
        if state.sessions.get(&id).is_some_and(|s| s.site == site) {
            state.sessions.remove(&id);
        }
    }
    let clear = clear_cookie(app, site);
    let web = &app.model.sites[site].web_prefix;
    if let Some(url) = req.query_first("returnurl").filter(|u| !u.is_empty()) {
        return Response::redirect(url).with_header("Set-Cookie", &clear);
    }
    if req.query_first("Redirect") == Some("0") {
        return Response::html(
            200,
            page(
                app,
                site,
                "Signed out",
                "<main><p>You have been signed out.</p></main>",
            ),
        )
        .with_header("Set-Cookie", &clear);
    }
    Response::redirect(&format!("{web}/SignIn")).with_header("Set-Cookie", &clear)
}

/// `{web}/`: who is signed in, and links.
pub fn home(app: &App, site: usize, req: &Request) -> Response {
    let s = &app.model.sites[site];
    let who = match current_user(app, site, req) {
        Some(u) => format!(
            "<p id=\"signed-in\">Signed in as <strong>{}</strong> ({}).</p>",
            html_escape(&s.users[u].username),
            html_escape(&s.users[u].full_name())
        ),
        None => "<p id=\"signed-out\">Not signed in.</p>".to_string(),
    };
    let mut links = format!(
        "<li><a href=\"{w}/SignIn\">Sign in</a></li><li><a href=\"{w}/AsiCommon/Controls/Shared/FormsAuthentication/logout.aspx\">Sign out</a></li>",
        w = html_escape(&s.web_prefix)
    );
    for c in &s.client_apps {
        links.push_str(&format!(
            "<li><a href=\"{w}/sso/{id}\">Single Sign On: {id}</a></li>",
            w = html_escape(&s.web_prefix),
            id = html_escape(&c.client_id)
        ));
    }
    Response::html(
        200,
        page(
            app,
            site,
            "Home",
            &format!("<main><h1>Home</h1>{who}<ul>{links}</ul></main>"),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_urls() {
        assert_eq!(safe_return("/acme/Home"), Some("/acme/Home"));
        assert_eq!(safe_return("//evil.example/"), None);
        assert_eq!(safe_return("/\\evil.example/"), None);
        assert_eq!(safe_return("https://evil.example/"), None);
        assert_eq!(safe_return(""), None);
    }
}
