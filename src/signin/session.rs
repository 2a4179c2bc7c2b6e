//! The IdP session: who is signed in, since when, until when, and every participant of the session
//! (so that logout can reach each of them). Held in a sealed `__Host-` cookie; nothing server-side.

use serde::{Deserialize, Serialize};

use crate::ids::{AppId, ClientId, SessionIndex};
use crate::imis::Member;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "__Host-idp-session";
/// Participants kept at most (the oldest drop off), which bounds the cookie's size.
const MAX_PARTICIPANTS: usize = 12;
/// The cookie is re-issued (sliding the idle timeout) when it was last written this long ago.
pub(crate) const TOUCH_AFTER_SECS: u64 = 60;

/// The signed-in member, as iMIS described them at sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    /// iMIS login name.
    pub username: String,
    /// iMIS ID.
    pub imis_id: String,
    /// Contact key GUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_key: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Primary email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Member type code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_type: Option<String>,
}

impl From<Member> for SessionUser {
    fn from(m: Member) -> Self {
        Self {
            username: m.username,
            imis_id: m.imis_id,
            contact_key: m.contact_key,
            first_name: m.first_name,
            last_name: m.last_name,
            email: m.email,
            member_type: m.member_type,
        }
    }
}

impl SessionUser {
    /// A display name: first and last name, else the username.
    pub(crate) fn display_name(&self) -> String {
        match (&self.first_name, &self.last_name) {
            (Some(f), Some(l)) => format!("{f} {l}"),
            (Some(f), None) => f.clone(),
            (None, Some(l)) => l.clone(),
            (None, None) => self.username.clone(),
        }
    }
}

/// A party the member was signed in to during this session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Participant {
    /// A SAML service provider.
    Saml {
        /// SAML app (internal Client ID).
        app: AppId,
        /// NameID sent.
        name_id: String,
        /// NameID format sent.
        name_id_format: String,
        /// SessionIndex sent.
        session_index: SessionIndex,
    },
    /// An OpenID Connect client.
    Oidc {
        /// Client id.
        client: ClientId,
    },
    /// A token-bridge app.
    Bridge {
        /// Bridge app id.
        app: AppId,
    },
}

/// The IdP session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Format version.
    pub v: u8,
    /// Random session id.
    pub sid: String,
    /// The member.
    pub user: SessionUser,
    /// When the member proved who they are (seconds since the epoch).
    pub auth_time: u64,
    /// Absolute end of the session.
    pub expires: u64,
    /// When the cookie was last written (idle timeout counts from here).
    pub last_seen: u64,
    /// Identity mode that signed the member in (`imis_cloud` / `imis_legacy`).
    pub via: String,
    /// Everyone the member was signed in to.
    #[serde(default)]
    pub participants: Vec<Participant>,
}

/// The session as the remembered IQA answers are bound to it.
pub(crate) fn session_ref(session: &Session) -> crate::access::SessionRef<'_> {
    crate::access::SessionRef {
        sid: &session.sid,
        expires: session.expires,
    }
}

impl Session {
    /// Whether the session is still valid at `now` with the given idle lifetime.
    pub(crate) fn is_valid(&self, now: u64, idle_secs: u64) -> bool {
        self.v == 1 && now < self.expires && now < self.last_seen.saturating_add(idle_secs)
    }

    /// Records a participant (once), dropping the oldest past [`MAX_PARTICIPANTS`].
    pub(crate) fn add_participant(&mut self, p: Participant) {
        self.participants.retain(|q| q != &p);
        self.participants.push(p);
        if self.participants.len() > MAX_PARTICIPANTS {
            self.participants.remove(0);
        }
    }
}
