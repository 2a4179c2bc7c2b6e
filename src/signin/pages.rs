//! The sign-in journey's pages: the legacy sign-in form, the sign-out confirmation, the
//! signed-out page and the home page.

use crate::http::{html_escape, Response};
use crate::pages::fill;
use crate::platform::Platform;
use crate::text::Text;
use crate::Ctx;

/// The iMIS 2017 legacy sign-in form ("Sign in to continue to: {App Name}" when there is an app),
/// with `error` above it after a failed attempt.
pub(crate) fn signin_form<P: Platform>(
    ctx: &Ctx<'_, P>,
    pending_id: &str,
    app_name: Option<&str>,
    username: &str,
    error: Option<Text>,
    status: u16,
) -> Response {
    let heading = match app_name {
        Some(app) => format!(
            "{} {}",
            html_escape(ctx.t(Text::SignInToContinue)),
            html_escape(app)
        ),
        None => html_escape(ctx.t(Text::SignInTitle)),
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
                html_escape(ctx.t(e))
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>{heading}</h1>{message}{error}\
<form method=\"post\" action=\"/signin\" id=\"signin-form\">\
<input type=\"hidden\" name=\"p\" value=\"{}\">\
<p><label for=\"username\">{}</label><br><input id=\"username\" name=\"username\" autocomplete=\"username\" value=\"{}\" required autofocus></p>\
<p><label for=\"password\">{}</label><br><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required></p>\
<p><button type=\"submit\">{}</button></p></form>\
<p class=\"muted\">{}</p>",
        html_escape(pending_id),
        html_escape(ctx.t(Text::Username)),
        html_escape(username),
        html_escape(ctx.t(Text::Password)),
        html_escape(ctx.t(Text::SignInButton)),
        fill(
            ctx.t(Text::SignInHint),
            &[("org", &html_escape(&ctx.tenant.name))]
        ),
    );
    ctx.page(status, ctx.t(Text::SignInTitle), &body)
}

/// "Sign out?" with a button that POSTs the anti-forgery token.
///
/// `action` is where the form goes (a path on this host); `app_name` names the site that asked.
pub(crate) fn signout_confirm<P: Platform>(
    ctx: &Ctx<'_, P>,
    action: &str,
    token: &str,
    app_name: Option<&str>,
) -> Response {
    signout_confirm_form(ctx, action, token, app_name, &[], "signout")
}

/// [`signout_confirm`] whose form has the id `form_id` and carries `hidden` fields along with
/// the token (a protocol's own parameters, posted back as they came).
pub(crate) fn signout_confirm_form<P: Platform>(
    ctx: &Ctx<'_, P>,
    action: &str,
    token: &str,
    app_name: Option<&str>,
    hidden: &[(&str, &str)],
    form_id: &str,
) -> Response {
    let hidden = crate::pages::hidden_inputs(hidden);
    let asked_by = app_name
        .map(|n| {
            format!(
                "<p>{}</p>",
                fill(ctx.t(Text::SignOutAskedBy), &[("app", &html_escape(n))])
            )
        })
        .unwrap_or_default();
    let sign_out = html_escape(ctx.t(Text::SignOut));
    let body = format!(
        "<h1>{sign_out}</h1>{asked_by}<p>{}</p>\
<form id=\"{}\" method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"t\" value=\"{}\">\
{hidden}<button type=\"submit\">{sign_out}</button></form>",
        fill(
            ctx.t(Text::SignOutQuestion),
            &[("org", &html_escape(&ctx.tenant.name))]
        ),
        html_escape(form_id),
        html_escape(action),
        html_escape(token),
    );
    ctx.page(200, ctx.t(Text::SignOut), &body)
}

/// The page members land on after signing out.
pub(crate) fn signed_out<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    let body = format!(
        "<h1>{}</h1><p>{}</p><p><a class=\"button\" href=\"/signin\">{}</a></p>",
        html_escape(ctx.t(Text::SignedOutTitle)),
        html_escape(ctx.t(Text::SignedOutText)),
        html_escape(ctx.t(Text::SignInAgain)),
    );
    ctx.page(200, ctx.t(Text::SignedOutTitle), &body)
}

/// `/`: who is signed in, with a sign-out button; or a sign-in button.
pub(crate) fn home<P: Platform>(
    ctx: &Ctx<'_, P>,
    session: Option<(&super::Session, String)>,
) -> Response {
    let name = html_escape(&ctx.tenant.name);
    let body = match session {
        Some((s, token)) => format!(
            "<h1>{name}</h1><p id=\"signed-in\">{} ({}, iMIS ID {}).</p>\
<form method=\"post\" action=\"/signout\"><input type=\"hidden\" name=\"t\" value=\"{}\">\
<button type=\"submit\">{}</button></form>",
            fill(
                ctx.t(Text::SignedInAs),
                &[(
                    "name",
                    &format!("<strong>{}</strong>", html_escape(&s.user.display_name()))
                )]
            ),
            html_escape(&s.user.username),
            html_escape(&s.user.imis_id),
            html_escape(&token),
            html_escape(ctx.t(Text::SignOut)),
        ),
        None => format!(
            "<h1>{name}</h1><p>{}</p>\
<p><a class=\"button\" id=\"signin-link\" href=\"/signin\">{}</a></p>",
            fill(ctx.t(Text::HomeIntro), &[("org", &name)]),
            html_escape(ctx.t(Text::SignInLink)),
        ),
    };
    ctx.page(200, ctx.t(Text::HomeTitle), &body)
}
