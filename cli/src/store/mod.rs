//! The tenant-config store the CLI reads and writes: Workers KV through wrangler (`kv key get`,
//! `kv key list`, `kv bulk get`, `kv bulk put`, `kv bulk delete`), the local Spin key-value
//! store (a folder of files named by the hex of their key), or a Spin app's store on Fermyon
//! Cloud (written with `spin cloud kv set`, read from a local mirror: `crate::spin_cloud`).
//!
//! Values never go on wrangler's command line: it gets them in a private temporary file. `spin
//! cloud kv set` takes nothing but arguments; the values it gets hold only sealed secrets.

mod file_name;
mod spin_local;
mod temp_dir;
mod value_cache;
mod wrangler;

use std::path::PathBuf;

use crate::error::CliError;
use crate::spin_cloud::{self, CloudStore};

pub use spin_local::{spin_local_delete, spin_local_put};
pub(crate) use temp_dir::TempDir;
pub(crate) use value_cache::ValueCache;
pub use wrangler::Listed;

/// One key and its value, as written to KV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The KV key.
    pub key: String,
    /// The value: compact JSON.
    pub value: String,
}

/// Where to read and write.
#[derive(Debug, Clone)]
pub enum Target {
    /// Workers KV through wrangler.
    Workers {
        /// The wrangler program.
        wrangler: PathBuf,
        /// KV namespace binding name in wrangler's configuration.
        binding: String,
        /// Local (`Some(persist_to)`, where `None` inside is wrangler's default folder) or remote.
        local: Option<Option<PathBuf>>,
        /// wrangler's configuration file, when not the one wrangler finds itself.
        config: Option<PathBuf>,
    },
    /// The local Spin key-value store: `kv_dir/default/<hex of key>`.
    SpinLocal {
        /// The folder the key-value provider serves.
        kv_dir: PathBuf,
    },
    /// A Spin app's key-value store on Fermyon Cloud: written with `spin cloud kv set`, read
    /// from `mirror`, a folder in the local store's layout holding what was written.
    SpinCloud {
        /// The `spin` program (with the cloud plugin).
        spin: PathBuf,
        /// Which store.
        store: CloudStore,
        /// The local mirror of what the CLI wrote there.
        mirror: PathBuf,
    },
}

/// The label of Spin's key-value store that holds tenant config (a folder under the KV dir).
pub const SPIN_STORE: &str = "default";

impl Target {
    /// The value of `key`, if any. An empty value is none, as the runtime reads it (a
    /// tombstone: `Platform::config_get`).
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CliError> {
        let value = match self {
            Target::Workers { .. } => self.wrangler_get(key)?,
            Target::SpinLocal { kv_dir } => spin_local::spin_local_get(key, kv_dir)?,
            Target::SpinCloud { mirror, .. } => spin_local::spin_local_get(key, mirror)?,
        };
        Ok(value.filter(|v| !v.is_empty()))
    }

    /// Every key that starts with `prefix`, sorted.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, CliError> {
        let mut keys = match self {
            Target::Workers { .. } => self
                .wrangler_list(prefix)?
                .into_iter()
                .map(|listed| listed.name)
                .collect(),
            Target::SpinLocal { kv_dir } => spin_local::spin_local_list(prefix, kv_dir)?,
            Target::SpinCloud { mirror, .. } => spin_local::spin_local_list(prefix, mirror)?,
        };
        keys.sort();
        Ok(keys)
    }

    /// Writes `entries`; on Workers with one `wrangler kv bulk put` (on Fermyon Cloud with as
    /// few `spin cloud kv set` as fit), so their order inside one call is not a promise:
    /// callers that need an order make several calls.
    pub fn put(&self, entries: &[Entry]) -> Result<(), CliError> {
        if entries.is_empty() {
            return Ok(());
        }
        match self {
            Target::Workers { .. } => self.wrangler_bulk_put(entries),
            Target::SpinLocal { kv_dir } => spin_local_put(entries, kv_dir),
            Target::SpinCloud {
                spin,
                store,
                mirror,
            } => spin_cloud::set(spin, store, mirror, entries),
        }
    }

    /// Every Workers key that starts with `prefix`, sorted, with the digest its metadata lists;
    /// on the other targets every digest is `None`.
    pub fn list_with_digests(&self, prefix: &str) -> Result<Vec<Listed>, CliError> {
        let mut listed = match self {
            Target::Workers { .. } => self.wrangler_list(prefix)?,
            _ => self
                .list(prefix)?
                .into_iter()
                .map(|name| Listed { name, sha256: None })
                .collect(),
        };
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(listed)
    }

    /// Deletes each of `keys` (on Workers in one call, so in no promised order); a key that is
    /// already gone is not an error. On Fermyon Cloud, which cannot delete one key, each is set
    /// to the empty value (a tombstone the runtime reads as no key) and leaves the mirror.
    pub fn delete(&self, keys: &[String]) -> Result<(), CliError> {
        match self {
            Target::Workers { .. } if keys.is_empty() => Ok(()),
            Target::Workers { .. } => self.wrangler_bulk_delete(keys),
            Target::SpinLocal { kv_dir } => keys
                .iter()
                .try_for_each(|key| spin_local_delete(key, kv_dir)),
            Target::SpinCloud {
                spin,
                store,
                mirror,
            } => {
                let tombstones: Vec<Entry> = keys
                    .iter()
                    .map(|key| Entry {
                        key: key.clone(),
                        value: String::new(),
                    })
                    .collect();
                spin_cloud::set(spin, store, mirror, &tombstones)
            }
        }
    }

    /// A short description for messages and prompts.
    pub fn describe(&self) -> String {
        match self {
            Target::Workers {
                binding,
                local: None,
                ..
            } => format!("Workers KV {binding} (remote)"),
            Target::Workers { binding, .. } => format!("Workers KV {binding} (local)"),
            Target::SpinLocal { kv_dir } => format!("local Spin store {}", kv_dir.display()),
            Target::SpinCloud { store, mirror, .. } => format!(
                "Fermyon Cloud {}, read from the local mirror {}",
                store.describe(),
                mirror.display()
            ),
        }
    }
}
