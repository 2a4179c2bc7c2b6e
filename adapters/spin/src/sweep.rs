//! Deletes expired take-once values and counters from Spin's store, a few at a time.
//!
//! Workers KV expires keys by itself; Spin's key-value store keeps a key until it is deleted. A
//! taken value is deleted by its taker, but a code nobody redeems, and every counter (replay IDs,
//! throttles, ended sessions), would stay for good and fill a store limited to 1,024 keys.
//!
//! Spin has no scheduled work for an HTTP component, so the sweep rides on requests: after the
//! response has gone out, one request in [`ONE_IN`] inspects the next volatile keys in key order
//! and deletes the dead ones ([`once_store::is_dead`]). Where it stopped is kept under
//! [`CURSOR_KEY`], so successive sweeps, on any instance, walk the whole store and start again.
//!
//! A step inspects a share of the store ([`budget`]), not a fixed number of keys: with a fixed
//! number, a pass over the store took as many requests as the store held keys, so the busier the
//! IdP, the longer an expired key stayed, and the store grew with it.
//!
//! `wasi:keyvalue` lists a whole store or nothing, so a step costs what the volatile store holds:
//! that is why the configuration, which grows with the tenant count, lives in another store.

use edge_idp::platform::{PlatformError, UnixTime};

use crate::once_store::{self, Bucket};

/// One request in this many runs a sweep step.
pub const ONE_IN: u8 = 64;

/// The fewest volatile keys a step reads (all of them in a smaller store).
const MIN_BUDGET: usize = 64;

/// The most volatile keys a step reads, so one request's sweep stays short in a huge store.
const MAX_BUDGET: usize = 1024;

/// A pass over the store takes this many steps while the store holds at most
/// `PASS_STEPS * MAX_BUDGET` volatile keys: about `PASS_STEPS * ONE_IN` requests.
const PASS_STEPS: usize = 16;

/// How many of `volatile` keys one step reads.
fn budget(volatile: usize) -> usize {
    volatile.div_ceil(PASS_STEPS).clamp(MIN_BUDGET, MAX_BUDGET)
}

/// The last key the previous step inspected (in the shared-cache namespace, so it is never
/// itself swept).
const CURSOR_KEY: &str = "cache:sweep-cursor";

/// What one step did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Volatile keys read.
    pub inspected: usize,
    /// Of those, deleted.
    pub deleted: usize,
}

fn is_volatile(key: &str) -> bool {
    key.starts_with("once:") || key.starts_with("counter:")
}

/// Inspects the next [`budget`] volatile keys after the stored cursor (from the first one when
/// the cursor is at the end) and deletes those that are dead at `now`.
pub fn step(bucket: &impl Bucket, now: UnixTime) -> Result<Swept, PlatformError> {
    let mut keys: Vec<String> = bucket
        .list_keys()?
        .into_iter()
        .filter(|k| is_volatile(k))
        .collect();
    keys.sort_unstable();
    let after = bucket
        .get(CURSOR_KEY)?
        .and_then(|c| String::from_utf8(c).ok())
        .unwrap_or_default();
    let start = keys.partition_point(|k| *k <= after);
    let start = if start >= keys.len() { 0 } else { start };
    let mut swept = Swept::default();
    let mut last = None;
    for key in keys.iter().skip(start).take(budget(keys.len())) {
        swept.inspected += 1;
        last = Some(key);
        // A key another instance deleted meanwhile is simply gone.
        let Some(stored) = bucket.get(key)? else {
            continue;
        };
        if once_store::is_dead(key, &stored, now) {
            bucket.delete(key)?;
            swept.deleted += 1;
        }
    }
    match last {
        Some(key) => bucket.set(CURSOR_KEY, key.as_bytes())?,
        None => bucket.delete(CURSOR_KEY)?,
    }
    Ok(swept)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::mem_bucket::MemBucket;

    const T0: u64 = 1_800_000_000_000;

    fn at(ms: u64) -> UnixTime {
        UnixTime::from_millis(ms)
    }

    fn counter_record(bucket: &MemBucket, key: &str, window_s: u32, at_ms: u64) {
        once_store::count(bucket, key, window_s, 1, at(at_ms)).unwrap();
    }

    #[test]
    fn expired_take_once_values_go_and_live_ones_stay() {
        let b = MemBucket::default();
        once_store::put(&b, "code-old", b"grant", at(T0 - 1)).unwrap();
        once_store::put(&b, "code-new", b"grant", at(T0 + 60_000)).unwrap();
        b.set("once:stuck", b"\0taken").unwrap();
        b.set("once:short", b"abc").unwrap();

        let swept = step(&b, at(T0)).unwrap();

        assert_eq!(
            swept,
            Swept {
                inspected: 4,
                deleted: 3
            }
        );
        assert_eq!(b.get("once:code-old").unwrap(), None);
        assert_eq!(b.get("once:stuck").unwrap(), None);
        assert_eq!(b.get("once:short").unwrap(), None);
        assert_eq!(
            once_store::take(&b, "code-new", at(T0)).unwrap().as_deref(),
            Some(&b"grant"[..])
        );
    }

    #[test]
    fn a_counter_is_deleted_only_an_hour_after_its_window() {
        let b = MemBucket::default();
        counter_record(&b, "saml-req:live", 900, T0);
        counter_record(&b, "saml-req:recent", 60, T0 - 61_000);
        counter_record(&b, "saml-req:old", 60, T0 - 3_700_000);
        b.set("counter:raw", &0i64.to_le_bytes()).unwrap();

        let swept = step(&b, at(T0)).unwrap();

        assert_eq!(
            swept,
            Swept {
                inspected: 4,
                deleted: 2
            }
        );
        assert!(b.get("counter:saml-req:live").unwrap().is_some());
        assert!(b.get("counter:saml-req:recent").unwrap().is_some());
        assert_eq!(b.get("counter:saml-req:old").unwrap(), None);
        assert_eq!(b.get("counter:raw").unwrap(), None);
        // The live counter still counts.
        assert_eq!(
            once_store::count(&b, "saml-req:live", 900, 0, at(T0)).unwrap(),
            1
        );
    }

    #[test]
    fn configuration_and_cache_keys_are_never_touched() {
        let b = MemBucket::default();
        b.set("tenant:acme", b"{}").unwrap();
        b.set("host:acme.example", b"").unwrap();
        b.set("cache:imis-token", b"").unwrap();
        b.set("manifest:acme", b"x").unwrap();

        let swept = step(&b, at(T0)).unwrap();

        assert_eq!(swept.inspected, 0);
        for key in [
            "tenant:acme",
            "host:acme.example",
            "cache:imis-token",
            "manifest:acme",
        ] {
            assert!(b.get(key).unwrap().is_some(), "{key} kept");
        }
    }

    #[test]
    fn successive_steps_walk_the_whole_store_and_wrap_around() {
        let b = MemBucket::default();
        let n = MIN_BUDGET * 2 + 10;
        for i in 0..n {
            once_store::put(&b, &format!("c{i:04}"), b"v", at(T0 - 1)).unwrap();
        }
        let first = step(&b, at(T0)).unwrap();
        let second = step(&b, at(T0)).unwrap();
        let third = step(&b, at(T0)).unwrap();
        assert_eq!(first.deleted, MIN_BUDGET);
        assert_eq!(second.deleted, MIN_BUDGET);
        assert_eq!(third.deleted, 10);
        assert!(b.list_keys().unwrap().iter().all(|k| !is_volatile(k)));

        // Past the end, the next step starts again from the first key.
        once_store::put(&b, "a-first", b"v", at(T0 - 1)).unwrap();
        assert_eq!(step(&b, at(T0)).unwrap().deleted, 1);
    }

    #[test]
    fn a_pass_over_a_busy_store_takes_the_same_number_of_steps_as_over_a_small_one() {
        assert_eq!(budget(0), MIN_BUDGET);
        assert_eq!(budget(1_000), MIN_BUDGET);
        assert_eq!(budget(PASS_STEPS * 100), 100);
        assert_eq!(budget(usize::MAX), MAX_BUDGET);

        // 3,000 live keys and 1,000 expired ones spread among them: about one pass of
        // PASS_STEPS steps deletes every expired one (a step reads a share of what is left, so a
        // store that shrinks as it is swept takes a few more: 19). With a fixed 64 keys a
        // step it took 63 steps.
        let b = MemBucket::default();
        for i in 0..4_000 {
            let expiry = if i % 4 == 0 { T0 - 1 } else { T0 + 60_000 };
            once_store::put(&b, &format!("k{i:05}"), b"v", at(expiry)).unwrap();
        }
        let mut deleted = 0;
        let mut steps = 0;
        while deleted < 1_000 && steps < 4 * PASS_STEPS {
            deleted += step(&b, at(T0)).unwrap().deleted;
            steps += 1;
        }
        assert!(steps <= PASS_STEPS + PASS_STEPS / 4, "{steps} steps");
        assert_eq!(deleted, 1_000);
        assert_eq!(
            b.list_keys()
                .unwrap()
                .iter()
                .filter(|k| is_volatile(k))
                .count(),
            3_000
        );
    }
}
