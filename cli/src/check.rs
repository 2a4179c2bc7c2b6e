//! `edge-idp validate`: tenant folders and single files against kv-schema, plus the rules a schema
//! cannot express (ids match their folder and file names, hostnames are unique across tenants,
//! sealed values open with the master key).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use edge_idp::seal::{self, MasterKey};
use jsonschema::error::ValidationErrorKind;
use jsonschema::Validator;
use serde_json::Value;

use crate::error::CliError;
use crate::kind::{placement_of, Kind, Placement};

/// One broken rule in one file. Its text names the file, the JSON pointer and the rule, never a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, as the admin named it (or as found in the folder they named).
    pub file: PathBuf,
    /// JSON pointer of the field (`""` for the whole file).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
    /// The rule: a JSON Schema keyword, or the name of a check beyond the schema.
    pub rule: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "(whole file)"
        } else {
            &self.pointer
        };
        write!(
            f,
            "{}: {at}: {} [rule: {}]",
            self.file.display(),
            self.message,
            self.rule
        )
    }
}

/// A file that parsed as JSON, with what is known about its place.
#[derive(Debug, Clone)]
pub struct Document {
    /// The file, as the admin named it (or as found in the folder they named).
    pub path: PathBuf,
    /// What it holds and where it sits.
    pub placement: Placement,
    /// Its content.
    pub value: Value,
}

impl Document {
    /// The kind of value.
    pub fn kind(&self) -> Kind {
        self.placement.kind()
    }

    /// The value's `id` field, when it is a string.
    pub fn id(&self) -> Option<&str> {
        self.value.get("id").and_then(Value::as_str)
    }

    /// The tenant this document belongs to: its folder's, its own id for a loose tenant file, or
    /// `fallback` (from `--tenant`).
    fn tenant<'a>(&'a self, fallback: Option<&'a str>) -> Option<&'a str> {
        match &self.placement {
            Placement::TenantFolder { tenant_folder, .. } => Some(tenant_folder),
            Placement::Loose { kind: Kind::Tenant } => self.id().or(fallback),
            Placement::Loose { .. } => fallback,
        }
    }
}

/// What validation needs besides the paths.
#[derive(Debug, Default)]
pub struct Options {
    /// Kind of every single file given (`--kind`), instead of guessing it from the file's place.
    pub kind: Option<Kind>,
    /// Tenant of single files outside a tenant folder, to open their sealed values.
    pub tenant: Option<String>,
    /// Master key to check that sealed values open.
    pub master: Option<MasterKey>,
}

/// The outcome of a validation run.
#[derive(Debug, Default)]
pub struct Report {
    /// Every document that could be read and parsed, valid or not, in the order found.
    pub documents: Vec<Document>,
    /// Every broken rule.
    pub problems: Vec<Problem>,
    /// Things worth knowing that are not failures (checks that could not run).
    pub notes: Vec<String>,
}

/// The embedded schemas, compiled once.
pub struct Schemas {
    validators: HashMap<Kind, Validator>,
}

impl Schemas {
    /// Compiles every embedded schema.
    pub fn compile() -> Result<Self, CliError> {
        let mut validators = HashMap::new();
        for kind in Kind::ALL {
            let broken = |message: String| CliError::Schema {
                kind: kind.name(),
                message,
            };
            let schema: Value =
                serde_json::from_str(kind.schema_text()).map_err(|e| broken(e.to_string()))?;
            let validator =
                jsonschema::draft202012::new(&schema).map_err(|e| broken(e.to_string()))?;
            validators.insert(kind, validator);
        }
        Ok(Self { validators })
    }

    /// Checks `value` against the schema of `kind`; one problem per broken rule.
    pub fn check(&self, kind: Kind, file: &Path, value: &Value) -> Vec<Problem> {
        let Some(validator) = self.validators.get(&kind) else {
            return vec![problem(file, "", "no schema for this kind", "schema")];
        };
        let mut problems = Vec::new();
        for error in validator.iter_errors(value) {
            let base = error.instance_path().as_str().to_owned();
            let rule = error.kind().keyword().to_owned();
            match error.kind() {
                ValidationErrorKind::Required { property } => {
                    let name = property
                        .as_str()
                        .map_or_else(|| property.to_string(), str::to_owned);
                    problems.push(problem(
                        file,
                        &child(&base, &name),
                        "required field is missing",
                        &rule,
                    ));
                }
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    for name in unexpected {
                        problems.push(problem(
                            file,
                            &child(&base, name),
                            "unknown field (not allowed here)",
                            &rule,
                        ));
                    }
                }
                ValidationErrorKind::Pattern { pattern } if pattern.contains("sealed:v1:") => {
                    problems.push(problem(
                        file,
                        &base,
                        "must be a sealed secret (\"sealed:v1:…\", made by `edge-idp seal \
                         --tenant <id>`); the value is not shown",
                        &rule,
                    ));
                }
                _ if holds_secret(&base) => problems.push(problem(
                    file,
                    &base,
                    "breaks its schema rule; the value is not shown because this field holds a \
                     secret",
                    &rule,
                )),
                _ => problems.push(problem(file, &base, &error.to_string(), &rule)),
            }
        }
        problems
    }
}

/// A problem at `pointer` of `file`.
fn problem(file: &Path, pointer: &str, message: &str, rule: &str) -> Problem {
    Problem {
        file: file.to_path_buf(),
        pointer: pointer.to_owned(),
        message: message.to_owned(),
        rule: rule.to_owned(),
    }
}

/// The pointer of property `name` of the object at `base` (RFC 6901 escaping).
fn child(base: &str, name: &str) -> String {
    format!("{base}/{}", name.replace('~', "~0").replace('/', "~1"))
}

/// Whether the field at `pointer` holds a secret, so that its value must never be echoed.
fn holds_secret(pointer: &str) -> bool {
    let last = pointer.rsplit('/').next().unwrap_or("");
    ["password", "secret", "private_key"]
        .iter()
        .any(|word| last.ends_with(word))
}

/// Validates every path: a tenant folder, or a single file.
pub fn validate(paths: &[PathBuf], options: &Options) -> Result<Report, CliError> {
    let schemas = Schemas::compile()?;
    let mut report = Report::default();
    for path in paths {
        if path.is_dir() {
            if options.kind.is_some() {
                report.problems.push(problem(
                    path,
                    "",
                    "--kind applies to single files; a folder is read as a tenant folder",
                    "usage",
                ));
                continue;
            }
            collect_folder(path, &mut report);
        } else if path.is_file() {
            let placement = match options.kind {
                Some(kind) => Some(Placement::Loose { kind }),
                None => absolute(path).as_deref().and_then(placement_of),
            };
            match placement {
                Some(placement) => load(path, placement, &mut report),
                None => report.problems.push(problem(
                    path,
                    "",
                    "cannot tell which kind of value this file holds: name it tenant.json or \
                     keys.json, put it in saml/, oidc/ or bridge/ of a tenant folder, or pass \
                     --kind",
                    "layout",
                )),
            }
        } else {
            report
                .problems
                .push(problem(path, "", "no such file or folder", "layout"));
        }
    }

    let mut schema_pointers: BTreeSet<(PathBuf, String)> = BTreeSet::new();
    for doc in &report.documents {
        for p in schemas.check(doc.kind(), &doc.path, &doc.value) {
            schema_pointers.insert((p.file.clone(), p.pointer.clone()));
            report.problems.push(p);
        }
    }
    let mut extra = Vec::new();
    for doc in &report.documents {
        check_names(doc, &mut extra);
        check_session(doc, &mut extra);
    }
    check_unique(&report.documents, &mut extra);
    check_sealed(
        &report.documents,
        options,
        &schema_pointers,
        &mut extra,
        &mut report.notes,
    );
    report.problems.extend(extra);
    Ok(report)
}

/// The absolute form of `path`, so that its folders are known even for `tenant.json`.
fn absolute(path: &Path) -> Option<PathBuf> {
    std::path::absolute(path).ok()
}

/// Reads one file into a document; an unreadable or non-JSON file is a problem.
fn load(path: &Path, placement: Placement, report: &mut Report) {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            report
                .problems
                .push(problem(path, "", &format!("cannot read: {e}"), "readable"));
            return;
        }
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(value) => report.documents.push(Document {
            path: path.to_path_buf(),
            placement,
            value,
        }),
        Err(e) => report.problems.push(problem(
            path,
            "",
            &format!(
                "not valid JSON: line {}, column {}: {}",
                e.line(),
                e.column(),
                json_error_kind(&e)
            ),
            "json",
        )),
    }
}

/// serde_json's message without its position suffix (the position is printed separately).
fn json_error_kind(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Reads a tenant folder: `tenant.json`, optional `keys.json`, and `saml/`, `oidc/`, `bridge/`.
fn collect_folder(dir: &Path, report: &mut Report) {
    let Some(folder_name) =
        absolute(dir).and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
    else {
        report
            .problems
            .push(problem(dir, "", "cannot tell the folder's name", "layout"));
        return;
    };
    let in_folder = |kind| Placement::TenantFolder {
        kind,
        tenant_folder: folder_name.clone(),
    };
    let tenant_json = dir.join("tenant.json");
    if tenant_json.is_file() {
        load(&tenant_json, in_folder(Kind::Tenant), report);
    } else {
        report.problems.push(problem(
            &tenant_json,
            "",
            "a tenant folder needs a tenant.json",
            "layout",
        ));
    }
    let keys_json = dir.join("keys.json");
    if keys_json.is_file() {
        load(&keys_json, in_folder(Kind::Keys), report);
    }
    for entry in sorted_entries(dir, report) {
        let name = entry.file_name().map(|n| n.to_string_lossy().into_owned());
        let Some(name) = name else { continue };
        if name.starts_with('.') {
            continue;
        }
        if entry.is_dir() {
            if let Some(kind) = Kind::from_app_folder(&name) {
                for file in sorted_entries(&entry, report) {
                    let is_json = file.extension().is_some_and(|e| e == "json");
                    let hidden = file
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'));
                    if file.is_file() && is_json && !hidden {
                        load(&file, in_folder(kind), report);
                    }
                }
            }
        } else if name.ends_with(".json") && name != "tenant.json" && name != "keys.json" {
            report.problems.push(problem(
                &entry,
                "",
                "unexpected file in a tenant folder (it holds tenant.json, keys.json, and \
                 saml/, oidc/, bridge/ folders of app files)",
                "layout",
            ));
        }
    }
}

/// The entries of `dir`, sorted by name; an unreadable folder is a problem.
fn sorted_entries(dir: &Path, report: &mut Report) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            let mut paths: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            paths
        }
        Err(e) => {
            report.problems.push(problem(
                dir,
                "",
                &format!("cannot read folder: {e}"),
                "readable",
            ));
            Vec::new()
        }
    }
}

/// In a tenant folder, the tenant's id equals the folder's name and an app's id its file's name.
fn check_names(doc: &Document, out: &mut Vec<Problem>) {
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

/// The rules beyond the schema that apply to one value of `kind` wherever it comes from
/// (`file` names it in problems).
pub fn beyond_schema(kind: Kind, file: &Path, value: &Value) -> Vec<Problem> {
    let doc = Document {
        path: file.to_path_buf(),
        placement: Placement::Loose { kind },
        value: value.clone(),
    };
    let mut out = Vec::new();
    check_session(&doc, &mut out);
    out
}

/// A session's idle lifetime cannot exceed its absolute lifetime.
fn check_session(doc: &Document, out: &mut Vec<Problem>) {
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
fn check_unique(docs: &[Document], out: &mut Vec<Problem>) {
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
fn check_sealed(
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
            if let Err(e) = seal::open_secret(master, tenant, &value) {
                out.push(problem(
                    &doc.path,
                    &pointer,
                    &format!("{e} (opened as tenant {tenant:?})"),
                    "sealed-opens",
                ));
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_embedded_schema_compiles() {
        Schemas::compile().unwrap();
    }

    #[test]
    fn missing_and_unknown_fields_are_named_by_their_own_pointer() {
        let schemas = Schemas::compile().unwrap();
        let p = schemas.check(
            Kind::Host,
            Path::new("h.json"),
            &json!({"schema_version": 1, "x": 1}),
        );
        let pointers: Vec<_> = p.iter().map(|p| p.pointer.as_str()).collect();
        assert!(pointers.contains(&"/tenant"), "{p:?}");
        assert!(pointers.contains(&"/x"), "{p:?}");
    }

    #[test]
    fn plaintext_secret_is_never_echoed() {
        let schemas = Schemas::compile().unwrap();
        let doc: Value = serde_json::from_str(include_str!(
            "../../kv-schema/examples/tenant/invalid-plaintext-background-password.json"
        ))
        .unwrap();
        let secret = doc["imis"]["background_account"]["password"]
            .as_str()
            .unwrap()
            .to_owned();
        let problems = schemas.check(Kind::Tenant, Path::new("t.json"), &doc);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].pointer, "/imis/background_account/password");
        assert!(!problems[0].to_string().contains(&secret));
    }

    #[test]
    fn pointers_escape_slash_and_tilde() {
        assert_eq!(child("/a", "b/c~d"), "/a/b~1c~0d");
        assert!(holds_secret("/imis/sso/saml/client_secret"));
        assert!(holds_secret("/current/private_key"));
        assert!(!holds_secret("/imis/base_url"));
        assert!(!holds_secret("/imis/links/forgot_password_url"));
    }
}
