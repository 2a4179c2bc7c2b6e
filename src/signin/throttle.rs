//! Throttling of password sign-ins (legacy mode), with counters in the strongly consistent store:
//! per username and per client address, each living 15 minutes from its first attempt. iMIS
//! itself locks an account after 5 bad passwords; we pass at most [`MAX_USER_ATTEMPTS`] on, so an
//! attacker cannot use us to lock members out.
//!
//! An attempt is counted *before* iMIS is asked, and refused when the count passes the limit:
//! counting only after iMIS answered would let parallel guesses all pass the check first.

use sha2::{Digest, Sha256};

use crate::kv_key;
use crate::platform::Platform;
use crate::Ctx;

/// Window of the counters.
const WINDOW_SECS: u32 = 900;
/// Attempts per username per window that reach iMIS (a success starts the count again).
pub(crate) const MAX_USER_ATTEMPTS: i64 = 4;
/// Attempts per client address per window that reach iMIS.
const MAX_IP_ATTEMPTS: i64 = 20;

/// The counters of one attempt.
pub(crate) struct Throttle {
    user_key: String,
    ip_key: Option<String>,
}

fn digest(text: &str) -> String {
    hex::encode(
        Sha256::digest(text.as_bytes())
            .get(..12)
            .unwrap_or_default(),
    )
}

impl Throttle {
    /// Counters for `username` (case-insensitive) and the request's client address.
    pub(crate) fn new<P: Platform>(ctx: &Ctx<'_, P>, username: &str) -> Self {
        let tenant = ctx.tenant.id.as_str();
        Self {
            user_key: kv_key::throttle_user(tenant, &digest(&username.to_lowercase())),
            ip_key: ctx
                .req
                .client_ip
                .as_ref()
                .map(|ip| kv_key::throttle_ip(tenant, &digest(ip))),
        }
    }

    /// Counts this attempt; `true` when it may go on to iMIS. Fails closed: a store error
    /// refuses.
    pub(crate) async fn admit(&self, platform: &impl Platform) -> bool {
        let user = platform
            .count(&self.user_key, WINDOW_SECS, 1)
            .await
            .unwrap_or(i64::MAX);
        let ip = match &self.ip_key {
            Some(k) => platform.count(k, WINDOW_SECS, 1).await.unwrap_or(i64::MAX),
            None => 0,
        };
        user <= MAX_USER_ATTEMPTS && ip <= MAX_IP_ATTEMPTS
    }

    /// A successful sign-in clears the username's counter and gives its attempt back to the
    /// client address (many members may sign in from one office address).
    pub(crate) async fn succeeded(&self, platform: &impl Platform) {
        if let Ok(n) = platform.count(&self.user_key, WINDOW_SECS, 0).await {
            if n > 0 {
                let _ = platform.count(&self.user_key, WINDOW_SECS, -n).await;
            }
        }
        if let Some(k) = &self.ip_key {
            let _ = platform.count(k, WINDOW_SECS, -1).await;
        }
    }
}
