//! Sending the member to sign in: the request waits in the pending cookie, the browser goes to
//! iMIS (the tenant's RiSE page with the Single Sign On content item) or, in legacy mode, to our
//! own sign-in form.

use super::pending::{self, Continuation, Family, Pending, Resumable};
use super::SignInOptions;
use crate::audit::Outcome;
use crate::http::{percent_encode, Response};
use crate::platform::Platform;
use crate::tenant::IdentityMode;
use crate::text::{ErrorMessage, ErrorTitle};
use crate::Ctx;

/// The RiSE Single Sign On page (and client application) of a sign-in family, falling back to the
/// other family's page when the tenant configured only one.
pub(super) fn sso_page<'a, P: Platform>(
    ctx: &'a Ctx<'_, P>,
    family: Family,
) -> Option<&'a crate::tenant::config::SsoPage> {
    let sso = &ctx.tenant.imis.sso;
    match family {
        Family::Saml => sso.saml.as_ref().or(sso.oidc.as_ref()),
        Family::Oidc => sso.oidc.as_ref().or(sso.saml.as_ref()),
    }
}

/// Sends the member to sign in, remembering `resume`. The response to return as is.
pub(crate) async fn begin<P: Platform, T: Resumable>(
    ctx: &Ctx<'_, P>,
    family: Family,
    request: &T,
    opts: SignInOptions,
) -> Response {
    let Some(resume) = Continuation::of(request) else {
        return unavailable(ctx, "the waiting request cannot be stored");
    };
    let mut list = pending::read(ctx);
    let pending = Pending {
        id: super::random_id(ctx.platform, 18),
        created: ctx.platform.now().secs(),
        family,
        app_name: opts.app_name,
        force: opts.force,
        resume,
    };
    let id = pending.id.clone();
    list.push(pending);
    let Some(cookie) = pending::cookie_for(ctx, &list) else {
        return unavailable(ctx, "runtime has no usable master key");
    };
    let target = match ctx.tenant.identity_mode {
        IdentityMode::ImisLegacy => format!("/signin?p={}", percent_encode(&id)),
        IdentityMode::ImisCloud => match sso_page(ctx, family) {
            Some(page) if opts.force => super::imis_logout(ctx, &page.page_url),
            Some(page) => page.page_url.clone(),
            None => {
                return ctx.error_page(
                    503,
                    ErrorTitle::SignInUnavailable,
                    ErrorMessage::SignInNotConfigured,
                    None,
                )
            }
        },
    };
    Response::redirect(&target).with_header("set-cookie", cookie)
}

fn unavailable<P: Platform>(ctx: &Ctx<'_, P>, reason: &str) -> Response {
    ctx.audit(
        "signin.unavailable",
        Outcome::Failure,
        None,
        Some(reason.into()),
    );
    ctx.error_page(
        503,
        ErrorTitle::SignInUnavailable,
        ErrorMessage::SignInUnavailable,
        None,
    )
}
