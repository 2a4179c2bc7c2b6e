//! The sign-in journey every protocol shares: "I need a signed-in member for this request".
//!
//! - [`current`] reads the IdP session (silent sign-in: a member with a valid session is never
//!   sent to iMIS again, unless a fresh sign-in is asked for).
//! - [`begin`] records what to resume in the pending cookie and sends the browser to iMIS: the
//!   tenant's RiSE page with the Single Sign On content item (iMIS EMS/Cloud mode), or our own
//!   sign-in form (iMIS 2017 legacy mode).
//! - [`callback`] takes the refresh token iMIS posts back, and [`legacy_submit`] the form; both
//!   identify the member through iMIS and open the session. They decide [`Reply::SignedIn`] with
//!   the waiting request as an opaque [`Continuation`]: resuming it is the journey module's job,
//!   so this module names no protocol.
//! - [`signout`] and the protocols' logouts end the session ([`end_session`]) and decide
//!   [`Reply::SignedOut`]; the journey visits every participant.

mod begin;
mod callback;
mod form;
pub mod logout;
pub(crate) mod pages;
pub mod pending;
mod reply;
pub mod session;
mod signout;
mod store;
pub(crate) mod throttle;
mod ticket;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::http::percent_encode;
use crate::platform::Platform;
use crate::Ctx;
pub(crate) use begin::begin;
pub(crate) use callback::callback;
pub(crate) use form::{legacy_submit, signin_get};
pub(crate) use pending::{Continuation, Family, Resumable};
pub(crate) use reply::{Reply, SignedIn, SignedOut};
pub(crate) use session::session_ref;
pub use session::{Participant, Session, SessionUser};
pub(crate) use signout::{
    after_sign_out, after_sign_out_then, signed_out_continuation, signout, signout_confirmed,
    signout_token, this_origin,
};
pub(crate) use store::{current, end_session, store_session, touch, with_session};

/// How a protocol wants the member signed in.
#[derive(Debug, Clone, Default)]
pub(crate) struct SignInOptions {
    /// The member must prove who they are again (`prompt=login`, `max_age` passed,
    /// `ForceAuthn`): in iMIS Cloud mode the RiSE page would hand an existing iMIS session over
    /// without asking, so the member is first signed out of iMIS, whose logout returns to the
    /// RiSE page, which then asks for the password.
    pub(crate) force: bool,
    /// The app's name, for "Sign in to continue to: {App Name}".
    pub(crate) app_name: Option<String>,
}

fn random_id(platform: &impl Platform, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    platform.random(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// iMIS's own logout page, returning to `return_to`: signing out of iMIS too, or (with `force`)
/// making the RiSE page ask for the password again.
pub(crate) fn imis_logout<P: Platform>(ctx: &Ctx<'_, P>, return_to: &str) -> String {
    format!(
        "{}/AsiCommon/Controls/Shared/FormsAuthentication/logout.aspx?returnurl={}",
        ctx.tenant.imis.base_url.trim_end_matches('/'),
        percent_encode(return_to)
    )
}

#[cfg(test)]
mod tests;
