//! The sign-in journey's pages: the legacy sign-in form, the sign-out confirmation, the
//! signed-out page and the home page.

use crate::http::{html_escape, Response};
use crate::platform::Platform;
use crate::Ctx;

/// The iMIS 2017 legacy sign-in form ("Sign in to continue to: {App Name}" when there is an app).
pub fn signin_form<P: Platform>(
    ctx: &Ctx<'_, P>,
    pending_id: &str,
    app_name: Option<&str>,
    username: &str,
    error: Option<&str>,
    status: u16,
) -> Response {
    let heading = match app_name {
        Some(app) => format!("Sign in to continue to: {}", html_escape(app)),
        None => "Sign in".to_string(),
    };
    let message = ctx
        .tenant
        .pages
        .signin_message
        .as_deref()
        .map(|m| format!("<p>{}</p>", html_escape(m)))
        .unwrap_or_default();
    let error = error
        .map(|e| {
            format!(
                "<p class=\"error\" role=\"alert\" id=\"signin-error\"><strong>{}</strong></p>",
                html_escape(e)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>{heading}</h1>{message}{error}\
<form method=\"post\" action=\"/signin\" id=\"signin-form\">\
<input type=\"hidden\" name=\"p\" value=\"{}\">\
<p><label for=\"username\">Username</label><br><input id=\"username\" name=\"username\" autocomplete=\"username\" value=\"{}\" required autofocus></p>\
<p><label for=\"password\">Password</label><br><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required></p>\
<p><button type=\"submit\">Sign in</button></p></form>\
<p class=\"muted\">Use your {} member username and password.</p>",
        html_escape(pending_id),
        html_escape(username),
        html_escape(&ctx.tenant.name),
    );
    ctx.page(status, "Sign in", &body)
}

/// "Sign out?" with a button that POSTs the anti-forgery token.
///
/// `action` is where the form goes (a path on this host); `app_name` names the site that asked.
pub fn signout_confirm<P: Platform>(
    ctx: &Ctx<'_, P>,
    action: &str,
    token: &str,
    app_name: Option<&str>,
) -> Response {
    let asked_by = app_name
        .map(|n| format!("<p>{} asked to sign you out.</p>", html_escape(n)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign out</h1>{asked_by}<p>Sign out of {}?</p>\
<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"t\" value=\"{}\">\
<button type=\"submit\">Sign out</button></form>",
        html_escape(&ctx.tenant.name),
        html_escape(action),
        html_escape(token),
    );
    ctx.page(200, "Sign out", &body)
}

/// The page members land on after signing out.
pub fn signed_out<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    let body =
        "<h1>You are signed out</h1><p>You have been signed out. You can close this window.</p>\
<p><a class=\"button\" href=\"/signin\">Sign in again</a></p>";
    ctx.page(200, "Signed out", body)
}

/// `/`: who is signed in, with a sign-out button; or a sign-in button.
pub fn home<P: Platform>(ctx: &Ctx<'_, P>, session: Option<(&super::Session, String)>) -> Response {
    let name = html_escape(&ctx.tenant.name);
    let body = match session {
        Some((s, token)) => format!(
            "<h1>{name}</h1><p id=\"signed-in\">Signed in as <strong>{}</strong> ({}, iMIS ID {}).</p>\
<form method=\"post\" action=\"/signout\"><input type=\"hidden\" name=\"t\" value=\"{}\">\
<button type=\"submit\">Sign out</button></form>",
            html_escape(&s.user.display_name()),
            html_escape(&s.user.username),
            html_escape(&s.user.imis_id),
            html_escape(&token),
        ),
        None => format!(
            "<h1>{name}</h1><p>This is the single sign-on service of {name}. Members sign in to connected sites here.</p>\
<p><a class=\"button\" id=\"signin-link\" href=\"/signin\">Sign in</a></p>"
        ),
    };
    ctx.page(200, "Single sign-on", &body)
}
