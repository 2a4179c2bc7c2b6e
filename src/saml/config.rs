//! A SAML client app as stored in KV (`tenant:{id}:saml:{app}`), mirroring
//! `kv-schema/saml-app.schema.json`: every field of an iMIS SAML client app, the SP's metadata, and the app's own
//! signing keys (certificate + sealed RSA-2048 private key; `next` is published before it signs).
//!
//! Apps are read through the per-isolate [`crate::cache::KvCache`]; what is derived from them
//! (the SP's public keys, the opened private key) is computed once per load, not per request.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::access;
use crate::platform::{Platform, PlatformError, MASTER_KEY_SECRET};
use crate::seal::{self, MasterKey};
use crate::Ctx;

/// How long a loaded app is served from the cache.
pub const APP_TTL_SECS: u64 = 60;
/// How long an unknown app is remembered.
pub const MISSING_TTL_SECS: u64 = 10;

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
    pub fn uri(self) -> &'static str {
        match self {
            Self::Post => "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
            Self::Redirect => "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
        }
    }

    /// The binding of a URI (`None` for SOAP, Artifact, …).
    pub fn from_uri(uri: &str) -> Option<Self> {
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
pub const FORMAT_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

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
    pub entity_id: String,
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
    fn is_default(&self) -> bool {
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
    pub entity_id: Option<String>,
    /// The key that signs.
    pub current: IdpKey,
    /// The next key: published in metadata, signs nothing until promoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<IdpKey>,
}

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
    pub id: String,
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

pub use crate::tenant::is_app_id;

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
        if !is_app_id(&self.id) {
            return field("id", "letters, digits, '.', '_' and '-' (at most 128)");
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

    /// The ACS with this index, or the default one.
    pub fn acs_by_index(&self, index: Option<u16>) -> Option<&Acs> {
        match index {
            None => self.sp.acs.first(),
            Some(i) => self.sp.acs.iter().find(|a| a.index == Some(i)),
        }
    }
}

/// The DER of a base64 certificate whose public key can be found.
pub fn decode_certificate(b64: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let der = STANDARD
        .decode(
            b64.bytes()
                .filter(|b| !b.is_ascii_whitespace())
                .collect::<Vec<_>>(),
        )
        .ok()?;
    let spki = super::dsig::spki_of_certificate(&der)?;
    Some((der, spki))
}

/// The app's private key, opened and ready to sign.
#[derive(Clone)]
pub struct SigningKey {
    /// Cache id for the platform signer (tenant, app and certificate).
    pub id: String,
    /// PKCS#8 DER.
    pub pkcs8: Vec<u8>,
    /// Certificate DER.
    pub cert: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// The signer to hand to [`super::dsig`].
    pub fn signer(&self) -> super::dsig::Signer<'_> {
        super::dsig::Signer {
            key: crate::crypto::KeyRef {
                id: &self.id,
                alg: crate::crypto::SignAlg::Rs256,
                pkcs8_der: &self.pkcs8,
            },
            cert_der: &self.cert,
        }
    }
}

/// An app, checked, with what the requests need derived once.
#[derive(Debug)]
pub struct LoadedApp {
    /// The stored settings.
    pub cfg: SamlApp,
    /// The SP's public keys (SubjectPublicKeyInfo DER), from its certificates.
    pub sp_keys: Vec<Vec<u8>>,
    /// Certificates published in metadata (current, then next), DER.
    pub published: Vec<Vec<u8>>,
    /// Where and how assertions are encrypted, when the app encrypts them.
    pub encrypt_to: Option<super::encrypt::Encryption>,
    /// The key that signs, or why it cannot be opened.
    pub signing: Result<SigningKey, String>,
}

fn derive(tenant: &str, cfg: SamlApp, master: Option<&MasterKey>) -> LoadedApp {
    let sp_keys = cfg
        .sp
        .certificates
        .iter()
        .filter_map(|c| decode_certificate(c).map(|(_, spki)| spki))
        .collect();
    let published = std::iter::once(&cfg.idp.current)
        .chain(cfg.idp.next.as_ref())
        .filter_map(|k| decode_certificate(&k.certificate).map(|(der, _)| der))
        .collect();
    let signing = (|| {
        let master = master.ok_or("the runtime has no usable master key")?;
        let current = &cfg.idp.current;
        let (cert, _) = decode_certificate(&current.certificate).ok_or("bad certificate")?;
        let b64 = seal::open_secret(master, tenant, &current.private_key)
            .map_err(|e| format!("private key: {e}"))?;
        let pkcs8 = STANDARD
            .decode(b64.trim())
            .map_err(|_| "private key is not base64 PKCS#8")?;
        let id = format!(
            "{tenant}:saml:{}:{}",
            cfg.id,
            super::hex(Sha256::digest(&cert).get(..6).unwrap_or_default())
        );
        Ok::<_, String>(SigningKey { id, pkcs8, cert })
    })();
    // `check` made sure the certificate holds an RSA key whenever the app encrypts.
    let encrypt_to = cfg
        .sp
        .encryption_certificate
        .as_deref()
        .filter(|_| cfg.encrypt_assertion)
        .and_then(decode_certificate)
        .and_then(|(_, spki)| super::encrypt::sp_key(&spki).ok())
        .map(|sp| super::encrypt::Encryption {
            sp,
            method: cfg.encryption_method,
        });
    LoadedApp {
        cfg,
        sp_keys,
        published,
        encrypt_to,
        signing,
    }
}

/// What loading an app found.
pub type Loaded = Result<Arc<LoadedApp>, AppError>;

/// Loads app `app` of the request's tenant through the per-isolate cache. `Ok(None)`: no such app.
pub async fn load<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &str,
) -> Result<Option<Arc<Loaded>>, PlatformError> {
    if !is_app_id(app) {
        return Ok(None);
    }
    let tenant = ctx.tenant.id.as_str().to_string();
    let key = format!("tenant:{tenant}:saml:{app}");
    let master = ctx
        .platform
        .secret(MASTER_KEY_SECRET)
        .and_then(|m| MasterKey::from_base64(&m).ok());
    ctx.idp
        .configs
        .load(
            ctx.platform,
            &key,
            APP_TTL_SECS,
            MISSING_TTL_SECS,
            |bytes| {
                let cfg = SamlApp::parse(bytes)?;
                if cfg.id != app {
                    return Err(AppError::Field {
                        field: "id",
                        rule: "must equal the app named by the key".into(),
                    });
                }
                Ok(Arc::new(derive(&tenant, cfg, master.as_ref())))
            },
        )
        .await
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
        if self.entity_id.trim().is_empty() || self.entity_id.len() > 1024 {
            return field("sp.entity_id", "1 to 1024 characters");
        }
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
            let key = decode_certificate(cert).map(|(_, spki)| super::encrypt::sp_key(&spki));
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
