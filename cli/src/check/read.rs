//! Reading what `validate` is given: tenant folders and single files, each file parsed as JSON
//! and placed (which kind of value it holds, and in which tenant folder).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{problem, Document, Options, Report};
use crate::kind::{placement_of, Kind, Placement};

/// Reads one path given on the command line: a tenant folder, or a single file.
pub(super) fn read_path(path: &Path, options: &Options, report: &mut Report) {
    if path.is_dir() {
        if options.kind.is_some() {
            report.problems.push(problem(
                path,
                "",
                "--kind applies to single files; a folder is read as a tenant folder",
                "usage",
            ));
            return;
        }
        collect_folder(path, report);
    } else if path.is_file() {
        let placement = match options.kind {
            Some(kind) => Some(Placement::Loose { kind }),
            None => absolute(path).as_deref().and_then(placement_of),
        };
        match placement {
            Some(placement) => load(path, placement, report),
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
