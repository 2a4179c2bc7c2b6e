//! `saml keygen` and `saml rotate`: the app's signing key, replaced at once or staged and
//! promoted.

use edge_idp::saml::config::SamlApp;

use super::folder::{read_app, tenant_of_app_file, write_app};
use super::x509::new_key;
use super::{master, usage, KeyArgs, RotateArgs};
use crate::error::CliError;

pub(super) fn keygen(args: KeyArgs) -> Result<(), CliError> {
    let tenant = tenant_of_app_file(&args.file)?;
    // An app file may come without keys (a template): read it loosely, add them, then check it.
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| CliError::io("cannot read", &args.file, e))?;
    let mut value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| usage(format!("{}: not JSON: {e}", args.file.display())))?;
    if value.pointer("/idp/current").is_some() && !args.force {
        return Err(usage(format!(
            "{} already has a key: use `saml rotate` for a zero-downtime change, or --force",
            args.file.display()
        )));
    }
    let id = value
        .get("id")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string();
    let master = master(args.master_key_file.as_deref())?;
    let key =
        serde_json::to_value(new_key(&master, &tenant, &id)?).map_err(|e| usage(e.to_string()))?;
    let obj = value
        .as_object_mut()
        .ok_or_else(|| usage("the app file is not a JSON object"))?;
    let idp = obj.entry("idp").or_insert_with(|| serde_json::json!({}));
    if let Some(idp) = idp.as_object_mut() {
        idp.insert("current".into(), key);
        idp.remove("next");
    }
    let app: SamlApp = serde_json::from_value(value)
        .map_err(|e| usage(format!("{}: not a SAML app file: {e}", args.file.display())))?;
    write_app(&args.file, &app)?;
    println!(
        "new key and certificate for {} written to {}",
        app.id,
        args.file.display()
    );
    Ok(())
}

pub(super) fn rotate(args: RotateArgs) -> Result<(), CliError> {
    let tenant = tenant_of_app_file(&args.file)?;
    let mut app = read_app(&args.file)?;
    if args.promote {
        let Some(next) = app.idp.next.take() else {
            return Err(usage(
                "there is no staged next key: run `saml rotate` first",
            ));
        };
        app.idp.current = next;
        write_app(&args.file, &app)?;
        println!(
            "the next key of {} is now the current one (it signs from the next push on); the old \
             certificate is no longer published",
            app.id
        );
        return Ok(());
    }
    if app.idp.next.is_some() {
        return Err(usage(
            "a next key is already staged: push, let SPs refresh the metadata, then `saml rotate --promote`",
        ));
    }
    let master = master(args.master_key_file.as_deref())?;
    app.idp.next = Some(new_key(&master, &tenant, &app.id)?);
    write_app(&args.file, &app)?;
    println!(
        "staged a next key for {}: push it (the metadata then lists both certificates), let every \
         SP refresh its copy, then run `edge-idp saml rotate --promote {}` and push again",
        app.id,
        args.file.display()
    );
    Ok(())
}
