//! Fermyon Spin adapter: converts Spin's requests to the core's, implements the core's
//! [`Platform`] over Spin key-value (with `wasi:keyvalue/atomics` for the take-once store),
//! outbound HTTP with a timeout, and the component's environment, and converts the response back.
//! No protocol logic lives here.

#[cfg(test)]
mod mem_bucket;
mod once_store;
mod sweep;

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, LazyLock, Mutex};
use std::task::Poll;

use edge_idp::audit::{AuditEvent, Outcome};
use edge_idp::crypto::{KeyRef, SoftKey};
use edge_idp::http::{read_body_capped, split_authority, Request as CoreRequest};
use edge_idp::platform::{
    bindings, HttpMethod, OutboundRequest, OutboundResponse, Platform, PlatformError, UnixTime,
    XML_VERIFIER_TIMEOUT_MS,
};
use edge_idp::Idp;
use futures_util::future::{select, Either};
use once_store::SpinBucket;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::key_value::Store;

/// Per-isolate state (caches of tenant config and iMIS tokens).
static IDP: LazyLock<Idp> = LazyLock::new(Idp::new);

/// The component's entry point. The `http_component` macro exports it through the generated WASI
/// bindings, which need `unsafe`; nothing else in the adapter does. It works on the raw WASI types
/// because Spin's buffered `Response` keeps one value per header name, and a response may carry
/// several `Set-Cookie` headers.
#[allow(unsafe_code)]
mod entry {
    use super::*;
    use spin_sdk::http::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam};

    #[http_component]
    async fn handle(req: IncomingRequest, out: ResponseOutparam) {
        let core = to_core(req).await;
        // Only after a request without a body: one whose body was refused unread (413) must
        // end at once, or the client may see its connection closed before the answer.
        let may_sweep = matches!(core.method, HttpMethod::Get | HttpMethod::Head);
        let resp = answer(core).await;
        let headers: Vec<(String, Vec<u8>)> = resp
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
            .collect();
        let outgoing =
            OutgoingResponse::new(Fields::from_list(&headers).unwrap_or_else(|_| Fields::new()));
        let _ = outgoing.set_status_code(resp.status);
        let _ = out.set_with_body(outgoing, resp.body).await;
        // The response is complete: the client does not wait for this.
        if may_sweep {
            sweep_sometimes(&SpinPlatform);
        }
    }
}

/// The core's answer to a request; a bench build (feature `bench`) also answers the
/// measurement route.
async fn answer(core: CoreRequest) -> edge_idp::http::Response {
    #[cfg(feature = "bench")]
    if core.path == edge_idp::bench::PATH {
        return edge_idp::bench::serve(&core, &SpinPlatform).await;
    }
    IDP.handle(core, &SpinPlatform).await
}

/// Runs a sweep step of the store on one request in [`sweep::ONE_IN`], and logs what it did.
fn sweep_sometimes(platform: &SpinPlatform) {
    let mut roll = [0u8; 1];
    fill_random(&mut roll);
    let [roll] = roll;
    if roll % sweep::ONE_IN != 0 {
        return;
    }
    let now = platform.now();
    let (outcome, reason) = match SpinBucket::open().and_then(|b| sweep::step(&b, now)) {
        Ok(swept) if swept.deleted == 0 => return,
        Ok(swept) => (
            Outcome::Success,
            format!(
                "deleted {} expired of {} entries read",
                swept.deleted, swept.inspected
            ),
        ),
        Err(e) => (Outcome::Failure, e.to_string()),
    };
    platform.log(&AuditEvent {
        kind: "audit",
        event: "store.swept",
        outcome,
        tenant: None,
        app: None,
        user: None,
        request_id: String::from("sweep"),
        reason: Some(reason),
        ts: now.millis,
    });
}

async fn to_core(req: spin_sdk::http::IncomingRequest) -> CoreRequest {
    // Spin puts the Host into the request authority (docs/toolchain.md §3); fall back to the header.
    let headers: Vec<(String, String)> = req
        .headers()
        .entries()
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), String::from_utf8(v).ok()?)))
        .collect();
    let authority = req
        .authority()
        .filter(|a| !a.is_empty())
        .or_else(|| {
            headers
                .iter()
                .find(|(k, _)| k == "host")
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_default();
    let (host, port) = split_authority(&authority);
    let path_and_query = req.path_with_query().unwrap_or_else(|| "/".into());
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (path_and_query.clone(), String::new()),
    };
    let method = HttpMethod::parse(&req.method().to_string());
    let body = match method {
        HttpMethod::Get | HttpMethod::Head => Vec::new(),
        _ => read_body_capped(req.into_body_stream()).await,
    };
    CoreRequest {
        client_ip: client_ip(&headers),
        method,
        host,
        port,
        path: if path.is_empty() { "/".into() } else { path },
        query,
        headers,
        body,
    }
}

/// The client's address, from the `spin-client-addr` header ("ip:port").
///
/// Why it can be trusted: Spin's HTTP trigger sets `spin-client-addr` itself from the TCP peer of
/// the connection, appending its value after the request's own headers (Spin's trigger-http
/// `prepare_request`), so of several values the **last** is the runtime's and anything a client
/// sent comes before it. The local route's TLS terminator (scripts/tls_proxy.py) removes every
/// client-sent value and sets the peer address. Behind a further proxy or load balancer this is
/// that proxy's address: per-address throttling then counts all its clients together (fails
/// closed, never open).
fn client_ip(headers: &[(String, String)]) -> Option<String> {
    let value = headers
        .iter()
        .rev()
        .find(|(name, _)| name == "spin-client-addr")
        .map(|(_, v)| v.trim())?;
    let ip = match value.parse::<std::net::SocketAddr>() {
        Ok(addr) => addr.ip(),
        Err(_) => value.parse::<std::net::IpAddr>().ok()?,
    };
    Some(ip.to_string())
}

/// Fills `buf` from `wasi:random` (cryptographically secure; the host cannot fail it).
fn fill_random(buf: &mut [u8]) {
    let mut filled = 0;
    while filled < buf.len() {
        let want = u64::try_from(buf.len() - filled).unwrap_or(u64::MAX);
        let bytes = wasi::random::random::get_random_bytes(want);
        if bytes.is_empty() {
            break;
        }
        for (dst, src) in buf.iter_mut().skip(filled).zip(bytes) {
            *dst = src;
            filled += 1;
        }
    }
}

/// Parsed signing keys, per instance (parsing RSA costs milliseconds; signing reuses them).
static SOFT_KEYS: LazyLock<Mutex<HashMap<String, Arc<SoftKey>>>> = LazyLock::new(Mutex::default);

fn soft_key(key: &KeyRef<'_>) -> Result<Arc<SoftKey>, PlatformError> {
    if let Some(k) = SOFT_KEYS.lock().ok().and_then(|m| m.get(key.id).cloned()) {
        return Ok(k);
    }
    let parsed = Arc::new(
        SoftKey::parse(key.alg, key.pkcs8_der).map_err(|e| PlatformError::Crypto(e.to_string()))?,
    );
    if let Ok(mut m) = SOFT_KEYS.lock() {
        m.insert(key.id.to_string(), parsed.clone());
    }
    Ok(parsed)
}

/// The core's [`Platform`] on Spin.
struct SpinPlatform;

fn method(m: HttpMethod) -> Method {
    match m {
        HttpMethod::Get => Method::Get,
        HttpMethod::Post => Method::Post,
        HttpMethod::Head => Method::Head,
        HttpMethod::Options => Method::Options,
        HttpMethod::Put => Method::Put,
        HttpMethod::Delete => Method::Delete,
        HttpMethod::Other => Method::Get,
    }
}

/// A timer on the Spin executor's event loop: resolves at its deadline.
struct Sleep {
    deadline: u64,
    /// Keeps the registered clock pollable alive; dropping it cancels the registration.
    _registration: Option<spin_executor::CancelOnDropToken>,
}

/// Resolves after `ms` milliseconds.
fn sleep(ms: u32) -> Sleep {
    let deadline = wasi::clocks::monotonic_clock::now() + u64::from(ms) * 1_000_000;
    Sleep {
        deadline,
        _registration: None,
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        use wasi::clocks::monotonic_clock;
        if monotonic_clock::now() >= self.deadline {
            return Poll::Ready(());
        }
        let pollable = monotonic_clock::subscribe_instant(self.deadline);
        self._registration =
            Some(spin_executor::push_waker_and_get_token(pollable, cx.waker().clone()).into());
        Poll::Pending
    }
}

impl Platform for SpinPlatform {
    async fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, PlatformError> {
        let store =
            Store::open(bindings::SPIN_STORE).map_err(|e| PlatformError::Kv(e.to_string()))?;
        store.get(key).map_err(|e| PlatformError::Kv(e.to_string()))
    }

    async fn fetch(&self, req: OutboundRequest) -> Result<OutboundResponse, PlatformError> {
        let mut builder = Request::builder();
        builder.method(method(req.method)).uri(req.url.as_str());
        for (name, value) in &req.headers {
            builder.header(name.as_str(), value.as_str());
        }
        // Without a length the body goes chunked, which some servers (the back-channel logout
        // endpoints of small RPs among them) read as empty.
        let has_length = req
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-length"));
        if !req.body.is_empty() && !has_length {
            builder.header("content-length", req.body.len().to_string());
        }
        let outbound = builder.body(req.body).build();
        let send = pin!(spin_sdk::http::send::<_, Response>(outbound));
        match select(send, pin!(sleep(req.timeout_ms))).await {
            Either::Left((Ok(resp), _)) => Ok(OutboundResponse {
                status: *resp.status(),
                headers: resp
                    .headers()
                    .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), v.as_str()?.to_string())))
                    .collect(),
                body: resp.into_body(),
            }),
            Either::Left((Err(e), _)) => Err(PlatformError::Fetch(e.to_string())),
            Either::Right(_) => Err(PlatformError::Timeout(req.timeout_ms)),
        }
    }

    async fn ask_xml_verifier(&self, body: Vec<u8>) -> Result<OutboundResponse, PlatformError> {
        let url = spin_sdk::variables::get(bindings::SPIN_XML_VERIFIER_VARIABLE)
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| bindings::SPIN_XML_VERIFIER_URL.to_string());
        self.fetch(OutboundRequest {
            method: HttpMethod::Post,
            url,
            headers: vec![("content-type".into(), "application/json".into())],
            body,
            timeout_ms: XML_VERIFIER_TIMEOUT_MS,
        })
        .await
    }

    async fn put_once(&self, key: &str, value: &[u8], ttl_s: u32) -> Result<(), PlatformError> {
        let expires = self.now().plus_secs(u64::from(ttl_s));
        once_store::put(&SpinBucket::open()?, key, value, expires)
    }

    async fn take_once(&self, key: &str) -> Result<Option<Vec<u8>>, PlatformError> {
        once_store::take(&SpinBucket::open()?, key, self.now())
    }

    async fn count(&self, key: &str, window_s: u32, delta: i64) -> Result<i64, PlatformError> {
        once_store::count(&SpinBucket::open()?, key, window_s, delta, self.now())
    }

    async fn shared_get(&self, key: &str) -> Option<Vec<u8>> {
        once_store::shared_get(key)
    }

    async fn shared_put(&self, key: &str, value: &[u8]) {
        once_store::shared_put(key, value);
    }

    async fn sign(&self, key: &KeyRef<'_>, msg: &[u8]) -> Result<Vec<u8>, PlatformError> {
        let soft = soft_key(key)?;
        soft.sign(msg)
            .map_err(|e| PlatformError::Crypto(e.to_string()))
    }

    async fn sleep(&self, ms: u32) {
        sleep(ms).await;
    }

    fn now(&self) -> UnixTime {
        let now = wasi::clocks::wall_clock::now();
        UnixTime::from_millis(now.seconds * 1000 + u64::from(now.nanoseconds / 1_000_000))
    }

    fn random(&self, buf: &mut [u8]) {
        fill_random(buf);
    }

    fn secret(&self, name: &str) -> Option<String> {
        // Spin component variables (declared in spin.toml, filled from a secret store or
        // SPIN_VARIABLE_* in the environment). Spin variable names are lowercase.
        spin_sdk::variables::get(&name.to_ascii_lowercase())
            .ok()
            .filter(|v| !v.is_empty())
    }

    fn log(&self, event: &AuditEvent) {
        println!("{}", event.to_json_line());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::client_ip;

    fn headers(values: &[&str]) -> Vec<(String, String)> {
        let mut h = vec![("host".to_string(), "acme.localhost".to_string())];
        h.extend(
            values
                .iter()
                .map(|v| ("spin-client-addr".to_string(), v.to_string())),
        );
        h
    }

    #[test]
    fn the_client_address_is_the_runtimes_value_without_the_port() {
        assert_eq!(
            client_ip(&headers(&["203.0.113.7:51234"])).unwrap(),
            "203.0.113.7"
        );
        assert_eq!(
            client_ip(&headers(&["[2001:db8::1]:443"])).unwrap(),
            "2001:db8::1"
        );
        assert_eq!(
            client_ip(&headers(&["198.51.100.2"])).unwrap(),
            "198.51.100.2"
        );
        assert_eq!(client_ip(&headers(&[])), None);
        assert_eq!(client_ip(&headers(&["not an address"])), None);
        assert_eq!(client_ip(&headers(&["ø:1"])), None);
    }

    #[test]
    fn a_client_sent_value_comes_first_and_is_ignored() {
        // Spin appends its own value after the request's headers.
        let h = headers(&["10.0.0.1:1", "203.0.113.7:51234"]);
        assert_eq!(client_ip(&h).unwrap(), "203.0.113.7");
    }
}
