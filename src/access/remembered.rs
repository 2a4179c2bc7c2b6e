//! A signed-in member's IQA answers, remembered in the member's browser: a repeat sign-in to an
//! app within the tenant's freshness window (`imis.profile_cache_minutes`) costs no iMIS call, and
//! while iMIS is down or slow, members who are already signed in keep reaching their apps with the
//! last answer (an outage then costs new sign-ins only).
//!
//! Who can read it: nobody but this IdP. The cookie is sealed with the tenant's cookie key (the
//! browser and the apps see ciphertext) and bound to the IdP session's id, so it is worthless in
//! another browser, after sign-out (a new sign-in makes a new session) and after the session ends.

use serde::{Deserialize, Serialize};

use crate::cookie;
use crate::imis::Row;
use crate::platform::Platform;
use crate::Ctx;

/// The cookie's name.
pub(crate) const ANSWERS_COOKIE: &str = "__Host-idp-iqa";
/// The sealed cookie is kept under this size; the oldest answers make room for new ones.
const MAX_SEALED_LEN: usize = 3000;

/// The IdP session the answers belong to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionRef<'a> {
    /// The session id.
    pub(crate) sid: &'a str,
    /// When the session ends (seconds since the epoch); the cookie ends with it.
    pub(crate) expires: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Answers {
    sid: String,
    /// Oldest first.
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// The IQA path.
    iqa: String,
    /// The member's username the query ran for.
    user: String,
    /// When iMIS answered (seconds since the epoch).
    at: u64,
    rows: Vec<Row>,
}

/// The answers of this request's session; without a session nothing is remembered.
#[derive(Debug, Default)]
pub(crate) struct Remembered {
    session: Option<(String, u64)>,
    answers: Answers,
    changed: bool,
}

impl Remembered {
    /// Nothing remembered and nothing to remember (a request without the member's browser).
    pub(crate) fn none() -> Self {
        Self::default()
    }

    /// The answers in this request's cookie that belong to `session`.
    pub(crate) fn load<P: Platform>(ctx: &Ctx<'_, P>, session: SessionRef<'_>) -> Self {
        let answers = cookie::cookie_key(ctx.platform, ctx.tenant.id.as_str())
            .and_then(|key| {
                cookie::open::<Answers>(&key, ANSWERS_COOKIE, &ctx.req.cookie(ANSWERS_COOKIE)?)
            })
            .filter(|a| a.sid == session.sid)
            .unwrap_or_else(|| Answers {
                sid: session.sid.to_string(),
                entries: Vec::new(),
            });
        Self {
            session: Some((session.sid.to_string(), session.expires)),
            answers,
            changed: false,
        }
    }

    fn entry(&self, iqa: &str, user: &str) -> Option<&Entry> {
        self.answers
            .entries
            .iter()
            .find(|e| e.iqa == iqa && e.user == user)
    }

    /// The answer of `iqa` for `user` if iMIS gave it less than `max_age` seconds ago.
    pub(crate) fn fresh(&self, iqa: &str, user: &str, now: u64, max_age: u64) -> Option<Vec<Row>> {
        self.entry(iqa, user)
            .filter(|e| now < e.at.saturating_add(max_age))
            .map(|e| e.rows.clone())
    }

    /// The last answer of `iqa` for `user`, however old (within the session), and its age.
    pub(crate) fn last(&self, iqa: &str, user: &str, now: u64) -> Option<(Vec<Row>, u64)> {
        self.entry(iqa, user)
            .map(|e| (e.rows.clone(), now.saturating_sub(e.at)))
    }

    /// Remembers iMIS's answer of `iqa` for `user` (when there is a session to keep it with).
    pub(crate) fn put(&mut self, iqa: &str, user: &str, rows: Vec<Row>, now: u64) {
        if self.session.is_none() {
            return;
        }
        self.answers
            .entries
            .retain(|e| !(e.iqa == iqa && e.user == user));
        self.answers.entries.push(Entry {
            iqa: iqa.to_string(),
            user: user.to_string(),
            at: now,
            rows,
        });
        self.changed = true;
    }

    /// Sets the cookie on this request's response when something new was remembered. Answers
    /// too large for a cookie are simply not kept.
    pub(crate) fn save<P: Platform>(mut self, ctx: &Ctx<'_, P>) {
        let Some((_, expires)) = self.session.filter(|_| self.changed) else {
            return;
        };
        let Some(key) = cookie::cookie_key(ctx.platform, ctx.tenant.id.as_str()) else {
            return;
        };
        let now = ctx.platform.now().secs();
        while !self.answers.entries.is_empty() {
            match cookie::seal(ctx.platform, &key, ANSWERS_COOKIE, &self.answers) {
                Some(text) if text.len() <= MAX_SEALED_LEN => {
                    let max_age = expires.saturating_sub(now);
                    ctx.set_cookie(cookie::set(ANSWERS_COOKIE, &text, max_age));
                    return;
                }
                _ => {
                    self.answers.entries.remove(0);
                }
            }
        }
    }
}
