//! The files of a tenant folder a SAML command reads and writes: the folder's name (the tenant
//! id), its `tenant.json` hostnames, and the app files in `saml/`.

use std::path::Path;

use edge_idp::saml::config::SamlApp;

use super::usage;
use crate::error::CliError;
use crate::secrets;

/// The tenant id of a tenant folder (its name).
pub(super) fn tenant_of_dir(dir: &Path) -> Result<String, CliError> {
    let abs = std::path::absolute(dir).map_err(|e| CliError::io("cannot resolve", dir, e))?;
    let name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !secrets::is_tenant_id(&name) {
        return Err(usage(format!(
            "{} is not a tenant folder: its name must be the tenant id",
            dir.display()
        )));
    }
    Ok(name)
}

/// The tenant id of an app file `TENANT_DIR/saml/<id>.json`.
pub(super) fn tenant_of_app_file(file: &Path) -> Result<String, CliError> {
    let abs = std::path::absolute(file).map_err(|e| CliError::io("cannot resolve", file, e))?;
    let saml = abs
        .parent()
        .filter(|p| p.file_name().is_some_and(|n| n == "saml"));
    match saml.and_then(Path::parent) {
        Some(dir) => tenant_of_dir(dir),
        None => Err(usage(format!(
            "{} is not an app file of a tenant folder (TENANT_DIR/saml/<id>.json)",
            file.display()
        ))),
    }
}

pub(super) fn read_app(file: &Path) -> Result<SamlApp, CliError> {
    let text = std::fs::read_to_string(file).map_err(|e| CliError::io("cannot read", file, e))?;
    serde_json::from_str(&text)
        .map_err(|e| usage(format!("{}: not a SAML app file: {e}", file.display())))
}

pub(super) fn write_app(file: &Path, app: &SamlApp) -> Result<(), CliError> {
    app.check()
        .map_err(|e| usage(format!("the app would be invalid: {e}")))?;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| CliError::io("cannot create", dir, e))?;
    }
    let mut text = serde_json::to_string_pretty(app).map_err(|e| usage(e.to_string()))?;
    text.push('\n');
    let tmp = file.with_extension("json.tmp");
    std::fs::write(&tmp, text).map_err(|e| CliError::io("cannot write", &tmp, e))?;
    std::fs::rename(&tmp, file).map_err(|e| CliError::io("cannot write", file, e))
}

/// The hostnames of the tenant folder an app file is in (`TENANT_DIR/tenant.json`).
pub(super) fn tenant_hostnames(file: &Path) -> Result<Vec<String>, CliError> {
    let abs = std::path::absolute(file).map_err(|e| CliError::io("cannot resolve", file, e))?;
    let Some(tenant_json) = abs
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("tenant.json"))
    else {
        return Ok(Vec::new());
    };
    let text = match std::fs::read_to_string(&tenant_json) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CliError::io("cannot read", &tenant_json, e)),
    };
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| usage(format!("{}: not JSON: {e}", tenant_json.display())))?;
    Ok(doc
        .get("hostnames")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .map(str::to_ascii_lowercase)
        .collect())
}
