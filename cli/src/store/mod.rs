//! The tenant-config store the CLI reads and writes: Workers KV through wrangler (`kv key get`,
//! `kv key list`, `kv bulk put`, `kv key delete`), the local Spin key-value store (a folder of
//! files named by the hex of their key), or a Spin app's store on Fermyon Cloud (written with
//! `spin cloud kv set`, read from a local mirror: `crate::spin_cloud`).
//!
//! Values never go on wrangler's command line: it gets them in a private temporary file. `spin
//! cloud kv set` takes nothing but arguments; the values it gets hold only sealed secrets.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

use crate::error::CliError;
use crate::spin_cloud::{self, CloudStore};

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
            Target::SpinLocal { kv_dir } => spin_local_get(key, kv_dir)?,
            Target::SpinCloud { mirror, .. } => spin_local_get(key, mirror)?,
        };
        Ok(value.filter(|v| !v.is_empty()))
    }

    /// Every key that starts with `prefix`, sorted.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, CliError> {
        let mut keys = match self {
            Target::Workers { .. } => self.wrangler_list(prefix)?,
            Target::SpinLocal { kv_dir } => spin_local_list(prefix, kv_dir)?,
            Target::SpinCloud { mirror, .. } => spin_local_list(prefix, mirror)?,
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

    /// Deletes each of `keys`, in order; a key that is already gone is not an error. On
    /// Fermyon Cloud, which cannot delete one key, each is set to the empty value (a tombstone
    /// the runtime reads as no key) and leaves the mirror.
    pub fn delete(&self, keys: &[String]) -> Result<(), CliError> {
        match self {
            Target::Workers { .. } => keys.iter().try_for_each(|key| self.wrangler_delete(key)),
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

    /// Runs wrangler with `args` followed by the namespace arguments; `None` for non-Workers.
    pub(crate) fn wrangler(&self, mut args: Vec<String>) -> Result<(String, Output), CliError> {
        let Target::Workers {
            wrangler,
            binding,
            local,
            config,
        } = self
        else {
            return Err(CliError::Usage(
                "wrangler is only used for Workers (a bug: wrong target)".to_owned(),
            ));
        };
        args.extend(namespace_args(binding, local.as_ref(), config.as_deref()));
        let command = format!("{} {}", wrangler.display(), args.join(" "));
        eprintln!("running {command}");
        let out = Command::new(wrangler)
            .args(&args)
            .env("WRANGLER_SEND_METRICS", "false")
            .stdin(Stdio::null())
            .output()
            .map_err(|source| CliError::WranglerStart {
                program: wrangler.display().to_string(),
                source,
            })?;
        Ok((command, out))
    }

    /// Reads `key` with `wrangler kv key get`.
    fn wrangler_get(&self, key: &str) -> Result<Option<Vec<u8>>, CliError> {
        let (command, out) = self.wrangler(vec![
            "kv".into(),
            "key".into(),
            "get".into(),
            key.to_owned(),
        ])?;
        interpret_get(out.status.success(), &out.stdout, &out.stderr).map_err(|()| {
            // wrangler's own words on why it failed (it prints no value on failure).
            let _ = std::io::stderr().write_all(&out.stderr);
            CliError::StoreReadFailed {
                command,
                status: out.status,
                what: key.to_owned(),
            }
        })
    }

    /// Lists keys with `wrangler kv key list --prefix` (a JSON array of `{"name": …}`).
    fn wrangler_list(&self, prefix: &str) -> Result<Vec<String>, CliError> {
        let (command, out) = self.wrangler(vec![
            "kv".into(),
            "key".into(),
            "list".into(),
            "--prefix".into(),
            prefix.to_owned(),
        ])?;
        let failed = |out: &Output| {
            let _ = std::io::stderr().write_all(&out.stderr);
            CliError::StoreReadFailed {
                command: command.clone(),
                status: out.status,
                what: format!("the keys starting with {prefix}"),
            }
        };
        if !out.status.success() {
            return Err(failed(&out));
        }
        parse_list(&out.stdout).ok_or_else(|| failed(&out))
    }

    /// Writes every entry with one `wrangler kv bulk put` of a private temporary file.
    fn wrangler_bulk_put(&self, entries: &[Entry]) -> Result<(), CliError> {
        let tmp = TempDir::new()?;
        let file = tmp.0.join("bulk.json");
        let bulk: Vec<Value> = entries
            .iter()
            .map(|e| json!({ "key": e.key, "value": e.value }))
            .collect();
        fs::write(&file, Value::Array(bulk).to_string())
            .map_err(|e| CliError::io("cannot write", &file, e))?;
        let (command, out) = self.wrangler(vec![
            "kv".into(),
            "bulk".into(),
            "put".into(),
            file.display().to_string(),
        ])?;
        relay(command, &out)
    }

    /// Deletes `key` with `wrangler kv key delete`.
    fn wrangler_delete(&self, key: &str) -> Result<(), CliError> {
        let (command, out) = self.wrangler(vec![
            "kv".into(),
            "key".into(),
            "delete".into(),
            key.to_owned(),
        ])?;
        relay(command, &out)
    }
}

/// Passes a wrangler write's output on to stderr (so that stdout holds only what was written)
/// and tells success from failure.
fn relay(command: String, out: &std::process::Output) -> Result<(), CliError> {
    let _ = std::io::stderr().write_all(&out.stdout);
    let _ = std::io::stderr().write_all(&out.stderr);
    if out.status.success() {
        Ok(())
    } else {
        Err(CliError::WranglerFailed {
            command,
            status: out.status,
        })
    }
}

/// wrangler's arguments that pick the namespace: binding, local (with its persistence folder) or
/// remote, configuration file.
pub fn namespace_args(
    binding: &str,
    local: Option<&Option<PathBuf>>,
    config: Option<&Path>,
) -> Vec<String> {
    let mut args = vec![format!("--binding={binding}")];
    match local {
        Some(persist_to) => {
            args.push("--local".into());
            if let Some(dir) = persist_to {
                args.push("--persist-to".into());
                args.push(dir.display().to_string());
            }
        }
        None => args.push("--remote".into()),
    }
    if let Some(config) = config {
        args.push("--config".into());
        args.push(config.display().to_string());
    }
    args
}

/// What `wrangler kv key get` said, as a value: `Ok(None)` when the key is missing (wrangler 4
/// prints "Value not found" and succeeds for local storage, and fails with the API's
/// "404: Not Found" for remote storage); `Err(())` for any other failure.
fn interpret_get(success: bool, stdout: &[u8], stderr: &[u8]) -> Result<Option<Vec<u8>>, ()> {
    if success {
        if String::from_utf8_lossy(stdout).trim() == "Value not found" {
            Ok(None)
        } else {
            Ok(Some(stdout.to_vec()))
        }
    } else if String::from_utf8_lossy(stderr).contains("404: Not Found") {
        Ok(None)
    } else {
        Err(())
    }
}

/// The key names of `wrangler kv key list` output; `None` when it is not such a list.
fn parse_list(stdout: &[u8]) -> Option<Vec<String>> {
    let list: Vec<Value> = serde_json::from_slice(stdout).ok()?;
    list.iter()
        .map(|item| item.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// The value of `key` in the local Spin store, if any.
pub fn spin_local_get(key: &str, kv_dir: &Path) -> Result<Option<Vec<u8>>, CliError> {
    let path = kv_dir.join(SPIN_STORE).join(hex(key.as_bytes()));
    match fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::io("cannot read", &path, e)),
    }
}

/// The keys of the local Spin store that start with `prefix`. Names that are not lowercase hex
/// (the provider's lock and temporary files start with a dot) are not keys.
pub fn spin_local_list(prefix: &str, kv_dir: &Path) -> Result<Vec<String>, CliError> {
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
        let name = hex(entry.key.as_bytes());
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
    let path = kv_dir.join(SPIN_STORE).join(hex(key.as_bytes()));
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CliError::io("cannot remove", &path, e)),
    }
}

/// A private temporary folder, removed when dropped.
/// A private temporary folder, removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    /// The folder.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    pub(crate) fn new() -> Result<Self, CliError> {
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(CliError::Random)?;
        let name = format!("edge-idp-push-{}-{}", std::process::id(), hex(&suffix));
        let path = std::env::temp_dir().join(name);
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&path)
            .map_err(|e| CliError::io("cannot create", &path, e))?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: the folder only holds the sealed config that was just written.
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// The UTF-8 text whose lowercase hex is `name`; `None` for any other name.
fn unhex(name: &str) -> Option<String> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let raw = name.as_bytes();
    if raw.is_empty() || raw.len() % 2 != 0 {
        return None;
    }
    let bytes = raw
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn hex_of_a_key_and_back() {
        assert_eq!(hex(b"host:a"), "686f73743a61");
        assert_eq!(hex(&[0x00, 0xff, 0x10]), "00ff10");
        assert_eq!(unhex("686f73743a61").as_deref(), Some("host:a"));
        for bad in ["", "6", "686F", ".lock-6861", "zz", "ff"] {
            assert_eq!(unhex(bad), None, "{bad}");
        }
    }

    #[test]
    fn wrangler_get_tells_missing_keys_from_failures() {
        let value = br#"{"schema_version":1,"tenant":"acme"}"#;
        assert_eq!(interpret_get(true, value, b""), Ok(Some(value.to_vec())));
        // wrangler 4, local storage: a missing key is a message on stdout and success.
        assert_eq!(interpret_get(true, b"Value not found\n", b""), Ok(None));
        // Remote storage: the API's 404.
        let not_found =
            b"X [ERROR] Failed to fetch https://api.cloudflare.com/client/v4/accounts/1/\
            storage/kv/namespaces/2/values/host%3Aa - 404: Not Found";
        assert_eq!(interpret_get(false, b"", not_found), Ok(None));
        // Anything else fails closed.
        assert_eq!(
            interpret_get(false, b"", b"X [ERROR] Not logged in"),
            Err(())
        );
        assert_eq!(interpret_get(false, b"", b""), Err(()));
    }

    #[test]
    fn wrangler_list_output_is_a_json_array_of_names() {
        let out = br#"[{"name":"tenant:acme:keys"},{"name":"tenant:acme:saml:x","metadata":{}}]"#;
        assert_eq!(
            parse_list(out).unwrap(),
            ["tenant:acme:keys", "tenant:acme:saml:x"]
        );
        assert_eq!(parse_list(b"[]").unwrap(), Vec::<String>::new());
        for bad in [&b"Not logged in"[..], b"{}", br#"[{"nom":"x"}]"#, b""] {
            assert_eq!(parse_list(bad), None, "{bad:?}");
        }
    }

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

    #[test]
    fn namespace_args_pick_the_same_namespace_for_reads_and_writes() {
        assert_eq!(
            namespace_args("TENANTS", None, None),
            ["--binding=TENANTS", "--remote"]
        );
        let persist = Some(PathBuf::from("state"));
        assert_eq!(
            namespace_args("T", Some(&persist), Some(Path::new("w.toml"))),
            [
                "--binding=T",
                "--local",
                "--persist-to",
                "state",
                "--config",
                "w.toml"
            ]
        );
        assert_eq!(
            namespace_args("T", Some(&None), None),
            ["--binding=T", "--local"]
        );
    }
}
