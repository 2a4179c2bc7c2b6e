//! The one seam between the core and a runtime.
//!
//! Everything the core needs from the outside world — configuration in KV, outbound HTTP to iMIS,
//! the strongly consistent take-once store, the clock, randomness, secrets and the audit log —
//! goes through [`Platform`]. Each runtime adapter (Cloudflare Workers, Spin) implements it once;
//! the core's own tests implement it with an in-memory fake.

use crate::audit::AuditEvent;
use crate::crypto::{KeyRef, RsaHash, RsaPublicKeyRef};

/// Seconds and milliseconds since the Unix epoch, as the runtime's clock reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnixTime {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub millis: u64,
}

impl UnixTime {
    /// A time from milliseconds since the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Self { millis }
    }

    /// Whole seconds since the epoch.
    pub(crate) const fn secs(self) -> u64 {
        self.millis / 1000
    }

    /// This time plus `secs` seconds.
    pub const fn plus_secs(self, secs: u64) -> Self {
        Self {
            millis: self.millis + secs * 1000,
        }
    }
}

/// An HTTP method the core sends or receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// GET
    Get,
    /// POST
    Post,
    /// HEAD
    Head,
    /// OPTIONS
    Options,
    /// PUT
    Put,
    /// DELETE
    Delete,
    /// Anything else; the router refuses it.
    Other,
}

impl HttpMethod {
    /// Parses a method name (case-sensitive, as HTTP requires).
    pub fn parse(name: &str) -> Self {
        match name {
            "GET" => Self::Get,
            "POST" => Self::Post,
            "HEAD" => Self::Head,
            "OPTIONS" => Self::Options,
            "PUT" => Self::Put,
            "DELETE" => Self::Delete,
            _ => Self::Other,
        }
    }

    /// The method's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Head => "HEAD",
            Self::Options => "OPTIONS",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Other => "OTHER",
        }
    }
}

/// A subrequest the core wants sent (to iMIS).
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    /// Method.
    pub method: HttpMethod,
    /// Absolute URL.
    pub url: String,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// Body bytes (empty for GET).
    pub body: Vec<u8>,
    /// The adapter abandons the request after this many milliseconds and returns
    /// [`PlatformError::Timeout`].
    pub timeout_ms: u32,
}

/// The answer to an [`OutboundRequest`].
#[derive(Debug, Clone)]
pub struct OutboundResponse {
    /// HTTP status code.
    pub status: u16,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// How long a signed POST-binding message may wait for the XML verifier
/// ([`Platform::ask_xml_verifier`]): it answers in milliseconds, and a member is waiting.
pub const XML_VERIFIER_TIMEOUT_MS: u32 = 5_000;

/// What can go wrong inside a platform call.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PlatformError {
    /// The key-value store could not be read or written.
    #[error("key-value store failed: {0}")]
    Kv(String),
    /// An outbound request could not be sent or its answer not read.
    #[error("outbound request failed: {0}")]
    Fetch(String),
    /// An outbound request did not finish within its timeout.
    #[error("outbound request timed out after {0} ms")]
    Timeout(u32),
    /// The strongly consistent store failed.
    #[error("take-once store failed: {0}")]
    Store(String),
    /// A key could not be used or a signature not made.
    #[error("signing failed: {0}")]
    Crypto(String),
}

/// The runtime services the core uses. Implemented once per runtime.
///
/// The async methods carry no `Send` bound: JavaScript-backed handles on Workers are `!Send`, and
/// the core never spawns tasks.
#[allow(async_fn_in_trait)]
pub trait Platform {
    /// Reads a value from the tenant configuration store (eventually consistent, read-mostly),
    /// as stored. The core reads configuration through [`Platform::config_get`] instead.
    async fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, PlatformError>;

    /// Reads a configuration value: [`Platform::kv_get`], with an empty value read as no value.
    ///
    /// An empty value is a tombstone. Fermyon Cloud's `spin cloud kv` can set a key but not
    /// delete one, so the admin CLI "deletes" a key there by writing it empty; every
    /// configuration value is a JSON document, so an empty one never means anything else.
    /// Every configuration read of the core goes through here, so that the rule lives in one
    /// place (a test in `src/tests.rs` keeps it so).
    async fn config_get(&self, key: &str) -> Result<Option<Vec<u8>>, PlatformError> {
        Ok(self.kv_get(key).await?.filter(|value| !value.is_empty()))
    }

    /// Sends an outbound HTTP request (a subrequest from the edge).
    async fn fetch(&self, req: OutboundRequest) -> Result<OutboundResponse, PlatformError>;

    /// Stores a value under a key in the strongly consistent store, to be taken at most once.
    async fn put_once(&self, key: &str, value: &[u8], ttl_s: u32) -> Result<(), PlatformError>;

    /// Atomically takes (reads and deletes) a value stored with [`Platform::put_once`].
    /// Of several concurrent takers of one key, exactly one gets the value.
    async fn take_once(&self, key: &str) -> Result<Option<Vec<u8>>, PlatformError>;

    /// Adds `delta` to a counter in the strongly consistent store and returns its new value.
    /// A counter lives for `window_s` seconds from its first increment (fixed window); `delta`
    /// 0 reads it. Used to throttle sign-in attempts.
    async fn count(&self, key: &str, window_s: u32, delta: i64) -> Result<i64, PlatformError>;

    /// Reads a value from the runtime's cache shared between instances. Where an instance
    /// outlives a request (a Workers isolate) the core's in-memory caches are enough and this
    /// answers `None`; where every request gets a fresh instance (the Spin route) it is backed by
    /// the key-value store. A cache, not a store: it may forget, so callers seal what they put
    /// there and check its age themselves.
    async fn shared_get(&self, _key: &str) -> Option<Vec<u8>> {
        None
    }

    /// Puts a value into the cache shared between instances (see [`Platform::shared_get`]);
    /// best effort.
    async fn shared_put(&self, _key: &str, _value: &[u8]) {}

    /// Signs `msg` with `key`, with the fastest signer of the runtime (WebCrypto on Workers).
    /// Implementations cache what they derive from a key under [`KeyRef::id`]: parse once per
    /// isolate, never per request.
    async fn sign(&self, key: &KeyRef<'_>, msg: &[u8]) -> Result<Vec<u8>, PlatformError>;

    /// Whether `sig` is the RSASSA-PKCS1-v1_5 signature of `msg` under `hash` by `key`, which the
    /// core has already bounded. By default our own arithmetic in wasm; a runtime with a faster
    /// verifier (WebCrypto on Workers) uses it, caching imported keys per isolate.
    async fn rsa_verify(
        &self,
        key: &RsaPublicKeyRef<'_>,
        hash: RsaHash,
        msg: &[u8],
        sig: &[u8],
    ) -> bool {
        key.verify(hash, msg, sig)
    }

    /// Sends `body`, a request in the XML verifier's wire format (`crates/xml-verify`, written
    /// and read by the core), to the XML verifier and returns its answer, giving up after
    /// [`XML_VERIFIER_TIMEOUT_MS`]. The verifier is its own Worker (service binding
    /// [`bindings::XML_VERIFIER`]) or Spin component ([`bindings::SPIN_XML_VERIFIER_URL`]), so
    /// that its code is not in every request's bundle; an error means it could not be asked, and
    /// the message is refused.
    async fn ask_xml_verifier(&self, body: Vec<u8>) -> Result<OutboundResponse, PlatformError>;

    /// Waits `ms` milliseconds without using CPU time.
    async fn sleep(&self, ms: u32);

    /// The current time.
    fn now(&self) -> UnixTime;

    /// Fills `buf` with cryptographically secure random bytes.
    fn random(&self, buf: &mut [u8]);

    /// A secret held by the runtime (never by KV), such as the master sealing key.
    fn secret(&self, name: &str) -> Option<String>;

    /// Writes one audit event as a structured log line.
    fn log(&self, event: &AuditEvent);
}

/// The name of the runtime secret that holds the base64 master sealing key.
pub const MASTER_KEY_SECRET: &str = "MASTER_KEY";

/// Binding names, mirrored in `wrangler.toml` and `spin.toml`.
pub mod bindings {
    /// Workers KV namespace binding (and the Spin key-value store label) holding tenant config.
    pub const TENANTS_KV: &str = "TENANTS";
    /// Spin key-value store label holding tenant config (written by the CLI, only read here).
    pub const SPIN_STORE: &str = "default";
    /// Spin key-value store label holding what the IdP itself writes: take-once values, counters
    /// and the shared cache. Apart from the configuration, so that sweeping it costs what traffic
    /// left there, not what the tenant count put in the configuration store.
    pub const SPIN_VOLATILE_STORE: &str = "volatile";
    /// Workers Durable Object binding of the take-once store.
    pub const ONCE_STORE: &str = "ONCE";
    /// Workers service binding of the XML verifier Worker (`wrangler.xml-verifier.toml`).
    pub const XML_VERIFIER: &str = "XML_VERIFIER";
    /// Where a Spin component reaches the XML verifier component: service chaining to the
    /// `xml-verifier` component of the same application. The Spin variable
    /// [`SPIN_XML_VERIFIER_VARIABLE`] overrides it (the local route serves it apart).
    pub const SPIN_XML_VERIFIER_URL: &str = "http://xml-verifier.spin.internal/verify";
    /// Spin variable overriding [`SPIN_XML_VERIFIER_URL`].
    pub const SPIN_XML_VERIFIER_VARIABLE: &str = "xml_verifier_url";
}
