//! What a handler decided. Most answer at once; signing in and signing out end in a step that
//! names every protocol (resume the waiting request, visit every participant), which the journey
//! module beside the router takes, so that sign-in and the protocols never call each other.

use super::pending::{Continuation, PendingList};
use super::{Participant, Session};
use crate::http::Response;

/// A handler's decision.
#[derive(Debug)]
pub(crate) enum Reply {
    /// An answer as it is.
    Respond(Response),
    /// The member was identified: resume what waited, then store the session.
    SignedIn(Box<SignedIn>),
    /// The session ended: visit the other participants, then go where the handler said.
    SignedOut(Box<SignedOut>),
}

impl From<Response> for Reply {
    fn from(resp: Response) -> Self {
        Self::Respond(resp)
    }
}

/// A member just signed in.
#[derive(Debug)]
pub(crate) struct SignedIn {
    /// The session to store once the waiting request added its participant.
    pub(crate) session: Session,
    /// The request that waited for sign-in, if any (else the member goes home).
    pub(crate) continuation: Option<Continuation>,
    /// The other pending requests of this browser, kept for their own callbacks.
    pub(crate) pending: PendingList,
}

/// A session that just ended (and is recorded as ended).
#[derive(Debug)]
pub(crate) struct Ended {
    /// Its id (OIDC `sid`).
    pub(crate) sid: String,
    /// Participants still to sign out; the one that asked may be dropped.
    pub(crate) participants: Vec<Participant>,
    /// `Set-Cookie` deleting the session cookie.
    pub(crate) clear_cookie: String,
}

impl Ended {
    /// The decision to visit the participants, then send the browser to `done` (a local path or
    /// an already verified URL).
    pub(crate) fn then(self, done: String) -> Reply {
        Reply::SignedOut(Box::new(SignedOut { ended: self, done }))
    }
}

/// A sign-out to carry through every participant.
#[derive(Debug)]
pub(crate) struct SignedOut {
    /// The session that ended.
    pub(crate) ended: Ended,
    /// Where the browser goes at the end.
    pub(crate) done: String,
}
