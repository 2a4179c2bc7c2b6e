//! `edge-idp push`: writes a validated tenant folder to Workers KV (through wrangler) or to the local
//! Spin key-value store (a folder of files).
//!
//! A hostname maps to one tenant (`host:{hostname}`). Before writing anything, push reads the
//! current owner of each of the folder's hostnames from the store it writes to, and refuses the
//! whole push when one belongs to another tenant, unless the admin moves it explicitly with
//! `--move-host HOST=FROM_TENANT` naming that current owner: one tenant's folder cannot silently take
//! over another tenant's sign-in hostname.

use std::path::Path;

use edge_idp::kv_key::{self, HOST_PREFIX};
use serde_json::{json, Value};

use crate::check::{self, Document, Options};
use crate::error::CliError;
use crate::kind::Kind;
use crate::secrets::is_tenant_id;
use crate::store::{Entry, Target};

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
    if let Some(warning) = crate::spin_cloud::empty_mirror_warning(target, tenant)? {
        eprintln!("warning: {warning}");
    }
    let mut owners = Vec::with_capacity(hosts.len());
    for host in &hosts {
        owners.push(((*host).to_owned(), current_owner(target, host)?));
    }
    let moved = decide(tenant, &owners, moves)?;
    let mut checked = entries.clone();
    checked.extend(crate::spin_cloud::manifest_to_check(target, tenant));
    crate::limits::check(target, &checked, &[])?;
    target.put(&entries)?;
    for entry in &entries {
        println!("put {}", entry.key);
    }
    crate::spin_cloud::write_manifest(target, tenant)?;
    for m in &moved {
        println!(
            "moved {HOST_PREFIX}{} from tenant {} to tenant {tenant}",
            m.host, m.from
        );
    }
    Ok(())
}

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
pub fn check_moves(tenant: &str, hosts: &[&str], moves: &[HostMove]) -> Result<(), CliError> {
    for (i, m) in moves.iter().enumerate() {
        if !hosts.contains(&m.host.as_str()) {
            return Err(CliError::Usage(format!(
                "--move-host {}={}: {} is not one of the hostnames of tenant {tenant} ({}); \
                 nothing was written",
                m.host,
                m.from,
                m.host,
                hosts.join(", ")
            )));
        }
        if moves[..i].iter().any(|earlier| earlier.host == m.host) {
            return Err(CliError::Usage(format!(
                "--move-host names {} more than once; nothing was written",
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
                "host {host} belongs to tenant {owner}; tenant {tenant} would take it over. If the \
                 hostname really moves to {tenant}, run again with --move-host {host}={owner}"
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
pub fn owner_of(key: &str, value: &[u8]) -> Result<String, CliError> {
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
pub fn current_owner(target: &Target, host: &str) -> Result<Option<String>, CliError> {
    let key = kv_key::host(host);
    let value = target.get(&key).map_err(|e| match e {
        CliError::StoreReadFailed {
            command,
            status,
            what,
        } => CliError::WranglerReadFailed {
            command,
            status,
            key: what,
        },
        other => other,
    })?;
    value.map(|v| owner_of(&key, &v)).transpose()
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::fs;
    use std::path::PathBuf;

    use super::*;
    use crate::kind::Placement;
    use crate::store::SPIN_STORE;

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
            dir.join(SPIN_STORE).join(hex::encode("host:a.example")),
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
}
