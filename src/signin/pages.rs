//! The sign-in journey's pages: the legacy sign-in form, the sign-out confirmation, the
//! signed-out page and the home page.

use askama::Template;

use crate::http::{html_escape, Response};
use crate::pages::{fill, render_template, Brand};
use crate::platform::Platform;
use crate::text::Text;
use crate::Ctx;

#[derive(Template)]
#[template(path = "signin_form.html")]
struct SigninForm<'a> {
    brand: Brand<'a>,
    app_name: Option<&'a str>,
    message: Option<&'a str>,
    error: Option<&'a str>,
    pending_id: &'a str,
    username: &'a str,
    hint: &'a str,
}

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
    let hint = fill(
        ctx.t(Text::SignInHint),
        &[("org", &html_escape(&ctx.tenant.name))],
    );
    let body = render_template(&SigninForm {
        brand: ctx.brand(),
        app_name,
        message: ctx.tenant.pages.signin_message.as_deref(),
        error: error.map(|e| ctx.t(e)),
        pending_id,
        username,
        hint: &hint,
    });
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

#[derive(Template)]
#[template(path = "signout_confirm.html")]
struct SignoutConfirm<'a> {
    brand: Brand<'a>,
    asked_by: Option<String>,
    question: &'a str,
    form_id: &'a str,
    action: &'a str,
    token: &'a str,
    fields: &'a [(&'a str, &'a str)],
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
    let question = fill(
        ctx.t(Text::SignOutQuestion),
        &[("org", &html_escape(&ctx.tenant.name))],
    );
    let body = render_template(&SignoutConfirm {
        brand: ctx.brand(),
        asked_by: app_name.map(|n| fill(ctx.t(Text::SignOutAskedBy), &[("app", &html_escape(n))])),
        question: &question,
        form_id,
        action,
        token,
        fields: hidden,
    });
    ctx.page(200, ctx.t(Text::SignOut), &body)
}

#[derive(Template)]
#[template(path = "signed_out.html")]
struct SignedOut<'a> {
    brand: Brand<'a>,
}

/// The page members land on after signing out.
pub(crate) fn signed_out<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    let body = render_template(&SignedOut { brand: ctx.brand() });
    ctx.page(200, ctx.t(Text::SignedOutTitle), &body)
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home<'a> {
    brand: Brand<'a>,
    /// "Signed in as {name}" for a member, the introduction otherwise.
    greeting: &'a str,
    member: Option<&'a super::SessionUser>,
    signout_token: &'a str,
}

/// `/`: who is signed in, with a sign-out button; or a sign-in button.
pub(crate) fn home<P: Platform>(
    ctx: &Ctx<'_, P>,
    session: Option<(&super::Session, String)>,
) -> Response {
    let (member, signout_token) = match &session {
        Some((s, token)) => (Some(&s.user), token.as_str()),
        None => (None, ""),
    };
    let greeting = match member {
        Some(user) => fill(
            ctx.t(Text::SignedInAs),
            &[(
                "name",
                &format!("<strong>{}</strong>", html_escape(&user.display_name())),
            )],
        ),
        None => fill(
            ctx.t(Text::HomeIntro),
            &[("org", &html_escape(&ctx.tenant.name))],
        ),
    };
    let body = render_template(&Home {
        brand: ctx.brand(),
        greeting: &greeting,
        member,
        signout_token,
    });
    ctx.page(200, ctx.t(Text::HomeTitle), &body)
}
