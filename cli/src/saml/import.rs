//! `saml import`: an app from the SP's metadata, after a preview.

use std::io::{IsTerminal, Write};
use std::path::Path;

use edge_idp::saml::config::{
    AppId, EncryptionMethod, IdpKey, IdpSettings, NameIdFormat, RoleFormat, SamlApp, SpSettings,
};
use edge_idp::saml::metadata::{parse_sp_metadata, SpMetadata};

use super::fetch::fetch_metadata;
use super::folder::{read_app, tenant_of_dir, write_app};
use super::preview::preview;
use super::settings::apply;
use super::x509::new_key;
use super::{master, next_steps, usage, ImportArgs};
use crate::error::CliError;

/// A Client ID from an entity ID: its host (or last path part), in the allowed characters.
fn id_from_entity(entity_id: &str) -> String {
    let rest = entity_id.split_once("://").map_or(entity_id, |(_, r)| r);
    let host = rest.split(['/', ':', '?']).next().unwrap_or(rest);
    let mut id: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect::<String>()
        .trim_matches('-')
        .chars()
        .take(64)
        .collect();
    if id.is_empty() || !id.as_bytes()[0].is_ascii_alphanumeric() {
        id = format!("sp-{id}");
    }
    id
}

/// The seed's NameID format closest to the first format the SP lists.
fn format_from_metadata(formats: &[String]) -> Option<NameIdFormat> {
    formats
        .iter()
        .find_map(|f| match f.rsplit(':').next().unwrap_or_default() {
            "emailAddress" => Some(NameIdFormat::Email),
            "persistent" => Some(NameIdFormat::Persistent),
            "transient" => Some(NameIdFormat::Transient),
            "unspecified" => Some(NameIdFormat::Username),
            _ => None,
        })
}

pub(super) fn import(args: ImportArgs) -> Result<(), CliError> {
    let tenant = tenant_of_dir(&args.tenant_dir)?;
    let bytes = fetch_metadata(&args.source)?;
    let md = parse_sp_metadata(&bytes).map_err(|e| {
        usage(format!(
            "{}: the SP metadata cannot be used: {e}",
            args.source
        ))
    })?;
    let id = args
        .id
        .clone()
        .unwrap_or_else(|| id_from_entity(&md.entity_id));
    let Some(id) = AppId::parse(&id) else {
        return Err(usage(format!(
            "Client ID {id:?}: letters, digits, '.', '_' and '-' (pass --id)"
        )));
    };
    let file = args.tenant_dir.join("saml").join(format!("{id}.json"));
    let existing = if file.exists() {
        Some(read_app(&file)?)
    } else {
        None
    };
    let name = args
        .name
        .clone()
        .or_else(|| existing.as_ref().map(|a| a.name.clone()))
        .unwrap_or_else(|| id.to_string());
    print!(
        "SP metadata from {}:\n{}",
        args.source,
        preview(&md, &id, &name, existing.is_some())
    );
    if args.dry_run {
        println!("(dry run: nothing written)");
        return Ok(());
    }
    if !args.yes && !confirmed(&file)? {
        println!("nothing written");
        return Ok(());
    }
    let mut app = match existing {
        Some(mut app) => {
            app.sp = sp_settings(&md);
            app.name = name;
            app
        }
        None => {
            let master = master(args.master_key_file.as_deref())?;
            let key = new_key(&master, &tenant, &id)?;
            new_app(&md, id, name, key)
        }
    };
    apply(&mut app, &args.settings)?;
    write_app(&file, &app)?;
    println!("wrote {}", file.display());
    next_steps(&tenant, &app, &args.tenant_dir);
    Ok(())
}

/// Asks on the terminal whether to write `file`; without a terminal nothing is written unasked.
fn confirmed(file: &Path) -> Result<bool, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(usage(
            "not writing without confirmation: pass --yes (or --dry-run)",
        ));
    }
    print!("Write {}? [y/N] ", file.display());
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| CliError::io("cannot read", "standard input", e))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// The SP's part of an app, as its metadata gives it.
fn sp_settings(md: &SpMetadata) -> SpSettings {
    SpSettings {
        entity_id: md.entity_id.clone(),
        acs: md.acs.clone(),
        slo: md.slo.clone(),
        certificates: md.certificates.clone(),
        encryption_certificate: md.encryption_certificate.clone(),
        authn_requests_signed: md.authn_requests_signed,
        name_id_formats: md.name_id_formats.clone(),
    }
}

/// A new app for the SP of `md`, signing with `key`.
fn new_app(md: &SpMetadata, id: AppId, name: String, key: IdpKey) -> SamlApp {
    SamlApp {
        schema_version: 1,
        id,
        name,
        profile_iqa: None,
        role_iqa: None,
        role_format: RoleFormat::Separate,
        no_access_mapping: None,
        slo_enabled: md.slo.is_some(),
        sp: sp_settings(md),
        name_id_format: format_from_metadata(&md.name_id_formats).unwrap_or_default(),
        audience: None,
        sign_response: true,
        sign_assertion: true,
        encrypt_assertion: false,
        encryption_method: EncryptionMethod::default(),
        idp: IdpSettings {
            entity_id: None,
            current: key,
            next: None,
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_entity_ids() {
        assert_eq!(
            id_from_entity("https://lms.example.org/sp/metadata"),
            "lms-example-org"
        );
        assert_eq!(id_from_entity("urn:acme:sp"), "urn");
        assert_eq!(id_from_entity("https://"), "sp-");
    }
}
