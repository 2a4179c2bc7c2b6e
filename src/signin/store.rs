//! The IdP session in its cookie: read it (with the ended-session check), write it, end it.

use super::reply::Ended;
use super::{session, Session};
use crate::audit::Outcome;
use crate::cookie;
use crate::http::Response;
use crate::platform::Platform;
use crate::Ctx;

/// The valid IdP session of this request, if any: its cookie opens, it has not expired, and it
/// was not ended. A session cookie is a bearer credential that a copy outlives sign-out, so
/// ending a session leaves a record that refuses every copy until the session would have
/// expired. A store that cannot be read refuses too (fail closed: the member signs in again).
pub(crate) async fn current<P: Platform>(ctx: &Ctx<'_, P>) -> Option<Session> {
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
    crate::kv_key::session_ended(ctx.tenant.id.as_str(), sid)
}

/// How long an ended session's record is kept: as long as any session can live.
fn ended_ttl<P: Platform>(ctx: &Ctx<'_, P>) -> u32 {
    ctx.tenant.session.absolute_minutes.saturating_mul(60)
}

/// `Set-Cookie` that stores the session (touching its idle timer).
pub(crate) fn store_session<P: Platform>(
    ctx: &Ctx<'_, P>,
    session: &mut Session,
) -> Option<String> {
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
pub(crate) fn touch<P: Platform>(
    ctx: &Ctx<'_, P>,
    session: &mut Session,
    resp: Response,
) -> Response {
    if ctx.platform.now().secs() < session.last_seen + session::TOUCH_AFTER_SECS {
        return resp;
    }
    match store_session(ctx, session) {
        Some(c) => resp.with_header("set-cookie", c),
        None => resp,
    }
}

/// Adds the (possibly updated) session cookie to a protocol's response.
pub(crate) fn with_session<P: Platform>(
    ctx: &Ctx<'_, P>,
    session: &mut Session,
    resp: Response,
) -> Response {
    match store_session(ctx, session) {
        Some(c) => resp.with_header("set-cookie", c),
        None => resp,
    }
}

/// Ends `session` (this request's, from [`current`]): records it as ended (so no copy of its
/// cookie works any more). The caller picks where the browser goes at the end ([`Ended::then`])
/// and may drop the participant that asked.
pub(crate) async fn end_session<P: Platform>(ctx: &Ctx<'_, P>, session: Session) -> Ended {
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
    // The remembered IQA answers are bound to this session and worthless now; drop them too.
    ctx.set_cookie(cookie::clear(crate::access::remembered::ANSWERS_COOKIE));
    Ended {
        sid: session.sid,
        participants: session.participants,
        clear_cookie: cookie::clear(session::SESSION_COOKIE),
    }
}
