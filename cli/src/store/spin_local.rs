//! The local Spin key-value store: a folder of files named by the lowercase hex of their key,
//! also the layout of the Fermyon Cloud mirror.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::file_name::unhex;
use super::{Entry, SPIN_STORE};
use crate::error::CliError;

/// The value of `key` in the local Spin store, if any.
pub(crate) fn spin_local_get(key: &str, kv_dir: &Path) -> Result<Option<Vec<u8>>, CliError> {
    let path = kv_dir.join(SPIN_STORE).join(hex::encode(key));
    match fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::io("cannot read", &path, e)),
    }
}

/// The keys of the local Spin store that start with `prefix`. Names that are not lowercase hex
/// (the provider's lock and temporary files start with a dot) are not keys.
pub(crate) fn spin_local_list(prefix: &str, kv_dir: &Path) -> Result<Vec<String>, CliError> {
    let store = kv_dir.join(SPIN_STORE);
    let entries = match fs::read_dir(&store) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CliError::io("cannot read", &store, e)),
    };
    let mut keys = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| CliError::io("cannot read", &store, e))?;
        let name = entry.file_name();
        let Some(key) = name.to_str().and_then(unhex) else {
            continue;
        };
        if key.starts_with(prefix) {
            keys.push(key);
        }
    }
    Ok(keys)
}

/// Writes every entry as `kv_dir/default/<lowercase hex of the key>` holding the value's bytes,
/// each through a temporary file and a rename, so that a running server never reads half a value.
pub fn spin_local_put(entries: &[Entry], kv_dir: &Path) -> Result<(), CliError> {
    let store = kv_dir.join(SPIN_STORE);
    fs::create_dir_all(&store).map_err(|e| CliError::io("cannot create", &store, e))?;
    for entry in entries {
        let name = hex::encode(&entry.key);
        let path = store.join(&name);
        // A dot name: the provider lists only hex names, and uses `.tmp-<hex>` itself.
        let tmp = store.join(format!(".push-{}-{name}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(entry.value.as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, &path)
        };
        if let Err(e) = write() {
            let _ = fs::remove_file(&tmp);
            return Err(CliError::io("cannot write", &path, e));
        }
    }
    Ok(())
}

/// Removes `key`'s file from the local Spin store.
pub fn spin_local_delete(key: &str, kv_dir: &Path) -> Result<(), CliError> {
    let path = kv_dir.join(SPIN_STORE).join(hex::encode(key));
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CliError::io("cannot remove", &path, e)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::store::Target;

    #[test]
    fn spin_local_store_lists_gets_puts_and_deletes_by_key() {
        let dir = std::env::temp_dir().join(format!("edge-idp-store-unit-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let target = Target::SpinLocal {
            kv_dir: dir.clone(),
        };
        // No store at all yet: nothing to list or read, and deleting is not an error.
        assert_eq!(target.list("").unwrap(), Vec::<String>::new());
        assert_eq!(target.get("host:a").unwrap(), None);
        target.delete(&["host:a".to_owned()]).unwrap();

        let entry = |k: &str, v: &str| Entry {
            key: k.into(),
            value: v.into(),
        };
        target
            .put(&[
                entry("tenant:acme", "{}"),
                entry("tenant:acme:keys", "{}"),
                entry("tenant:acme-2", "{}"),
                entry("host:a", "{\"tenant\":\"acme\"}"),
            ])
            .unwrap();
        fs::write(dir.join(SPIN_STORE).join(".lock-6861"), "").unwrap();
        assert_eq!(
            target.list("tenant:acme:").unwrap(),
            ["tenant:acme:keys".to_owned()]
        );
        assert_eq!(target.list("host:").unwrap(), ["host:a".to_owned()]);
        assert_eq!(
            target.get("host:a").unwrap().unwrap(),
            b"{\"tenant\":\"acme\"}"
        );
        target
            .delete(&["host:a".to_owned(), "tenant:acme".to_owned()])
            .unwrap();
        assert_eq!(
            target.list("").unwrap(),
            ["tenant:acme-2".to_owned(), "tenant:acme:keys".to_owned()]
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
