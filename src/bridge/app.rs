//! Bridge app configuration: `tenant:{id}:bridge:{app}` (kv-schema/bridge-app.schema.json), read
//! through KV with a per-isolate cache like the tenant configuration.

use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::platform::{Platform, UnixTime};
use crate::seal::SecretMatch;
use crate::Ctx;

/// One-time token lifetime when the app sets none.
const DEFAULT_TOKEN_TTL_SECS: u32 = 60;

/// How the one-time token reaches the vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// POSTed to the app's callback URL (ISG Enhanced SSO).
    Post,
    /// Appended to the ReturnURL as `?token=` (ATS gatekeeper).
    Query,
    /// Set in a cookie on the shared parent domain (ATS cookie SSO).
    Cookie,
}

impl Delivery {
    /// Parses a `delivery` query value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "post" => Some(Self::Post),
            "query" => Some(Self::Query),
            "cookie" => Some(Self::Cookie),
            _ => None,
        }
    }
}

/// One bridge app.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BridgeApp {
    /// Format version (1).
    schema_version: u8,
    /// App id (the `{app}` of the key and of `/bridge/{app}/…`).
    pub(crate) id: AppId,
    /// App name shown on pages.
    pub(crate) name: String,
    /// Allowed deliveries; the first is the default, `?delivery=` picks another allowed one.
    pub(crate) deliveries: Vec<Delivery>,
    /// https URL the token is POSTed to (POST delivery).
    #[serde(default)]
    pub(crate) callback_url: Option<String>,
    /// Where the member goes when the vendor passed no ReturnURL (query and cookie deliveries).
    #[serde(default)]
    pub(crate) home_url: Option<String>,
    /// Registered primary domains of ReturnURL.
    pub(crate) return_domains: Vec<String>,
    /// Whether subdomains of the registered domains are allowed too.
    #[serde(default)]
    pub(crate) allow_subdomains: bool,
    /// Hex SHA-256 of the vendor's API secret.
    secret_sha256: String,
    /// The secret being replaced, accepted until its `valid_until` (`bridge rotate-secret`).
    #[serde(default)]
    previous_secret: Option<PreviousSecret>,
    /// Parent domain of the token cookie (cookie delivery).
    #[serde(default)]
    pub(crate) cookie_domain: Option<String>,
    /// Name of the token cookie.
    #[serde(default = "default_cookie_name")]
    pub(crate) cookie_name: String,
    /// Front-channel logout page of the vendor, loaded in a hidden frame when the member's IdP
    /// session ends elsewhere (must be on the registered domains).
    #[serde(default)]
    pub(crate) logout_url: Option<String>,
    /// Origins allowed to call the CORS ping.
    #[serde(default)]
    pub(crate) allowed_origins: Vec<String>,
    /// Profile IQA whose columns extend the user data (one parameter: the username).
    #[serde(default)]
    pub(crate) profile_iqa: Option<String>,
    /// Role IQA (one parameter: the username; one column), whose rows go to the vendor as `roles`.
    #[serde(default)]
    role_iqa: Option<String>,
    /// IQAs whose every row goes to the vendor under `data.{name}` (committees, registrations…).
    #[serde(default)]
    pub(crate) data_iqas: Vec<DataIqa>,
    /// No Access Mapping, applied to the profile's `AccessRestrictionCode`.
    #[serde(default)]
    pub(crate) no_access_mapping: Option<String>,
    /// One-time token lifetime in seconds.
    #[serde(default)]
    token_ttl_seconds: Option<u32>,
}

fn default_cookie_name() -> String {
    "bridge_token".into()
}

/// How many data IQAs an app may have: each costs at least one iMIS call per redemption.
const MAX_DATA_IQAS: usize = 4;

/// An IQA whose rows, all of them, are part of the user data.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DataIqa {
    /// The key of its rows in the answer's `data` object (`^[a-z][a-z0-9_]{0,39}$`).
    pub(crate) name: String,
    /// IQA path (`$/…`); one parameter, the username.
    pub(crate) path: String,
}

fn is_data_name(name: &str) -> bool {
    let b = name.as_bytes();
    (1..=40).contains(&b.len())
        && b.first().is_some_and(u8::is_ascii_lowercase)
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

/// A vendor API secret that is being replaced, and until when it still works.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PreviousSecret {
    /// Hex SHA-256 of it, as [`BridgeApp::secret_sha256`].
    secret_sha256: String,
    /// Seconds since the epoch after which it no longer works.
    valid_until: u64,
}

impl BridgeApp {
    /// The token lifetime, clamped to 10–300 seconds.
    pub(crate) fn token_ttl(&self) -> u32 {
        self.token_ttl_seconds
            .unwrap_or(DEFAULT_TOKEN_TTL_SECS)
            .clamp(10, 300)
    }

    /// The IQA settings for [`crate::access::evaluate`].
    pub(crate) fn access_settings(&self) -> crate::access::AccessSettings<'_> {
        crate::access::AccessSettings {
            profile_iqa: self.profile_iqa.as_deref().filter(|q| !q.is_empty()),
            role_iqa: self.role_iqa.as_deref().filter(|q| !q.is_empty()),
            no_access_mapping: self.no_access_mapping.as_deref(),
        }
    }

    /// Which of the vendor's API secrets `presented` is at `now`: the current one, or the
    /// previous one during a rotation's overlap (SHA-256 digests compared in constant time).
    pub(crate) fn secret_match(&self, presented: &str, now: UnixTime) -> SecretMatch {
        if presented.is_empty() || presented.len() > 512 || self.secret_sha256.len() != 64 {
            return SecretMatch::No;
        }
        let digest = hex::encode(Sha256::digest(presented.as_bytes()));
        let current = self.secret_sha256.to_ascii_lowercase();
        let previous = self.previous_secret.as_ref().map(|p| {
            (
                p.secret_sha256.to_ascii_lowercase(),
                now.secs() < p.valid_until,
            )
        });
        SecretMatch::of(
            digest.as_bytes(),
            current.as_bytes(),
            previous.as_ref().map(|(d, live)| (d.as_bytes(), *live)),
        )
    }

    /// Checks what the schema cannot: deliveries have what they need.
    fn check(&self) -> Result<(), String> {
        if self.schema_version != 1 {
            return Err("schema_version must be 1".into());
        }
        if self.deliveries.is_empty() {
            return Err("deliveries is empty".into());
        }
        if self.return_domains.is_empty() {
            return Err("return_domains is empty".into());
        }
        if self.deliveries.contains(&Delivery::Post)
            && !self
                .callback_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
        {
            return Err("POST delivery needs an https callback_url".into());
        }
        if self.deliveries.contains(&Delivery::Cookie) && self.cookie_domain.is_none() {
            return Err("cookie delivery needs cookie_domain".into());
        }
        if !is_cookie_name(&self.cookie_name) {
            return Err("cookie_name is not a valid cookie name".into());
        }
        self.check_data_iqas()?;
        self.access_settings()
            .check()
            .map_err(|e| format!("no_access_mapping: {e}"))
    }
}

impl BridgeApp {
    fn check_data_iqas(&self) -> Result<(), String> {
        if self.data_iqas.len() > MAX_DATA_IQAS {
            return Err(format!("data_iqas has more than {MAX_DATA_IQAS} queries"));
        }
        for (i, iqa) in self.data_iqas.iter().enumerate() {
            if !is_data_name(&iqa.name) {
                return Err(format!(
                    "data_iqas: {:?} is not a name (a-z, 0-9 and _, from a letter)",
                    iqa.name
                ));
            }
            if self
                .data_iqas
                .iter()
                .take(i)
                .any(|other| other.name == iqa.name)
            {
                return Err(format!("data_iqas: {:?} is named twice", iqa.name));
            }
            if !iqa.path.starts_with("$/") || iqa.path.len() > 400 {
                return Err(format!(
                    "data_iqas: {:?} is not an IQA path ($/…)",
                    iqa.path
                ));
            }
        }
        Ok(())
    }
}

fn is_cookie_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub use crate::tenant::config::{is_app_id, AppId};

/// Why an app cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AppError {
    /// No such app for this tenant.
    Unknown,
    /// The stored value is broken.
    Invalid(String),
    /// KV could not be read.
    Unavailable(String),
}

/// The bridge app `id` of the request's tenant.
pub(crate) async fn load<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &AppId,
) -> Result<Arc<BridgeApp>, AppError> {
    let key = crate::kv_key::bridge_app(ctx.tenant.id.as_str(), id);
    let loaded = ctx
        .idp
        .configs
        .load(ctx.platform, &key, |bytes| parse(id, bytes))
        .await
        .map_err(|e| AppError::Unavailable(e.to_string()))?;
    match loaded.as_deref() {
        None => Err(AppError::Unknown),
        Some(parsed) => parsed.clone(),
    }
}

/// Reads and checks the stored app `id`.
fn parse(id: &AppId, bytes: &[u8]) -> Result<Arc<BridgeApp>, AppError> {
    match serde_json::from_slice::<BridgeApp>(bytes) {
        Ok(app) if app.id != *id => Err(AppError::Invalid("id differs from its key".into())),
        Ok(app) => app
            .check()
            .map(|()| Arc::new(app))
            .map_err(AppError::Invalid),
        Err(e) => Err(AppError::Invalid(e.to_string())),
    }
}
