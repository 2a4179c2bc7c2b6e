//! Pending requests: what to resume once iMIS has told us who the member is.
//!
//! The iMIS callback URL is fixed and carries nothing but a refresh token, so the request to
//! resume is kept in a sealed, short-lived cookie in the member's browser. It holds a small list,
//! so several tabs signing in at once do not overwrite each other: each callback resumes the newest
//! request of its family, and the others stay for their own callbacks.

use serde::{Deserialize, Serialize};

/// The pending-requests cookie's name.
pub const PENDING_COOKIE: &str = "__Host-idp-pending";
/// How long a pending request waits for its callback.
pub const PENDING_TTL_SECS: u64 = 900;
/// Pending requests kept at most.
pub const MAX_PENDING: usize = 5;

/// Which RiSE Single Sign On page (and callback) a sign-in goes through: iMIS needs a separate
/// client application, and so a separate page, for SAML and for OIDC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// SAML: returns to `/saml/imis/callback`.
    Saml,
    /// OIDC, the token bridge and direct sign-ins: return to `/imis/callback`.
    Oidc,
}

/// The request to carry on with after sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Resume {
    /// `/signin` used directly: go to a local path.
    Direct {
        /// Local path to return to.
        return_to: String,
    },
    /// A SAML AuthnRequest (or IdP-initiated login) waiting for the member.
    Saml(crate::saml::PendingSso),
    /// An OIDC authorization request waiting for the member.
    Oidc(crate::oidc::PendingAuthorize),
    /// A token-bridge sign-in waiting for the member.
    Bridge(crate::bridge::PendingSignin),
}

/// One pending request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// Random id; also the legacy sign-in form's anti-forgery token.
    pub id: String,
    /// Created at (seconds since the epoch).
    pub created: u64,
    /// Which callback resumes it.
    pub family: Family,
    /// Name of the app the member is signing in to, for "Sign in to continue to".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    /// What to resume.
    pub resume: Resume,
}

/// The cookie's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingList {
    /// Oldest first.
    pub items: Vec<Pending>,
}

impl PendingList {
    /// Drops requests older than [`PENDING_TTL_SECS`].
    pub fn prune(&mut self, now: u64) {
        self.items
            .retain(|p| now < p.created.saturating_add(PENDING_TTL_SECS));
    }

    /// Adds a request, dropping the oldest past [`MAX_PENDING`].
    pub fn push(&mut self, p: Pending) {
        self.items.push(p);
        while self.items.len() > MAX_PENDING {
            self.items.remove(0);
        }
    }

    /// Removes and returns the newest request of `family`.
    pub fn take_newest(&mut self, family: Family) -> Option<Pending> {
        let i = self.items.iter().rposition(|p| p.family == family)?;
        Some(self.items.remove(i))
    }

    /// Removes and returns the request with this id.
    pub fn take_id(&mut self, id: &str) -> Option<Pending> {
        let i = self.items.iter().position(|p| p.id == id)?;
        Some(self.items.remove(i))
    }

    /// The request with this id.
    pub fn get(&self, id: &str) -> Option<&Pending> {
        self.items.iter().find(|p| p.id == id)
    }
}
