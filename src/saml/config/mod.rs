//! A SAML client app as stored in KV (`tenant:{id}:saml:{app}`), mirroring
//! `kv-schema/saml-app.schema.json`: every field of an iMIS SAML client app, the SP's metadata, and the app's own
//! signing keys (certificate + sealed RSA-2048 private key; `next` is published before it signs).
//!
//! Apps are read through the per-isolate [`crate::cache::KvCache`]; what is derived from them
//! (the SP's public keys, the opened private key) is computed once per load, not per request.
//! This module holds the app and its rules; the value types, key decoding and loading live in
//! submodules and are re-exported here so callers keep one path.

mod keys;
mod load;
mod settings;

pub use keys::decode_certificate;
pub(crate) use keys::SigningKey;
pub(crate) use load::load;
pub use load::LoadedApp;
pub(crate) use settings::FORMAT_UNSPECIFIED;
pub use settings::{
    Acs, Binding, EncryptionMethod, IdpKey, IdpSettings, NameIdFormat, RoleFormat, Slo, SpSettings,
};

use serde::{Deserialize, Serialize};

use crate::access;
use crate::seal;

fn yes() -> bool {
    true
}

/// `tenant:{id}:saml:{app}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamlApp {
    /// Schema version (1).
    pub schema_version: u32,
    /// Internal Client ID: the `{app}` of the key and URLs.
    pub id: AppId,
    /// App Name.
    pub name: String,
    /// Profile IQA path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_iqa: Option<String>,
    /// Role IQA path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_iqa: Option<String>,
    /// Role Assertion Format.
    #[serde(default)]
    pub role_format: RoleFormat,
    /// No Access Mapping (lines `CODE` or `CODE|https://…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_access_mapping: Option<String>,
    /// The SP.
    pub sp: SpSettings,
    /// NameID format sent.
    #[serde(default)]
    pub name_id_format: NameIdFormat,
    /// The assertion's Audience, when it is not the SP's entity ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Sign the Response.
    #[serde(default = "yes")]
    pub sign_response: bool,
    /// Sign the Assertion.
    #[serde(default = "yes")]
    pub sign_assertion: bool,
    /// Encrypt the assertion to the SP's encryption certificate (RSA-OAEP key transport).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub encrypt_assertion: bool,
    /// The data algorithm of encrypted assertions.
    #[serde(default, skip_serializing_if = "EncryptionMethod::is_default")]
    pub encryption_method: EncryptionMethod,
    /// Enable the Single Logout endpoint (and advertise it in metadata).
    #[serde(default)]
    pub slo_enabled: bool,
    /// The IdP side: entity ID and signing keys.
    pub idp: IdpSettings,
}

/// Why an app's stored value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// Not JSON, or not the expected shape.
    #[error("value does not match the schema: {0}")]
    Shape(String),
    /// A field breaks a rule.
    #[error("{field}: {rule}")]
    Field {
        /// Field path.
        field: &'static str,
        /// The rule.
        rule: String,
    },
}

pub use crate::ids::EntityId;
pub use crate::tenant::config::{is_app_id, AppId};

/// Whether `url` is an absolute https URL with a host and no fragment.
pub fn is_https_url(url: &str) -> bool {
    url.strip_prefix("https://").is_some_and(|rest| {
        !rest.is_empty()
            && !rest.starts_with(['/', '?', '#'])
            && !url.contains('#')
            && !url
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'\\')
            && url.len() <= 2048
    })
}

impl SamlApp {
    /// Parses and checks a stored value.
    pub fn parse(bytes: &[u8]) -> Result<Self, AppError> {
        let app: Self =
            serde_json::from_slice(bytes).map_err(|e| AppError::Shape(e.to_string()))?;
        app.check()?;
        Ok(app)
    }

    /// The rules beyond the value's shape.
    pub fn check(&self) -> Result<(), AppError> {
        let field = |field, rule: &str| {
            Err(AppError::Field {
                field,
                rule: rule.to_string(),
            })
        };
        if self.schema_version != 1 {
            return field("schema_version", "must be 1");
        }
        if self.name.trim().is_empty() || self.name.len() > 200 {
            return field("name", "1 to 200 characters");
        }
        self.sp.check()?;
        if self.encrypt_assertion && self.sp.encryption_certificate.is_none() {
            return field(
                "encrypt_assertion",
                "needs the SP's encryption certificate (sp.encryption_certificate)",
            );
        }
        if self.sp.authn_requests_signed && self.sp.certificates.is_empty() {
            return field(
                "sp.authn_requests_signed",
                "needs at least one SP signing certificate",
            );
        }
        let settings = access::AccessSettings {
            profile_iqa: self.profile_iqa.as_deref(),
            role_iqa: self.role_iqa.as_deref(),
            no_access_mapping: self.no_access_mapping.as_deref(),
        };
        if let Err(e) = settings.check() {
            return Err(AppError::Field {
                field: "no_access_mapping",
                rule: e.to_string(),
            });
        }
        if !self.sign_response && !self.sign_assertion {
            return field("sign_assertion", "sign the response, the assertion or both");
        }
        if self
            .audience
            .as_deref()
            .is_some_and(|a| a.trim().is_empty() || a.len() > 1024)
        {
            return field("audience", "1 to 1024 characters");
        }
        for key in std::iter::once(&self.idp.current).chain(self.idp.next.as_ref()) {
            if decode_certificate(&key.certificate).is_none() {
                return field("idp.certificate", "must be a base64 DER X.509 certificate");
            }
            if !seal::is_sealed(&key.private_key) {
                return field("idp.private_key", "must be a sealed value");
            }
        }
        Ok(())
    }
}

impl SpSettings {
    /// Its entity ID, endpoints and certificates are usable.
    fn check(&self) -> Result<(), AppError> {
        let field = |field, rule: &str| {
            Err(AppError::Field {
                field,
                rule: rule.to_string(),
            })
        };
        if self.acs.is_empty() {
            return field("sp.acs", "at least one Assertion Consumer Service");
        }
        if self.acs.iter().any(|a| !is_https_url(&a.url)) {
            return field("sp.acs.url", "must be an https URL");
        }
        if let Some(slo) = &self.slo {
            if !is_https_url(&slo.url)
                || slo
                    .response_url
                    .as_deref()
                    .is_some_and(|u| !is_https_url(u))
            {
                return field("sp.slo", "must be https URLs");
            }
        }
        for cert in &self.certificates {
            if decode_certificate(cert).is_none() {
                return field("sp.certificates", "must be base64 DER X.509 certificates");
            }
        }
        if let Some(cert) = &self.encryption_certificate {
            let key = decode_certificate(cert).map(|(_, spki)| crate::saml::encrypt::sp_key(&spki));
            if !matches!(key, Some(Ok(_))) {
                return field(
                    "sp.encryption_certificate",
                    "must be a base64 DER X.509 certificate with an RSA key",
                );
            }
        }
        Ok(())
    }
}
