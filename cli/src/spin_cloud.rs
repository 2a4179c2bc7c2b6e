//! A Spin application's key-value store on Fermyon Cloud, written through the cloud plugin's
//! `spin cloud kv set`, and the local **mirror** every read goes to.
//!
//! The plugin can set pairs (`spin cloud kv set --store NAME key=value …`, or `--app APP
//! --label LABEL` for the store an app links to a label) but cannot read a key, list keys or
//! delete one key. So the CLI keeps a mirror: a folder in the local Spin store's layout
//! (`MIRROR/default/<hex of key>`) holding what it has written. A pair is written to the mirror
//! only after `spin` accepted it; a deleted key is set to the empty value remotely (a tombstone,
//! which the runtime reads as no key: `Platform::config_get`) and removed from the mirror.
//!
//! Values go on `spin`'s command line, where other local users may see them (`ps`). That is
//! acceptable only because every value is compact JSON whose secrets the CLI has already sealed
//! with the master key: no value ever holds a clear secret. Messages never show a value.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use edge_idp::kv_key::HOST_PREFIX;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::error::CliError;
use crate::store::{Entry, Target};

/// The most argument bytes one `spin` call carries. Linux refuses a single argument over 128 KiB
/// and all of them together over a quarter of the stack limit (2 MiB by default); 100 KB stays
/// well inside both, so a batch never fails for its size alone.
pub const MAX_CALL_BYTES: usize = 100_000;

/// Which Fermyon Cloud key-value store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloudStore {
    /// A store by its name (`--store NAME`).
    Named(String),
    /// The store an app links to a label (`--app APP --label LABEL`).
    Linked {
        /// The Fermyon Cloud app.
        app: String,
        /// The store label its components use (this repository's spin.toml: `default`).
        label: String,
    },
}

impl CloudStore {
    /// The arguments of `spin cloud kv set` that pick the store.
    pub fn args(&self) -> Vec<String> {
        match self {
            CloudStore::Named(name) => vec!["--store".into(), name.clone()],
            CloudStore::Linked { app, label } => {
                vec!["--app".into(), app.clone(), "--label".into(), label.clone()]
            }
        }
    }

    /// The store in words.
    pub fn describe(&self) -> String {
        match self {
            CloudStore::Named(name) => format!("store {name}"),
            CloudStore::Linked { app, label } => format!("app {app} label {label}"),
        }
    }

    /// The default mirror: `.edge-idp/spin-cloud/store/NAME` or
    /// `.edge-idp/spin-cloud/app/APP/LABEL` under the current folder. The `store`/`app` level
    /// keeps a store named like an app from sharing its mirror. Names that are not plain folder
    /// names are refused rather than turned into a path outside that folder.
    pub fn default_mirror(&self) -> Result<PathBuf, CliError> {
        let base = Path::new(".edge-idp").join("spin-cloud");
        let parts: Vec<&str> = match self {
            CloudStore::Named(name) => vec!["store", name],
            CloudStore::Linked { app, label } => vec!["app", app, label],
        };
        let mut path = base;
        for part in parts {
            let plain = !part.is_empty()
                && part != "."
                && part != ".."
                && !part.contains(['/', '\\', '\0'])
                && !part.starts_with('.');
            if !plain {
                return Err(CliError::Usage(format!(
                    "{part:?} cannot name the mirror folder; choose one with --mirror DIR"
                )));
            }
            path.push(part);
        }
        Ok(path)
    }
}

/// Refusals for pairs `spin cloud kv set` cannot take as `key=value` arguments: the plugin splits
/// at the first `=`, so a key must not hold one, and an argument starting with `-` would be read
/// as a flag. Also the pairs longer than one call carries. Checked before anything is written.
pub fn argument_problems(puts: &[Entry], deletes: &[String]) -> Vec<String> {
    let keys = puts.iter().map(|e| &e.key).chain(deletes);
    let mut out: Vec<String> = keys
        .filter(|key| key.contains('=') || key.starts_with('-') || key.is_empty())
        .map(|key| {
            format!(
                "key {key:?} cannot be passed to `spin cloud kv set` as KEY=VALUE (no '=' in a \
                 key, and no '-' first)"
            )
        })
        .collect();
    for entry in puts {
        let len = pair_len(entry);
        if len > MAX_CALL_BYTES {
            out.push(format!(
                "the value of {} makes a {len}-byte command-line argument; edge-idp passes at \
                 most {MAX_CALL_BYTES} bytes to one `spin cloud kv set`",
                entry.key
            ));
        }
    }
    out
}

/// Bytes of `key=value` as one argument, with its terminating NUL.
fn pair_len(entry: &Entry) -> usize {
    entry.key.len() + 1 + entry.value.len() + 1
}

/// `entries` in groups whose `key=value` arguments stay under [`MAX_CALL_BYTES`] together
/// (a pair longer than that alone goes in a group of its own), in order.
pub fn batches(entries: &[Entry]) -> Vec<&[Entry]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut size = 0;
    for (i, entry) in entries.iter().enumerate() {
        let len = pair_len(entry);
        if i > start && size + len > MAX_CALL_BYTES {
            out.extend(entries.get(start..i));
            start = i;
            size = 0;
        }
        size += len;
    }
    if start < entries.len() {
        out.extend(entries.get(start..));
    }
    out
}

/// Sets every entry with `spin cloud kv set` (as few calls as [`batches`] allows), writing each
/// call's pairs to the mirror only once `spin` has accepted them. An empty value is a tombstone:
/// its key is removed from the mirror instead.
pub fn set(
    spin: &Path,
    store: &CloudStore,
    mirror: &Path,
    entries: &[Entry],
) -> Result<(), CliError> {
    for batch in batches(entries) {
        let mut args: Vec<String> = vec!["cloud".into(), "kv".into(), "set".into()];
        args.extend(store.args());
        // The shown command names each key, never a value (`key=…`; a tombstone is `key=`).
        let mut shown = format!("{} {}", spin.display(), args.join(" "));
        for entry in batch {
            let elided = if entry.value.is_empty() { "" } else { "…" };
            shown.push_str(&format!(" {}={elided}", entry.key));
            args.push(format!("{}={}", entry.key, entry.value));
        }
        eprintln!("running {shown}");
        let out = Command::new(spin)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| CliError::SpinStart {
                program: spin.display().to_string(),
                source,
            })?;
        // spin's own words, on stderr so that stdout holds only what was written.
        let _ = std::io::stderr().write_all(&out.stdout);
        let _ = std::io::stderr().write_all(&out.stderr);
        if !out.status.success() {
            return Err(CliError::SpinFailed {
                command: shown,
                status: out.status,
                mirror: mirror.to_path_buf(),
            });
        }
        let (tombstones, values): (Vec<&Entry>, Vec<&Entry>) =
            batch.iter().partition(|e| e.value.is_empty());
        let values: Vec<Entry> = values.into_iter().cloned().collect();
        crate::store::spin_local_put(&values, mirror)?;
        for entry in tombstones {
            crate::store::spin_local_delete(&entry.key, mirror)?;
        }
    }
    Ok(())
}

/// The key of a tenant's manifest.
pub fn manifest_key(tenant: &str) -> String {
    edge_idp::kv_key::manifest(tenant)
}

/// The manifest of `tenant` as `target` holds it now: `{"config_version":N,"keys":{KEY:
/// sha256 hex of its value}}` over `tenant:{id}`, every key under `tenant:{id}:` and the `host:`
/// keys naming it. Written last by every apply and push to Fermyon Cloud, it records in the store
/// itself what the last writer's mirror held, so that a copy of the store can be compared with
/// any mirror. `None` when the tenant has no key left (its manifest is then removed).
pub fn manifest(target: &Target, tenant: &str) -> Result<Option<Entry>, CliError> {
    let tenant_key = edge_idp::kv_key::tenant(tenant);
    let mut keys = vec![tenant_key.clone()];
    keys.extend(target.list(&format!("{tenant_key}:"))?);
    let mut digests = BTreeMap::new();
    let mut config_version = Value::Null;
    for key in keys {
        let Some(bytes) = target.get(&key)? else {
            continue;
        };
        if key == tenant_key {
            if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
                config_version = value.get("config_version").cloned().unwrap_or(Value::Null);
            }
        }
        digests.insert(key, hex::encode(Sha256::digest(&bytes)));
    }
    for key in target.list(HOST_PREFIX)? {
        let Some(bytes) = target.get(&key)? else {
            continue;
        };
        if crate::push::owner_of(&key, &bytes).ok().as_deref() == Some(tenant) {
            digests.insert(key, hex::encode(Sha256::digest(&bytes)));
        }
    }
    if digests.is_empty() {
        return Ok(None);
    }
    Ok(Some(Entry {
        key: manifest_key(tenant),
        value: json!({ "config_version": config_version, "keys": digests }).to_string(),
    }))
}

/// Writes `tenant`'s manifest to `target` when it is on Fermyon Cloud (the empty value when the
/// tenant has no key left), and says so; other stores need none.
pub fn write_manifest(target: &Target, tenant: &str) -> Result<(), CliError> {
    if !matches!(target, Target::SpinCloud { .. }) {
        return Ok(());
    }
    match manifest(target, tenant)? {
        Some(entry) => {
            target.put(std::slice::from_ref(&entry))?;
            println!("put {}", entry.key);
        }
        None => {
            let key = manifest_key(tenant);
            target.delete(std::slice::from_ref(&key))?;
            println!("deleted {key}");
        }
    }
    Ok(())
}

/// On Fermyon Cloud, the manifest key a write of `tenant` ends with, for the limits check (so
/// that it counts; its value, a few digests, is made after the write). `None` elsewhere.
pub fn manifest_to_check(target: &Target, tenant: &str) -> Option<Entry> {
    matches!(target, Target::SpinCloud { .. }).then(|| Entry {
        key: manifest_key(tenant),
        value: String::new(),
    })
}

/// A warning when `target` is Fermyon Cloud and its mirror holds nothing for `tenant`: every read
/// then finds nothing, which is right only for a first deployment.
pub fn empty_mirror_warning(target: &Target, tenant: &str) -> Result<Option<String>, CliError> {
    let Target::SpinCloud { mirror, .. } = target else {
        return Ok(None);
    };
    let tenant_key = edge_idp::kv_key::tenant(tenant);
    let empty = target.get(&tenant_key)?.is_none()
        && target.list(&format!("{tenant_key}:"))?.is_empty()
        && target.get(&manifest_key(tenant))?.is_none();
    Ok(empty.then(|| {
        format!(
            "the mirror {} holds nothing for tenant {tenant}, and Fermyon Cloud's store cannot be \
             read back: this assumes the store holds nothing for it either (a first deployment). \
             If it was deployed from another mirror, use that one (--mirror DIR)",
            mirror.display()
        )
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn entry(key: &str, value_len: usize) -> Entry {
        Entry {
            key: key.to_owned(),
            value: "v".repeat(value_len),
        }
    }

    #[test]
    fn batches_stay_under_the_argument_budget_in_order() {
        // Each pair: 1 + 1 + 39_997 + 1 = 40_000 bytes, so two fit and a third does not.
        let entries: Vec<Entry> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|k| entry(k, 39_997))
            .collect();
        let sizes: Vec<Vec<&str>> = batches(&entries)
            .iter()
            .map(|b| b.iter().map(|e| e.key.as_str()).collect())
            .collect();
        assert_eq!(sizes, [vec!["a", "b"], vec!["c", "d"], vec!["e"]]);
        for batch in batches(&entries) {
            assert!(batch.iter().map(pair_len).sum::<usize>() <= MAX_CALL_BYTES);
        }
        // Small pairs share one call; an oversized pair goes alone; nothing is empty.
        let mixed = [entry("a", 10), entry("big", 200_000), entry("c", 10)];
        let keys: Vec<usize> = batches(&mixed).iter().map(|b| b.len()).collect();
        assert_eq!(keys, [1, 1, 1]);
        let small: Vec<Entry> = (0..50).map(|i| entry(&format!("k{i}"), 100)).collect();
        assert_eq!(batches(&small).len(), 1);
        assert!(batches(&[]).is_empty());
    }

    #[test]
    fn keys_spin_would_misread_are_refused() {
        let problems = argument_problems(
            &[
                entry("host:a=b", 1),
                entry("tenant:acme", 1),
                entry("-x", 1),
            ],
            &["tenant:acme:oidc:p".into(), "k=".into()],
        );
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("\"host:a=b\""), "{problems:?}");
        assert!(problems[1].contains("\"-x\""), "{problems:?}");
        assert!(problems[2].contains("\"k=\""), "{problems:?}");
        let big = argument_problems(&[entry("tenant:acme", MAX_CALL_BYTES)], &[]);
        assert_eq!(big.len(), 1, "{big:?}");
        assert!(big[0].starts_with("the value of tenant:acme makes a"));
        assert!(argument_problems(&[entry("tenant:acme", 90_000)], &[]).is_empty());
    }

    #[test]
    fn default_mirrors_are_separate_plain_folders() {
        let named = CloudStore::Named("acme-kv".into());
        assert_eq!(
            named.default_mirror().unwrap(),
            Path::new(".edge-idp/spin-cloud/store/acme-kv")
        );
        let linked = CloudStore::Linked {
            app: "edge-idp".into(),
            label: "default".into(),
        };
        assert_eq!(
            linked.default_mirror().unwrap(),
            Path::new(".edge-idp/spin-cloud/app/edge-idp/default")
        );
        assert_eq!(named.args(), ["--store", "acme-kv"]);
        assert_eq!(linked.args(), ["--app", "edge-idp", "--label", "default"]);
        for bad in ["..", "a/b", "", ".hidden", "a\\b"] {
            assert!(
                CloudStore::Named(bad.into()).default_mirror().is_err(),
                "{bad:?}"
            );
        }
    }
}
