//! Mutable emulator state: tokens, sign-in sessions, lockouts, faults, request log.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::fixtures::{Model, Site};
use crate::util;

/// An issued access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// Site index.
    pub site: usize,
    /// User index within the site.
    pub user: usize,
    /// Expiry.
    pub expires: SystemTime,
}

/// An issued refresh token (SSO hand-off).
#[derive(Debug, Clone)]
pub struct RefreshToken {
    /// Site index.
    pub site: usize,
    /// Client app index.
    pub client: usize,
    /// User index.
    pub user: usize,
    /// Expiry.
    pub expires: SystemTime,
    /// Already redeemed (single use).
    pub used: bool,
}

/// A RiSE sign-in session (the `Login` cookie).
#[derive(Debug, Clone)]
pub struct Session {
    /// Site index.
    pub site: usize,
    /// User index.
    pub user: usize,
}

/// A fault as posted to `/__emulator/faults`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Case-insensitive substring of `path?decoded-query`; empty = every request.
    #[serde(default)]
    pub path_contains: String,
    /// Delay before answering.
    #[serde(default)]
    pub latency_ms: u64,
    /// Answer with this status and a plain error body.
    #[serde(default)]
    pub status: Option<u16>,
    /// Never answer (until the client closes, reset, or 10 minutes).
    #[serde(default)]
    pub hang: bool,
    /// Answer 200 (or `status`) with a non-JSON body.
    #[serde(default)]
    pub garbage: bool,
    /// Apply to the next N matching requests only.
    #[serde(default)]
    pub times: Option<u64>,
}

/// An active fault.
#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    /// Id returned by the POST.
    pub id: u64,
    /// What was posted (with `times` counting down).
    #[serde(flatten)]
    pub spec: FaultSpec,
}

/// One line of `/__emulator/requests`.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    /// Sequence number since the last clear.
    pub seq: u64,
    /// Method.
    pub method: String,
    /// Decoded path (no query).
    pub path: String,
    /// Query-string keys, in order (values are not recorded).
    pub query_keys: Vec<String>,
    /// Site name, when the path belongs to a site.
    pub site: Option<String>,
    /// `token`, `api`, `sso`, `signin`, `logout`, `home` (or null).
    pub endpoint: Option<String>,
    /// For `/api/{entity}`: the entity as written in the path.
    pub entity: Option<String>,
    /// For `/token`: the grant_type.
    pub grant_type: Option<String>,
    /// For IQA calls: the query path.
    pub query_name: Option<String>,
    /// Status sent (0 = a hung request that never answered).
    pub status: u16,
    /// Time from request read to response.
    pub millis: u64,
    /// A fault id that applied, if any.
    pub fault: Option<u64>,
}

const MAX_LOG: usize = 20_000;

/// All mutable state, behind one mutex in the app.
#[derive(Debug, Default)]
pub struct State {
    /// access token → grant.
    pub access: HashMap<String, AccessToken>,
    /// refresh token → grant.
    pub refresh: HashMap<String, RefreshToken>,
    /// `Login` cookie value → session.
    pub sessions: HashMap<String, Session>,
    /// (site, lowercase username) → consecutive bad passwords.
    pub failures: HashMap<(usize, String), u32>,
    /// Active faults, first match wins.
    pub faults: Vec<Fault>,
    /// Next fault id.
    pub next_fault: u64,
    /// Request log.
    pub log: Vec<LogEntry>,
    /// Next log sequence number.
    pub next_seq: u64,
}

/// Why a sign-in failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInError {
    /// Unknown user or wrong password.
    BadCredentials,
    /// Too many bad passwords.
    LockedOut,
    /// UserData.IsDisable.
    Disabled,
}

impl SignInError {
    /// `error_description` / page message.
    pub fn message(self) -> &'static str {
        match self {
            SignInError::BadCredentials => "The user name or password is incorrect.",
            SignInError::LockedOut => {
                "The user account has been locked out because of too many invalid sign-in attempts."
            }
            SignInError::Disabled => "The user account is disabled.",
        }
    }
}

impl State {
    /// Check a username/password on a site, applying lockout rules.
    pub fn check_password(
        &mut self,
        model: &Model,
        site_idx: usize,
        username: &str,
        password: &str,
    ) -> Result<usize, SignInError> {
        let site: &Site = &model.sites[site_idx];
        let Some(ui) = site.user_by_name(username) else {
            return Err(SignInError::BadCredentials);
        };
        let user = &site.users[ui];
        let key = (site_idx, user.username.to_ascii_lowercase());
        let count = self.failures.get(&key).copied().unwrap_or(0);
        if count >= site.lockout_threshold {
            return Err(SignInError::LockedOut);
        }
        if user.password != password {
            self.failures.insert(key, count + 1);
            return Err(SignInError::BadCredentials);
        }
        if user.is_disabled {
            return Err(SignInError::Disabled);
        }
        self.failures.remove(&key);
        Ok(ui)
    }

    /// Whether a user is currently locked out.
    pub fn is_locked(&self, model: &Model, site_idx: usize, user_idx: usize) -> bool {
        let site = &model.sites[site_idx];
        let key = (site_idx, site.users[user_idx].username.to_ascii_lowercase());
        self.failures.get(&key).copied().unwrap_or(0) >= site.lockout_threshold
    }

    /// Issue an access token.
    pub fn issue_access(
        &mut self,
        site: usize,
        user: usize,
        lifetime: Duration,
    ) -> (String, SystemTime, SystemTime) {
        let token = util::access_token();
        let issued = SystemTime::now();
        let expires = issued + lifetime;
        self.access.insert(
            token.clone(),
            AccessToken {
                site,
                user,
                expires,
            },
        );
        (token, issued, expires)
    }

    /// Issue a refresh token for the SSO hand-off.
    pub fn issue_refresh(
        &mut self,
        model: &Model,
        site: usize,
        client: usize,
        user: usize,
    ) -> String {
        let minutes = model.sites[site].client_apps[client].refresh_token_lifetime_minutes;
        let token = util::refresh_token();
        self.refresh.insert(
            token.clone(),
            RefreshToken {
                site,
                client,
                user,
                expires: SystemTime::now() + Duration::from_secs(minutes.saturating_mul(60)),
                used: false,
            },
        );
        token
    }

    /// Start a sign-in session; returns the cookie value.
    pub fn start_session(&mut self, site: usize, user: usize) -> String {
        let id = util::session_id();
        self.sessions.insert(id.clone(), Session { site, user });
        id
    }

    /// Take the first fault matching `target`, counting down its `times`.
    pub fn take_fault(&mut self, target: &str) -> Option<Fault> {
        let target = target.to_ascii_lowercase();
        let idx = self.faults.iter().position(|f| {
            f.spec.path_contains.is_empty()
                || target.contains(&f.spec.path_contains.to_ascii_lowercase())
        })?;
        let fault = self.faults[idx].clone();
        if let Some(t) = self.faults[idx].spec.times.as_mut() {
            *t = t.saturating_sub(1);
            if *t == 0 {
                self.faults.remove(idx);
            }
        }
        Some(fault)
    }

    /// Append to the request log.
    pub fn record(&mut self, mut entry: LogEntry) {
        entry.seq = self.next_seq;
        self.next_seq += 1;
        if self.log.len() >= MAX_LOG {
            self.log.remove(0);
        }
        self.log.push(entry);
    }

    /// Forget everything except the fixtures.
    pub fn reset(&mut self) {
        *self = State::default();
    }
}
