//! `edge-idp validate`: tenant folders and single files against kv-schema, plus the rules a schema
//! cannot express (ids match their folder and file names, hostnames are unique across tenants,
//! sealed values open with the master key).
//!
//! Reading the paths is [`read`], the schemas [`schema`], the rules beyond them [`rules`].

mod read;
mod rules;
mod schema;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use edge_idp::seal::MasterKey;
use serde_json::Value;

pub(crate) use self::rules::machine_key_rule;
pub(crate) use self::schema::Schemas;
use crate::error::CliError;
use crate::kind::{Kind, Placement};

/// One broken rule in one file. Its text names the file, the JSON pointer and the rule, never a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The file, as the admin named it (or as found in the folder they named).
    pub(crate) file: PathBuf,
    /// JSON pointer of the field (`""` for the whole file).
    pub(crate) pointer: String,
    /// What is wrong.
    pub(crate) message: String,
    /// The rule: a JSON Schema keyword, or the name of a check beyond the schema.
    pub(crate) rule: String,
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
pub(crate) struct Document {
    /// The file, as the admin named it (or as found in the folder they named).
    pub(crate) path: PathBuf,
    /// What it holds and where it sits.
    pub(crate) placement: Placement,
    /// Its content.
    pub(crate) value: Value,
}

impl Document {
    /// The kind of value.
    pub(crate) fn kind(&self) -> Kind {
        self.placement.kind()
    }

    /// The value's `id` field, when it is a string.
    pub(crate) fn id(&self) -> Option<&str> {
        self.value.get("id").and_then(Value::as_str)
    }

    /// The tenant this document belongs to: its folder's, its own id for a loose tenant file, or
    /// `fallback` (from `--tenant`).
    pub(super) fn tenant<'a>(&'a self, fallback: Option<&'a str>) -> Option<&'a str> {
        match &self.placement {
            Placement::TenantFolder { tenant_folder, .. } => Some(tenant_folder),
            Placement::Loose { kind: Kind::Tenant } => self.id().or(fallback),
            Placement::Loose { .. } => fallback,
        }
    }
}

/// What validation needs besides the paths.
#[derive(Debug, Default)]
pub(crate) struct Options {
    /// Kind of every single file given (`--kind`), instead of guessing it from the file's place.
    pub(crate) kind: Option<Kind>,
    /// Tenant of single files outside a tenant folder, to open their sealed values.
    pub(crate) tenant: Option<String>,
    /// Master key to check that sealed values open.
    pub(crate) master: Option<MasterKey>,
}

/// The outcome of a validation run.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// Every document that could be read and parsed, valid or not, in the order found.
    pub(crate) documents: Vec<Document>,
    /// Every broken rule.
    pub(crate) problems: Vec<Problem>,
    /// Things worth knowing that are not failures (checks that could not run).
    pub(crate) notes: Vec<String>,
}

/// A problem at `pointer` of `file`.
pub(super) fn problem(file: &Path, pointer: &str, message: &str, rule: &str) -> Problem {
    Problem {
        file: file.to_path_buf(),
        pointer: pointer.to_owned(),
        message: message.to_owned(),
        rule: rule.to_owned(),
    }
}

/// The pointer of property `name` of the object at `base` (RFC 6901 escaping).
pub(super) fn child(base: &str, name: &str) -> String {
    format!("{base}/{}", name.replace('~', "~0").replace('/', "~1"))
}

/// Validates every path: a tenant folder, or a single file.
pub(crate) fn validate(paths: &[PathBuf], options: &Options) -> Result<Report, CliError> {
    let schemas = Schemas::compile()?;
    let mut report = Report::default();
    for path in paths {
        read::read_path(path, options, &mut report);
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
        rules::check_names(doc, &mut extra);
        rules::check_session(doc, &mut extra);
    }
    rules::check_unique(&report.documents, &mut extra);
    rules::check_sealed(
        &report.documents,
        options,
        &schema_pointers,
        &mut extra,
        &mut report.notes,
    );
    report.problems.extend(extra);
    Ok(report)
}

/// The rules beyond the schema that apply to one value of `kind` wherever it comes from
/// (`file` names it in problems).
pub(crate) fn beyond_schema(kind: Kind, file: &Path, value: &Value) -> Vec<Problem> {
    let doc = Document {
        path: file.to_path_buf(),
        placement: Placement::Loose { kind },
        value: value.clone(),
    };
    let mut out = Vec::new();
    rules::check_session(&doc, &mut out);
    out
}
