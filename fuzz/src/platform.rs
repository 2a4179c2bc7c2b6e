//! An in-process, deterministic [`Platform`] for the fuzz targets: KV in a map seeded with the
//! demo tenants ([`crate::world`]), outbound HTTP answered by a canned iMIS ([`Imis`]), a fixed
//! clock, a seeded splitmix64 for randomness, and in-memory take-once and counter stores.
//!
//! Everything is reset for each fuzz input, so an input always behaves the same way.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use edge_idp::audit::AuditEvent;
use edge_idp::crypto::{KeyRef, SoftKey};
use edge_idp::platform::{
    OutboundRequest, OutboundResponse, Platform, PlatformError, UnixTime, MASTER_KEY_SECRET,
};

/// The runtime master key of the fake (the same as the core's own tests).
pub const MASTER_KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
/// The fixed clock: 2026-09-21T14:13:20Z.
pub const NOW_MS: u64 = 1_790_000_000_000;

/// How the canned iMIS answers.
#[derive(Debug, Clone, Default)]
pub struct Imis {
    /// Every request fails this way instead (`None`: answer).
    pub fail: Option<PlatformError>,
    /// Raw answers (status, body) that replace the canned ones, by endpoint kind:
    /// `token`, `user`, `person`, `iqa`.
    pub overrides: HashMap<&'static str, (u16, Vec<u8>)>,
}

/// The fake runtime.
pub struct FakePlatform {
    /// Tenant configuration store.
    pub kv: RefCell<HashMap<String, Vec<u8>>>,
    /// Take-once store.
    pub once: RefCell<HashMap<String, Vec<u8>>>,
    /// Counters.
    pub counters: RefCell<HashMap<String, i64>>,
    /// Shared cache (Spin-like when `shared_cache` is set).
    pub shared: RefCell<HashMap<String, Vec<u8>>>,
    /// Behave like a runtime without long-lived instances.
    pub shared_cache: Cell<bool>,
    /// Clock, milliseconds.
    pub now: Cell<u64>,
    /// splitmix64 state.
    pub rng: Cell<u64>,
    /// The canned iMIS.
    pub imis: RefCell<Imis>,
    /// Outbound requests sent (URLs), for invariants.
    pub fetched: RefCell<Vec<String>>,
    /// Audit events written.
    pub logs: RefCell<Vec<AuditEvent>>,
    /// Parsed signing keys by cache id (parsing RSA costs milliseconds).
    keys: RefCell<HashMap<String, std::rc::Rc<SoftKey>>>,
    /// Whether `secret(MASTER_KEY)` answers.
    pub has_master_key: Cell<bool>,
}

impl Default for FakePlatform {
    fn default() -> Self {
        Self {
            kv: RefCell::default(),
            once: RefCell::default(),
            counters: RefCell::default(),
            shared: RefCell::default(),
            shared_cache: Cell::new(false),
            now: Cell::new(NOW_MS),
            rng: Cell::new(0x5eed),
            imis: RefCell::default(),
            fetched: RefCell::default(),
            logs: RefCell::default(),
            keys: RefCell::default(),
            has_master_key: Cell::new(true),
        }
    }
}

impl FakePlatform {
    /// Puts a KV value.
    pub fn put_kv(&self, key: &str, value: impl Into<Vec<u8>>) {
        self.kv.borrow_mut().insert(key.to_string(), value.into());
    }

    /// Empties the per-input state (stores, logs), keeping KV and parsed keys.
    pub fn reset(&self) {
        self.once.borrow_mut().clear();
        self.counters.borrow_mut().clear();
        self.shared.borrow_mut().clear();
        self.shared_cache.set(false);
        self.now.set(NOW_MS);
        self.rng.set(0x5eed);
        *self.imis.borrow_mut() = Imis::default();
        self.fetched.borrow_mut().clear();
        self.logs.borrow_mut().clear();
        self.has_master_key.set(true);
    }

    fn answer(&self, req: &OutboundRequest) -> Result<OutboundResponse, PlatformError> {
        let imis = self.imis.borrow();
        if let Some(e) = &imis.fail {
            return Err(e.clone());
        }
        let url = req.url.as_str();
        let kind = if url.ends_with("/token") {
            "token"
        } else if url.contains("/api/User?") {
            "user"
        } else if url.contains("/api/Person/") {
            "person"
        } else if url.contains("/api/IQA?") {
            "iqa"
        } else {
            "other"
        };
        if let Some((status, body)) = imis.overrides.get(kind) {
            return Ok(json(*status, body.clone()));
        }
        Ok(canned(kind, req))
    }
}

fn json(status: u16, body: Vec<u8>) -> OutboundResponse {
    OutboundResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body,
    }
}

/// The emulator's demo members, reduced: `jsmith` (member), `bwayne` (No Access code `S`),
/// `disabled` (disabled login); password `Member-Passw0rd`; any refresh token is `jsmith`'s.
fn canned(kind: &str, req: &OutboundRequest) -> OutboundResponse {
    let body = String::from_utf8_lossy(&req.body);
    let form = edge_idp::http::parse_urlencoded(&body);
    let field = |n: &str| {
        form.iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    match kind {
        "token" => match field("grant_type") {
            "refresh_token" if field("refresh_token").starts_with("bad") => json(
                400,
                br#"{"error":"invalid_grant","error_description":"expired"}"#.to_vec(),
            ),
            "refresh_token" => json(
                200,
                br#"{"access_token":"member-token","token_type":"bearer","expires_in":1199,"userName":"jsmith"}"#
                    .to_vec(),
            ),
            "password"
                if matches!(field("password"), "Member-Passw0rd" | "Service-Passw0rd") =>
            {
                let user = field("username");
                json(
                    200,
                    format!(
                        r#"{{"access_token":"tok-{}","token_type":"bearer","expires_in":1199,"userName":{}}}"#,
                        user.len(),
                        serde_json::Value::String(user.to_string())
                    )
                    .into_bytes(),
                )
            }
            _ => json(
                400,
                br#"{"error":"invalid_grant","error_description":"The user name or password is incorrect."}"#
                    .to_vec(),
            ),
        },
        "user" => {
            let name = req
                .url
                .split("UserName=")
                .nth(1)
                .map(|n| edge_idp::http::percent_decode(n, false).to_ascii_lowercase())
                .unwrap_or_default();
            let (id, disabled) = match name.as_str() {
                "jsmith" => ("101", false),
                "bwayne" => ("102", false),
                "disabled" => ("103", true),
                "hsimpson" => ("201", false),
                _ => return json(200, br#"{"Items":{"$values":[]},"Count":0}"#.to_vec()),
            };
            json(
                200,
                format!(
                    r#"{{"Items":{{"$values":[{{"UserId":"{id}","UserName":"{name}","IsDisable":{{"$type":"System.Boolean","$value":{disabled}}},"Party":{{"Id":"{id}","UniformId":"87EAD15E-B188-42E8-AE48-E9B8C2B24{id}"}}}}]}},"Count":1,"HasNext":false}}"#
                )
                .into_bytes(),
            )
        }
        "person" => json(
            200,
            br#"{"PersonName":{"FirstName":"Jane","LastName":"Smith"},
"Emails":{"$values":[{"Address":"old@example.org","IsPrimary":false},{"Address":"jane@example.org","IsPrimary":{"$type":"System.Boolean","$value":true}}]},
"AdditionalAttributes":{"$values":[{"Name":"CustomerTypeCode","Value":"M"}]},"Id":"101","UniformId":"87EAD15E-B188-42E8-AE48-E9B8C2B24101"}"#
                .to_vec(),
        ),
        "iqa" => {
            let url = edge_idp::http::percent_decode(&req.url, false);
            let is_roles = url.contains("Roles");
            let restricted = url.contains("Parameter=bwayne");
            let rows = if is_roles {
                r#"[{"Properties":{"$values":[{"Name":"ResultRow","Value":"1"},{"Name":"Role","Value":"Member"}]}},
{"Properties":{"$values":[{"Name":"ResultRow","Value":"2"},{"Name":"Role","Value":{"$type":"System.String","$value":"Board"}}]}}]"#
                    .to_string()
            } else {
                format!(
                    r#"[{{"Properties":{{"$values":[{{"Name":"ResultRow","Value":"1"}},{{"Name":"FirstName","Value":"Jane"}},{{"Name":"Email","Value":"jane@example.org"}},{{"Name":"IsMember","Value":{{"$type":"System.Boolean","$value":true}}}},{{"Name":"AccessRestrictionCode","Value":"{}"}},{{"Name":"Chapter"}}]}}}}]"#,
                    if restricted { "S" } else { "" }
                )
            };
            json(
                200,
                format!(r#"{{"Items":{{"$values":{rows}}},"Offset":0,"Limit":500,"Count":1,"HasNext":false,"NextOffset":0}}"#)
                    .into_bytes(),
            )
        }
        _ => json(404, b"{}".to_vec()),
    }
}

impl Platform for FakePlatform {
    async fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, PlatformError> {
        Ok(self.kv.borrow().get(key).cloned())
    }

    async fn fetch(&self, req: OutboundRequest) -> Result<OutboundResponse, PlatformError> {
        self.fetched.borrow_mut().push(req.url.clone());
        self.answer(&req)
    }

    async fn put_once(&self, key: &str, value: &[u8], _ttl_s: u32) -> Result<(), PlatformError> {
        self.once
            .borrow_mut()
            .insert(key.to_string(), value.to_vec());
        Ok(())
    }

    async fn take_once(&self, key: &str) -> Result<Option<Vec<u8>>, PlatformError> {
        Ok(self.once.borrow_mut().remove(key))
    }

    async fn count(&self, key: &str, _window_s: u32, delta: i64) -> Result<i64, PlatformError> {
        let mut counters = self.counters.borrow_mut();
        let n = counters.entry(key.to_string()).or_insert(0);
        *n = n.saturating_add(delta);
        Ok(*n)
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

    async fn sign(&self, key: &KeyRef<'_>, msg: &[u8]) -> Result<Vec<u8>, PlatformError> {
        let cache_id = format!("{}:{:?}:{}", key.id, key.alg, key.pkcs8_der.len());
        let parsed = self.keys.borrow().get(&cache_id).cloned();
        let soft = match parsed {
            Some(k) => k,
            None => {
                let k = std::rc::Rc::new(
                    SoftKey::parse(key.alg, key.pkcs8_der)
                        .map_err(|e| PlatformError::Crypto(e.to_string()))?,
                );
                self.keys.borrow_mut().insert(cache_id, k.clone());
                k
            }
        };
        soft.sign(msg).map_err(|e| PlatformError::Crypto(e.to_string()))
    }

    async fn ask_xml_verifier(&self, body: Vec<u8>) -> Result<OutboundResponse, PlatformError> {
        let (status, answer) = edge_idp_xml_verify::answer(&body);
        Ok(OutboundResponse {
            status,
            headers: Vec::new(),
            body: answer.into_bytes(),
        })
    }

    async fn sleep(&self, ms: u32) {
        self.now.set(self.now.get() + u64::from(ms));
    }

    fn now(&self) -> UnixTime {
        UnixTime::from_millis(self.now.get())
    }

    fn random(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let s = self.rng.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
            self.rng.set(s);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }

    fn secret(&self, name: &str) -> Option<String> {
        (name == MASTER_KEY_SECRET && self.has_master_key.get()).then(|| MASTER_KEY_B64.to_string())
    }

    fn log(&self, event: &AuditEvent) {
        self.logs.borrow_mut().push(event.clone());
    }
}

/// Runs a future of the core to completion. The fake platform never waits, so every future is
/// ready when polled; a future that stays pending is polled again (bounded, then a hang).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for _ in 0..1_000_000 {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
    #[allow(clippy::panic)]
    {
        panic!("a core future stayed pending although the fake platform never waits")
    }
}
