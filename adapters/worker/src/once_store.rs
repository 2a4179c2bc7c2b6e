//! The take-once store on Workers: a Durable Object, because Workers KV is eventually consistent
//! and must never hold authorization codes, refresh tokens or one-time tokens.
//!
//! A Durable Object handles one event at a time and gates its storage operations, so a get followed
//! by a delete inside its `fetch` cannot interleave with another take of the same key. Keys are
//! spread over [`SHARDS`] objects by a hash, so one tenant's sign-in peak never queues on one object.
//! Expired entries are refused on take and swept by an alarm.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use edge_idp::http::{parse_urlencoded, percent_encode};
use edge_idp::platform::{bindings, PlatformError};
use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Method, Request, RequestInit, Response, State};

/// Number of Durable Objects the keys are spread over.
pub const SHARDS: u32 = 16;

#[derive(Serialize, Deserialize)]
struct Entry {
    /// Value, base64.
    v: String,
    /// Expiry, milliseconds since the epoch.
    exp: f64,
}

/// Makes the shard's sweep run by a second after `exp` (both in ms since the epoch). The alarm is
/// moved earlier, never later: an entry that lives 30 days, written first, must not keep the
/// shard's 60-second codes stored until it expires.
async fn sweep_by(storage: &worker::Storage, now: f64, exp: f64) -> worker::Result<()> {
    let due = exp + 1000.0;
    if sweep_needs_moving(storage.get_alarm().await?, due) {
        let wait = (due - now).max(0.0);
        storage
            .set_alarm(std::time::Duration::from_millis(wait as u64))
            .await?;
    }
    Ok(())
}

/// Whether an alarm `pending` (ms since the epoch, if any) comes too late to sweep by `due`.
fn sweep_needs_moving(pending: Option<i64>, due: f64) -> bool {
    pending.is_none_or(|at| at as f64 > due)
}

fn shard_of(key: &str) -> String {
    // FNV-1a: stable across isolates and versions.
    let hash = key.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("shard-{}", hash % SHARDS)
}

async fn call(
    env: &Env,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Vec<u8>>,
) -> Result<Response, PlatformError> {
    let fail = |e: worker::Error| PlatformError::Store(e.to_string());
    let stub = env
        .durable_object(bindings::ONCE_STORE)
        .and_then(|ns| ns.get_by_name(&shard_of(key)))
        .map_err(fail)?;
    let mut init = RequestInit::new();
    init.with_method(method);
    if let Some(body) = body {
        init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    }
    let req =
        Request::new_with_init(&format!("https://once.internal{path}"), &init).map_err(fail)?;
    stub.fetch_with_request(req).await.map_err(fail)
}

#[derive(Serialize, Deserialize)]
struct Counter {
    /// Count.
    n: i64,
    /// Expiry, milliseconds since the epoch.
    exp: f64,
}

/// Adds `delta` to the counter under `key` (a fixed window of `window_s` seconds from its first
/// increment) and returns the new count.
pub async fn count(env: &Env, key: &str, window_s: u32, delta: i64) -> Result<i64, PlatformError> {
    let path = format!(
        "/count?key={}&ttl={window_s}&delta={delta}",
        percent_encode(key)
    );
    let mut resp = call(env, key, Method::Post, &path, None).await?;
    match resp.status_code() {
        200 => resp
            .text()
            .await
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .ok_or_else(|| PlatformError::Store("count answered no number".into())),
        s => Err(PlatformError::Store(format!("count answered HTTP {s}"))),
    }
}

/// Stores `value` under `key` for `ttl_s` seconds.
pub async fn put(env: &Env, key: &str, value: &[u8], ttl_s: u32) -> Result<(), PlatformError> {
    let path = format!("/put?key={}&ttl={ttl_s}", percent_encode(key));
    let resp = call(env, key, Method::Put, &path, Some(value.to_vec())).await?;
    match resp.status_code() {
        200 => Ok(()),
        s => Err(PlatformError::Store(format!("put answered HTTP {s}"))),
    }
}

/// Takes the value under `key`, at most once.
pub async fn take(env: &Env, key: &str) -> Result<Option<Vec<u8>>, PlatformError> {
    let path = format!("/take?key={}", percent_encode(key));
    let mut resp = call(env, key, Method::Post, &path, None).await?;
    match resp.status_code() {
        200 => resp
            .bytes()
            .await
            .map(Some)
            .map_err(|e| PlatformError::Store(e.to_string())),
        404 => Ok(None),
        s => Err(PlatformError::Store(format!("take answered HTTP {s}"))),
    }
}

/// The Durable Object class behind the take-once store (binding `ONCE` in wrangler.toml).
#[durable_object]
pub struct OnceStore {
    state: State,
}

impl DurableObject for OnceStore {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let url = req.url()?;
        let params = parse_urlencoded(url.query().unwrap_or(""));
        let param = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let Some(key) = param("key") else {
            return Response::error("missing key", 400);
        };
        let storage = self.state.storage();
        let now = js_sys::Date::now();
        match (req.method(), url.path()) {
            (Method::Put, "/put") => {
                let ttl: f64 = param("ttl").and_then(|t| t.parse().ok()).unwrap_or(60.0);
                let body = req.bytes().await?;
                let exp = now + ttl * 1000.0;
                storage
                    .put(
                        &key,
                        Entry {
                            v: STANDARD.encode(body),
                            exp,
                        },
                    )
                    .await?;
                sweep_by(&storage, now, exp).await?;
                Response::ok("stored")
            }
            (Method::Post, "/take") => match storage.get::<Entry>(&key).await? {
                Some(entry) => {
                    storage.delete(&key).await?;
                    if entry.exp < now {
                        return Response::error("expired", 404);
                    }
                    match STANDARD.decode(entry.v) {
                        Ok(bytes) => Ok(Response::from_bytes(bytes)?),
                        Err(_) => Response::error("corrupt entry", 500),
                    }
                }
                None => Response::error("no such key", 404),
            },
            (Method::Post, "/count") => {
                let key = format!("count:{key}");
                let ttl: f64 = param("ttl").and_then(|t| t.parse().ok()).unwrap_or(900.0);
                let delta: i64 = param("delta").and_then(|t| t.parse().ok()).unwrap_or(0);
                let counter = match storage.get::<Counter>(&key).await? {
                    Some(c) if c.exp >= now => Counter {
                        n: c.n + delta,
                        exp: c.exp,
                    },
                    _ => Counter {
                        n: delta,
                        exp: now + ttl * 1000.0,
                    },
                };
                let n = counter.n;
                if delta != 0 {
                    let exp = counter.exp;
                    storage.put(&key, counter).await?;
                    sweep_by(&storage, now, exp).await?;
                }
                Response::ok(n.to_string())
            }
            _ => Response::error("bad once-store request", 400),
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let storage = self.state.storage();
        let now = js_sys::Date::now();
        let entries = storage.list().await?;
        let mut expired = Vec::new();
        entries.for_each(&mut |value, key| {
            let exp = js_sys::Reflect::get(&value, &"exp".into())
                .ok()
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0);
            if exp < now {
                if let Some(k) = key.as_string() {
                    expired.push(k);
                }
            }
        });
        for key in &expired {
            storage.delete(key).await?;
        }
        if entries.size() > expired.len() as u32 {
            storage
                .set_alarm(std::time::Duration::from_secs(60))
                .await?;
        }
        Response::ok("swept")
    }
}

#[cfg(test)]
mod tests {
    use super::sweep_needs_moving;

    #[test]
    fn a_short_entry_moves_the_sweep_earlier_and_a_long_one_never_later() {
        let day = 86_400_000_i64;
        let now = 1_000_000_000_000_i64;
        // No alarm yet: one is set.
        assert!(sweep_needs_moving(None, (now + 61_000) as f64));
        // An alarm for a 30-day refresh token: a 60-second code pulls it in.
        assert!(sweep_needs_moving(
            Some(now + 30 * day),
            (now + 61_000) as f64
        ));
        // An alarm due sooner stays: a longer entry does not push it out.
        assert!(!sweep_needs_moving(
            Some(now + 61_000),
            (now + 30 * day) as f64
        ));
        assert!(!sweep_needs_moving(
            Some(now + 61_000),
            (now + 61_000) as f64
        ));
    }
}
