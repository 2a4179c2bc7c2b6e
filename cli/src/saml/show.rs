//! `saml show` and `saml cert`: what a vendor's SAML form asks for, ready to paste.

use std::path::Path;

use edge_idp::saml::config::decode_certificate;

use super::folder::{read_app, tenant_hostnames};
use super::usage;
use super::x509::{expiry, fingerprint, pem};
use crate::error::CliError;

pub(super) fn show(file: &Path, host: Option<&str>) -> Result<(), CliError> {
    let app = read_app(file)?;
    let hostnames = tenant_hostnames(file)?;
    let (host, port) = match host.or(hostnames.first().map(String::as_str)) {
        Some(h) => edge_idp::http::split_authority(h),
        None => {
            return Err(usage(
                "the tenant folder has no hostnames in tenant.json: name one with --host",
            ))
        }
    };
    let primary = hostnames.first().map_or(host.as_str(), String::as_str);
    let urls = edge_idp::saml::app_urls(&app, &host, port, primary);
    let base = urls.sso.trim_end_matches("/sso");
    let slo = if app.slo_enabled {
        urls.slo.clone()
    } else {
        "(none: slo_enabled is false)".to_string()
    };
    let rows = [
        ("App", format!("{} ({})", app.name, app.id)),
        ("IdP entity ID (Issuer)", urls.entity_id.clone()),
        ("SSO URL, HTTP-Redirect", urls.sso.clone()),
        ("SSO URL, HTTP-POST", urls.sso.clone()),
        ("SLO URL, Redirect and POST", slo),
        ("IdP-initiated login URL", format!("{base}/login")),
        ("Metadata URL", format!("{base}/metadata")),
        ("NameID format", app.name_id_format.uri().to_string()),
    ];
    for (label, value) in rows {
        println!("{label:<27} {value}");
    }
    let keys = std::iter::once(("Signing certificate", &app.idp.current)).chain(
        app.idp
            .next
            .as_ref()
            .map(|k| ("Next certificate (staged, signs nothing yet)", k)),
    );
    for (label, key) in keys {
        let der = decode_certificate(&key.certificate)
            .ok_or_else(|| usage("the stored certificate is not valid"))?
            .0;
        println!();
        println!("{label}");
        println!("  SHA-256 fingerprint      {}", fingerprint(&der));
        println!(
            "  valid until              {}",
            expiry(&der).unwrap_or_else(|| "(unreadable)".into())
        );
        println!("{}", pem(&der));
    }
    Ok(())
}

pub(super) fn cert(file: &Path, next: bool) -> Result<(), CliError> {
    let app = read_app(file)?;
    let key = if next {
        app.idp
            .next
            .as_ref()
            .ok_or_else(|| usage("no next key is staged"))?
    } else {
        &app.idp.current
    };
    let der = decode_certificate(&key.certificate)
        .ok_or_else(|| usage("the stored certificate is not valid"))?
        .0;
    println!("{}", pem(&der));
    Ok(())
}
