//! The sign-in journey every protocol shares: "I need a signed-in member for this request".
//!
//! - [`current`] reads the IdP session (silent sign-in: a member with a valid session is never
//!   sent to iMIS again, unless a fresh sign-in is asked for).
//! - [`begin`] records what to resume in the pending cookie and sends the browser to iMIS: the
//!   tenant's RiSE page with the Single Sign On content item (iMIS EMS/Cloud mode), or our own
//!   sign-in form (iMIS 2017 legacy mode).
//! - [`callback`] takes the refresh token iMIS posts back, and [`legacy_submit`] the form; both
//!   identify the member through iMIS, open the session and resume the pending request.
//! - [`sign_out`] ends the session (and the iMIS session, per tenant setting).

pub mod cookie;
pub mod logout;
pub mod pages;
pub mod pending;
pub mod session;
pub mod throttle;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::audit::Outcome;
use crate::http::{percent_encode, Response};
use crate::imis::{ImisError, Member};
use crate::platform::Platform;
use crate::tenant::IdentityMode;
use crate::Ctx;
pub use pending::{Family, Pending, PendingList, Resume};
pub use session::{Participant, Session, SessionUser};

/// How a protocol wants the member signed in.
#[derive(Debug, Clone, Default)]
pub struct SignInOptions {
    /// The member must prove who they are again (`prompt=login`, `max_age` passed,
    /// `ForceAuthn`): in iMIS Cloud mode the RiSE page would hand an existing iMIS session over
    /// without asking, so the member is first signed out of iMIS, whose logout returns to the
    /// RiSE page, which then asks for the password.
    pub force: bool,
    /// The app's name, for "Sign in to continue to: {App Name}".
    pub app_name: Option<String>,
}

fn random_id(platform: &impl Platform, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    platform.random(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The valid IdP session of this request, if any: its cookie opens, it has not expired, and it
/// was not ended. A session cookie is a bearer credential that a copy outlives sign-out, so
/// ending a session leaves a record that refuses every copy until the session would have
/// expired. A store that cannot be read refuses too (fail closed: the member signs in again).
pub async fn current<P: Platform>(ctx: &Ctx<'_, P>) -> Option<Session> {
    let key = cookie::cookie_key(ctx.platform, ctx.tenant.id.as_str())?;
    let text = ctx.req.cookie(session::SESSION_COOKIE)?;
    let session: Session = cookie::open(&key, session::SESSION_COOKIE, &text)?;
    let idle = u64::from(ctx.tenant.session.idle_minutes) * 60;
    if !session.is_valid(ctx.platform.now().secs(), idle) {
        return None;
    }
    match ctx
        .platform
        .count(&ended_key(ctx, &session.sid), ended_ttl(ctx), 0)
        .await
    {
        Ok(0) => Some(session),
        Ok(_) => None,
        Err(e) => {
            ctx.audit(
                "session.store_unavailable",
                Outcome::Failure,
                None,
                Some(e.to_string()),
            );
            None
        }
    }
}

/// The store key that marks session `sid` of this tenant as ended.
fn ended_key<P: Platform>(ctx: &Ctx<'_, P>, sid: &str) -> String {
    format!("session-ended:{}:{sid}", ctx.tenant.id.as_str())
}

/// How long an ended session's record is kept: as long as any session can live.
fn ended_ttl<P: Platform>(ctx: &Ctx<'_, P>) -> u32 {
    ctx.tenant.session.absolute_minutes.saturating_mul(60)
}

/// `Set-Cookie` that stores the session (touching its idle timer).
pub fn store_session<P: Platform>(ctx: &Ctx<'_, P>, session: &mut Session) -> Option<String> {
    let key = cookie::cookie_key(ctx.platform, ctx.tenant.id.as_str())?;
    let now = ctx.platform.now().secs();
    session.last_seen = now;
    let text = cookie::seal(ctx.platform, &key, session::SESSION_COOKIE, session)?;
    Some(cookie::set(
        session::SESSION_COOKIE,
        &text,
        session.expires.saturating_sub(now),
    ))
}

/// Adds the session cookie to a response when the idle timer should slide.
pub fn touch<P: Platform>(ctx: &Ctx<'_, P>, session: &mut Session, resp: Response) -> Response {
    if ctx.platform.now().secs() < session.last_seen + session::TOUCH_AFTER_SECS {
        return resp;
    }
    match store_session(ctx, session) {
        Some(c) => resp.with_header("set-cookie", c),
        None => resp,
    }
}

fn read_pending<P: Platform>(ctx: &Ctx<'_, P>) -> PendingList {
    let now = ctx.platform.now().secs();
    let mut list: PendingList = cookie::cookie_key(ctx.platform, ctx.tenant.id.as_str())
        .and_then(|key| {
            cookie::open(
                &key,
                pending::PENDING_COOKIE,
                &ctx.req.cookie(pending::PENDING_COOKIE)?,
            )
        })
        .unwrap_or_default();
    list.prune(now);
    list
}

fn pending_cookie<P: Platform>(ctx: &Ctx<'_, P>, list: &PendingList) -> Option<String> {
    if list.items.is_empty() {
        return Some(cookie::clear(pending::PENDING_COOKIE));
    }
    let key = cookie::cookie_key(ctx.platform, ctx.tenant.id.as_str())?;
    let text = cookie::seal(ctx.platform, &key, pending::PENDING_COOKIE, list)?;
    Some(cookie::set(
        pending::PENDING_COOKIE,
        &text,
        pending::PENDING_TTL_SECS,
    ))
}

/// The RiSE Single Sign On page (and client application) of a sign-in family, falling back to the
/// other family's page when the tenant configured only one.
fn sso_page<'a, P: Platform>(
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
pub async fn begin<P: Platform>(
    ctx: &Ctx<'_, P>,
    family: Family,
    resume: Resume,
    opts: SignInOptions,
) -> Response {
    let mut list = read_pending(ctx);
    let pending = Pending {
        id: random_id(ctx.platform, 18),
        created: ctx.platform.now().secs(),
        family,
        app_name: opts.app_name,
        resume,
    };
    let id = pending.id.clone();
    list.push(pending);
    let Some(cookie) = pending_cookie(ctx, &list) else {
        ctx.audit(
            "signin.unavailable",
            Outcome::Failure,
            None,
            Some("runtime has no usable master key".into()),
        );
        return ctx.error_page(
            503,
            "Sign-in unavailable",
            "Sign-in is not available right now. Please try again later.",
            None,
        );
    };
    let target = match ctx.tenant.identity_mode {
        IdentityMode::ImisLegacy => format!("/signin?p={}", percent_encode(&id)),
        IdentityMode::ImisCloud => match sso_page(ctx, family) {
            Some(page) if opts.force => imis_logout(ctx, &page.page_url),
            Some(page) => page.page_url.clone(),
            None => {
                return ctx.error_page(
                    503,
                    "Sign-in unavailable",
                    "Sign-in is not configured.",
                    None,
                )
            }
        },
    };
    redirect(&target).with_header("set-cookie", cookie)
}

/// A 303 redirect.
pub fn redirect(target: &str) -> Response {
    Response::empty(303).with_header("location", target)
}

/// What went wrong identifying the member; each gets its own page and audit reason.
#[derive(Debug)]
enum SignInFailure {
    Imis(ImisError),
    NotFound,
    Disabled,
}

async fn identify<P: Platform>(ctx: &Ctx<'_, P>, username: &str) -> Result<Member, SignInFailure> {
    match ctx.imis().find_member(ctx.imis_tokens(), username).await {
        Ok(Some(m)) if m.disabled => Err(SignInFailure::Disabled),
        Ok(Some(m)) => Ok(m),
        Ok(None) => Err(SignInFailure::NotFound),
        Err(e) => Err(SignInFailure::Imis(e)),
    }
}

fn failure_page<P: Platform>(
    ctx: &Ctx<'_, P>,
    failure: &SignInFailure,
    user: &str,
    retry: &str,
) -> Response {
    let (event, status, title, message) = match failure {
        SignInFailure::NotFound => (
            "signin.member_not_found",
            403,
            "Member record not found",
            "You signed in to iMIS, but we could not find your member record. Please contact the association.",
        ),
        SignInFailure::Disabled => (
            "signin.member_disabled",
            403,
            "Account disabled",
            "Your account is disabled. Please contact the association.",
        ),
        SignInFailure::Imis(ImisError::Timeout(_)) => (
            "imis.unavailable",
            504,
            "The membership system is not responding",
            "We could not reach the membership system in time. Please try again in a moment.",
        ),
        SignInFailure::Imis(ImisError::InvalidGrant) => (
            "signin.imis_refused",
            400,
            "Sign-in could not be confirmed",
            "The membership system did not confirm your sign-in (it may have expired). Please sign in again.",
        ),
        SignInFailure::Imis(_) => (
            "imis.unavailable",
            502,
            "The membership system is unavailable",
            "The membership system did not answer as expected. Please try again in a moment.",
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

/// Opens the session for `member` and resumes `pending` (or goes home).
async fn complete<P: Platform>(
    ctx: &Ctx<'_, P>,
    member: Member,
    pending: Option<Pending>,
    list: &PendingList,
) -> Response {
    let now = ctx.platform.now().secs();
    let user = SessionUser::from(member);
    let username = user.username.clone();
    let mut session = match current(ctx).await {
        // The same member signing in again keeps the session's participants.
        Some(s) if s.user.imis_id == user.imis_id => Session {
            user,
            auth_time: now,
            ..s
        },
        _ => Session {
            v: 1,
            sid: random_id(ctx.platform, 18),
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
    // The protocol finishes its request (and may add itself to the session's participants)
    // before the session cookie is written.
    let resp = match pending.map(|p| p.resume) {
        Some(resume) => resume_request(ctx, resume, &mut session).await,
        None => redirect("/"),
    };
    let (Some(session_cookie), Some(pending_cookie)) =
        (store_session(ctx, &mut session), pending_cookie(ctx, list))
    else {
        ctx.audit(
            "signin.unavailable",
            Outcome::Failure,
            None,
            Some("session cookie cannot be written".into()),
        );
        return ctx.error_page(
            503,
            "Sign-in unavailable",
            "Sign-in is not available right now. Please try again later.",
            None,
        );
    };
    resp.with_header("set-cookie", session_cookie)
        .with_header("set-cookie", pending_cookie)
}

/// Carries on with a request that waited for sign-in, for a member who now has `session`.
/// Protocols call this too when they find a valid session at once (silent sign-in).
pub async fn resume_request<P: Platform>(
    ctx: &Ctx<'_, P>,
    resume: Resume,
    session: &mut Session,
) -> Response {
    match resume {
        Resume::Direct { return_to } if crate::http::is_local_path(&return_to) => {
            redirect(&return_to)
        }
        Resume::Direct { .. } => redirect("/"),
        Resume::Saml(p) => crate::saml::resume(ctx, p, session).await,
        Resume::Oidc(p) => crate::oidc::resume(ctx, p, session).await,
        Resume::Bridge(p) => crate::bridge::resume(ctx, p, session).await,
    }
}

/// Adds the (possibly updated) session cookie to a protocol's response.
pub fn with_session<P: Platform>(
    ctx: &Ctx<'_, P>,
    session: &mut Session,
    resp: Response,
) -> Response {
    match store_session(ctx, session) {
        Some(c) => resp.with_header("set-cookie", c),
        None => resp,
    }
}

/// `POST /imis/callback` and `POST /saml/imis/callback`: iMIS hands back a refresh token.
pub async fn callback<P: Platform>(ctx: &Ctx<'_, P>, family: Family) -> Response {
    if ctx.tenant.identity_mode != IdentityMode::ImisCloud {
        return ctx.error_page(
            404,
            "Page not found",
            "There is no page at this address.",
            Some("/"),
        );
    }
    let Some(refresh_token) = ctx
        .req
        .form_field("refresh_token")
        .filter(|t| !t.is_empty() && t.len() <= 512)
    else {
        return ctx.refuse(
            "signin.callback_refused",
            "no refresh_token",
            400,
            "Sign-in could not be completed",
            "The membership system sent no sign-in token.",
            Some("/signin"),
        );
    };
    // iMIS's Single Sign On content item hands the token over with an auto-submitted form on
    // the iMIS site, so the browser names iMIS's origin. Anything else is a page trying to sign
    // this browser in as someone (login CSRF), even while a sign-in of its own is pending.
    let imis_origin = crate::http::origin_of(&ctx.tenant.imis.base_url);
    let source = ctx.req.source_origin();
    if imis_origin.is_none() || source != imis_origin {
        return ctx.refuse(
            "signin.callback_refused",
            &format!(
                "not posted from the iMIS site (origin {})",
                source.as_deref().unwrap_or("unknown")
            ),
            403,
            "Sign-in could not be completed",
            "The sign-in did not come from the membership site. Please start again.",
            Some("/signin"),
        );
    }
    let mut list = read_pending(ctx);
    // A callback this browser did not ask for is refused: otherwise anyone could sign a victim's
    // browser in to the attacker's account by posting the attacker's refresh token (login CSRF).
    let Some(pending) = list.take_newest(family) else {
        return ctx.refuse(
            "signin.callback_refused",
            "no pending sign-in in this browser",
            400,
            "Sign-in was not started here",
            "This sign-in did not start on this site, or it took too long. Please start again.",
            Some("/signin"),
        );
    };
    let sso = sso_page(ctx, family);
    let Some(sso) = sso else {
        return ctx.error_page(
            503,
            "Sign-in unavailable",
            "Sign-in is not configured.",
            None,
        );
    };
    let imis = ctx.imis();
    let grant = match imis.open_secret(&sso.client_secret) {
        Ok(secret) => {
            imis.refresh_grant(&sso.client_id, &secret, &refresh_token)
                .await
        }
        Err(e) => Err(e),
    };
    let username = match grant {
        Ok(g) => match g.user_name {
            Some(u) => u,
            None => {
                return failure_page(
                    ctx,
                    &SignInFailure::Imis(ImisError::Unexpected("no userName".into())),
                    "?",
                    "/signin",
                )
            }
        },
        Err(e) => return failure_page(ctx, &SignInFailure::Imis(e), "?", "/signin"),
    };
    match identify(ctx, &username).await {
        Ok(member) => complete(ctx, member, Some(pending), &list).await,
        Err(f) => failure_page(ctx, &f, &username, "/signin"),
    }
}

/// `GET /signin`: start a sign-in with no protocol behind it, or (legacy mode, `?p=`) show the
/// sign-in form of a pending request.
pub async fn signin_get<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    let list = read_pending(ctx);
    if let Some(id) = ctx.req.query_param("p") {
        if ctx.tenant.identity_mode == IdentityMode::ImisLegacy {
            if let Some(p) = list.get(&id) {
                return pages::signin_form(ctx, &p.id, p.app_name.as_deref(), "", None, 200);
            }
        }
        // An unknown or expired pending id: start over.
        return redirect("/signin");
    }
    let return_to = ctx
        .req
        .query_param("return")
        .filter(|r| crate::http::is_local_path(r))
        .unwrap_or_else(|| "/".into());
    let force = ctx.req.query_param("prompt").as_deref() == Some("login");
    if !force && current(ctx).await.is_some() {
        return redirect(&return_to);
    }
    begin(
        ctx,
        Family::Oidc,
        Resume::Direct { return_to },
        SignInOptions {
            force,
            app_name: None,
        },
    )
    .await
}

/// Minimum time a failed password sign-in takes, so that the answer does not tell whether the
/// username exists.
pub const FAILED_SIGNIN_MIN_MS: u64 = 700;

/// `POST /signin` (legacy mode): the username and password form.
pub async fn legacy_submit<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    if ctx.tenant.identity_mode != IdentityMode::ImisLegacy {
        return ctx.error_page(
            404,
            "Page not found",
            "There is no page at this address.",
            Some("/"),
        );
    }
    let started = ctx.platform.now();
    let form = ctx.req.form();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let (id, username, password) = (field("p"), field("username"), field("password"));
    let mut list = read_pending(ctx);
    let Some(pending) = list.take_id(&id) else {
        // The form's anti-forgery token is the pending id held in this browser's sealed cookie.
        return ctx.refuse(
            "signin.form_refused",
            "unknown or expired form",
            400,
            "Sign-in expired",
            "This sign-in page has expired. Please start again.",
            Some("/signin"),
        );
    };
    let app_name = pending.app_name.clone();
    if username.is_empty() || password.is_empty() || username.len() > 256 || password.len() > 256 {
        return pages::signin_form(
            ctx,
            &pending.id,
            app_name.as_deref(),
            &username,
            Some("Enter your username and password."),
            400,
        );
    }
    let throttle = throttle::Throttle::new(ctx, &username);
    if !throttle.admit(ctx.platform).await {
        ctx.audit(
            "signin.throttled",
            Outcome::Refused,
            None,
            Some(format!("user {username}")),
        );
        return pages::signin_form(
            ctx,
            &pending.id,
            app_name.as_deref(),
            &username,
            Some("Too many unsuccessful attempts. Please wait 15 minutes, or reset your password."),
            429,
        );
    }
    match ctx.imis().password_grant(&username, &password).await {
        Ok(grant) => {
            throttle.succeeded(ctx.platform).await;
            let name = grant.user_name.unwrap_or(username);
            match identify(ctx, &name).await {
                Ok(member) => complete(ctx, member, Some(pending), &list).await,
                Err(f) => failure_page(ctx, &f, &name, "/signin"),
            }
        }
        Err(ImisError::InvalidGrant) => {
            ctx.audit(
                "signin.failure",
                Outcome::Refused,
                None,
                Some(format!("user {username}")),
            );
            let elapsed = ctx.platform.now().millis.saturating_sub(started.millis);
            if elapsed < FAILED_SIGNIN_MIN_MS {
                ctx.platform
                    .sleep((FAILED_SIGNIN_MIN_MS - elapsed) as u32)
                    .await;
            }
            pages::signin_form(
                ctx,
                &pending.id,
                app_name.as_deref(),
                &username,
                Some("The username or password is not correct."),
                401,
            )
        }
        Err(e) => {
            // iMIS failed, not the member: keep the form's pending request for the retry.
            let retry = format!("/signin?p={}", percent_encode(&pending.id));
            list.push(pending);
            let resp = failure_page(ctx, &SignInFailure::Imis(e), &username, &retry);
            match pending_cookie(ctx, &list) {
                Some(c) => resp.with_header("set-cookie", c),
                None => resp,
            }
        }
    }
}

/// Ends `session` (this request's, from [`current`]): records it as ended (so no copy of its
/// cookie works any more) and returns its participants (for protocol logouts) and the
/// `Set-Cookie` that deletes it.
pub async fn end_session<P: Platform>(
    ctx: &Ctx<'_, P>,
    session: Session,
) -> (Vec<Participant>, String) {
    if let Err(e) = ctx
        .platform
        .count(&ended_key(ctx, &session.sid), ended_ttl(ctx), 1)
        .await
    {
        ctx.audit(
            "session.store_unavailable",
            Outcome::Failure,
            None,
            Some(format!("the ended session could not be recorded: {e}")),
        );
    }
    ctx.audit(
        "signout",
        Outcome::Success,
        None,
        Some(format!("user {}", session.user.username)),
    );
    (session.participants, cookie::clear(session::SESSION_COOKIE))
}

/// How long the continuation of a sign-out through iMIS's logout page stays valid.
pub const CONTINUE_TTL_SECS: u64 = 600;

fn this_origin<P: Platform>(ctx: &Ctx<'_, P>) -> String {
    format!(
        "https://{}{}",
        ctx.req.host,
        ctx.req.port.map(|p| format!(":{p}")).unwrap_or_default()
    )
}

fn imis_logout<P: Platform>(ctx: &Ctx<'_, P>, return_to: &str) -> String {
    format!(
        "{}/AsiCommon/Controls/Shared/FormsAuthentication/logout.aspx?returnurl={}",
        ctx.tenant.imis.base_url.trim_end_matches('/'),
        percent_encode(return_to)
    )
}

fn signs_out_of_imis<P: Platform>(ctx: &Ctx<'_, P>) -> bool {
    ctx.tenant.imis.sign_out_of_imis.unwrap_or(true)
}

/// Where the browser goes after the IdP session ended: iMIS's logout (per tenant setting), which
/// returns to our signed-out page, or the signed-out page directly.
pub fn after_sign_out<P: Platform>(ctx: &Ctx<'_, P>) -> String {
    if signs_out_of_imis(ctx) {
        imis_logout(ctx, &format!("{}/signed-out", this_origin(ctx)))
    } else {
        "/signed-out".into()
    }
}

/// The MAC that lets `/signed-out` forward to `next` until `exp` (tenant-bound).
fn continue_mac<P: Platform>(ctx: &Ctx<'_, P>, next: &str, exp: u64) -> String {
    use hmac::{Hmac, Mac};
    let Some(secret) = ctx.platform.secret(crate::platform::MASTER_KEY_SECRET) else {
        return String::new();
    };
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    for part in [
        "signed-out-next",
        ctx.tenant.id.as_str(),
        &exp.to_string(),
        next,
    ] {
        mac.update(part.as_bytes());
        mac.update(b"\0");
    }
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes().get(..18).unwrap_or_default())
}

/// Like [`after_sign_out`], but ending at `next`, an already verified destination (a relying
/// party's registered post-logout redirect URI): when the tenant signs out of iMIS too, iMIS's
/// logout returns to `/signed-out`, which forwards to `next` under a MAC (no open redirect).
pub fn after_sign_out_then<P: Platform>(ctx: &Ctx<'_, P>, next: &str) -> String {
    let exp = ctx.platform.now().secs() + CONTINUE_TTL_SECS;
    let mac = continue_mac(ctx, next, exp);
    if !signs_out_of_imis(ctx) || mac.is_empty() {
        return next.to_string();
    }
    let query =
        crate::http::encode_form(&[("next", next), ("exp", &exp.to_string()), ("mac", &mac)]);
    imis_logout(ctx, &format!("{}/signed-out?{query}", this_origin(ctx)))
}

/// `/signed-out?next=…&exp=…&mac=…`: the destination [`after_sign_out_then`] vouched for, if the
/// MAC matches and it has not expired.
pub fn signed_out_continuation<P: Platform>(ctx: &Ctx<'_, P>) -> Option<String> {
    let next = ctx.req.query_param("next")?;
    let exp: u64 = ctx.req.query_param("exp")?.parse().ok()?;
    let mac = ctx.req.query_param("mac")?;
    let expected = continue_mac(ctx, &next, exp);
    (exp >= ctx.platform.now().secs()
        && !expected.is_empty()
        && crate::seal::constant_time_eq(expected.as_bytes(), mac.as_bytes()))
    .then_some(next)
}

/// The anti-forgery token of the sign-out form, bound to the session.
pub fn signout_token<P: Platform>(ctx: &Ctx<'_, P>, session: &Session) -> String {
    use hmac::{Hmac, Mac};
    let Some(secret) = ctx.platform.secret(crate::platform::MASTER_KEY_SECRET) else {
        return String::new();
    };
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(b"signout:");
    mac.update(ctx.tenant.id.as_str().as_bytes());
    mac.update(session.sid.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes().get(..18).unwrap_or_default())
}

/// Whether this request carries the sign-out form's anti-forgery token of `session`: a sign-out
/// is the member's own decision, never a side effect of a page that links or posts here.
pub fn signout_confirmed<P: Platform>(ctx: &Ctx<'_, P>, session: &Session) -> bool {
    let token = ctx.req.form_field("t").unwrap_or_default();
    let expected = signout_token(ctx, session);
    let confirmed = !expected.is_empty()
        && crate::seal::constant_time_eq(token.as_bytes(), expected.as_bytes());
    if !confirmed && ctx.req.method == crate::platform::HttpMethod::Post {
        ctx.audit(
            "signout.refused",
            Outcome::Refused,
            None,
            Some("bad anti-forgery token".into()),
        );
    }
    confirmed
}

/// `GET /signout` shows a confirmation; `POST /signout` signs out.
pub async fn signout<P: Platform>(ctx: &Ctx<'_, P>, post: bool) -> Response {
    let Some(session) = current(ctx).await else {
        return redirect("/signed-out")
            .with_header("set-cookie", cookie::clear(session::SESSION_COOKIE));
    };
    if !post || !signout_confirmed(ctx, &session) {
        return pages::signout_confirm(ctx, "/signout", &signout_token(ctx, &session), None);
    }
    let sid = session.sid.clone();
    let (participants, clear) = end_session(ctx, session).await;
    logout::start(ctx, sid, participants, after_sign_out(ctx))
        .await
        .with_header("set-cookie", clear)
}

#[cfg(test)]
mod tests;
