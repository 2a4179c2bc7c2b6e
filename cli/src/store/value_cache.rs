//! A local copy of Workers KV values, addressed by their SHA-256, so that a re-plan fetches
//! only the values that changed.
//!
//! Reading values through wrangler is what makes a plan slow: local KV costs about 15 ms of CPU
//! per key read, remote KV a round trip, while a key listing is cheap and carries each key's
//! metadata. So `apply` writes every value with its digest in the metadata (`{"sha256": …}`)
//! and keeps the value here under that digest. A plan lists the keys, takes every value whose
//! listed digest is here, and fetches only the rest (`crate::snapshot`).
//!
//! A file is used only when its bytes hash to the digest the store lists, so a stale, damaged or
//! planted file is a miss, never a wrong value. A key written without metadata (by `wrangler kv
//! key put` or any other tool) lists no digest and is always fetched. The values are those KV holds,
//! in which secrets and private keys are sealed; the folder is private to the user all the same.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

/// Files not used for this long are removed.
const UNUSED_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
/// A file used again is marked used when its mark is older than this (not at every read).
const MARK_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The folder of cached values.
#[derive(Debug, Clone)]
pub(crate) struct ValueCache {
    dir: PathBuf,
}

/// The metadata `apply` writes with a value: its digest.
pub(crate) fn metadata_of(value: &[u8]) -> serde_json::Value {
    serde_json::json!({ "sha256": digest(value) })
}

/// The lowercase hex SHA-256 of `value`.
pub(crate) fn digest(value: &[u8]) -> String {
    hex::encode(Sha256::digest(value))
}

/// Whether `s` has the form of [`digest`]'s output (so it can name a file, and nothing else).
fn is_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl ValueCache {
    /// The cache the environment names: `EDGE_IDP_CACHE_DIR` (set but empty: no cache), else
    /// `edge-idp/kv-values` under `XDG_CACHE_HOME` or `~/.cache`.
    pub(crate) fn from_env() -> Option<Self> {
        let base = match std::env::var_os("EDGE_IDP_CACHE_DIR") {
            Some(dir) if dir.is_empty() => return None,
            Some(dir) => PathBuf::from(dir),
            None => std::env::var_os("XDG_CACHE_HOME")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))?
                .join("edge-idp"),
        };
        Some(Self::at(base.join("kv-values")))
    }

    pub(crate) fn at(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The value whose digest is `sha256`, if it is here and intact.
    pub(crate) fn get(&self, sha256: &str) -> Option<Vec<u8>> {
        if !is_digest(sha256) {
            return None;
        }
        let path = self.dir.join(sha256);
        let bytes = fs::read(&path).ok()?;
        if digest(&bytes) != sha256 {
            return None;
        }
        mark_used(&path);
        Some(bytes)
    }

    /// Keeps `value` (replacing a damaged copy). Best effort: a value that cannot be kept is
    /// fetched again next time.
    pub(crate) fn keep(&self, value: &[u8]) {
        let name = digest(value);
        let path = self.dir.join(&name);
        if fs::read(&path).is_ok_and(|kept| kept == value) {
            return;
        }
        let _ = self.create_dir().and_then(|()| {
            // Written aside and renamed, so that a reader never sees half a file.
            let partial = self
                .dir
                .join(format!("{name}.{}.partial", std::process::id()));
            write_private(&partial, value)?;
            fs::rename(&partial, &path)
        });
    }

    /// Removes the files no plan has used for [`UNUSED_FOR`]. Best effort.
    pub(crate) fn prune(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > UNUSED_FOR);
            if old {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    fn create_dir(&self) -> std::io::Result<()> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&self.dir)
    }
}

fn write_private(path: &Path, value: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, value)
}

/// Moves the file's modification time to now when it is older than [`MARK_AFTER`], so that
/// [`ValueCache::prune`] keeps what plans still use.
fn mark_used(path: &Path) {
    let stale = fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > MARK_AFTER);
    if stale {
        if let Ok(file) = fs::File::options().append(true).open(path) {
            let _ = file.set_modified(SystemTime::now());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> ValueCache {
        let dir = std::env::temp_dir().join(format!("edge-idp-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        ValueCache::at(dir)
    }

    #[test]
    fn a_kept_value_comes_back_by_its_digest_only() {
        let cache = scratch("cache-roundtrip");
        let value = br#"{"tenant":"acme"}"#;
        assert_eq!(cache.get(&digest(value)), None, "empty cache");
        cache.keep(value);
        assert_eq!(cache.get(&digest(value)).as_deref(), Some(&value[..]));
        assert_eq!(cache.get(&digest(b"other")), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&cache.dir), 0o700);
            assert_eq!(mode(&cache.dir.join(digest(value))), 0o600);
        }
        fs::remove_dir_all(&cache.dir).unwrap();
    }

    #[test]
    fn a_damaged_or_planted_file_is_a_miss() {
        let cache = scratch("cache-damaged");
        let value = b"the real value";
        cache.keep(value);
        let name = digest(value);
        fs::write(cache.dir.join(&name), b"another value").unwrap();
        assert_eq!(cache.get(&name), None);
        cache.keep(value);
        assert_eq!(cache.get(&name).as_deref(), Some(&value[..]), "repaired");
        // A listed "digest" that is a path, or has the wrong form, names no file at all.
        fs::write(cache.dir.join("x"), b"x").unwrap();
        for bad in ["x", "../kv-values/x", &name.to_uppercase(), &name[..63], ""] {
            assert_eq!(cache.get(bad), None, "{bad:?}");
        }
        fs::remove_dir_all(&cache.dir).unwrap();
    }

    #[test]
    fn prune_removes_only_files_unused_for_a_month() {
        let cache = scratch("cache-prune");
        cache.keep(b"fresh");
        cache.keep(b"old");
        let old = cache.dir.join(digest(b"old"));
        let long_ago = SystemTime::now() - UNUSED_FOR - Duration::from_secs(60);
        fs::File::options()
            .append(true)
            .open(&old)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        cache.prune();
        assert!(!old.exists());
        assert_eq!(cache.get(&digest(b"fresh")).as_deref(), Some(&b"fresh"[..]));
        fs::remove_dir_all(&cache.dir).unwrap();
    }

    #[test]
    fn a_used_file_is_marked_so_prune_keeps_it() {
        let cache = scratch("cache-mark");
        cache.keep(b"used");
        let path = cache.dir.join(digest(b"used"));
        let two_days_ago = SystemTime::now() - 2 * MARK_AFTER;
        fs::File::options()
            .append(true)
            .open(&path)
            .unwrap()
            .set_modified(two_days_ago)
            .unwrap();
        assert!(cache.get(&digest(b"used")).is_some());
        let age = SystemTime::now()
            .duration_since(fs::metadata(&path).unwrap().modified().unwrap())
            .unwrap();
        assert!(age < MARK_AFTER, "marked used: {age:?}");
        fs::remove_dir_all(&cache.dir).unwrap();
    }
}
