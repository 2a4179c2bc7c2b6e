//! Throttling of password sign-ins (legacy mode), with counters in the strongly consistent store:
//! per username and per client address, in fixed 15-minute windows. iMIS itself locks an account
//! after 5 bad passwords; we stop passing attempts on after [`MAX_USER_FAILURES`], so an attacker
//! cannot use us to lock members out.

use sha2::{Digest, Sha256};

use crate::platform::Platform;
use crate::Ctx;

/// Window of the counters.
pub const WINDOW_SECS: u32 = 900;
/// Failed attempts per username per window before further attempts are refused.
pub const MAX_USER_FAILURES: i64 = 4;
/// Failed attempts per client address per window.
pub const MAX_IP_FAILURES: i64 = 20;

/// The counters of one attempt.
pub struct Throttle {
    user_key: String,
    ip_key: Option<String>,
}

fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Throttle {
    /// Counters for `username` (case-insensitive) and the request's client address.
    pub fn new<P: Platform>(ctx: &Ctx<'_, P>, username: &str) -> Self {
        let tenant = ctx.tenant.id.as_str();
        Self {
            user_key: format!(
                "throttle:{tenant}:user:{}",
                digest(&username.to_lowercase())
            ),
            ip_key: ctx
                .req
                .client_ip
                .as_ref()
                .map(|ip| format!("throttle:{tenant}:ip:{}", digest(ip))),
        }
    }

    /// Whether attempts are refused now. Fails closed: a store error refuses.
    pub async fn is_blocked(&self, platform: &impl Platform) -> bool {
        let user = platform
            .count(&self.user_key, WINDOW_SECS, 0)
            .await
            .unwrap_or(i64::MAX);
        let ip = match &self.ip_key {
            Some(k) => platform.count(k, WINDOW_SECS, 0).await.unwrap_or(i64::MAX),
            None => 0,
        };
        user >= MAX_USER_FAILURES || ip >= MAX_IP_FAILURES
    }

    /// Counts a failed attempt.
    pub async fn failed(&self, platform: &impl Platform) {
        let _ = platform.count(&self.user_key, WINDOW_SECS, 1).await;
        if let Some(k) = &self.ip_key {
            let _ = platform.count(k, WINDOW_SECS, 1).await;
        }
    }

    /// A successful sign-in clears the username's counter.
    pub async fn succeeded(&self, platform: &impl Platform) {
        if let Ok(n) = platform.count(&self.user_key, WINDOW_SECS, 0).await {
            if n > 0 {
                let _ = platform.count(&self.user_key, WINDOW_SECS, -n).await;
            }
        }
    }
}
