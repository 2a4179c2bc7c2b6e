//! The value types a stored app is made of (bindings, NameID and role formats, the SP's endpoints
//! and certificates, the IdP's keys), kept apart from the rules in `config` so the schema's shape
//! reads on its own.

use crate::ids::EntityId;
use serde::{Deserialize, Serialize};

/// A SAML binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Binding {
    /// HTTP-POST: an auto-submitting form.
    Post,
    /// HTTP-Redirect: DEFLATE + base64 in the query string.
    Redirect,
}

impl Binding {
    /// The binding's URI.
    pub(crate) fn uri(self) -> &'static str {
        match self {
            Self::Post => "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
            Self::Redirect => "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
        }
    }

    /// The binding of a URI (`None` for SOAP, Artifact, …).
    pub(crate) fn from_uri(uri: &str) -> Option<Self> {
        match uri {
            "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" => Some(Self::Post),
            "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" => Some(Self::Redirect),
            _ => None,
        }
    }
}

/// Which NameID the app receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameIdFormat {
    /// Unspecified: the iMIS username.
    #[default]
    Username,
    /// Unspecified: the iMIS ID.
    ImisId,
    /// emailAddress: the primary email.
    Email,
    /// persistent: the contact key GUID.
    Persistent,
    /// transient: a fresh random 16-character alphanumeric value.
    Transient,
}

/// `urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified`.
pub(crate) const FORMAT_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

impl NameIdFormat {
    /// The format's URI.
    pub fn uri(self) -> &'static str {
        match self {
            Self::Username | Self::ImisId => FORMAT_UNSPECIFIED,
            Self::Email => "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            Self::Persistent => "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
            Self::Transient => "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
        }
    }
}

/// How roles are sent (the Role Assertion Format).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleFormat {
    /// One `AttributeValue` per role.
    #[default]
    Separate,
    /// One `AttributeValue` with the roles joined by commas.
    CommaSeparated,
}

/// An Assertion Consumer Service of the SP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acs {
    /// URL (https).
    pub url: String,
    /// Binding.
    pub binding: Binding,
    /// `index` in the SP's metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u16>,
}

/// The SP's Single Logout service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// Where LogoutRequests go (https).
    pub url: String,
    /// Binding.
    pub binding: Binding,
    /// Where LogoutResponses go, when not `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_url: Option<String>,
}

/// What the SP's metadata says (its entity ID, ACS, SLO and certificates).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpSettings {
    /// The SP's entity ID: the Issuer of its requests.
    pub entity_id: EntityId,
    /// ACS endpoints; the first is the default.
    pub acs: Vec<Acs>,
    /// Single Logout service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<Slo>,
    /// The SP's signing certificates, base64 DER.
    #[serde(default)]
    pub certificates: Vec<String>,
    /// The SP's encryption certificate, base64 DER (its metadata's `KeyDescriptor use="encryption"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_certificate: Option<String>,
    /// Whether AuthnRequests must be signed.
    #[serde(default)]
    pub authn_requests_signed: bool,
    /// NameID formats the SP's metadata lists (informative).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name_id_formats: Vec<String>,
}

/// How an encrypted assertion's content is encrypted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum EncryptionMethod {
    /// AES-256-GCM: confidentiality and integrity.
    #[default]
    #[serde(rename = "aes256-gcm")]
    Aes256Gcm,
    /// AES-128-CBC, for SPs that cannot decrypt GCM.
    #[serde(rename = "aes128-cbc")]
    Aes128Cbc,
}

impl EncryptionMethod {
    pub(super) fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// One signing key of the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpKey {
    /// Self-signed X.509 certificate, base64 DER.
    pub certificate: String,
    /// PKCS#8 private key (base64 DER), sealed.
    pub private_key: String,
    /// When it was made (informative), `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

/// The app's IdP side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpSettings {
    /// The IdP entity ID, when not `https://{first hostname}/saml/{app}/metadata`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<EntityId>,
    /// The key that signs.
    pub current: IdpKey,
    /// The next key: published in metadata, signs nothing until promoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<IdpKey>,
}
