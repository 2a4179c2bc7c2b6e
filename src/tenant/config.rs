//! Tenant configuration as stored in KV (`host:{hostname}` and `tenant:{id}`), mirroring
//! `kv-schema/host.schema.json` and `kv-schema/tenant.schema.json`.
//!
//! Parsing is strict (unknown fields are refused) and is followed by [`TenantConfig::check`], which
//! enforces the rules a JSON Schema cannot express well. A value that fails either is never used.

use serde::Deserialize;

pub use crate::ids::{is_app_id, AppId};
use crate::seal;

/// The schema version this build reads.
const SCHEMA_VERSION: u32 = 1;

/// A tenant id: lowercase letters, digits and dashes, at most 63 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(transparent)]
pub(crate) struct TenantId(String);

impl TenantId {
    /// Whether the id has the allowed shape.
    fn is_valid(&self) -> bool {
        let s = self.0.as_bytes();
        !s.is_empty()
            && s.len() <= 63
            && s.first().is_some_and(u8::is_ascii_alphanumeric)
            && s.iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
    }

    /// The id as text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// `host:{hostname}` — which tenant serves a custom hostname.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostRecord {
    /// Schema version of this value.
    schema_version: u32,
    /// The tenant serving this hostname.
    pub(crate) tenant: TenantId,
}

/// How members prove who they are to iMIS: its RiSE sign-in (cloud), or its username and
/// password (legacy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum IdentityMode {
    /// iMIS EMS / Cloud: the RiSE page with the Single Sign On content item posts a refresh token back.
    ImisCloud,
    /// iMIS 2017 legacy on-premises: our own sign-in page checks the password at iMIS `/token`.
    ImisLegacy,
}

/// Per-tenant branding of every page.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Branding {
    /// Logo image (https).
    pub(crate) logo_url: Option<String>,
    /// Main colour, `#rrggbb`.
    pub(crate) primary_color: Option<String>,
    /// Accent colour, `#rrggbb`.
    pub(crate) accent_color: Option<String>,
    /// Where members can ask for help.
    pub(crate) support_email: Option<String>,
}

/// A RiSE page holding the Single Sign On content item, and the RiSE client application it uses.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SsoPage {
    /// The page's publish location.
    pub(crate) page_url: String,
    /// RiSE client application id.
    pub(crate) client_id: String,
    /// RiSE client application secret, sealed.
    pub(crate) client_secret: String,
}

/// The separate SAML and OIDC RiSE pages.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SsoPages {
    /// Page and client application for SAML sign-ins (returns to `/saml/imis/callback`).
    pub(crate) saml: Option<SsoPage>,
    /// Page and client application for OIDC and bridge sign-ins (returns to `/imis/callback`).
    pub(crate) oidc: Option<SsoPage>,
}

/// The iMIS background account used for IQA and lookups.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BackgroundAccount {
    /// iMIS username.
    pub(crate) username: String,
    /// Password, sealed.
    pub(crate) password: String,
}

/// Links to the tenant's own iMIS account pages, shown on every member-facing page.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImisLinks {
    /// Create-account page.
    pub(crate) create_account_url: Option<String>,
    /// Forgot-password page.
    pub(crate) forgot_password_url: Option<String>,
    /// Forgot-username page.
    pub(crate) forgot_username_url: Option<String>,
}

/// How to reach the tenant's iMIS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImisSettings {
    /// The iMIS web site (RiSE pages, logout.aspx), no trailing slash.
    pub(crate) base_url: String,
    /// Where `/token` and `/api` live, when not at `base_url` (e.g. `…/Asi.Scheduler_iMIS`).
    api_base_url: Option<String>,
    /// Timeout of every iMIS call, in milliseconds.
    timeout_ms: Option<u32>,
    pub(crate) background_account: BackgroundAccount,
    /// RiSE Single Sign On pages (required in iMIS Cloud mode).
    #[serde(default)]
    pub(crate) sso: SsoPages,
    /// Account pages.
    #[serde(default)]
    pub(crate) links: ImisLinks,
    /// Whether signing out of the IdP also signs out of iMIS.
    pub(crate) sign_out_of_imis: Option<bool>,
    /// How long a member's IQA answers are reused without asking iMIS again, in minutes.
    profile_cache_minutes: Option<u32>,
    /// Reading iMIS's forms-authentication cookie (legacy mode), so that a member signed in to
    /// iMIS is not asked for a password again.
    pub(crate) forms_ticket: Option<FormsTicketSettings>,
}

/// The ASP.NET `<machineKey compatibilityMode>` of the iMIS site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum FormsCompatibility {
    /// ASP.NET 4.5 and later (`targetFramework="4.5"` or `compatibilityMode="Framework45"`):
    /// derived keys, random IV, encrypt-then-MAC.
    #[serde(rename = "framework45")]
    Framework45,
    /// ASP.NET 2.0 SP2 to 4.0 (`compatibilityMode="Framework20SP2"`): the machine keys as given.
    #[serde(rename = "framework20sp2")]
    Framework20Sp2,
}

/// The `<machineKey validation>` algorithm, spelt as in web.config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum FormsValidation {
    /// HMAC-SHA1.
    #[serde(rename = "SHA1")]
    HmacSha1,
    /// HMAC-SHA256.
    #[serde(rename = "HMACSHA256")]
    HmacSha256,
    /// HMAC-SHA384.
    #[serde(rename = "HMACSHA384")]
    HmacSha384,
    /// HMAC-SHA512.
    #[serde(rename = "HMACSHA512")]
    HmacSha512,
}

/// iMIS's `<machineKey>` and forms cookie, for reading a signed-in member's ticket.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FormsTicketSettings {
    /// The forms cookie's name (`<forms name>`; `Login` in a stock iMIS 2017).
    pub(crate) cookie_name: String,
    /// How the site protects its tickets.
    pub(crate) compatibility_mode: FormsCompatibility,
    /// `<machineKey validation>`.
    pub(crate) validation: FormsValidation,
    /// `<machineKey validationKey>` (hex), sealed.
    pub(crate) validation_key: String,
    /// `<machineKey decryptionKey>` (hex, AES), sealed.
    pub(crate) decryption_key: String,
    /// Tickets issued longer ago are not used (the member types the password again); none: the
    /// ticket's own expiry alone decides.
    pub(crate) max_age_minutes: Option<u32>,
}

impl ImisSettings {
    /// The base URL of `/token` and `/api`.
    pub(crate) fn api_base(&self) -> &str {
        self.api_base_url
            .as_deref()
            .unwrap_or(&self.base_url)
            .trim_end_matches('/')
    }

    /// The timeout of each iMIS call.
    pub(crate) fn timeout_ms(&self) -> u32 {
        self.timeout_ms.unwrap_or(8000)
    }

    /// How long a member's IQA answers stay fresh (default 5 minutes; 0: ask iMIS every time,
    /// keeping the last answer only for when iMIS is down).
    pub(crate) fn profile_cache_secs(&self) -> u64 {
        u64::from(self.profile_cache_minutes.unwrap_or(5)) * 60
    }
}

/// IdP session lifetimes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SessionSettings {
    /// Absolute lifetime in minutes.
    pub(crate) absolute_minutes: u32,
    /// Idle lifetime in minutes.
    pub(crate) idle_minutes: u32,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            absolute_minutes: 480,
            idle_minutes: 60,
        }
    }
}

/// Page texts an admin may customise.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageTexts {
    /// Heading of the No Access page.
    pub(crate) no_access_title: Option<String>,
    /// Text of the No Access page.
    pub(crate) no_access_message: Option<String>,
    /// Text above the legacy sign-in form.
    pub(crate) signin_message: Option<String>,
    /// Language of the pages when the member's browser asks for none of ours.
    #[serde(default)]
    pub(crate) language: crate::text::Lang,
    /// Replacements of the built-in texts: language → text key → text.
    #[serde(default)]
    pub(crate) texts: crate::text::Overrides,
}

/// `tenant:{id}` — one organisation's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Schema version of this value.
    schema_version: u32,
    /// Tenant id.
    pub(crate) id: TenantId,
    /// Configuration version, bumped by the admin on every push.
    pub(crate) config_version: u64,
    /// Organisation name shown on pages.
    pub(crate) name: String,
    /// Custom hostnames served for this tenant.
    pub hostnames: Vec<String>,
    /// Branding.
    #[serde(default)]
    pub(crate) branding: Branding,
    pub(crate) identity_mode: IdentityMode,
    /// iMIS connection.
    pub(crate) imis: ImisSettings,
    /// Session lifetimes.
    #[serde(default)]
    pub(crate) session: SessionSettings,
    /// Customised page texts.
    #[serde(default)]
    pub(crate) pages: PageTexts,
    /// Accepted and ignored: the tenant's own pages return only to local paths
    /// (`http::is_local_path`), and each bridge app registers its own return domains.
    // Part of the schema, so `deny_unknown_fields` must accept it, but nothing here reads it.
    #[serde(default)]
    #[allow(dead_code)]
    allowed_return_domains: Vec<String>,
    /// Switched off by its operator: every page of its hosts says sign-in is not available
    /// here, and nothing else happens (no sign-in, no token, no call to iMIS).
    #[serde(default)]
    pub(crate) disabled: bool,
}

/// Why a stored tenant value cannot be used. Messages name the rule, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Not JSON, or not the expected shape.
    #[error("value does not match the schema: {0}")]
    Shape(String),
    /// Written for another schema version.
    #[error("schema_version {0} is not supported (this build reads {SCHEMA_VERSION})")]
    SchemaVersion(u32),
    /// Host record and tenant value disagree.
    #[error("tenant {tenant} does not list hostname {host}")]
    HostNotListed {
        /// Tenant id.
        tenant: String,
        /// Hostname requested.
        host: String,
    },
    /// A field breaks a rule.
    #[error("{field}: {rule}")]
    Field {
        /// Dotted field path.
        field: &'static str,
        /// The rule it breaks.
        rule: &'static str,
    },
}

impl HostRecord {
    /// Parses and checks a `host:{hostname}` value.
    pub fn parse(bytes: &[u8]) -> Result<Self, ConfigError> {
        let rec: Self =
            serde_json::from_slice(bytes).map_err(|e| ConfigError::Shape(e.to_string()))?;
        if rec.schema_version != SCHEMA_VERSION {
            return Err(ConfigError::SchemaVersion(rec.schema_version));
        }
        if !rec.tenant.is_valid() {
            return Err(ConfigError::Field {
                field: "tenant",
                rule: "must be a lowercase tenant id",
            });
        }
        Ok(rec)
    }
}

impl TenantConfig {
    /// Parses and checks a `tenant:{id}` value.
    pub fn parse(bytes: &[u8]) -> Result<Self, ConfigError> {
        let cfg: Self =
            serde_json::from_slice(bytes).map_err(|e| ConfigError::Shape(e.to_string()))?;
        cfg.check()?;
        Ok(cfg)
    }

    /// The rules beyond the value's shape.
    pub fn check(&self) -> Result<(), ConfigError> {
        let field = |field, rule| Err(ConfigError::Field { field, rule });
        if self.schema_version != SCHEMA_VERSION {
            return Err(ConfigError::SchemaVersion(self.schema_version));
        }
        if !self.id.is_valid() {
            return field("id", "must be a lowercase tenant id");
        }
        if self.hostnames.is_empty() {
            return field("hostnames", "must list at least one hostname");
        }
        if self
            .hostnames
            .iter()
            .any(|h| h.is_empty() || h.contains(':') || *h != h.to_ascii_lowercase())
        {
            return field("hostnames", "must be lowercase hostnames without a port");
        }
        self.imis.check()?;
        if self.identity_mode == IdentityMode::ImisCloud
            && self.imis.sso.saml.is_none()
            && self.imis.sso.oidc.is_none()
        {
            return field(
                "imis.sso",
                "iMIS Cloud mode needs a SAML or OIDC Single Sign On page",
            );
        }
        if let Some(ticket) = &self.imis.forms_ticket {
            if self.identity_mode != IdentityMode::ImisLegacy {
                return field(
                    "imis.forms_ticket",
                    "is read only in iMIS legacy mode (iMIS Cloud signs members in itself)",
                );
            }
            ticket.check()?;
        }
        if self
            .imis
            .timeout_ms
            .is_some_and(|t| !(500..=30_000).contains(&t))
        {
            return field("imis.timeout_ms", "must be between 500 and 30000");
        }
        if !(1..=10_080).contains(&self.session.absolute_minutes)
            || !(1..=1_440).contains(&self.session.idle_minutes)
        {
            return field("session", "lifetimes out of range");
        }
        Ok(())
    }
}

impl ImisSettings {
    /// Its URLs are https (http only for loopback) and its secrets sealed.
    fn check(&self) -> Result<(), ConfigError> {
        let field = |field, rule| Err(ConfigError::Field { field, rule });
        if !is_service_url(&self.base_url) {
            return field(
                "imis.base_url",
                "must be an https URL (http only for loopback)",
            );
        }
        if self
            .api_base_url
            .as_deref()
            .is_some_and(|u| !is_service_url(u))
        {
            return field(
                "imis.api_base_url",
                "must be an https URL (http only for loopback)",
            );
        }
        if !seal::is_sealed(&self.background_account.password) {
            return field("imis.background_account.password", "must be a sealed value");
        }
        for page in [&self.sso.saml, &self.sso.oidc].into_iter().flatten() {
            if !is_service_url(&page.page_url) {
                return field(
                    "imis.sso.page_url",
                    "must be an https URL (http only for loopback)",
                );
            }
            if !seal::is_sealed(&page.client_secret) {
                return field("imis.sso.client_secret", "must be a sealed value");
            }
        }
        Ok(())
    }
}

impl FormsTicketSettings {
    fn check(&self) -> Result<(), ConfigError> {
        let field = |field, rule| Err(ConfigError::Field { field, rule });
        if !is_cookie_name(&self.cookie_name) {
            return field(
                "imis.forms_ticket.cookie_name",
                "must be a cookie name (1 to 64 letters, digits and ._-)",
            );
        }
        if !seal::is_sealed(&self.validation_key) || !seal::is_sealed(&self.decryption_key) {
            return field("imis.forms_ticket", "machine keys must be sealed values");
        }
        if self
            .max_age_minutes
            .is_some_and(|m| !(1..=525_600).contains(&m))
        {
            return field(
                "imis.forms_ticket.max_age_minutes",
                "must be between 1 and 525600",
            );
        }
        Ok(())
    }
}

/// A cookie name we can look for: ASCII letters, digits and `._-`, at most 64 characters.
fn is_cookie_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// An https URL, or an http URL on a loopback host (local development and tests only).
pub fn is_service_url(url: &str) -> bool {
    if let Some(rest) = url.strip_prefix("https://") {
        return !rest.is_empty() && !rest.starts_with('/');
    }
    match url.strip_prefix("http://") {
        Some(rest) => {
            let authority = rest.split('/').next().unwrap_or("");
            let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
            host == "127.0.0.1" || host == "localhost" || host == "[::1]"
        }
        None => false,
    }
}
