//! `edge-idp push`: writes a validated tenant folder to Workers KV (through wrangler) or to the local
//! Spin key-value store (a folder of files).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::check::{self, Document, Options};
use crate::error::CliError;
use crate::kind::Kind;

/// One key and its value, as written to KV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The KV key.
    pub key: String,
    /// The value: compact JSON.
    pub value: String,
}

/// Where to push.
#[derive(Debug, Clone)]
pub enum Target {
    /// Workers KV through `wrangler kv bulk put`.
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
}

/// The label of Spin's key-value store that holds tenant config (a folder under the KV dir).
pub const SPIN_STORE: &str = "default";

/// Validates `dir` as a tenant folder and pushes it; refuses to push anything if it is invalid.
pub fn push(dir: &Path, target: &Target, options: &Options) -> Result<(), CliError> {
    if !dir.is_dir() {
        return Err(CliError::Usage(format!(
            "{} is not a folder: push takes a tenant folder (tenant.json, saml/, oidc/, …)",
            dir.display()
        )));
    }
    let report = check::validate(&[dir.to_path_buf()], options)?;
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    if !report.problems.is_empty() {
        for problem in &report.problems {
            eprintln!("{problem}");
        }
        return Err(CliError::Invalid {
            count: report.problems.len(),
            suffix: "; nothing was pushed",
        });
    }
    let entries = entries(&report.documents)?;
    match target {
        Target::Workers {
            wrangler,
            binding,
            local,
            config,
        } => push_workers(
            &entries,
            wrangler,
            binding,
            local.as_ref(),
            config.as_deref(),
        )?,
        Target::SpinLocal { kv_dir } => push_spin_local(&entries, kv_dir)?,
    }
    for entry in &entries {
        println!("put {}", entry.key);
    }
    Ok(())
}

/// The KV entries of a valid tenant folder, in write order: apps and keys first, then the tenant,
/// then its hostnames, so that a hostname never points at a tenant that is not there yet.
pub fn entries(docs: &[Document]) -> Result<Vec<Entry>, CliError> {
    let tenant_doc = docs
        .iter()
        .find(|d| d.kind() == Kind::Tenant)
        .ok_or_else(|| CliError::Usage("the folder has no tenant.json".to_owned()))?;
    let tenant = tenant_doc
        .id()
        .ok_or_else(|| CliError::Usage("tenant.json has no id".to_owned()))?;
    let compact = |v: &Value| v.to_string();

    let mut out = Vec::new();
    for doc in docs.iter().filter(|d| d.kind() != Kind::Tenant) {
        let id = doc.id().unwrap_or_default();
        out.push(Entry {
            key: doc.kind().kv_key(tenant, id),
            value: compact(&doc.value),
        });
    }
    out.push(Entry {
        key: Kind::Tenant.kv_key(tenant, tenant),
        value: compact(&tenant_doc.value),
    });
    let hostnames = tenant_doc
        .value
        .get("hostnames")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for host in hostnames.iter().filter_map(Value::as_str) {
        out.push(Entry {
            key: Kind::Host.kv_key(tenant, host),
            value: json!({ "schema_version": 1, "tenant": tenant }).to_string(),
        });
    }
    Ok(out)
}

/// A private temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self, CliError> {
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
        // Best effort: the folder only holds the sealed config that was just pushed.
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Writes every entry with one `wrangler kv bulk put` (a JSON array of `{key, value}` in a file,
/// so that no value is on a command line).
fn push_workers(
    entries: &[Entry],
    wrangler: &Path,
    binding: &str,
    local: Option<&Option<PathBuf>>,
    config: Option<&Path>,
) -> Result<(), CliError> {
    let tmp = TempDir::new()?;
    let file = tmp.0.join("bulk.json");
    let bulk: Vec<Value> = entries
        .iter()
        .map(|e| json!({ "key": e.key, "value": e.value }))
        .collect();
    fs::write(&file, Value::Array(bulk).to_string())
        .map_err(|e| CliError::io("cannot write", &file, e))?;

    let mut args: Vec<String> = vec![
        "kv".into(),
        "bulk".into(),
        "put".into(),
        file.display().to_string(),
        format!("--binding={binding}"),
    ];
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
    let command = format!("{} {}", wrangler.display(), args.join(" "));
    eprintln!("running {command}");
    // wrangler's chatter goes to stderr, so that stdout holds only the keys written.
    let status = Command::new(wrangler)
        .args(&args)
        .env("WRANGLER_SEND_METRICS", "false")
        .stdout(std::io::stderr())
        .status()
        .map_err(|source| CliError::WranglerStart {
            program: wrangler.display().to_string(),
            source,
        })?;
    if !status.success() {
        return Err(CliError::WranglerFailed { command, status });
    }
    Ok(())
}

/// Writes every entry as `kv_dir/default/<lowercase hex of the key>` holding the value's bytes,
/// each through a temporary file and a rename, so that a running server never reads half a value.
fn push_spin_local(entries: &[Entry], kv_dir: &Path) -> Result<(), CliError> {
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

/// The message for `--spin --remote`, which is not implemented.
pub fn spin_remote_unsupported() -> CliError {
    CliError::SpinRemoteUnsupported(
        "pushing to a remote Spin app is not supported yet.\n\
         Spin's own tooling can write the same keys: `spin up --key-value KEY=VALUE` (repeatable) \
         sets pairs in the application's default store when it starts, and on Fermyon Cloud the \
         cloud plugin has `spin cloud kv set` (check `spin cloud kv set --help` for its flags; \
         not verified here).\n\
         To see the exact keys, run `edge-idp push <tenant-dir> --spin --local --kv-dir <dir>`: it \
         prints every key, and <dir>/default/<hex of the key> holds each value."
            .to_owned(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::kind::Placement;

    fn doc(kind: Kind, value: Value) -> Document {
        Document {
            path: PathBuf::from("x.json"),
            placement: Placement::TenantFolder {
                kind,
                tenant_folder: "acme".into(),
            },
            value,
        }
    }

    #[test]
    fn hex_of_a_key() {
        assert_eq!(hex(b"host:a"), "686f73743a61");
        assert_eq!(hex(&[0x00, 0xff, 0x10]), "00ff10");
    }

    #[test]
    fn entries_put_hosts_last_and_name_every_kind() {
        let tenant = json!({"id": "acme", "hostnames": ["a.example", "b.example"]});
        let docs = vec![
            doc(Kind::Tenant, tenant.clone()),
            doc(Kind::Keys, json!({"schema_version": 1})),
            doc(Kind::SamlApp, json!({"id": "moodle"})),
            doc(Kind::OidcClient, json!({"id": "portal"})),
            doc(Kind::BridgeApp, json!({"id": "events"})),
        ];
        let keys: Vec<String> = entries(&docs).unwrap().into_iter().map(|e| e.key).collect();
        assert_eq!(
            keys,
            [
                "tenant:acme:keys",
                "tenant:acme:saml:moodle",
                "tenant:acme:oidc:portal",
                "tenant:acme:bridge:events",
                "tenant:acme",
                "host:a.example",
                "host:b.example",
            ]
        );
        let e = entries(&docs).unwrap();
        assert_eq!(e[4].value, tenant.to_string());
        assert_eq!(e[5].value, r#"{"schema_version":1,"tenant":"acme"}"#);
    }

    #[test]
    fn generated_host_values_match_the_host_schema() {
        let docs = vec![doc(
            Kind::Tenant,
            json!({"id": "acme", "hostnames": ["a.example"]}),
        )];
        let host = entries(&docs).unwrap().pop().unwrap();
        let value: Value = serde_json::from_str(&host.value).unwrap();
        let schemas = crate::check::Schemas::compile().unwrap();
        assert_eq!(schemas.check(Kind::Host, Path::new("host"), &value), vec![]);
    }
}
