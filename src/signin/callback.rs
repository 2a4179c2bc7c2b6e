//! iMIS hands the member back: identify them, open the session, hand the waiting request to the
//! journey.

use super::pending::{self, Family, Pending, PendingList};
use super::reply::{Reply, SignedIn};
use super::{current, store_session, Session, SessionUser};
use crate::audit::Outcome;
use crate::http::Response;
use crate::imis::{ImisError, Member};
use crate::platform::Platform;
use crate::tenant::IdentityMode;
use crate::text::{ErrorMessage, ErrorTitle};
use crate::Ctx;

/// What went wrong identifying the member; each gets its own page and audit reason.
#[derive(Debug)]
pub(super) enum SignInFailure {
    Imis(ImisError),
    NotFound,
    Disabled,
}

pub(super) async fn identify<P: Platform>(
    ctx: &Ctx<'_, P>,
    username: &str,
) -> Result<Member, SignInFailure> {
    match ctx.imis().find_member(ctx.imis_tokens(), username).await {
        Ok(Some(m)) if m.disabled => Err(SignInFailure::Disabled),
        Ok(Some(m)) => Ok(m),
        Ok(None) => Err(SignInFailure::NotFound),
        Err(e) => Err(SignInFailure::Imis(e)),
    }
}

pub(super) fn failure_page<P: Platform>(
    ctx: &Ctx<'_, P>,
    failure: &SignInFailure,
    user: &str,
    retry: &str,
) -> Response {
    let (event, status, title, message) = match failure {
        SignInFailure::NotFound => (
            "signin.member_not_found",
            403,
            ErrorTitle::MemberNotFound,
            ErrorMessage::MemberNotFound,
        ),
        SignInFailure::Disabled => (
            "signin.member_disabled",
            403,
            ErrorTitle::AccountDisabled,
            ErrorMessage::AccountDisabled,
        ),
        SignInFailure::Imis(ImisError::Timeout(_)) => (
            "imis.unavailable",
            504,
            ErrorTitle::ImisNotResponding,
            ErrorMessage::ImisTimeout,
        ),
        SignInFailure::Imis(ImisError::InvalidGrant) => (
            "signin.imis_refused",
            400,
            ErrorTitle::SignInNotConfirmed,
            ErrorMessage::ImisRefused,
        ),
        SignInFailure::Imis(_) => (
            "imis.unavailable",
            502,
            ErrorTitle::ImisUnavailable,
            ErrorMessage::ImisUnexpected,
        ),
    };
    let reason = match failure {
        SignInFailure::Imis(e) => format!("{e} (user {user})"),
        _ => format!("user {user}"),
    };
    let outcome = if status >= 500 {
        Outcome::Failure
    } else {
        Outcome::Refused
    };
    ctx.audit(event, outcome, None, Some(reason));
    ctx.error_page(status, title, message, Some(retry))
}

/// Opens the session for `member`; the journey then resumes `pending` (or goes home) and the
/// cookies are written ([`SignedIn::finish`]).
pub(super) async fn complete<P: Platform>(
    ctx: &Ctx<'_, P>,
    member: Member,
    pending: Option<Pending>,
    list: PendingList,
) -> Reply {
    let now = ctx.platform.now().secs();
    let user = SessionUser::from(member);
    let username = user.username.clone();
    let session = match current(ctx).await {
        // The same member signing in again keeps the session's participants.
        Some(s) if s.user.imis_id == user.imis_id => Session {
            user,
            auth_time: now,
            ..s
        },
        _ => Session {
            v: 1,
            sid: super::random_id(ctx.platform, 18),
            user,
            auth_time: now,
            expires: now + u64::from(ctx.tenant.session.absolute_minutes) * 60,
            last_seen: now,
            via: match ctx.tenant.identity_mode {
                IdentityMode::ImisCloud => "imis_cloud".into(),
                IdentityMode::ImisLegacy => "imis_legacy".into(),
            },
            participants: Vec::new(),
        },
    };
    ctx.audit(
        "signin.success",
        Outcome::Success,
        None,
        Some(format!("user {username}")),
    );
    Reply::SignedIn(Box::new(SignedIn {
        session,
        continuation: pending.map(|p| p.resume),
        pending: list,
    }))
}

/// `POST /imis/callback` and `POST /saml/imis/callback`: iMIS hands back a refresh token.
pub(crate) async fn callback<P: Platform>(ctx: &Ctx<'_, P>, family: Family) -> Reply {
    match identify_callback(ctx, family).await {
        Ok((member, pending, list)) => complete(ctx, member, Some(pending), list).await,
        Err(resp) => resp.into(),
    }
}

/// The member iMIS signed in and the request this browser was waiting with, or the page that
/// says why not.
async fn identify_callback<P: Platform>(
    ctx: &Ctx<'_, P>,
    family: Family,
) -> Result<(Member, Pending, PendingList), Response> {
    if ctx.tenant.identity_mode != IdentityMode::ImisCloud {
        return Err(ctx.error_page(
            404,
            ErrorTitle::PageNotFound,
            ErrorMessage::NoPageHere,
            Some("/"),
        ));
    }
    let Some(refresh_token) = ctx
        .req
        .form_field("refresh_token")
        .filter(|t| !t.is_empty() && t.len() <= 512)
    else {
        return Err(ctx.refuse(
            "signin.callback_refused",
            "no refresh_token",
            400,
            ErrorTitle::SignInNotCompleted,
            ErrorMessage::NoSignInToken,
            Some("/signin"),
        ));
    };
    // iMIS's Single Sign On content item hands the token over with an auto-submitted form on
    // the iMIS site, so the browser names iMIS's origin. Anything else is a page trying to sign
    // this browser in as someone (login CSRF), even while a sign-in of its own is pending.
    let imis_origin = crate::http::origin_of(&ctx.tenant.imis.base_url);
    let source = ctx.req.source_origin();
    if imis_origin.is_none() || source != imis_origin {
        return Err(ctx.refuse(
            "signin.callback_refused",
            &format!(
                "not posted from the iMIS site (origin {})",
                source.as_deref().unwrap_or("unknown")
            ),
            403,
            ErrorTitle::SignInNotCompleted,
            ErrorMessage::NotFromImis,
            Some("/signin"),
        ));
    }
    let mut list = pending::read(ctx);
    // A callback this browser did not ask for is refused: otherwise anyone could sign a victim's
    // browser in to the attacker's account by posting the attacker's refresh token (login CSRF).
    let Some(pending) = list.take_newest(family) else {
        return Err(ctx.refuse(
            "signin.callback_refused",
            "no pending sign-in in this browser",
            400,
            ErrorTitle::SignInNotStartedHere,
            ErrorMessage::NotStartedHere,
            Some("/signin"),
        ));
    };
    let username = imis_username(ctx, family, &refresh_token).await?;
    match identify(ctx, &username).await {
        Ok(member) => Ok((member, pending, list)),
        Err(f) => Err(failure_page(ctx, &f, &username, "/signin")),
    }
}

/// The username iMIS gives for `refresh_token`, redeemed with the tenant's SSO client of
/// `family`; or the page that says why not.
async fn imis_username<P: Platform>(
    ctx: &Ctx<'_, P>,
    family: Family,
    refresh_token: &str,
) -> Result<String, Response> {
    let sso = super::begin::sso_page(ctx, family);
    let Some(sso) = sso else {
        return Err(ctx.error_page(
            503,
            ErrorTitle::SignInUnavailable,
            ErrorMessage::SignInNotConfigured,
            None,
        ));
    };
    let imis = ctx.imis();
    let grant = match imis.open_secret(&sso.client_secret) {
        Ok(secret) => {
            imis.refresh_grant(&sso.client_id, &secret, refresh_token)
                .await
        }
        Err(e) => Err(e),
    };
    let username = match grant {
        Ok(g) => match g.user_name {
            Some(u) => u,
            None => {
                return Err(failure_page(
                    ctx,
                    &SignInFailure::Imis(ImisError::Unexpected("no userName".into())),
                    "?",
                    "/signin",
                ))
            }
        },
        Err(e) => return Err(failure_page(ctx, &SignInFailure::Imis(e), "?", "/signin")),
    };
    Ok(username)
}

impl SignedIn {
    /// Adds the session cookie (after the resumed request added its participant) and the pending
    /// cookie that keeps the other waiting requests to `resp`, the resumed request's answer.
    pub(crate) fn finish<P: Platform>(mut self, ctx: &Ctx<'_, P>, resp: Response) -> Response {
        let (Some(session_cookie), Some(pending_cookie)) = (
            store_session(ctx, &mut self.session),
            pending::cookie_for(ctx, &self.pending),
        ) else {
            ctx.audit(
                "signin.unavailable",
                Outcome::Failure,
                None,
                Some("session cookie cannot be written".into()),
            );
            return ctx.error_page(
                503,
                ErrorTitle::SignInUnavailable,
                ErrorMessage::SignInUnavailable,
                None,
            );
        };
        resp.with_header("set-cookie", session_cookie)
            .with_header("set-cookie", pending_cookie)
    }
}
