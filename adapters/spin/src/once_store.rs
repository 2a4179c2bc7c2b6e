//! The take-once store on Spin: `wasi:keyvalue/atomics` compare-and-swap over the default store.
//!
//! Spin's plain `Store` API has no atomic operation, but every Spin 3.x/4.x key-value backend
//! implements the atomics interface atomically (toolchain.md §3). A take reads the value, swaps it to
//! a tombstone with CAS — of several concurrent takers exactly one swap succeeds — then deletes it.
//! A key the read reported absent is never swapped (Spin's SQLite store would upsert it).
//!
//! Stored value: 8 bytes big-endian expiry (milliseconds since the epoch), then the payload.
//!
//! The same store holds the cache shared between instances (`cache:` keys): `wasmtime serve`
//! gives each request a fresh instance, so what the core caches in memory would not outlive it.

use edge_idp::platform::{bindings, PlatformError, UnixTime};
use spin_sdk::wit::wasi::keyvalue::{atomics, store};

/// What a taken value is swapped to before it is deleted.
const TOMBSTONE: &[u8] = b"\0taken";

fn err(what: &str, e: impl std::fmt::Debug) -> PlatformError {
    PlatformError::Store(format!("{what}: {e:?}"))
}

fn bucket() -> Result<store::Bucket, PlatformError> {
    store::open(bindings::SPIN_STORE).map_err(|e| err("open", e))
}

/// Stores `value` under `key` until `expires`.
pub fn put(key: &str, value: &[u8], expires: UnixTime) -> Result<(), PlatformError> {
    let mut stored = expires.millis.to_be_bytes().to_vec();
    stored.extend_from_slice(value);
    bucket()?.set(key, &stored).map_err(|e| err("set", e))
}

/// Takes the value under `key`, at most once, if it has not expired at `now`.
pub fn take(key: &str, now: UnixTime) -> Result<Option<Vec<u8>>, PlatformError> {
    let bucket = bucket()?;
    let cas = atomics::Cas::new(&bucket, key).map_err(|e| err("cas", e))?;
    let stored = match cas.current().map_err(|e| err("cas current", e))? {
        None => return Ok(None),
        Some(v) if v == TOMBSTONE => return Ok(None),
        Some(v) => v,
    };
    match atomics::swap(cas, TOMBSTONE) {
        Ok(()) => {
            // Ours now; the losers' CAS fails whether the tombstone is still there or not.
            let _ = bucket.delete(key);
        }
        Err(atomics::CasError::CasFailed(_)) => return Ok(None),
        Err(atomics::CasError::StoreError(e)) => return Err(err("swap", e)),
    }
    if stored.len() < 8 {
        return Ok(None);
    }
    let (exp, payload) = stored.split_at(8);
    let exp = u64::from_be_bytes(exp.try_into().map_err(|e| err("expiry", e))?);
    Ok((now.millis < exp).then(|| payload.to_vec()))
}

/// Adds `delta` to a counter and returns the new count. Spin's atomics have no expiry, so the
/// counter's key carries its fixed window (`{key}:{window number}`); a new window starts at zero.
pub fn count(key: &str, window_s: u32, delta: i64, now: UnixTime) -> Result<i64, PlatformError> {
    let window = now.secs() / u64::from(window_s.max(1));
    let key = format!("count:{key}:{window}");
    atomics::increment(&bucket()?, &key, delta).map_err(|e| err("increment", e))
}

/// The cache shared between instances: the value under `cache:{key}`, if any.
pub fn shared_get(key: &str) -> Option<Vec<u8>> {
    bucket().ok()?.get(&format!("cache:{key}")).ok().flatten()
}

/// Puts a value into the shared cache (best effort: a failed write only costs a refetch).
pub fn shared_put(key: &str, value: &[u8]) {
    if let Ok(bucket) = bucket() {
        let _ = bucket.set(&format!("cache:{key}"), value);
    }
}
