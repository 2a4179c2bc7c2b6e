//! The declarative tenant file (TOML) that `plan` and `apply` read: one tenant, completely.
//!
//! Its tables map one to one onto the KV documents, with exactly the JSON fields of their
//! kv-schema: `[tenant]` is `tenant:{id}`, each `[[saml]]`, `[[oidc]]` and `[[bridge]]` an app,
//! `[keys]` the signing keys. `schema_version` may be left out (it is 1). Secrets are references
//! or sealed values (see `secret_ref`), never clear text.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Number, Value};

use crate::error::CliError;
use crate::kind::Kind;
use crate::secrets::is_tenant_id;

/// The tables of a tenant file, in the order they are described.
const TABLES: &str = "[tenant], [[saml]], [[oidc]], [[bridge]] and [keys]";

/// One document of a tenant file: what it becomes in KV and where it came from.
#[derive(Debug, Clone)]
pub struct FileDoc {
    /// The kind of KV value.
    pub kind: Kind,
    /// Its content as JSON (the file's fields, with `schema_version` filled in).
    pub value: Value,
}

impl FileDoc {
    /// The app's `id` (empty for the tenant and keys).
    pub fn id(&self) -> &str {
        self.value.get("id").and_then(Value::as_str).unwrap_or("")
    }

    /// How messages name this document: `[tenant]`, `[[saml]] moodle`, `[keys]`.
    pub fn label(&self) -> String {
        match self.kind {
            Kind::Tenant => "[tenant]".to_owned(),
            Kind::Keys => "[keys]".to_owned(),
            kind => format!("[[{}]] {}", kind.app_folder().unwrap_or("?"), self.id()),
        }
    }
}

/// A parsed tenant file.
#[derive(Debug, Clone)]
pub struct TenantFile {
    /// The file, as the admin named it.
    pub path: PathBuf,
    /// The tenant id (`[tenant] id`).
    pub tenant: String,
    /// `[tenant]` first, then the apps in file order, then `[keys]` when given.
    pub docs: Vec<FileDoc>,
}

impl TenantFile {
    /// The folder `file:` references are relative to.
    pub fn base_dir(&self) -> PathBuf {
        self.path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }

    /// The `[tenant]` document.
    pub fn tenant_doc(&self) -> Option<&FileDoc> {
        self.docs.iter().find(|d| d.kind == Kind::Tenant)
    }

    /// The tenant's hostnames (`[tenant] hostnames`).
    pub fn hostnames(&self) -> Vec<String> {
        self.tenant_doc()
            .map(|d| hostnames_of(&d.value))
            .unwrap_or_default()
    }

    /// The document of `kind` with `id` (apps), or of `kind` (tenant, keys).
    pub fn doc(&self, kind: Kind, id: &str) -> Option<&FileDoc> {
        self.docs
            .iter()
            .find(|d| d.kind == kind && (d.id() == id || d.kind.app_folder().is_none()))
    }
}

/// Reads and parses the tenant file at `path`.
pub fn load(path: &Path) -> Result<TenantFile, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| CliError::io("cannot read", path, e))?;
    parse(path, &text)
}

/// Parses a tenant file's text.
pub fn parse(path: &Path, text: &str) -> Result<TenantFile, CliError> {
    let bad = |message: String| CliError::TenantFile {
        path: path.to_path_buf(),
        message,
    };
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        // toml's own text quotes the offending line, which may hold a secret: say only where.
        let line = e
            .span()
            .map(|span| text.get(..span.start).unwrap_or("").lines().count().max(1));
        bad(match line {
            Some(line) => format!("not valid TOML at line {line}: {}", e.message()),
            None => format!("not valid TOML: {}", e.message()),
        })
    })?;
    let mut docs = Vec::new();
    let mut keys = None;
    for (name, item) in &table {
        match name.as_str() {
            "tenant" => docs.insert(0, table_doc(Kind::Tenant, name, item, &bad)?),
            "keys" => keys = Some(table_doc(Kind::Keys, name, item, &bad)?),
            "saml" | "oidc" | "bridge" => {}
            other => {
                return Err(bad(format!(
                    "unknown table [{other}] (a tenant file has {TABLES})"
                )))
            }
        }
    }
    for kind in [Kind::SamlApp, Kind::OidcClient, Kind::BridgeApp] {
        docs.extend(app_docs(kind, &table, &bad)?);
    }
    docs.extend(keys);
    let tenant = docs
        .first()
        .filter(|d| d.kind == Kind::Tenant)
        .ok_or_else(|| bad("no [tenant] table".to_owned()))?
        .value
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| is_tenant_id(id))
        .ok_or_else(|| {
            bad("[tenant] id must be a tenant id (lowercase letters, digits and '-')".to_owned())
        })?
        .to_owned();
    Ok(TenantFile {
        path: path.to_path_buf(),
        tenant,
        docs,
    })
}

/// The documents of one array of tables (`[[saml]]`, …); ids must be unique.
fn app_docs(
    kind: Kind,
    table: &toml::Table,
    bad: &dyn Fn(String) -> CliError,
) -> Result<Vec<FileDoc>, CliError> {
    let name = kind.app_folder().unwrap_or("?");
    let Some(item) = table.get(name) else {
        return Ok(Vec::new());
    };
    let toml::Value::Array(items) = item else {
        return Err(bad(format!(
            "{name} must be an array of tables: write each one as [[{name}]]"
        )));
    };
    let mut seen = BTreeSet::new();
    let mut docs = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let doc = table_doc(kind, &format!("{name}[{i}]"), item, bad)?;
        let id = doc.id().to_owned();
        if id.is_empty() {
            return Err(bad(format!("[[{name}]] number {} has no id", i + 1)));
        }
        if !seen.insert(id.clone()) {
            return Err(bad(format!("[[{name}]] {id} is given more than once")));
        }
        docs.push(doc);
    }
    Ok(docs)
}

/// One table as a document of `kind`, with `schema_version` 1 when left out.
fn table_doc(
    kind: Kind,
    at: &str,
    item: &toml::Value,
    bad: &dyn Fn(String) -> CliError,
) -> Result<FileDoc, CliError> {
    let toml::Value::Table(_) = item else {
        return Err(bad(format!("{at} must be a table")));
    };
    let mut value = to_json(item, at).map_err(bad)?;
    if let Some(map) = value.as_object_mut() {
        map.entry("schema_version").or_insert(Value::from(1));
    }
    Ok(FileDoc { kind, value })
}

/// The JSON form of a TOML value. TOML dates have no place in a KV document, and JSON has no
/// infinite or NaN numbers.
fn to_json(value: &toml::Value, at: &str) -> Result<Value, String> {
    Ok(match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Number::from_f64(*f)
            .map(Value::Number)
            .ok_or_else(|| format!("{at}: not a finite number"))?,
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(_) => {
            return Err(format!(
                "{at}: a TOML date; write dates as quoted strings (\"2025-01-31\")"
            ))
        }
        toml::Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| to_json(item, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(table) => Value::Object(
            table
                .iter()
                .map(|(k, v)| Ok((k.clone(), to_json(v, &format!("{at}.{k}"))?)))
                .collect::<Result<Map<String, Value>, String>>()?,
        ),
    })
}

/// The `hostnames` of a tenant document (empty when it has none).
pub fn hostnames_of(tenant: &Value) -> Vec<String> {
    tenant
        .get("hostnames")
        .and_then(Value::as_array)
        .map(|hosts| {
            hosts
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(text: &str) -> Result<TenantFile, String> {
        parse(Path::new("t/acme.toml"), text).map_err(|e| e.to_string())
    }

    const MINIMAL: &str = r#"
[tenant]
id = "acme"
name = "Acme"
hostnames = ["a.example"]

[[oidc]]
id = "portal"
name = "Portal"
redirect_uris = ["https://portal.example/cb"]

[[saml]]
id = "moodle"
name = "Moodle"
sp = { entity_id = "urn:moodle", acs = [{ url = "https://m.example/acs", binding = "post" }] }

[keys]
"#;

    #[test]
    fn tables_become_documents_in_write_independent_order() {
        let file = parsed(MINIMAL).unwrap();
        assert_eq!(file.tenant, "acme");
        let labels: Vec<String> = file.docs.iter().map(FileDoc::label).collect();
        assert_eq!(
            labels,
            ["[tenant]", "[[saml]] moodle", "[[oidc]] portal", "[keys]"]
        );
        assert_eq!(file.docs[0].value["schema_version"], 1);
        assert_eq!(
            file.docs[1].value["sp"]["acs"][0],
            json!({"url": "https://m.example/acs", "binding": "post"})
        );
        assert_eq!(file.docs[3].value, json!({"schema_version": 1}));
        assert_eq!(file.hostnames(), ["a.example"]);
        assert_eq!(file.base_dir(), Path::new("t"));
        assert!(file.doc(Kind::OidcClient, "portal").is_some());
        assert!(file.doc(Kind::OidcClient, "moodle").is_none());
    }

    #[test]
    fn shape_errors_name_the_table() {
        let cases = [
            (
                "[tenant]\nid = \"Acme\"\n",
                "[tenant] id must be a tenant id",
            ),
            ("[[oidc]]\nid = \"x\"\n", "no [tenant] table"),
            (
                "[tenant]\nid = \"acme\"\n[apps]\nx = 1\n",
                "unknown table [apps]",
            ),
            (
                "[tenant]\nid = \"acme\"\n[saml]\nid = \"x\"\n",
                "write each one as [[saml]]",
            ),
            (
                "[tenant]\nid = \"acme\"\n[[bridge]]\nid = \"x\"\n[[bridge]]\nid = \"x\"\n",
                "[[bridge]] x is given more than once",
            ),
            (
                "[tenant]\nid = \"acme\"\n[[bridge]]\nname = \"x\"\n",
                "[[bridge]] number 1 has no id",
            ),
            (
                "[tenant]\nid = \"acme\"\ncreated = 2025-01-01\n",
                "tenant.created: a TOML date",
            ),
            ("[tenant]\nid = \"acme\"\nx = nan\n", "not a finite number"),
        ];
        for (text, want) in cases {
            let e = parsed(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(e.starts_with("t/acme.toml: "), "{e}");
        }
    }

    #[test]
    fn a_syntax_error_says_where_but_never_quotes_the_line() {
        let text = "[tenant]\nid = \"acme\"\npassword = \"hunter2-secret\n";
        let e = parsed(text).unwrap_err();
        assert!(e.contains("line 3"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }
}
