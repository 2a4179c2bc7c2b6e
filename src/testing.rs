//! An in-memory [`Platform`] for the core's native tests: KV in a map, outbound HTTP answered by a
//! closure (and recorded), a settable clock, deterministic randomness and captured audit events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use serde_json::{json, Value};

use crate::audit::AuditEvent;
use crate::platform::{
    OutboundRequest, OutboundResponse, Platform, PlatformError, UnixTime, MASTER_KEY_SECRET,
};
use crate::seal::{seal_secret, MasterKey};

pub const MASTER_KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
pub const NOW_MS: u64 = 1_790_000_000_000;

type Handler = Box<dyn Fn(&OutboundRequest) -> Result<OutboundResponse, PlatformError>>;

pub struct FakePlatform {
    pub kv: RefCell<HashMap<String, Vec<u8>>>,
    pub kv_reads: Cell<usize>,
    pub handler: RefCell<Handler>,
    pub requests: RefCell<Vec<OutboundRequest>>,
    pub now: Cell<u64>,
    pub counter: Cell<u64>,
    pub logs: RefCell<Vec<AuditEvent>>,
    /// Take-once values with their expiry (milliseconds).
    pub once: RefCell<HashMap<String, (Vec<u8>, u64)>>,
    /// Counters with their expiry (milliseconds), as the runtimes keep them.
    pub counters: RefCell<HashMap<String, (i64, u64)>>,
    /// Every outbound request first yields to the executor once, so that concurrent requests
    /// interleave there as they would on a runtime waiting for iMIS.
    pub yield_on_fetch: Cell<bool>,
    pub slept_ms: Cell<u64>,
    /// Answers `sign` with a fixed 256-byte value instead of signing (native cost measurements
    /// of the code around the signatures only; nothing verifies such a signature).
    pub stub_sign: Cell<bool>,
    /// Behave like a runtime without long-lived instances (Spin): keep a shared cache.
    pub shared_cache: Cell<bool>,
    pub shared: RefCell<HashMap<String, Vec<u8>>>,
    /// Counter increments fail, as a full or unreachable store refuses writes.
    pub counter_writes_fail: Cell<bool>,
    /// The XML verifier cannot be reached, as when its Worker or component is not deployed.
    pub xml_verifier_down: Cell<bool>,
    /// How many times the XML verifier was asked.
    pub xml_verifications: Cell<usize>,
    /// What comes back in place of the XML verifier's own answer, as a runtime's error page.
    pub xml_verifier_answer: RefCell<Option<OutboundResponse>>,
}

impl Default for FakePlatform {
    fn default() -> Self {
        Self {
            kv: RefCell::default(),
            kv_reads: Cell::new(0),
            handler: RefCell::new(Box::new(|_| {
                Err(PlatformError::Fetch("no network in tests".into()))
            })),
            requests: RefCell::default(),
            now: Cell::new(NOW_MS),
            counter: Cell::new(0),
            logs: RefCell::default(),
            once: RefCell::default(),
            counters: RefCell::default(),
            yield_on_fetch: Cell::new(false),
            slept_ms: Cell::new(0),
            stub_sign: Cell::new(false),
            shared_cache: Cell::new(false),
            shared: RefCell::default(),
            counter_writes_fail: Cell::new(false),
            xml_verifier_down: Cell::new(false),
            xml_verifications: Cell::new(0),
            xml_verifier_answer: RefCell::default(),
        }
    }
}

impl FakePlatform {
    pub fn put_kv(&self, key: &str, value: &str) {
        self.kv
            .borrow_mut()
            .insert(key.to_string(), value.as_bytes().to_vec());
    }

    pub fn on_fetch(
        &self,
        f: impl Fn(&OutboundRequest) -> Result<OutboundResponse, PlatformError> + 'static,
    ) {
        *self.handler.borrow_mut() = Box::new(f);
    }

    pub fn advance_secs(&self, secs: u64) {
        self.now.set(self.now.get() + secs * 1000);
    }

    /// The audit lines' reasons, in order.
    pub fn reasons(&self) -> Vec<String> {
        self.logs
            .borrow()
            .iter()
            .filter_map(|e| e.reason.clone())
            .collect()
    }

    pub fn events(&self) -> Vec<String> {
        self.logs
            .borrow()
            .iter()
            .map(|e| e.event.to_string())
            .collect()
    }
}

impl Platform for FakePlatform {
    async fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, PlatformError> {
        self.kv_reads.set(self.kv_reads.get() + 1);
        Ok(self.kv.borrow().get(key).cloned())
    }

    async fn fetch(&self, req: OutboundRequest) -> Result<OutboundResponse, PlatformError> {
        if self.yield_on_fetch.get() {
            YieldOnce(false).await;
        }
        self.requests.borrow_mut().push(req.clone());
        (self.handler.borrow())(&req)
    }

    async fn put_once(&self, key: &str, value: &[u8], ttl_s: u32) -> Result<(), PlatformError> {
        let expires = self.now.get() + u64::from(ttl_s) * 1000;
        self.once
            .borrow_mut()
            .insert(key.to_string(), (value.to_vec(), expires));
        Ok(())
    }

    async fn take_once(&self, key: &str) -> Result<Option<Vec<u8>>, PlatformError> {
        let now = self.now.get();
        Ok(self
            .once
            .borrow_mut()
            .remove(key)
            .filter(|(_, expires)| now < *expires)
            .map(|(v, _)| v))
    }

    async fn shared_get(&self, key: &str) -> Option<Vec<u8>> {
        if !self.shared_cache.get() {
            return None;
        }
        self.shared.borrow().get(key).cloned()
    }

    async fn shared_put(&self, key: &str, value: &[u8]) {
        if self.shared_cache.get() {
            self.shared
                .borrow_mut()
                .insert(key.to_string(), value.to_vec());
        }
    }

    async fn count(&self, key: &str, window_s: u32, delta: i64) -> Result<i64, PlatformError> {
        if delta != 0 && self.counter_writes_fail.get() {
            return Err(PlatformError::Store("the store refuses writes".into()));
        }
        let now = self.now.get();
        let mut counters = self.counters.borrow_mut();
        let entry = counters
            .entry(key.to_string())
            .or_insert((0, now + u64::from(window_s) * 1000));
        if now >= entry.1 {
            *entry = (0, now + u64::from(window_s) * 1000);
        }
        entry.0 += delta;
        Ok(entry.0)
    }

    async fn sign(
        &self,
        key: &crate::crypto::KeyRef<'_>,
        msg: &[u8],
    ) -> Result<Vec<u8>, PlatformError> {
        if self.stub_sign.get() {
            return Ok(vec![0x5a; 256]);
        }
        let soft = crate::crypto::SoftKey::parse(key.alg, key.pkcs8_der)
            .map_err(|e| PlatformError::Crypto(e.to_string()))?;
        soft.sign(msg)
            .map_err(|e| PlatformError::Crypto(e.to_string()))
    }

    async fn ask_xml_verifier(&self, body: Vec<u8>) -> Result<OutboundResponse, PlatformError> {
        self.xml_verifications.set(self.xml_verifications.get() + 1);
        if self.xml_verifier_down.get() {
            return Err(PlatformError::Fetch(
                "the XML verifier is not deployed".into(),
            ));
        }
        if let Some(answer) = self.xml_verifier_answer.borrow().clone() {
            return Ok(answer);
        }
        // The verifier itself, reading the core's request as its Worker or component does.
        let (status, answer) = edge_idp_xml_verify::answer(&body);
        Ok(OutboundResponse {
            status,
            headers: Vec::new(),
            body: answer.into_bytes(),
        })
    }

    async fn sleep(&self, ms: u32) {
        self.slept_ms.set(self.slept_ms.get() + u64::from(ms));
        self.now.set(self.now.get() + u64::from(ms));
    }

    fn now(&self) -> UnixTime {
        UnixTime::from_millis(self.now.get())
    }

    fn random(&self, buf: &mut [u8]) {
        // Deterministic but not periodic (splitmix64): a plain byte counter repeats every 256
        // bytes, so RSA blinding (which draws 256 bytes per try) could retry forever.
        for chunk in buf.chunks_mut(8) {
            let s = self.counter.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
            self.counter.set(s);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }

    fn secret(&self, name: &str) -> Option<String> {
        (name == MASTER_KEY_SECRET).then(|| MASTER_KEY_B64.to_string())
    }

    fn log(&self, event: &AuditEvent) {
        self.logs.borrow_mut().push(event.clone());
    }
}

pub fn sealed(tenant: &str, plaintext: &str) -> String {
    let master = MasterKey::from_base64(MASTER_KEY_B64).unwrap();
    seal_secret(&master, tenant, [7u8; 12], plaintext)
}

/// A valid tenant value for `id` served at `host`, iMIS at `imis_base`.
pub fn tenant_json(id: &str, host: &str, imis_base: &str) -> Value {
    json!({
        "schema_version": 1,
        "id": id,
        "config_version": 3,
        "name": format!("{id} association"),
        "hostnames": [host],
        "branding": {"primary_color": "#112233"},
        "identity_mode": "imis_cloud",
        "imis": {
            "base_url": imis_base,
            "timeout_ms": 2000,
            "background_account": {"username": "edgeidp-service", "password": sealed(id, "Service-Passw0rd")},
            "sso": {"oidc": {"page_url": format!("{imis_base}/sso/EdgeIdP-OIDC"), "client_id": "EdgeIdP-OIDC",
                             "client_secret": sealed(id, "oidc-secret")}}
        }
    })
}

/// Registers a host and tenant in the fake KV.
pub fn add_tenant(p: &FakePlatform, id: &str, host: &str, imis_base: &str) {
    p.put_kv(
        &crate::kv_key::host(host),
        &json!({"schema_version": 1, "tenant": id}).to_string(),
    );
    p.put_kv(
        &crate::kv_key::tenant(id),
        &tenant_json(id, host, imis_base).to_string(),
    );
}

/// The quoted value that follows `marker` in a page, e.g. `name="t" value="` for the sign-out
/// form's token or `action="` for a form's target.
pub fn value_after(html: &str, marker: &str) -> String {
    html.split(marker)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no {marker} in {html}"))
        .to_string()
}

/// The anti-forgery token of a page's sign-out form.
pub fn signout_token(html: &str) -> String {
    value_after(html, "name=\"t\" value=\"")
}

/// A future that is pending once (waking itself), then ready.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

pub fn json_response(status: u16, body: &str) -> Result<OutboundResponse, PlatformError> {
    Ok(OutboundResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    })
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

/// A browser for the core's tests: a cookie jar over the IdP, for one host. It keeps the
/// `__Host-` cookies the IdP sets (and drops them on `Max-Age=0`); a `strict` browser also
/// asserts that every cookie is a `__Host-` cookie with `Secure; HttpOnly; SameSite=None`.
pub struct Browser<'a> {
    pub idp: &'a crate::Idp,
    pub p: &'a FakePlatform,
    pub host: &'a str,
    pub strict: bool,
    pub jar: HashMap<String, String>,
}

impl<'a> Browser<'a> {
    pub fn new(idp: &'a crate::Idp, p: &'a FakePlatform, host: &'a str) -> Self {
        Self {
            idp,
            p,
            host,
            strict: false,
            jar: HashMap::new(),
        }
    }

    /// Sends a request with the jar's cookies, extra headers and an urlencoded form body.
    pub fn send(
        &mut self,
        method: crate::platform::HttpMethod,
        path: &str,
        form: Option<&str>,
        headers: &[(&str, &str)],
    ) -> crate::http::Response {
        let mut req = crate::http::Request::new(method, self.host, path);
        let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if !cookies.is_empty() {
            req.headers.push(("cookie".into(), cookies.join("; ")));
        }
        for (k, v) in headers {
            req.headers.push((k.to_string(), v.to_string()));
        }
        if let Some(form) = form {
            req.body = form.as_bytes().to_vec();
            req.headers.push((
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        let resp = futures_executor::block_on(self.idp.handle(req, self.p));
        for (k, v) in &resp.headers {
            if k != "set-cookie" {
                continue;
            }
            let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if self.strict {
                assert!(
                    attrs.contains("Secure")
                        && attrs.contains("HttpOnly")
                        && attrs.contains("SameSite=None")
                );
                assert!(name.starts_with("__Host-"));
            }
            if attrs.contains("Max-Age=0") {
                self.jar.remove(name);
            } else if name.starts_with("__Host-") {
                self.jar.insert(name.to_string(), value.to_string());
            }
        }
        resp
    }

    /// The origin of the iMIS site of this browser's host's tenant, from the fake KV.
    pub fn imis_origin(&self) -> Option<String> {
        let host = self.host.split(':').next()?;
        let kv = self.p.kv.borrow();
        let host_doc: Value = serde_json::from_slice(kv.get(&crate::kv_key::host(host))?).ok()?;
        let tenant = host_doc.get("tenant")?.as_str()?;
        let doc: Value = serde_json::from_slice(kv.get(&crate::kv_key::tenant(tenant))?).ok()?;
        crate::http::origin_of(doc.pointer("/imis/base_url")?.as_str()?)
    }

    pub fn get(&mut self, path: &str) -> crate::http::Response {
        self.send(crate::platform::HttpMethod::Get, path, None, &[])
    }

    /// POSTs a form. To the iMIS callbacks it is posted from the tenant's iMIS site, as iMIS's
    /// hand-off form is, and the browser says so in `Origin`.
    pub fn post(&mut self, path: &str, form: &str) -> crate::http::Response {
        let origin = self
            .imis_origin()
            .filter(|_| path.ends_with("/imis/callback"));
        let headers: Vec<(&str, &str)> = origin.iter().map(|o| ("origin", o.as_str())).collect();
        self.send(
            crate::platform::HttpMethod::Post,
            path,
            Some(form),
            &headers,
        )
    }
}
