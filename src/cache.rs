//! A small per-isolate cache with expiry, shared by the tenant resolver and the iMIS token cache.
//!
//! A Worker isolate or Spin instance serves many requests; keeping parsed configuration and tokens
//! here means a request normally costs no KV read and no token grant. Time comes from the caller.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::platform::{Platform, PlatformError, UnixTime};

/// Entries kept at most; past this, expired entries are dropped, then everything.
const MAX_ENTRIES: usize = 4096;

/// A map from text keys to values that expire.
#[derive(Debug)]
pub struct TtlCache<V> {
    entries: Mutex<HashMap<String, (UnixTime, V)>>,
}

impl<V: Clone> Default for TtlCache<V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> TtlCache<V> {
    /// The value under `key`, if present and not expired at `now`.
    pub(crate) fn get(&self, key: &str, now: UnixTime) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(expires, _)| now < *expires)
            .map(|(_, v)| v.clone())
    }

    /// Stores `value` under `key` until `expires`.
    pub(crate) fn put(&self, key: &str, value: V, expires: UnixTime, now: UnixTime) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.retain(|_, (exp, _)| now < *exp);
                if entries.len() >= MAX_ENTRIES {
                    entries.clear();
                }
            }
            entries.insert(key.to_string(), (expires, value));
        }
    }

    /// Drops the entry under `key`.
    pub(crate) fn remove(&self, key: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }
}

/// How long a value read by [`KvCache::load`] is served before KV is read again: an app's or
/// client's change reaches every isolate within a minute.
const CONFIG_TTL_SECS: u64 = 60;
/// How long a missing key is remembered: a newly pushed app is found within seconds, while a
/// flood of requests for an app that does not exist still costs one KV read per key and period.
const MISSING_TTL_SECS: u64 = 10;

/// Values read from KV and parsed once per isolate, kept under their KV key: SAML apps, OIDC
/// clients and bridge apps (and what is derived from them, such as parsed keys) cost one KV read
/// and one parse a minute, not one per request. Values of any type share one cache and one rule:
/// a value, or the error parsing it gave, is kept for [`CONFIG_TTL_SECS`]; a missing key for
/// [`MISSING_TTL_SECS`]; a KV failure is not kept.
#[derive(Default)]
pub(crate) struct KvCache {
    entries: TtlCache<Option<Arc<dyn Any + Send + Sync>>>,
}

impl std::fmt::Debug for KvCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KvCache")
    }
}

impl KvCache {
    /// The value under `key`, parsed by `parse`; `Ok(None)` when the key does not exist or holds
    /// an empty value, a tombstone.
    pub(crate) async fn load<T, P, F>(
        &self,
        platform: &P,
        key: &str,
        parse: F,
    ) -> Result<Option<Arc<T>>, PlatformError>
    where
        T: Any + Send + Sync,
        P: Platform,
        F: FnOnce(&[u8]) -> T,
    {
        let now = platform.now();
        if let Some(hit) = self.entries.get(key, now) {
            match hit {
                None => return Ok(None),
                Some(v) => {
                    if let Ok(v) = v.downcast::<T>() {
                        return Ok(Some(v));
                    }
                }
            }
        }
        let loaded = platform
            .config_get(key)
            .await?
            .map(|bytes| Arc::new(parse(&bytes)));
        let (value, ttl): (Option<Arc<dyn Any + Send + Sync>>, u64) = match &loaded {
            Some(v) => (Some(v.clone()), CONFIG_TTL_SECS),
            None => (None, MISSING_TTL_SECS),
        };
        self.entries.put(key, value, now.plus_secs(ttl), now);
        Ok(loaded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_and_bounds() {
        let c = TtlCache::default();
        let t0 = UnixTime::from_millis(1_000);
        c.put("a", 1, t0.plus_secs(10), t0);
        assert_eq!(c.get("a", t0), Some(1));
        assert_eq!(c.get("a", t0.plus_secs(10)), None);
        for i in 0..MAX_ENTRIES + 5 {
            c.put(&i.to_string(), i as i32, t0.plus_secs(1), t0);
        }
        assert!(c.entries.lock().map(|e| e.len()).unwrap_or(usize::MAX) <= MAX_ENTRIES);
    }

    #[test]
    fn one_rule_for_every_app_a_value_a_minute_a_missing_key_ten_seconds() {
        let p = crate::testing::FakePlatform::default();
        let cache = KvCache::default();
        let load = |key: &'static str| {
            crate::testing::block_on(cache.load(&p, key, |bytes| bytes.len()))
                .ok()
                .flatten()
                .map(|n| *n)
        };
        p.put_kv("tenant:t:saml:a", "four");
        assert_eq!(load("tenant:t:saml:a"), Some(4));
        assert_eq!(load("tenant:t:oidc:missing"), None);
        let reads = p.kv_reads.get();
        p.put_kv("tenant:t:saml:a", "changed");
        p.put_kv("tenant:t:oidc:missing", "now here");
        p.advance_secs(9);
        assert_eq!(load("tenant:t:saml:a"), Some(4), "a value is kept");
        assert_eq!(
            load("tenant:t:oidc:missing"),
            None,
            "so is an absence, briefly"
        );
        assert_eq!(p.kv_reads.get(), reads, "both from the cache");
        p.advance_secs(1);
        assert_eq!(
            load("tenant:t:oidc:missing"),
            Some(8),
            "an absence for 10 s"
        );
        assert_eq!(load("tenant:t:saml:a"), Some(4));
        p.advance_secs(50);
        assert_eq!(load("tenant:t:saml:a"), Some(7), "a value for 60 s");
    }
}
