//! The rules a schema cannot express: ids match their folder and file names, a session's
//! lifetimes fit, hostnames and tenant ids are unique across tenants, sealed values open.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use edge_idp::seal;
use serde_json::Value;

use super::{child, problem, Document, Options, Problem};
use crate::kind::{Kind, Placement};

/// In a tenant folder, the tenant's id equals the folder's name and an app's id its file's name.
pub(super) fn check_names(doc: &Document, out: &mut Vec<Problem>) {
    let Placement::TenantFolder {
        kind,
        tenant_folder,
    } = &doc.placement
    else {
        return;
    };
    let Some(id) = doc.id() else { return };
    match kind {
        Kind::Tenant if id != tenant_folder => out.push(problem(
            &doc.path,
            "/id",
            &format!("tenant id {id:?} differs from its folder's name {tenant_folder:?}"),
            "id-matches-folder",
        )),
        Kind::SamlApp | Kind::OidcClient | Kind::BridgeApp => {
            let stem = doc.path.file_stem().map(|s| s.to_string_lossy());
            if stem.as_deref() != Some(id) {
                out.push(problem(
                    &doc.path,
                    "/id",
                    &format!(
                        "id {id:?} differs from the file's name (expected {:?})",
                        stem.unwrap_or_default()
                    ),
                    "id-matches-file-name",
                ));
            }
        }
        _ => {}
    }
}

/// A session's idle lifetime cannot exceed its absolute lifetime.
pub(super) fn check_session(doc: &Document, out: &mut Vec<Problem>) {
    if doc.kind() != Kind::Tenant {
        return;
    }
    let minutes = |field| doc.value.pointer(field).and_then(Value::as_u64);
    if let (Some(absolute), Some(idle)) = (
        minutes("/session/absolute_minutes"),
        minutes("/session/idle_minutes"),
    ) {
        if idle > absolute {
            out.push(problem(
                &doc.path,
                "/session/idle_minutes",
                &format!(
                    "idle lifetime ({idle} min) exceeds the absolute lifetime ({absolute} min)"
                ),
                "idle-within-absolute",
            ));
        }
    }
}

/// Across the tenant folders validated together, every hostname belongs to one tenant only and
/// every tenant id appears once. (Loose files, such as the examples, are alternatives, not a set.)
pub(super) fn check_unique(docs: &[Document], out: &mut Vec<Problem>) {
    let mut hosts: HashMap<&str, (&Path, &str)> = HashMap::new();
    let mut tenants: HashMap<&str, &Path> = HashMap::new();
    let in_folders = docs.iter().filter(|d| {
        matches!(
            d.placement,
            Placement::TenantFolder {
                kind: Kind::Tenant,
                ..
            }
        )
    });
    for doc in in_folders {
        let id = doc.id().unwrap_or("?");
        if let Some(first) = tenants.get(id) {
            out.push(problem(
                &doc.path,
                "/id",
                &format!("tenant id {id:?} is also used by {}", first.display()),
                "unique-tenant-id",
            ));
        } else {
            tenants.insert(id, &doc.path);
        }
        let Some(list) = doc.value.get("hostnames").and_then(Value::as_array) else {
            continue;
        };
        for (i, host) in list.iter().enumerate() {
            let Some(host) = host.as_str() else { continue };
            match hosts.get(host) {
                Some((path, _)) if *path == doc.path.as_path() => {} // uniqueItems reports it
                Some((path, other)) => out.push(problem(
                    &doc.path,
                    &format!("/hostnames/{i}"),
                    &format!(
                        "hostname {host:?} is also claimed by tenant {other:?} ({})",
                        path.display()
                    ),
                    "unique-hostname",
                )),
                None => {
                    hosts.insert(host, (&doc.path, id));
                }
            }
        }
    }
}

/// Every sealed value opens with the master key for its tenant (when a key was given).
pub(super) fn check_sealed(
    docs: &[Document],
    options: &Options,
    already_reported: &BTreeSet<(PathBuf, String)>,
    out: &mut Vec<Problem>,
    notes: &mut Vec<String>,
) {
    let mut unchecked = false;
    for doc in docs {
        let mut sealed = Vec::new();
        strings(&doc.value, String::new(), &mut |pointer, s| {
            if s.starts_with("sealed:")
                && !already_reported.contains(&(doc.path.clone(), pointer.clone()))
            {
                sealed.push((pointer, s.to_owned()));
            }
        });
        if sealed.is_empty() {
            continue;
        }
        let Some(master) = &options.master else {
            unchecked = true;
            continue;
        };
        let Some(tenant) = doc.tenant(options.tenant.as_deref()) else {
            notes.push(format!(
                "{}: sealed values not opened: the file's tenant is unknown (pass --tenant)",
                doc.path.display()
            ));
            continue;
        };
        for (pointer, value) in sealed {
            match seal::open_secret(master, tenant, &value) {
                Err(e) => out.push(problem(
                    &doc.path,
                    &pointer,
                    &format!("{e} (opened as tenant {tenant:?})"),
                    "sealed-opens",
                )),
                Ok(plain) => {
                    if let Some(rule) = machine_key_rule(&pointer, &plain) {
                        out.push(problem(&doc.path, &pointer, rule, "machine-key"));
                    }
                }
            }
        }
    }
    if unchecked {
        notes.push(
            "sealed values were not opened: set EDGE_IDP_MASTER_KEY or pass --master-key-file to \
             check them"
                .to_owned(),
        );
    }
}

/// What is wrong with an opened `<machineKey>` key of a forms ticket, if anything: the IdP would
/// otherwise only find out at sign-in, and show every member the form.
pub(crate) fn machine_key_rule(pointer: &str, plain: &str) -> Option<&'static str> {
    use edge_idp::imis::forms_ticket::{decryption_key_bytes, validation_key_bytes};
    match pointer {
        "/imis/forms_ticket/decryption_key" => decryption_key_bytes(plain).is_none().then_some(
            "must open to the hex of an AES key (32, 48 or 64 hex digits), as in web.config",
        ),
        "/imis/forms_ticket/validation_key" => validation_key_bytes(plain).is_none().then_some(
            "must open to the hex of the validation key (at least 32 hex digits), as in web.config",
        ),
        _ => None,
    }
}

/// Calls `f` with the pointer and text of every string in `value`.
fn strings(value: &Value, pointer: String, f: &mut dyn FnMut(String, &str)) {
    match value {
        Value::String(s) => f(pointer, s),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                strings(item, format!("{pointer}/{i}"), f);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                strings(item, child(&pointer, key), f);
            }
        }
        _ => {}
    }
}
