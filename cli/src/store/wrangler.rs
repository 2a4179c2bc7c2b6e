//! The Workers KV backend: wrangler's `kv` commands, run with the namespace arguments of the
//! target, values handed over in a private temporary file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

use super::value_cache::{metadata_of, ValueCache};
use super::{Entry, Target, TempDir};
use crate::error::CliError;

/// A key as `wrangler kv key list` shows it: its name, and the digest `apply` wrote in its
/// metadata (none for a key written otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The key.
    pub name: String,
    /// The `sha256` of its metadata, as listed (checked before any use).
    pub sha256: Option<String>,
}

impl Target {
    /// Runs wrangler with `args` followed by the namespace arguments; a usage error for any
    /// other target.
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
    pub(super) fn wrangler_get(&self, key: &str) -> Result<Option<Vec<u8>>, CliError> {
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

    /// Lists keys with `wrangler kv key list --prefix` (a JSON array of `{"name": …,
    /// "metadata": …}`).
    pub(super) fn wrangler_list(&self, prefix: &str) -> Result<Vec<Listed>, CliError> {
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

    /// Writes every entry, each with its digest in its metadata, with one `wrangler kv bulk put`
    /// of a private temporary file; then keeps the values in the local value cache.
    pub(super) fn wrangler_bulk_put(&self, entries: &[Entry]) -> Result<(), CliError> {
        let tmp = TempDir::new()?;
        let file = tmp.path().join("bulk.json");
        let bulk: Vec<Value> = entries
            .iter()
            .map(|e| {
                let metadata = metadata_of(e.value.as_bytes());
                json!({ "key": e.key, "value": e.value, "metadata": metadata })
            })
            .collect();
        fs::write(&file, Value::Array(bulk).to_string())
            .map_err(|e| CliError::io("cannot write", &file, e))?;
        let (command, out) = self.wrangler(vec![
            "kv".into(),
            "bulk".into(),
            "put".into(),
            file.display().to_string(),
        ])?;
        relay(command, &out)?;
        if let Some(cache) = ValueCache::from_env() {
            for entry in entries {
                cache.keep(entry.value.as_bytes());
            }
        }
        Ok(())
    }

    /// Deletes `keys` with one `wrangler kv bulk delete --force` of a private temporary file (a
    /// missing key is not an error).
    pub(super) fn wrangler_bulk_delete(&self, keys: &[String]) -> Result<(), CliError> {
        let tmp = TempDir::new()?;
        let file = tmp.path().join("delete.json");
        fs::write(&file, Value::from(keys.to_vec()).to_string())
            .map_err(|e| CliError::io("cannot write", &file, e))?;
        let (command, out) = self.wrangler(vec![
            "kv".into(),
            "bulk".into(),
            "delete".into(),
            file.display().to_string(),
            "--force".into(),
        ])?;
        relay(command, &out)
    }
}

/// Passes a wrangler write's output on to stderr (so that stdout holds only what was written)
/// and tells success from failure.
fn relay(command: String, out: &Output) -> Result<(), CliError> {
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
pub(crate) fn namespace_args(
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

/// The keys of `wrangler kv key list` output; `None` when it is not such a list.
fn parse_list(stdout: &[u8]) -> Option<Vec<Listed>> {
    let list: Vec<Value> = serde_json::from_slice(stdout).ok()?;
    list.iter()
        .map(|item| {
            let name = item.get("name").and_then(Value::as_str)?.to_owned();
            let sha256 = item
                .pointer("/metadata/sha256")
                .and_then(Value::as_str)
                .map(str::to_owned);
            Some(Listed { name, sha256 })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

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
    fn wrangler_list_output_is_a_json_array_of_names_with_their_digests() {
        let out = br#"[{"name":"tenant:acme:keys"},{"name":"tenant:acme:saml:x","metadata":{}},
            {"name":"host:a","metadata":{"sha256":"ab12"}},{"name":"host:b","metadata":"x"}]"#;
        let listed = |name: &str, sha256: Option<&str>| Listed {
            name: name.to_owned(),
            sha256: sha256.map(str::to_owned),
        };
        assert_eq!(
            parse_list(out).unwrap(),
            [
                listed("tenant:acme:keys", None),
                listed("tenant:acme:saml:x", None),
                listed("host:a", Some("ab12")),
                listed("host:b", None),
            ]
        );
        assert_eq!(parse_list(b"[]").unwrap(), Vec::<Listed>::new());
        for bad in [&b"Not logged in"[..], b"{}", br#"[{"nom":"x"}]"#, b""] {
            assert_eq!(parse_list(bad), None, "{bad:?}");
        }
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
