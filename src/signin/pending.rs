//! Pending requests: what to resume once iMIS has told us who the member is.
//!
//! The iMIS callback URL is fixed and carries nothing but a refresh token, so the request to
//! resume is kept in a sealed, short-lived cookie in the member's browser. It holds a small list,
//! so several tabs signing in at once do not overwrite each other: each callback resumes the newest
//! request of its family, and the others stay for their own callbacks.

use serde::{Deserialize, Serialize};

use crate::cookie;
use crate::platform::Platform;
use crate::Ctx;

/// The pending-requests cookie's name.
pub const PENDING_COOKIE: &str = "__Host-idp-pending";
/// How long a pending request waits for its callback.
const PENDING_TTL_SECS: u64 = 900;
/// Pending requests kept at most.
const MAX_PENDING: usize = 5;

/// Which RiSE Single Sign On page (and callback) a sign-in goes through: iMIS needs a separate
/// client application, and so a separate page, for SAML and for OIDC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Family {
    /// SAML: returns to `/saml/imis/callback`.
    Saml,
    /// OIDC, the token bridge and direct sign-ins: return to `/imis/callback`.
    Oidc,
}

/// A request type that can wait for sign-in in the pending cookie. `KIND` tags it there, so the
/// code that resumes requests can tell the types apart without this module naming any of them.
pub(crate) trait Resumable: Serialize {
    /// The tag stored with the request.
    const KIND: &'static str;
}

/// The request to carry on with after sign-in, as the protocol that asked wrote it. Sign-in
/// stores it without looking inside (the cookie is sealed, so it comes back as written); the
/// journey module, the one place that knows every protocol, reads it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Continuation(serde_json::Map<String, serde_json::Value>);

impl Continuation {
    /// `request` with its [`Resumable::KIND`] tag; `None` if it does not serialize to an object.
    pub(crate) fn of<T: Resumable>(request: &T) -> Option<Self> {
        let serde_json::Value::Object(mut fields) = serde_json::to_value(request).ok()? else {
            return None;
        };
        fields.insert("kind".into(), T::KIND.into());
        Some(Self(fields))
    }

    /// The tagged object, for the journey to decode.
    pub(crate) fn into_value(self) -> serde_json::Value {
        serde_json::Value::Object(self.0)
    }
}

/// `/signin` used directly: go to a local path once signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DirectReturn {
    /// Local path to return to (checked again when followed).
    pub(crate) return_to: String,
}

impl Resumable for DirectReturn {
    const KIND: &'static str = "direct";
}

/// One pending request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pending {
    /// Random id; also the legacy sign-in form's anti-forgery token.
    pub(crate) id: String,
    /// Created at (seconds since the epoch).
    pub(crate) created: u64,
    /// Which callback resumes it.
    pub(crate) family: Family,
    /// Name of the app the member is signing in to, for "Sign in to continue to".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) app_name: Option<String>,
    /// The app asked for a fresh sign-in (ForceAuthn, `prompt=login`): no silent sign-in.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) force: bool,
    /// What to resume.
    pub(crate) resume: Continuation,
}

/// The cookie's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingList {
    /// Oldest first.
    items: Vec<Pending>,
}

impl PendingList {
    /// Drops requests older than [`PENDING_TTL_SECS`].
    fn prune(&mut self, now: u64) {
        self.items
            .retain(|p| now < p.created.saturating_add(PENDING_TTL_SECS));
    }

    /// Adds a request, dropping the oldest past [`MAX_PENDING`].
    pub(crate) fn push(&mut self, p: Pending) {
        self.items.push(p);
        while self.items.len() > MAX_PENDING {
            self.items.remove(0);
        }
    }

    /// Removes and returns the newest request of `family`.
    pub(crate) fn take_newest(&mut self, family: Family) -> Option<Pending> {
        let i = self.items.iter().rposition(|p| p.family == family)?;
        Some(self.items.remove(i))
    }

    /// Removes and returns the request with this id.
    pub(crate) fn take_id(&mut self, id: &str) -> Option<Pending> {
        let i = self.items.iter().position(|p| p.id == id)?;
        Some(self.items.remove(i))
    }

    /// The request with this id.
    pub(crate) fn get(&self, id: &str) -> Option<&Pending> {
        self.items.iter().find(|p| p.id == id)
    }
}

pub(super) fn read<P: Platform>(ctx: &Ctx<'_, P>) -> PendingList {
    let now = ctx.platform.now().secs();
    let mut list: PendingList = cookie::cookie_key(ctx.platform, ctx.tenant.id.as_str())
        .and_then(|key| cookie::open(&key, PENDING_COOKIE, &ctx.req.cookie(PENDING_COOKIE)?))
        .unwrap_or_default();
    list.prune(now);
    list
}

pub(super) fn cookie_for<P: Platform>(ctx: &Ctx<'_, P>, list: &PendingList) -> Option<String> {
    if list.items.is_empty() {
        return Some(cookie::clear(PENDING_COOKIE));
    }
    let key = cookie::cookie_key(ctx.platform, ctx.tenant.id.as_str())?;
    let text = cookie::seal(ctx.platform, &key, PENDING_COOKIE, list)?;
    Some(cookie::set(PENDING_COOKIE, &text, PENDING_TTL_SECS))
}
