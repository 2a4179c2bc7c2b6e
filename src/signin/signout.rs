//! Signing out: the confirmation and its anti-forgery token, ending the session, and where the
//! browser goes afterwards (through iMIS's logout, per tenant setting).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::reply::Reply;
use super::{current, end_session, pages, session, Session};
use crate::audit::Outcome;
use crate::cookie;
use crate::http::Response;
use crate::platform::Platform;
use crate::Ctx;

/// How long the continuation of a sign-out through iMIS's logout page stays valid.
pub(crate) const CONTINUE_TTL_SECS: u64 = 600;

/// This request's origin, for addresses that leave the site and come back.
pub(crate) fn this_origin<P: Platform>(ctx: &Ctx<'_, P>) -> String {
    format!(
        "https://{}{}",
        ctx.req.host,
        ctx.req.port.map(|p| format!(":{p}")).unwrap_or_default()
    )
}

fn signs_out_of_imis<P: Platform>(ctx: &Ctx<'_, P>) -> bool {
    ctx.tenant.imis.sign_out_of_imis.unwrap_or(true)
}

/// Where the browser goes after the IdP session ended: iMIS's logout (per tenant setting), which
/// returns to our signed-out page, or the signed-out page directly.
pub(crate) fn after_sign_out<P: Platform>(ctx: &Ctx<'_, P>) -> String {
    if signs_out_of_imis(ctx) {
        super::imis_logout(ctx, &format!("{}/signed-out", this_origin(ctx)))
    } else {
        "/signed-out".into()
    }
}

/// A tenant-bound MAC over `parts` under the master key, for tokens that only this IdP hands out
/// and checks; empty when the runtime has no master key (every check then fails).
fn mac<P: Platform>(ctx: &Ctx<'_, P>, parts: &[&str]) -> String {
    use hmac::{Hmac, Mac};
    let Some(secret) = ctx.platform.secret(crate::platform::MASTER_KEY_SECRET) else {
        return String::new();
    };
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    for part in parts {
        mac.update(part.as_bytes());
        mac.update(b"\0");
    }
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes().get(..18).unwrap_or_default())
}

/// The MAC that lets `/signed-out` forward to `next` until `exp`.
fn continue_mac<P: Platform>(ctx: &Ctx<'_, P>, next: &str, exp: u64) -> String {
    mac(
        ctx,
        &[
            "signed-out-next",
            ctx.tenant.id.as_str(),
            &exp.to_string(),
            next,
        ],
    )
}

/// Like [`after_sign_out`], but ending at `next`, an already verified destination (a relying
/// party's registered post-logout redirect URI): when the tenant signs out of iMIS too, iMIS's
/// logout returns to `/signed-out`, which forwards to `next` under a MAC (no open redirect).
pub(crate) fn after_sign_out_then<P: Platform>(ctx: &Ctx<'_, P>, next: &str) -> String {
    let exp = ctx.platform.now().secs() + CONTINUE_TTL_SECS;
    let mac = continue_mac(ctx, next, exp);
    if !signs_out_of_imis(ctx) || mac.is_empty() {
        return next.to_string();
    }
    let query =
        crate::http::encode_form(&[("next", next), ("exp", &exp.to_string()), ("mac", &mac)]);
    super::imis_logout(ctx, &format!("{}/signed-out?{query}", this_origin(ctx)))
}

/// `/signed-out?next=…&exp=…&mac=…`: the destination [`after_sign_out_then`] vouched for, if the
/// MAC matches and it has not expired.
pub(crate) fn signed_out_continuation<P: Platform>(ctx: &Ctx<'_, P>) -> Option<String> {
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
pub(crate) fn signout_token<P: Platform>(ctx: &Ctx<'_, P>, session: &Session) -> String {
    mac(ctx, &["signout", ctx.tenant.id.as_str(), &session.sid])
}

/// Whether this request carries the sign-out form's anti-forgery token of `session`: a sign-out
/// is the member's own decision, never a side effect of a page that links or posts here.
pub(crate) fn signout_confirmed<P: Platform>(ctx: &Ctx<'_, P>, session: &Session) -> bool {
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
pub(crate) async fn signout<P: Platform>(ctx: &Ctx<'_, P>, post: bool) -> Reply {
    let Some(session) = current(ctx).await else {
        return Response::redirect("/signed-out")
            .with_header("set-cookie", cookie::clear(session::SESSION_COOKIE))
            .into();
    };
    if !post || !signout_confirmed(ctx, &session) {
        return pages::signout_confirm(ctx, "/signout", &signout_token(ctx, &session), None).into();
    }
    end_session(ctx, session).await.then(after_sign_out(ctx))
}
