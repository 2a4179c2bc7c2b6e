//! The platform of an in-runtime measurement: stores in memory and iMIS answered from canned
//! values, while signatures, randomness and the clock are the runtime's own, so that what is
//! measured is the core plus the runtime's real signer.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use crate::audit::AuditEvent;
use crate::crypto::{KeyRef, RsaHash, RsaPublicKeyRef};
use crate::platform::{
    OutboundRequest, OutboundResponse, Platform, PlatformError, UnixTime, MASTER_KEY_SECRET,
};

use super::fixtures;

/// What the take-once store and the counters hold, so a measured operation can start from the
/// same state every time (an AuthnRequest ID or an authorization code is accepted once).
#[derive(Clone, Default)]
pub(super) struct Stored {
    once: HashMap<String, (Vec<u8>, u64)>,
    counters: HashMap<String, (i64, u64)>,
}

pub(super) struct MemPlatform<'a, P: Platform> {
    runtime: &'a P,
    kv: HashMap<String, Vec<u8>>,
    stored: RefCell<Stored>,
    /// Outbound requests answered (iMIS calls), and signatures made, since the last reset.
    pub(super) fetches: Cell<u32>,
    pub(super) signatures: Cell<u32>,
}

impl<'a, P: Platform> MemPlatform<'a, P> {
    pub(super) fn new(runtime: &'a P, kv: HashMap<String, Vec<u8>>) -> Self {
        Self {
            runtime,
            kv,
            stored: RefCell::default(),
            fetches: Cell::new(0),
            signatures: Cell::new(0),
        }
    }

    pub(super) fn snapshot(&self) -> Stored {
        self.stored.borrow().clone()
    }

    pub(super) fn restore(&self, snapshot: &Stored) {
        self.stored.borrow_mut().clone_from(snapshot);
    }

    pub(super) fn reset_counts(&self) {
        self.fetches.set(0);
        self.signatures.set(0);
    }

    fn now_ms(&self) -> u64 {
        self.runtime.now().millis
    }
}

impl<P: Platform> Platform for MemPlatform<'_, P> {
    async fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, PlatformError> {
        Ok(self.kv.get(key).cloned())
    }

    async fn fetch(&self, req: OutboundRequest) -> Result<OutboundResponse, PlatformError> {
        self.fetches.set(self.fetches.get() + 1);
        Ok(fixtures::imis_answer(&req))
    }

    async fn put_once(&self, key: &str, value: &[u8], ttl_s: u32) -> Result<(), PlatformError> {
        let expires = self.now_ms() + u64::from(ttl_s) * 1000;
        self.stored
            .borrow_mut()
            .once
            .insert(key.to_string(), (value.to_vec(), expires));
        Ok(())
    }

    async fn take_once(&self, key: &str) -> Result<Option<Vec<u8>>, PlatformError> {
        let now = self.now_ms();
        Ok(self
            .stored
            .borrow_mut()
            .once
            .remove(key)
            .filter(|(_, expires)| now < *expires)
            .map(|(value, _)| value))
    }

    async fn count(&self, key: &str, window_s: u32, delta: i64) -> Result<i64, PlatformError> {
        let now = self.now_ms();
        let window_end = now + u64::from(window_s) * 1000;
        let mut stored = self.stored.borrow_mut();
        let entry = stored
            .counters
            .entry(key.to_string())
            .or_insert((0, window_end));
        if now >= entry.1 {
            *entry = (0, window_end);
        }
        entry.0 += delta;
        Ok(entry.0)
    }

    async fn sign(&self, key: &KeyRef<'_>, msg: &[u8]) -> Result<Vec<u8>, PlatformError> {
        self.signatures.set(self.signatures.get() + 1);
        self.runtime.sign(key, msg).await
    }

    async fn rsa_verify(
        &self,
        key: &RsaPublicKeyRef<'_>,
        hash: RsaHash,
        msg: &[u8],
        sig: &[u8],
    ) -> bool {
        self.runtime.rsa_verify(key, hash, msg, sig).await
    }

    async fn ask_xml_verifier(&self, body: Vec<u8>) -> Result<OutboundResponse, PlatformError> {
        self.runtime.ask_xml_verifier(body).await
    }

    async fn sleep(&self, _ms: u32) {}

    fn now(&self) -> UnixTime {
        self.runtime.now()
    }

    fn random(&self, buf: &mut [u8]) {
        self.runtime.random(buf);
    }

    fn secret(&self, name: &str) -> Option<String> {
        (name == MASTER_KEY_SECRET).then(|| fixtures::MASTER_KEY.to_string())
    }

    fn log(&self, event: &AuditEvent) {
        // Formatted as the runtimes format it, then dropped: the console is not ours to time.
        std::hint::black_box(event.to_json_line());
    }
}
