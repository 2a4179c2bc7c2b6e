//! The app settings `saml add` and `saml import` both take on the command line, and how they
//! change an app.

use std::path::PathBuf;

use edge_idp::saml::config::{is_https_url, Binding, EntityId, RoleFormat, SamlApp, Slo};

use super::usage;
use super::x509::read_cert_file;
use crate::error::CliError;

/// The seed-004 settings `add` and `import` both take.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Settings {
    /// ACS binding.
    #[arg(long, value_parser = ["post", "redirect"])]
    pub(crate) acs_binding: Option<String>,
    /// NameID format.
    #[arg(long, value_parser = ["username", "imis_id", "email", "persistent", "transient"])]
    pub(crate) name_id_format: Option<String>,
    /// Profile IQA path (one parameter: the username; exactly one row).
    #[arg(long, value_name = "PATH")]
    pub(crate) profile_iqa: Option<String>,
    /// Role IQA path (one column: the roles).
    #[arg(long, value_name = "PATH")]
    pub(crate) role_iqa: Option<String>,
    /// Role Assertion Format.
    #[arg(long, value_parser = ["separate", "comma_separated"])]
    pub(crate) role_format: Option<String>,
    /// No Access Mapping: lines `CODE` or `CODE|https://…` (use \n between lines).
    #[arg(long, value_name = "TEXT")]
    pub(crate) no_access_mapping: Option<String>,
    /// Audience Restriction.
    #[arg(long)]
    pub(crate) audience: Option<String>,
    /// Sign the Response.
    #[arg(long, value_name = "BOOL")]
    pub(crate) sign_response: Option<bool>,
    /// Sign the Assertion.
    #[arg(long, value_name = "BOOL")]
    pub(crate) sign_assertion: Option<bool>,
    /// Enable the Single Logout endpoint.
    #[arg(long, value_name = "BOOL")]
    pub(crate) slo: Option<bool>,
    /// The SP's Single Logout URL (https).
    #[arg(long, value_name = "URL")]
    pub(crate) sp_slo_url: Option<String>,
    /// Binding of the SP's Single Logout URL.
    #[arg(long, value_parser = ["post", "redirect"])]
    pub(crate) sp_slo_binding: Option<String>,
    /// The SP's signing certificate (PEM or DER file; repeatable).
    #[arg(long, value_name = "FILE")]
    pub(crate) sp_cert: Vec<PathBuf>,
    /// The SP signs its AuthnRequests, and unsigned ones are refused.
    #[arg(long, value_name = "BOOL")]
    pub(crate) authn_requests_signed: Option<bool>,
    /// IdP entity ID (default: https://<first hostname>/saml/<id>/metadata).
    #[arg(long)]
    pub(crate) idp_entity_id: Option<String>,
}

fn parse_binding(b: &str) -> Binding {
    if b == "redirect" {
        Binding::Redirect
    } else {
        Binding::Post
    }
}

/// Applies the command-line settings to an app.
pub(super) fn apply(app: &mut SamlApp, s: &Settings) -> Result<(), CliError> {
    if let Some(b) = &s.acs_binding {
        if let Some(first) = app.sp.acs.first_mut() {
            first.binding = parse_binding(b);
        }
    }
    if let Some(f) = &s.name_id_format {
        app.name_id_format = serde_json::from_value(serde_json::Value::String(f.clone()))
            .map_err(|e| usage(e.to_string()))?;
    }
    if let Some(p) = &s.profile_iqa {
        app.profile_iqa = Some(p.clone()).filter(|p| !p.is_empty());
    }
    if let Some(p) = &s.role_iqa {
        app.role_iqa = Some(p.clone()).filter(|p| !p.is_empty());
    }
    if let Some(f) = &s.role_format {
        app.role_format = if f == "comma_separated" {
            RoleFormat::CommaSeparated
        } else {
            RoleFormat::Separate
        };
    }
    if let Some(m) = &s.no_access_mapping {
        let m = m.replace("\\n", "\n");
        edge_idp::access::parse_mapping(&m)
            .map_err(|e| usage(format!("--no-access-mapping: {e}")))?;
        app.no_access_mapping = Some(m).filter(|m| !m.trim().is_empty());
    }
    if let Some(a) = &s.audience {
        app.audience = Some(a.clone()).filter(|a| !a.is_empty());
    }
    if let Some(v) = s.sign_response {
        app.sign_response = v;
    }
    if let Some(v) = s.sign_assertion {
        app.sign_assertion = v;
    }
    if let Some(v) = s.slo {
        app.slo_enabled = v;
    }
    if let Some(url) = &s.sp_slo_url {
        if !is_https_url(url) {
            return Err(usage("--sp-slo-url must be an https URL"));
        }
        app.sp.slo = Some(Slo {
            url: url.clone(),
            binding: s
                .sp_slo_binding
                .as_deref()
                .map_or(Binding::Redirect, parse_binding),
            response_url: None,
        });
    }
    for path in &s.sp_cert {
        let c = read_cert_file(path)?;
        if !app.sp.certificates.contains(&c) {
            app.sp.certificates.push(c);
        }
    }
    if let Some(v) = s.authn_requests_signed {
        app.sp.authn_requests_signed = v;
    }
    // Empty goes back to the default entity ID.
    if let Some(e) = s.idp_entity_id.as_deref() {
        app.idp.entity_id = match e {
            "" => None,
            e => Some(EntityId::parse(e).ok_or_else(|| {
                usage("--idp-entity-id: at most 1024 bytes, not only white space")
            })?),
        };
    }
    Ok(())
}
