//! Cloudflare Workers adapter: converts workerd requests to the core's, implements the core's
//! [`Platform`] over Workers KV, a Durable Object take-once store, `fetch` and the runtime's
//! secrets, and converts the core's response back. No protocol logic lives here.

// `#[durable_object]` generates exported wasm-bindgen glue without docs.
#[allow(missing_docs)]
mod once_store;
mod webcrypto;

use std::cell::Cell;
use std::sync::LazyLock;
use std::time::Duration;

use edge_idp::audit::AuditEvent;
use edge_idp::crypto::{KeyRef, RsaHash, RsaPublicKeyRef};
use edge_idp::http::{
    read_body_capped, split_authority, Request as CoreRequest, Response as CoreResponse,
};
use edge_idp::platform::{
    bindings, HttpMethod, OutboundRequest, OutboundResponse, Platform, PlatformError, UnixTime,
    XML_VERIFIER_TIMEOUT_MS,
};
use edge_idp::Idp;
use futures_util::future::{select, Either};
use worker::{
    console_log, event, AbortController, Context, Delay, Env, Fetch, Headers, Method, Request,
    RequestInit, Response, ResponseBuilder,
};

pub use once_store::OnceStore;

/// Per-isolate state (caches of tenant config and iMIS tokens).
static IDP: LazyLock<Idp> = LazyLock::new(Idp::new);

#[event(start)]
fn start() {
    // A panic must never surface as a hung request; log it as one line instead of a stack dump.
    std::panic::set_hook(Box::new(|info| {
        console_log!("{{\"kind\":\"panic\",\"message\":{:?}}}", info.to_string());
    }));
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let platform = WorkerPlatform {
        env,
        randomness: Randomness::default(),
    };
    let core_req = match to_core(req).await {
        Ok(r) => r,
        Err(e) => return plain(400, &format!("bad request: {e}")),
    };
    #[cfg(feature = "bench")]
    if core_req.path == edge_idp::bench::PATH {
        return from_core(edge_idp::bench::serve(&core_req, &platform).await);
    }
    let resp = IDP.handle(core_req, &platform).await;
    from_core(platform.randomness.guard(resp))
}

/// The randomness of one request, failing closed: if the runtime could not give random bytes,
/// whatever the core made with them is discarded — the answer is a plain 503 (no cookie, no
/// token, no page) — and nothing more is put into the take-once store.
#[derive(Default)]
struct Randomness {
    failed: Cell<bool>,
}

impl Randomness {
    /// Fills `buf` with `source`; a failure zeroes it, marks the request and answers false.
    fn fill(
        &self,
        buf: &mut [u8],
        source: impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error>,
    ) -> bool {
        if source(buf).is_ok() {
            return true;
        }
        buf.fill(0);
        self.failed.set(true);
        false
    }

    fn failed(&self) -> bool {
        self.failed.get()
    }

    /// The core's response, or a 503 in its place when randomness failed during the request.
    fn guard(&self, resp: CoreResponse) -> CoreResponse {
        if !self.failed() {
            return resp;
        }
        CoreResponse {
            status: 503,
            headers: vec![
                ("content-type".into(), "text/plain; charset=utf-8".into()),
                ("cache-control".into(), "no-store".into()),
            ],
            body: b"Service temporarily unavailable.".to_vec(),
        }
    }
}

async fn to_core(mut req: Request) -> worker::Result<CoreRequest> {
    let url = req.url()?;
    let authority = req
        .headers()
        .get("host")?
        .or_else(|| {
            url.host_str().map(|h| match url.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        })
        .unwrap_or_default();
    let (host, port) = split_authority(&authority);
    let body = match req.method() {
        Method::Get | Method::Head => Vec::new(),
        _ => match req.stream() {
            Ok(stream) => read_body_capped(stream).await,
            Err(_) => Vec::new(),
        },
    };
    // Cloudflare sets cf-connecting-ip itself (a client cannot); wrangler dev sets it locally.
    let client_ip = req.headers().get("cf-connecting-ip")?;
    Ok(CoreRequest {
        client_ip,
        method: HttpMethod::parse(req.method().as_ref()),
        host,
        port,
        path: url.path().to_string(),
        query: url.query().unwrap_or("").to_string(),
        headers: req
            .headers()
            .entries()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect(),
        body,
    })
}

fn from_core(resp: CoreResponse) -> worker::Result<Response> {
    let headers = Headers::new();
    for (name, value) in &resp.headers {
        headers.append(name, value)?;
    }
    Ok(ResponseBuilder::new()
        .with_status(resp.status)
        .with_headers(headers)
        .fixed(resp.body))
}

fn plain(status: u16, text: &str) -> worker::Result<Response> {
    Ok(Response::ok(text)?.with_status(status))
}

/// The core's [`Platform`] on Workers.
struct WorkerPlatform {
    env: Env,
    randomness: Randomness,
}

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

impl Platform for WorkerPlatform {
    async fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, PlatformError> {
        let kv = self
            .env
            .kv(bindings::TENANTS_KV)
            .map_err(|e| PlatformError::Kv(e.to_string()))?;
        kv.get(key)
            .bytes()
            .await
            .map_err(|e| PlatformError::Kv(e.to_string()))
    }

    async fn fetch(&self, req: OutboundRequest) -> Result<OutboundResponse, PlatformError> {
        let fail = |e: worker::Error| PlatformError::Fetch(e.to_string());
        let headers = Headers::new();
        for (name, value) in &req.headers {
            headers.append(name, value).map_err(fail)?;
        }
        let mut init = RequestInit::new();
        init.with_method(method(req.method)).with_headers(headers);
        if !req.body.is_empty() {
            init.with_body(Some(js_sys::Uint8Array::from(req.body.as_slice()).into()));
        }
        let outbound = Request::new_with_init(&req.url, &init).map_err(fail)?;
        let controller = AbortController::default();
        let signal = controller.signal();
        let send = Box::pin(async move {
            let mut resp = Fetch::Request(outbound).send_with_signal(&signal).await?;
            let body = resp.bytes().await?;
            let headers = resp
                .headers()
                .entries()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect();
            Ok::<_, worker::Error>(OutboundResponse {
                status: resp.status_code(),
                headers,
                body,
            })
        });
        let timeout = Box::pin(Delay::from(Duration::from_millis(u64::from(
            req.timeout_ms,
        ))));
        match select(send, timeout).await {
            Either::Left((result, _)) => result.map_err(fail),
            Either::Right(_) => {
                controller.abort();
                Err(PlatformError::Timeout(req.timeout_ms))
            }
        }
    }

    async fn rsa_verify(
        &self,
        key: &RsaPublicKeyRef<'_>,
        hash: RsaHash,
        msg: &[u8],
        sig: &[u8],
    ) -> bool {
        match webcrypto::rsa_verify(key.spki_der, hash, msg, sig).await {
            Ok(verdict) => verdict,
            // A key WebCrypto will not import (an exponent it refuses): our own arithmetic.
            Err(_) => key.verify(hash, msg, sig),
        }
    }

    async fn ask_xml_verifier(&self, body: Vec<u8>) -> Result<OutboundResponse, PlatformError> {
        let fail = |e: worker::Error| PlatformError::Fetch(format!("XML verifier: {e}"));
        let verifier = self.env.service(bindings::XML_VERIFIER).map_err(fail)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
        // A service binding ignores the host: the path is all the verifier reads.
        let url = format!("https://xml-verifier{}", edge_idp_xml_verify::PATH);
        let ask = Box::pin(async move {
            let mut resp = verifier.fetch(url, Some(init)).await?;
            Ok::<_, worker::Error>(OutboundResponse {
                status: resp.status_code(),
                headers: Vec::new(),
                body: resp.bytes().await?,
            })
        });
        let timeout = Box::pin(Delay::from(Duration::from_millis(u64::from(
            XML_VERIFIER_TIMEOUT_MS,
        ))));
        match select(ask, timeout).await {
            Either::Left((result, _)) => result.map_err(fail),
            Either::Right(_) => Err(PlatformError::Timeout(XML_VERIFIER_TIMEOUT_MS)),
        }
    }

    async fn put_once(&self, key: &str, value: &[u8], ttl_s: u32) -> Result<(), PlatformError> {
        if self.randomness.failed() {
            // What would be stored was made with predictable bytes.
            return Err(PlatformError::Store(
                "no randomness for this request".into(),
            ));
        }
        once_store::put(&self.env, key, value, ttl_s).await
    }

    async fn take_once(&self, key: &str) -> Result<Option<Vec<u8>>, PlatformError> {
        once_store::take(&self.env, key).await
    }

    async fn count(&self, key: &str, window_s: u32, delta: i64) -> Result<i64, PlatformError> {
        once_store::count(&self.env, key, window_s, delta).await
    }

    async fn sign(&self, key: &KeyRef<'_>, msg: &[u8]) -> Result<Vec<u8>, PlatformError> {
        webcrypto::sign(key, msg).await
    }

    async fn sleep(&self, ms: u32) {
        Delay::from(Duration::from_millis(u64::from(ms))).await;
    }

    fn now(&self) -> UnixTime {
        UnixTime::from_millis(js_sys::Date::now() as u64)
    }

    fn random(&self, buf: &mut [u8]) {
        // crypto.getRandomValues does not fail on Workers; if it ever does, the request fails
        // closed (see `Randomness`).
        if !self.randomness.fill(buf, getrandom::getrandom) {
            console_log!("{{\"kind\":\"error\",\"message\":\"getrandom failed: answering 503\"}}");
        }
    }

    fn secret(&self, name: &str) -> Option<String> {
        self.env.secret(name).ok().map(|s| s.to_string())
    }

    fn log(&self, event: &AuditEvent) {
        console_log!("{}", event.to_json_line());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn page_with_session() -> CoreResponse {
        CoreResponse {
            status: 303,
            headers: vec![
                ("location".into(), "/".into()),
                (
                    "set-cookie".into(),
                    "__Host-idp=abc; Secure; HttpOnly".into(),
                ),
            ],
            body: b"signed in".to_vec(),
        }
    }

    #[test]
    fn a_failed_getrandom_answers_503_without_anything_made_from_it() {
        let r = Randomness::default();
        let mut buf = [0xaa; 16];
        assert!(!r.fill(&mut buf, |_| Err(getrandom::Error::UNSUPPORTED)));
        assert_eq!(buf, [0; 16]);
        let resp = r.guard(page_with_session());
        assert_eq!(resp.status, 503);
        assert!(resp
            .headers
            .iter()
            .all(|(k, _)| k != "set-cookie" && k != "location"));
        assert!(!String::from_utf8(resp.body).unwrap().contains("signed in"));
    }

    #[test]
    fn working_randomness_leaves_the_response_alone() {
        let r = Randomness::default();
        let mut buf = [0; 32];
        assert!(r.fill(&mut buf, getrandom::getrandom));
        assert_ne!(buf, [0; 32]);
        let resp = r.guard(page_with_session());
        assert_eq!(resp.status, 303);
        assert!(resp.headers.iter().any(|(k, _)| k == "set-cookie"));
    }
}
