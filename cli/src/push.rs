//! `edge-idp push`: writes a validated tenant folder to Workers KV (through wrangler) or to the local
//! Spin key-value store (a folder of files).
//!
//! A hostname maps to one tenant (`host:{hostname}`). Before writing anything, push reads the
//! current owner of each of the folder's hostnames from the store it writes to, and refuses the
//! whole push when one belongs to another tenant, unless the admin moves it explicitly with
//! `--move-host HOST=FROM_TENANT` naming that current owner: one tenant's folder cannot silently take
//! over another tenant's sign-in hostname.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::check::{self, Document, Options};
use crate::error::CliError;
use crate::kind::Kind;
use crate::secrets::is_tenant_id;

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

/// `--move-host HOST=FROM_TENANT`: the admin moves HOST, one of the pushed folder's hostnames, from
/// FROM_TENANT (its current owner) to the tenant pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostMove {
    /// The hostname (lowercased).
    pub host: String,
    /// The tenant that owns it now and that it leaves.
    pub from: String,
}

impl std::str::FromStr for HostMove {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (host, from) = s.split_once('=').ok_or_else(|| {
            format!("expected HOST=FROM_TENANT (the tenant that owns HOST now), got {s:?}")
        })?;
        let host = host.trim().to_ascii_lowercase();
        let from = from.trim();
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(format!("{s:?}: HOST must be a hostname"));
        }
        if !is_tenant_id(from) {
            return Err(format!(
                "{s:?}: FROM_TENANT must be a tenant id (lowercase letters, digits and '-')"
            ));
        }
        Ok(Self {
            host,
            from: from.to_owned(),
        })
    }
}

/// Validates `dir` as a tenant folder and pushes it; refuses to push anything if it is invalid, or
/// if one of its hostnames belongs to another tenant and is not moved by one of `moves`.
pub fn push(
    dir: &Path,
    target: &Target,
    options: &Options,
    moves: &[HostMove],
) -> Result<(), CliError> {
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
    let tenant = tenant_id(&report.documents)?;
    let hosts: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.key.strip_prefix(HOST_PREFIX))
        .collect();
    check_moves(tenant, &hosts, moves)?;
    let mut owners = Vec::with_capacity(hosts.len());
    for host in &hosts {
        owners.push(((*host).to_owned(), current_owner(target, host)?));
    }
    let moved = decide(tenant, &owners, moves)?;
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
    for m in &moved {
        println!(
            "moved {HOST_PREFIX}{} from tenant {} to tenant {tenant}",
            m.host, m.from
        );
    }
    Ok(())
}

/// The prefix of the keys that map a hostname to its tenant.
const HOST_PREFIX: &str = "host:";

/// The id of the tenant of a tenant folder's documents.
fn tenant_id(docs: &[Document]) -> Result<&str, CliError> {
    docs.iter()
        .find(|d| d.kind() == Kind::Tenant)
        .ok_or_else(|| CliError::Usage("the folder has no tenant.json".to_owned()))?
        .id()
        .ok_or_else(|| CliError::Usage("tenant.json has no id".to_owned()))
}

/// Refuses moves that cannot apply to this push: a host that is not one of the folder's hostnames,
/// or the same host moved twice. Checked before anything is read.
fn check_moves(tenant: &str, hosts: &[&str], moves: &[HostMove]) -> Result<(), CliError> {
    for (i, m) in moves.iter().enumerate() {
        if !hosts.contains(&m.host.as_str()) {
            return Err(CliError::Usage(format!(
                "--move-host {}={}: {} is not one of the hostnames of tenant {tenant} ({}); \
                 nothing was pushed",
                m.host,
                m.from,
                m.host,
                hosts.join(", ")
            )));
        }
        if moves[..i].iter().any(|earlier| earlier.host == m.host) {
            return Err(CliError::Usage(format!(
                "--move-host names {} more than once; nothing was pushed",
                m.host
            )));
        }
    }
    Ok(())
}

/// Given the current owner of each hostname of `tenant` (`None`: no tenant), decides whether the
/// push may go ahead: a hostname owned by another tenant needs a move naming that owner, and every
/// move must name the current owner. Returns the moves that happen; otherwise every reason, all
/// at once.
pub fn decide(
    tenant: &str,
    owners: &[(String, Option<String>)],
    moves: &[HostMove],
) -> Result<Vec<HostMove>, CliError> {
    let mut reasons = Vec::new();
    let mut moved = Vec::new();
    for (host, owner) in owners {
        let owner = owner.as_deref();
        match (owner, moves.iter().find(|m| m.host == *host)) {
            (None, None) => {}
            (Some(owner), None) if owner == tenant => {}
            (Some(owner), None) => reasons.push(format!(
                "host {host} belongs to tenant {owner}; pushing tenant {tenant} would take it over. \
                 If the hostname really moves to {tenant}, push again with \
                 --move-host {host}={owner}"
            )),
            (Some(owner), Some(m)) if owner == tenant => reasons.push(format!(
                "--move-host {host}={}: host {host} already belongs to tenant {tenant}; drop \
                 --move-host",
                m.from
            )),
            (Some(owner), Some(m)) if owner == m.from => moved.push(m.clone()),
            (Some(owner), Some(m)) => reasons.push(format!(
                "--move-host {host}={from}: host {host} belongs to tenant {owner}, not {from}; \
                 check who owns it before moving it (--move-host {host}={owner})",
                from = m.from
            )),
            (None, Some(m)) => reasons.push(format!(
                "--move-host {host}={}: host {host} belongs to no tenant; drop --move-host",
                m.from
            )),
        }
    }
    if reasons.is_empty() {
        Ok(moved)
    } else {
        Err(CliError::HostsRefused {
            tenant: tenant.to_owned(),
            reasons,
        })
    }
}

/// The tenant a `host:` value names. Anything else than a host mapping is refused: its owner is
/// unknown, so nothing may overwrite it.
fn owner_of(key: &str, value: &[u8]) -> Result<String, CliError> {
    serde_json::from_slice::<Value>(value)
        .ok()
        .as_ref()
        .and_then(|v| v.get("tenant"))
        .and_then(Value::as_str)
        .filter(|t| is_tenant_id(t))
        .map(str::to_owned)
        .ok_or_else(|| CliError::HostUnreadable {
            key: key.to_owned(),
        })
}

/// The tenant that owns `host` now in the store `target` writes to (`None`: no tenant).
fn current_owner(target: &Target, host: &str) -> Result<Option<String>, CliError> {
    let key = format!("{HOST_PREFIX}{host}");
    let value = match target {
        Target::Workers {
            wrangler,
            binding,
            local,
            config,
        } => wrangler_get(&key, wrangler, binding, local.as_ref(), config.as_deref())?,
        Target::SpinLocal { kv_dir } => spin_local_get(&key, kv_dir)?,
    };
    value.map(|v| owner_of(&key, &v)).transpose()
}

/// The value of `key` in the local Spin store, if any.
fn spin_local_get(key: &str, kv_dir: &Path) -> Result<Option<Vec<u8>>, CliError> {
    let path = kv_dir.join(SPIN_STORE).join(hex(key.as_bytes()));
    match fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::io("cannot read", &path, e)),
    }
}

/// wrangler's arguments that pick the namespace: binding, local (with its persistence folder) or
/// remote, configuration file.
fn namespace_args(
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

/// Reads `key` with `wrangler kv key get` from the namespace the push writes to.
fn wrangler_get(
    key: &str,
    wrangler: &Path,
    binding: &str,
    local: Option<&Option<PathBuf>>,
    config: Option<&Path>,
) -> Result<Option<Vec<u8>>, CliError> {
    let mut args: Vec<String> = vec!["kv".into(), "key".into(), "get".into(), key.to_owned()];
    args.extend(namespace_args(binding, local, config));
    let command = format!("{} {}", wrangler.display(), args.join(" "));
    eprintln!("running {command}");
    let out = Command::new(wrangler)
        .args(&args)
        .env("WRANGLER_SEND_METRICS", "false")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| CliError::WranglerStart {
            program: wrangler.display().to_string(),
            source,
        })?;
    match interpret_get(out.status.success(), &out.stdout, &out.stderr) {
        Ok(value) => Ok(value),
        Err(()) => {
            // wrangler's own words on why it failed (it prints no value on failure).
            let _ = std::io::stderr().write_all(&out.stderr);
            Err(CliError::WranglerReadFailed {
                command,
                status: out.status,
                key: key.to_owned(),
            })
        }
    }
}

/// The KV entries of a valid tenant folder, in write order: apps and keys first, then the tenant,
/// then its hostnames, so that a hostname never points at a tenant that is not there yet.
pub fn entries(docs: &[Document]) -> Result<Vec<Entry>, CliError> {
    let tenant = tenant_id(docs)?;
    let tenant_doc = docs
        .iter()
        .find(|d| d.kind() == Kind::Tenant)
        .ok_or_else(|| CliError::Usage("the folder has no tenant.json".to_owned()))?;
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
    ];
    args.extend(namespace_args(binding, local, config));
    let command = format!("{} {}", wrangler.display(), args.join(" "));
    eprintln!("running {command}");
    // wrangler's chatter goes to stderr, so that stdout holds only what was written.
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

    fn mv(s: &str) -> HostMove {
        s.parse().unwrap()
    }

    fn owners(list: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        list.iter()
            .map(|(h, o)| ((*h).to_owned(), o.map(str::to_owned)))
            .collect()
    }

    fn refusals(result: Result<Vec<HostMove>, CliError>) -> Vec<String> {
        match result {
            Err(CliError::HostsRefused { reasons, .. }) => reasons,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn move_host_parses_host_and_current_owner() {
        assert_eq!(
            mv("SSO.Acme.Example=acme"),
            HostMove {
                host: "sso.acme.example".into(),
                from: "acme".into()
            }
        );
        for bad in [
            "sso.acme.example",
            "=acme",
            "sso.acme.example=",
            "a b=acme",
            "h=Acme",
            "h=a_b",
        ] {
            assert!(bad.parse::<HostMove>().is_err(), "{bad}");
        }
    }

    #[test]
    fn own_and_unowned_hosts_need_no_move() {
        let o = owners(&[("a.example", Some("beta")), ("b.example", None)]);
        assert_eq!(decide("beta", &o, &[]).unwrap(), vec![]);
    }

    #[test]
    fn a_host_of_another_tenant_is_refused_naming_host_and_owner() {
        let o = owners(&[
            ("beta.example", None),
            ("sso.acme.example", Some("acme")),
            ("login.globex.example", Some("globex")),
        ]);
        let reasons = refusals(decide("beta", &o, &[]));
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(reasons[0].contains("host sso.acme.example belongs to tenant acme"));
        assert!(reasons[0].contains("--move-host sso.acme.example=acme"));
        assert!(reasons[1].contains("host login.globex.example belongs to tenant globex"));
        let e = decide("beta", &o, &[]).unwrap_err().to_string();
        assert!(
            e.starts_with("refusing to push tenant beta; nothing was pushed:\n  host sso"),
            "{e}"
        );
    }

    #[test]
    fn a_move_naming_the_current_owner_is_allowed_and_reported() {
        let o = owners(&[("beta.example", None), ("sso.acme.example", Some("acme"))]);
        let moves = [mv("sso.acme.example=acme")];
        assert_eq!(decide("beta", &o, &moves).unwrap(), moves.to_vec());
    }

    #[test]
    fn a_move_naming_anyone_but_the_current_owner_is_refused() {
        let o = owners(&[
            ("acme.example", Some("acme")),
            ("beta.example", Some("beta")),
            ("free.example", None),
        ]);
        let wrong = refusals(decide("beta", &o, &[mv("acme.example=globex")]));
        assert_eq!(wrong.len(), 1);
        assert!(
            wrong[0].contains("belongs to tenant acme, not globex"),
            "{wrong:?}"
        );
        // Alongside the right move of acme.example, so that each case is the only refusal.
        let right = mv("acme.example=acme");
        for (wrong_move, why) in [
            ("beta.example=acme", "already belongs to tenant beta"),
            ("beta.example=beta", "already belongs to tenant beta"),
            ("free.example=acme", "belongs to no tenant"),
        ] {
            let reasons = refusals(decide("beta", &o, &[right.clone(), mv(wrong_move)]));
            assert_eq!(reasons.len(), 1, "{wrong_move}: {reasons:?}");
            assert!(
                reasons[0].starts_with(&format!("--move-host {wrong_move}: ")),
                "{reasons:?}"
            );
            assert!(reasons[0].contains(why), "{reasons:?}");
        }
    }

    #[test]
    fn moves_must_name_a_hostname_of_the_folder_once() {
        let hosts = ["a.example", "b.example"];
        assert!(check_moves("beta", &hosts, &[mv("a.example=acme")]).is_ok());
        let e = check_moves("beta", &hosts, &[mv("c.example=acme")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "c.example is not one of the hostnames of tenant beta (a.example, b.example)"
            ),
            "{e}"
        );
        let e = check_moves(
            "beta",
            &hosts,
            &[mv("a.example=acme"), mv("a.example=globex")],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("more than once"), "{e}");
    }

    #[test]
    fn owner_of_reads_host_mappings_only() {
        assert_eq!(
            owner_of("host:a", br#"{"schema_version":1,"tenant":"acme"}"#).unwrap(),
            "acme"
        );
        assert_eq!(owner_of("host:a", br#"{"tenant":"acme"}"#).unwrap(), "acme");
        for bad in [
            &b"garbage"[..],
            b"",
            b"{}",
            br#"{"tenant":7}"#,
            br#"{"tenant":"Not An Id"}"#,
        ] {
            assert!(
                matches!(
                    owner_of("host:a", bad),
                    Err(CliError::HostUnreadable { .. })
                ),
                "{bad:?}"
            );
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
    fn spin_local_owner_is_read_from_the_store_files() {
        let dir = std::env::temp_dir().join(format!("edge-idp-push-unit-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let target = Target::SpinLocal {
            kv_dir: dir.clone(),
        };
        // No store at all yet: nobody owns anything.
        assert_eq!(current_owner(&target, "a.example").unwrap(), None);
        fs::create_dir_all(dir.join(SPIN_STORE)).unwrap();
        fs::write(
            dir.join(SPIN_STORE).join(hex(b"host:a.example")),
            r#"{"schema_version":1,"tenant":"acme"}"#,
        )
        .unwrap();
        assert_eq!(
            current_owner(&target, "a.example").unwrap(),
            Some("acme".into())
        );
        assert_eq!(current_owner(&target, "b.example").unwrap(), None);
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
