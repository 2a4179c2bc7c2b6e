//! `saml add`: a new app from settings on the command line, with a fresh key.

use edge_idp::saml::config::{
    is_https_url, Acs, AppId, Binding, EncryptionMethod, EntityId, IdpSettings, NameIdFormat,
    RoleFormat, SamlApp, SpSettings,
};

use super::folder::{tenant_of_dir, write_app};
use super::settings::apply;
use super::x509::new_key;
use super::{master, next_steps, usage, AddArgs};
use crate::error::CliError;

/// Dummy SP values of `saml add --dummy` (`.invalid` never resolves).
const DUMMY_ENTITY_ID: &str = "urn:edge-idp:dummy-sp";
const DUMMY_ACS: &str = "https://sp.invalid/saml/acs";

pub(super) fn add(args: AddArgs) -> Result<(), CliError> {
    let tenant = tenant_of_dir(&args.dir)?;
    let Some(id) = AppId::parse(&args.id) else {
        return Err(usage(
            "--id: letters, digits, '.', '_' and '-' (at most 128)",
        ));
    };
    let file = args.dir.join("saml").join(format!("{}.json", args.id));
    if file.exists() && !args.force {
        return Err(usage(format!(
            "{} exists (use --force to overwrite it, or edit it)",
            file.display()
        )));
    }
    let (entity_id, acs_url) = if args.dummy {
        (DUMMY_ENTITY_ID.to_string(), DUMMY_ACS.to_string())
    } else {
        (
            args.sp_entity_id.clone().unwrap_or_default(),
            args.acs_url.clone().unwrap_or_default(),
        )
    };
    let Some(entity_id) = EntityId::parse(&entity_id) else {
        return Err(usage(
            "--sp-entity-id: the SP's entity ID (1 to 1024 bytes, not only white space)",
        ));
    };
    if !is_https_url(&acs_url) {
        return Err(usage("--acs-url must be an https URL"));
    }
    let master = master(args.master_key_file.as_deref())?;
    let mut app = SamlApp {
        schema_version: 1,
        id,
        name: args.name.clone(),
        profile_iqa: None,
        role_iqa: None,
        role_format: RoleFormat::Separate,
        no_access_mapping: None,
        sp: SpSettings {
            entity_id,
            acs: vec![Acs {
                url: acs_url,
                binding: Binding::Post,
                index: None,
            }],
            slo: None,
            certificates: Vec::new(),
            encryption_certificate: None,
            authn_requests_signed: false,
            name_id_formats: Vec::new(),
        },
        name_id_format: NameIdFormat::Username,
        audience: None,
        sign_response: true,
        sign_assertion: true,
        encrypt_assertion: false,
        encryption_method: EncryptionMethod::default(),
        slo_enabled: false,
        idp: IdpSettings {
            entity_id: None,
            current: new_key(&master, &tenant, &args.id)?,
            next: None,
        },
    };
    apply(&mut app, &args.settings)?;
    write_app(&file, &app)?;
    println!("wrote {}", file.display());
    next_steps(&tenant, &app, &args.dir);
    if args.dummy {
        println!(
            "The SP settings are dummies: once the SP's metadata is known, run\n  edge-idp saml import <metadata.xml|https://…> --tenant-dir {} --id {}",
            args.dir.display(),
            app.id
        );
    }
    Ok(())
}
