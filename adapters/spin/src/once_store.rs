//! The strongly consistent store on Spin — take-once values and counters — over the `volatile`
//! key-value store with `wasi:keyvalue/atomics` compare-and-swap. The configuration lives in the
//! `default` store, which the IdP only reads.
//!
//! Spin's plain `Store` API has no atomic operation, but every Spin 3.x/4.x key-value backend
//! implements the atomics interface atomically. Two traps of Spin's SQLite store
//! shape everything below:
//!
//! * a CAS whose read found **no** value is not a compare-and-swap there: it upserts (Spin 4.0.2)
//!   or panics the host (3.0). So a key is only ever swapped after the read saw a value;
//! * `increment` reads whatever is stored as an 8-byte little-endian integer and panics the host
//!   on any other length. So it is only used on keys whose values are exactly 8 bytes.
//!
//! **Take-once values** (`once:{key}`): 8 bytes big-endian expiry (milliseconds since the epoch),
//! then the payload. A take reads the value, swaps it to a tombstone with CAS — of several
//! concurrent takers exactly one swap succeeds — then deletes it. An expired value is absent.
//!
//! **Counters** (`counter:{key}`), with the meaning they have on Workers: a counter lives
//! `window_s` seconds from its first increment, its expiry stored with its value; after that it
//! starts again at 0; `delta` 0 reads. A count is read-modify-CAS, retried when another instance
//! got in between, so concurrent increments are never lost. A counter that does not exist yet is
//! created with `increment(key, 0)` — atomic create-if-absent on every backend — and then swapped
//! like any other; the counter record is exactly 8 bytes, so a racing creator's `increment(key, 0)`
//! that meets an already written record leaves it unchanged. A counter's own operations never
//! delete it (a delete cannot be conditional; an expired record is simply overwritten on the next
//! count); the sweeper (`sweep.rs`) deletes one an hour past its window.
//!
//! The same store holds the cache shared between instances (`cache:` keys): `wasmtime serve`
//! gives each request a fresh instance, so what the core caches in memory would not outlive it.
//!
//! The logic is written against the small [`Bucket`] trait so that it is unit tested natively
//! with an in-memory bucket that has the SQLite store's traps.

use edge_idp::platform::{bindings, PlatformError, UnixTime};
use spin_sdk::wit::wasi::keyvalue::{atomics, store};

/// What a taken value is swapped to before it is deleted.
const TOMBSTONE: &[u8] = b"\0taken";

/// How often a count retries a swap that another instance won before it gives up (fails closed).
const MAX_ATTEMPTS: usize = 64;

/// The key-value operations the store is built on: Spin's `wasi:keyvalue` bucket in the
/// component, an in-memory map in the unit tests.
pub trait Bucket {
    /// One compare-and-swap in progress; it remembers the value its read saw.
    type Cas;
    /// The value under `key`.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, PlatformError>;
    /// Stores `value` under `key`.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), PlatformError>;
    /// Removes `key`.
    fn delete(&self, key: &str) -> Result<(), PlatformError>;
    /// Every key in the store.
    fn list_keys(&self) -> Result<Vec<String>, PlatformError>;
    /// Atomically adds `delta` to the integer under `key` (an absent key counts as 0).
    fn increment(&self, key: &str, delta: i64) -> Result<i64, PlatformError>;
    /// Starts a compare-and-swap of `key`: its handle and the value stored now.
    fn cas_read(&self, key: &str) -> Result<(Self::Cas, Option<Vec<u8>>), PlatformError>;
    /// Stores `value` if the key still holds what `cas_read` saw; `Ok(false)` if it changed.
    fn cas_swap(&self, cas: Self::Cas, value: &[u8]) -> Result<bool, PlatformError>;
}

fn err(what: &str, e: impl std::fmt::Debug) -> PlatformError {
    PlatformError::Store(format!("{what}: {e:?}"))
}

/// The volatile key-value store through `wasi:keyvalue/{store,atomics}`.
pub struct SpinBucket(store::Bucket);

impl SpinBucket {
    /// Opens the volatile store (never the configuration store).
    pub fn open() -> Result<Self, PlatformError> {
        store::open(bindings::SPIN_VOLATILE_STORE)
            .map(Self)
            .map_err(|e| err("open", e))
    }
}

impl Bucket for SpinBucket {
    type Cas = atomics::Cas;

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, PlatformError> {
        self.0.get(key).map_err(|e| err("get", e))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), PlatformError> {
        self.0.set(key, value).map_err(|e| err("set", e))
    }

    fn delete(&self, key: &str) -> Result<(), PlatformError> {
        self.0.delete(key).map_err(|e| err("delete", e))
    }

    fn list_keys(&self) -> Result<Vec<String>, PlatformError> {
        // Spin's backends answer every key at once; follow a cursor anyway, for a backend that
        // pages.
        let mut keys = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .0
                .list_keys(cursor.as_deref())
                .map_err(|e| err("list keys", e))?;
            keys.extend(page.keys);
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(keys),
            }
        }
    }

    fn increment(&self, key: &str, delta: i64) -> Result<i64, PlatformError> {
        atomics::increment(&self.0, key, delta).map_err(|e| err("increment", e))
    }

    fn cas_read(&self, key: &str) -> Result<(Self::Cas, Option<Vec<u8>>), PlatformError> {
        let cas = atomics::Cas::new(&self.0, key).map_err(|e| err("cas", e))?;
        let current = cas.current().map_err(|e| err("cas current", e))?;
        Ok((cas, current))
    }

    fn cas_swap(&self, cas: Self::Cas, value: &[u8]) -> Result<bool, PlatformError> {
        match atomics::swap(cas, value) {
            Ok(()) => Ok(true),
            Err(atomics::CasError::CasFailed(_)) => Ok(false),
            Err(atomics::CasError::StoreError(e)) => Err(err("swap", e)),
        }
    }
}

fn once_key(key: &str) -> String {
    format!("once:{key}")
}

/// Stores `value` under `key` until `expires`.
pub fn put(
    bucket: &impl Bucket,
    key: &str,
    value: &[u8],
    expires: UnixTime,
) -> Result<(), PlatformError> {
    let mut stored = expires.millis.to_be_bytes().to_vec();
    stored.extend_from_slice(value);
    bucket.set(&once_key(key), &stored)
}

/// Takes the value under `key`, at most once, if it has not expired at `now`.
pub fn take(
    bucket: &impl Bucket,
    key: &str,
    now: UnixTime,
) -> Result<Option<Vec<u8>>, PlatformError> {
    let key = once_key(key);
    let (cas, stored) = bucket.cas_read(&key)?;
    let stored = match stored {
        // Never swap a key the read found absent (see the module notes).
        None => return Ok(None),
        Some(v) if v == TOMBSTONE => return Ok(None),
        Some(v) => v,
    };
    if !bucket.cas_swap(cas, TOMBSTONE)? {
        return Ok(None); // another taker won
    }
    // Ours now; the losers' swaps fail whether the tombstone is still there or not.
    let _ = bucket.delete(&key);
    let Some((expiry, payload)) = stored.split_first_chunk::<8>() else {
        return Ok(None);
    };
    Ok((now.millis < u64::from_be_bytes(*expiry)).then(|| payload.to_vec()))
}

/// A counter as stored: exactly 8 bytes (see the module notes) —
/// 2 magic bytes, expiry (whole seconds since the epoch, u32 big-endian), count (i16 big-endian,
/// saturating: every caller compares counts with small limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counter {
    expires_s: u32,
    n: i16,
}

/// Marks a counter record; neither byte is an ASCII digit, so no backend's `increment` takes a
/// record for one of its numbers (the backend's own 0 written on creation is not a record).
const COUNTER_MAGIC: [u8; 2] = [0xc7, 0x01];

impl Counter {
    fn encode(self) -> [u8; 8] {
        let mut out = [0; 8];
        out[..2].copy_from_slice(&COUNTER_MAGIC);
        out[2..6].copy_from_slice(&self.expires_s.to_be_bytes());
        out[6..].copy_from_slice(&self.n.to_be_bytes());
        out
    }

    /// The counter in `stored`, if it is one and still lives at `now`.
    fn live(stored: &[u8], now: UnixTime) -> Option<Self> {
        let bytes: &[u8; 8] = stored.try_into().ok()?;
        let [m0, m1, e0, e1, e2, e3, n0, n1] = *bytes;
        let counter = Self {
            expires_s: u32::from_be_bytes([e0, e1, e2, e3]),
            n: i16::from_be_bytes([n0, n1]),
        };
        ([m0, m1] == COUNTER_MAGIC && now.millis < u64::from(counter.expires_s) * 1000)
            .then_some(counter)
    }

    /// A new counter at `now`: it lives at least `window_s` seconds (expiry rounded up to a second).
    fn start(now: UnixTime, window_s: u32, n: i64) -> Self {
        let expires_ms = now.millis.saturating_add(u64::from(window_s) * 1000);
        Self {
            expires_s: u32::try_from(expires_ms.div_ceil(1000)).unwrap_or(u32::MAX),
            n: saturate(n),
        }
    }
}

fn saturate(n: i64) -> i16 {
    i16::try_from(n).unwrap_or(if n < 0 { i16::MIN } else { i16::MAX })
}

/// Adds `delta` to the counter under `key` and returns the new count. A counter lives `window_s`
/// seconds from its first increment; then it starts again at 0. `delta` 0 reads.
pub fn count(
    bucket: &impl Bucket,
    key: &str,
    window_s: u32,
    delta: i64,
    now: UnixTime,
) -> Result<i64, PlatformError> {
    let key = format!("counter:{key}");
    for _ in 0..MAX_ATTEMPTS {
        let (cas, stored) = bucket.cas_read(&key)?;
        let Some(stored) = stored else {
            if delta == 0 {
                return Ok(0);
            }
            // Create the key atomically without a CAS from absent, then count as usual.
            if let Err(e) = bucket.increment(&key, 0) {
                // A backend may refuse to add to a record another instance has just written.
                if bucket.get(&key)?.is_none() {
                    return Err(e);
                }
            }
            continue;
        };
        let next = match (Counter::live(&stored, now), delta) {
            (Some(live), 0) => return Ok(i64::from(live.n)),
            (None, 0) => return Ok(0),
            (Some(live), _) => Counter {
                n: saturate(i64::from(live.n) + delta),
                ..live
            },
            (None, _) => Counter::start(now, window_s, delta),
        };
        if bucket.cas_swap(cas, &next.encode())? {
            return Ok(i64::from(next.n));
        }
        // Another instance changed the counter since our read: read again.
    }
    Err(PlatformError::Store(format!(
        "counter still contended after {MAX_ATTEMPTS} attempts"
    )))
}

/// How long after its end an expired counter is kept before the sweeper may delete it. A delete
/// cannot be conditional, so a count that restarts the counter between the sweeper's read and
/// its delete is lost; the grace makes that a count of a key nobody used for an hour after its
/// window — a replay ID long past its message's freshness, a throttle long cooled down.
const COUNTER_GRACE_S: u64 = 3600;

/// Whether the volatile entry `key` holding `stored` is of no more use at `now`, so the sweeper
/// may delete it: a take-once value past its expiry or left as a tombstone, a counter an hour
/// past its end, or a counter key holding no counter record (a backend's own integer, which the
/// next count overwrites anyway). Any other key is never dead.
pub fn is_dead(key: &str, stored: &[u8], now: UnixTime) -> bool {
    if key.starts_with("once:") {
        if stored == TOMBSTONE {
            return true;
        }
        return match stored.split_first_chunk::<8>() {
            Some((expiry, _)) => now.millis >= u64::from_be_bytes(*expiry),
            None => true,
        };
    }
    if key.starts_with("counter:") {
        let grace = UnixTime::from_millis(now.millis.saturating_sub(COUNTER_GRACE_S * 1000));
        return Counter::live(stored, grace).is_none();
    }
    false
}

/// The cache shared between instances: the value under `cache:{key}`, if any.
pub fn shared_get(key: &str) -> Option<Vec<u8>> {
    SpinBucket::open()
        .ok()?
        .get(&format!("cache:{key}"))
        .ok()
        .flatten()
}

/// Puts a value into the shared cache (best effort: a failed write only costs a refetch).
pub fn shared_put(key: &str, value: &[u8]) {
    if let Ok(bucket) = SpinBucket::open() {
        let _ = bucket.set(&format!("cache:{key}"), value);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::mem_bucket::MemBucket;
    use std::sync::{Arc, Mutex};

    fn at(secs: f64) -> UnixTime {
        UnixTime::from_millis((secs * 1000.0) as u64)
    }

    const T0: f64 = 1_800_000_000.0;

    #[test]
    fn increments_within_the_window_and_delta_zero_reads() {
        let b = MemBucket::default();
        assert_eq!(count(&b, "k", 60, 0, at(T0)).unwrap(), 0);
        assert_eq!(count(&b, "k", 60, 1, at(T0)).unwrap(), 1);
        assert_eq!(count(&b, "k", 60, 1, at(T0 + 10.0)).unwrap(), 2);
        assert_eq!(count(&b, "k", 60, 0, at(T0 + 20.0)).unwrap(), 2);
        assert_eq!(count(&b, "k", 60, 3, at(T0 + 59.0)).unwrap(), 5);
        assert_eq!(count(&b, "k", 60, -5, at(T0 + 59.5)).unwrap(), 0);
        assert_eq!(count(&b, "other", 60, 0, at(T0)).unwrap(), 0);
    }

    #[test]
    fn a_counter_resets_only_a_window_after_its_first_increment() {
        let b = MemBucket::default();
        // First increment just before an aligned 900 s boundary (and a 1 s one).
        let first = 1_800_000_899.5;
        assert_eq!((first as u64 + 1) % 900, 0);
        assert_eq!(count(&b, "saml", 900, 1, at(first)).unwrap(), 1);
        assert_eq!(count(&b, "saml", 900, 1, at(first + 1.0)).unwrap(), 2);
        assert_eq!(count(&b, "saml", 900, 0, at(first + 899.0)).unwrap(), 2);
        assert_eq!(count(&b, "saml", 900, 1, at(first + 899.4)).unwrap(), 3);
        // The window ends window_s after the first increment (rounded up to the second).
        assert_eq!(count(&b, "saml", 900, 0, at(first + 901.0)).unwrap(), 0);
        assert_eq!(count(&b, "saml", 900, 1, at(first + 901.0)).unwrap(), 1);
        assert_eq!(count(&b, "saml", 900, 0, at(first + 1700.0)).unwrap(), 1);

        // A private_key_jwt jti with a 2 s window: a second later it is still used.
        assert_eq!(count(&b, "jti", 2, 1, at(T0 + 0.9)).unwrap(), 1);
        assert_eq!(count(&b, "jti", 2, 1, at(T0 + 1.1)).unwrap(), 2);
        assert_eq!(count(&b, "jti", 2, 1, at(T0 + 2.8)).unwrap(), 3);
        assert_eq!(count(&b, "jti", 2, 1, at(T0 + 3.1)).unwrap(), 1);
    }

    #[test]
    fn counts_saturate_and_foreign_values_are_not_counters() {
        let b = MemBucket::default();
        assert_eq!(
            count(&b, "big", 60, 1 << 40, at(T0)).unwrap(),
            i64::from(i16::MAX)
        );
        assert_eq!(
            count(&b, "big", 60, 1, at(T0)).unwrap(),
            i64::from(i16::MAX)
        );
        // A backend's own integer (what `increment` creates) is an absent counter.
        b.set("counter:raw", &7i64.to_le_bytes()).unwrap();
        assert_eq!(count(&b, "raw", 60, 0, at(T0)).unwrap(), 0);
        assert_eq!(count(&b, "raw", 60, 2, at(T0)).unwrap(), 2);
        assert_eq!(b.get("counter:raw").unwrap().unwrap().len(), 8);
    }

    #[test]
    fn a_swap_lost_to_another_instance_is_retried() {
        let b = MemBucket::default();
        assert_eq!(count(&b, "k", 60, 1, at(T0)).unwrap(), 1);
        let other = b.clone();
        *b.before_swap.lock().unwrap() = Some(Box::new(move || {
            assert_eq!(count(&other, "k", 60, 1, at(T0)).unwrap(), 2);
        }));
        assert_eq!(count(&b, "k", 60, 1, at(T0)).unwrap(), 3);
    }

    #[test]
    fn racing_creators_do_not_lose_an_increment() {
        // Both instances find the counter absent; the other one creates and counts first.
        let b = MemBucket::default();
        let other = b.clone();
        *b.before_increment.lock().unwrap() = Some(Box::new(move || {
            assert_eq!(count(&other, "jti", 120, 1, at(T0)).unwrap(), 1);
        }));
        assert_eq!(
            count(&b, "jti", 120, 1, at(T0)).unwrap(),
            2,
            "a replayed jti"
        );
    }

    #[test]
    fn concurrent_increments_are_not_lost() {
        let b = MemBucket::default();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let b = b.clone();
                std::thread::spawn(move || {
                    (0..200)
                        .filter_map(|_| count(&b, "hot", 60, 1, at(T0)).ok())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seen: Vec<i64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        seen.sort_unstable();
        let n = i64::try_from(seen.len()).unwrap();
        assert!(n > 0);
        // Every successful increment got its own count, and none was lost.
        assert_eq!(seen, (1..=n).collect::<Vec<_>>());
        assert_eq!(count(&b, "hot", 60, 0, at(T0)).unwrap(), n);
    }

    #[test]
    fn take_once_takes_once_and_honours_expiry() {
        let b = MemBucket::default();
        put(&b, "code", b"grant", at(T0 + 60.0)).unwrap();
        assert_eq!(
            take(&b, "code", at(T0)).unwrap().as_deref(),
            Some(&b"grant"[..])
        );
        assert_eq!(take(&b, "code", at(T0)).unwrap(), None);
        assert_eq!(b.get("once:code").unwrap(), None, "deleted after the take");

        put(&b, "old", b"grant", at(T0 + 60.0)).unwrap();
        assert_eq!(
            take(&b, "old", at(T0 + 60.0)).unwrap(),
            None,
            "expired = absent"
        );
        assert_eq!(take(&b, "old", at(T0)).unwrap(), None, "and gone");

        assert_eq!(take(&b, "never", at(T0)).unwrap(), None);
    }

    #[test]
    fn of_two_racing_takers_one_wins() {
        let b = MemBucket::default();
        put(&b, "code", b"grant", at(T0 + 60.0)).unwrap();
        let other = b.clone();
        let won_by_other = Arc::new(Mutex::new(None));
        let slot = won_by_other.clone();
        *b.before_swap.lock().unwrap() = Some(Box::new(move || {
            *slot.lock().unwrap() = Some(take(&other, "code", at(T0)).unwrap());
        }));
        assert_eq!(take(&b, "code", at(T0)).unwrap(), None);
        assert_eq!(
            won_by_other.lock().unwrap().clone(),
            Some(Some(b"grant".to_vec()))
        );
    }
}
