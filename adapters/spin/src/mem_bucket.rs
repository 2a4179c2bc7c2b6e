//! An in-memory [`Bucket`] with the traps of Spin's SQLite store, for the unit tests of the
//! take-once store, the counters and the sweeper.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use edge_idp::platform::PlatformError;

use crate::once_store::Bucket;

/// Another instance's work, run once at a chosen point.
pub type Hook = Arc<Mutex<Option<Box<dyn FnOnce() + Send>>>>;

/// An in-memory bucket with the traps of Spin's SQLite store: a swap after a read that found
/// nothing upserts, and `increment` panics on a value that is not 8 bytes.
#[derive(Default, Clone)]
pub struct MemBucket {
    map: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    /// Runs (once) between a read and the following swap: another instance at work.
    pub before_swap: Hook,
    /// Runs (once) when a count found the counter absent, before it creates it.
    pub before_increment: Hook,
}

pub struct MemCas {
    key: String,
    seen: Option<Vec<u8>>,
}

impl Bucket for MemBucket {
    type Cas = MemCas;

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, PlatformError> {
        Ok(self.map.lock().unwrap().get(key).cloned())
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), PlatformError> {
        self.map
            .lock()
            .unwrap()
            .insert(key.to_string(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), PlatformError> {
        self.map.lock().unwrap().remove(key);
        Ok(())
    }

    fn increment(&self, key: &str, delta: i64) -> Result<i64, PlatformError> {
        let hook = self.before_increment.lock().unwrap().take();
        if let Some(hook) = hook {
            hook();
        }
        let mut map = self.map.lock().unwrap();
        let n = match map.get(key) {
            Some(v) => i64::from_le_bytes(v.as_slice().try_into().expect("incorrect length")),
            None => 0,
        } + delta;
        map.insert(key.to_string(), n.to_le_bytes().to_vec());
        Ok(n)
    }

    fn list_keys(&self) -> Result<Vec<String>, PlatformError> {
        Ok(self.map.lock().unwrap().keys().cloned().collect())
    }

    fn cas_read(&self, key: &str) -> Result<(MemCas, Option<Vec<u8>>), PlatformError> {
        let seen = self.get(key)?;
        Ok((
            MemCas {
                key: key.to_string(),
                seen: seen.clone(),
            },
            seen,
        ))
    }

    fn cas_swap(&self, cas: MemCas, value: &[u8]) -> Result<bool, PlatformError> {
        let hook = self.before_swap.lock().unwrap().take();
        if let Some(hook) = hook {
            hook();
        }
        let mut map = self.map.lock().unwrap();
        match cas.seen {
            // Spin 4.0.2's SQLite store: INSERT ... ON CONFLICT DO UPDATE.
            None => {}
            Some(seen) if map.get(&cas.key) == Some(&seen) => {}
            Some(_) => return Ok(false),
        }
        map.insert(cas.key, value.to_vec());
        Ok(true)
    }
}
