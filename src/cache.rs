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

/// Values read from KV and parsed once per isolate, kept under their KV key: a protocol's app
/// configuration (and what is derived from it, such as parsed keys) costs one KV read and one
/// parse a minute, not one per request. Values of any type share one cache; a missing key is
/// remembered for a shorter time.
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
    /// The value under `key`, parsed by `parse` (whose result, an error included, is kept for
    /// `ttl_secs`); `Ok(None)` when the key does not exist or holds an empty value, a tombstone
    /// (kept for `negative_ttl_secs`). A KV failure is not cached.
    pub(crate) async fn load<T, P, F>(
        &self,
        platform: &P,
        key: &str,
        ttl_secs: u64,
        negative_ttl_secs: u64,
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
            Some(v) => (Some(v.clone()), ttl_secs),
            None => (None, negative_ttl_secs),
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
}
