//! What `edge-idp status` found, how it reads to a person, and whether it is healthy.
//!
//! Built from what is deployed (and, optionally, the tenant file's plan) and the runtime's deep
//! health answer; never holds a secret, a private key or the admin token.

use std::fmt::Write as _;

use serde_json::Value;

use crate::deployed::Deployed;
use crate::health::Health;

/// A signing certificate closer than this to its end needs attention.
pub const WARN_DAYS: i64 = 30;
const DAY_SECS: i64 = 86_400;

/// The tenant file against what is deployed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    /// The file, as given.
    pub path: String,
    /// Its own `config_version`, if it gives one.
    pub config_version: Option<u64>,
    /// How many keys `apply` would write or delete (0: in sync).
    pub changes: usize,
}

/// One SAML app's signing keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlKeys {
    /// The app id.
    pub app: String,
    /// The current certificate's `notAfter`, in seconds since the epoch (`None`: unreadable).
    pub not_after: Option<i64>,
    /// A next key is staged.
    pub next_staged: bool,
}

/// The tenant's OIDC signing keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcKeys {
    /// The current key's id.
    pub current_kid: Option<String>,
    /// A next key is staged.
    pub next_staged: bool,
    /// When the current key was made (`YYYY-MM-DD…`), if recorded.
    pub created: Option<String>,
}

/// Everything `status` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The hostname asked about.
    pub host: String,
    /// The tenant that owns it.
    pub tenant: String,
    /// The store read, described.
    pub store: String,
    /// The deployed `config_version`.
    pub deployed_version: Option<u64>,
    /// The store was read from a local mirror (Fermyon Cloud), not from the store itself.
    pub from_mirror: bool,
    /// Whether the deployed tenant is disabled.
    pub disabled: bool,
    /// The tenant file, when given.
    pub file: Option<FileState>,
    /// The runtime's deep health answer.
    pub health: Health,
    /// One entry per SAML app, by id.
    pub saml: Vec<SamlKeys>,
    /// The OIDC signing keys, when deployed.
    pub oidc: Option<OidcKeys>,
    /// Now, in seconds since the epoch.
    pub now: i64,
}

/// The SAML apps' and OIDC keys' state, as deployed for `deployed.tenant`.
pub fn keys_of(deployed: &Deployed) -> (Vec<SamlKeys>, Option<OidcKeys>) {
    let saml_prefix = edge_idp::kv_key::saml_apps_prefix(&deployed.tenant);
    let saml = deployed
        .tenant_values
        .iter()
        .filter_map(|(key, app)| {
            let id = key.strip_prefix(&saml_prefix)?;
            let cert = app
                .pointer("/idp/current/certificate")
                .and_then(Value::as_str);
            Some(SamlKeys {
                app: id.to_owned(),
                not_after: cert.and_then(not_after),
                next_staged: app.pointer("/idp/next").is_some_and(Value::is_object),
            })
        })
        .collect();
    let oidc = deployed
        .get(&edge_idp::kv_key::oidc_keys(&deployed.tenant))
        .map(|keys| OidcKeys {
            current_kid: keys
                .pointer("/current/kid")
                .and_then(Value::as_str)
                .map(str::to_owned),
            next_staged: keys.get("next").is_some_and(Value::is_object),
            created: keys
                .pointer("/current/created")
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
    (saml, oidc)
}

/// The `notAfter` of a base64 DER certificate, in seconds since the epoch.
pub fn not_after(b64: &str) -> Option<i64> {
    let (der, _) = edge_idp::saml::config::decode_certificate(b64)?;
    i64::try_from(crate::saml::x509::not_after_secs(&der)?).ok()
}

/// Whole days from `now` to `then` (negative once passed).
fn days_left(then: i64, now: i64) -> i64 {
    then.saturating_sub(now).div_euclid(DAY_SECS)
}

/// `YYYY-MM-DD` of a time in seconds since the epoch.
fn date(secs: i64) -> String {
    let formatted = edge_idp::saml::time::format(u64::try_from(secs).unwrap_or(0));
    formatted.split('T').next().unwrap_or_default().to_owned()
}

/// The age in days of a `created` date (`YYYY-MM-DD`, maybe followed by a time).
fn age_days(created: &str, now: i64) -> Option<i64> {
    let day = created.split(['T', ' ']).next()?;
    let secs = edge_idp::saml::time::parse(&format!("{day}T00:00:00Z"))?;
    Some(days_left(now, i64::try_from(secs).ok()?))
}

impl Report {
    /// What needs attention, one phrase each; empty when healthy.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        match &self.health {
            Health::Online { .. } | Health::Disabled => {}
            Health::Offline { .. } => out.push("iMIS is offline".to_owned()),
            Health::TokenRefused => {
                out.push("the runtime refused the admin token".to_owned());
            }
            Health::NotDeep => out.push("the runtime did not run the iMIS check".to_owned()),
            Health::Unexpected { status } => {
                out.push(format!("the health check answered HTTP {status}"));
            }
            Health::Unreachable { .. } => out.push("the health check got no answer".to_owned()),
        }
        for app in &self.saml {
            match app.not_after {
                None => out.push(format!(
                    "SAML app {}: its certificate cannot be read",
                    app.app
                )),
                Some(end) if days_left(end, self.now) < 0 => {
                    out.push(format!("SAML app {}: its certificate has expired", app.app));
                }
                Some(end) if days_left(end, self.now) < WARN_DAYS => out.push(format!(
                    "SAML app {}: its certificate expires in {} days",
                    app.app,
                    days_left(end, self.now)
                )),
                Some(_) => {}
            }
        }
        if let Some(file) = self.file.as_ref().filter(|f| f.changes > 0) {
            out.push(format!(
                "{} is not applied ({} changes pending)",
                file.path, file.changes
            ));
        }
        out
    }

    /// Healthy: iMIS online, no certificate near its end, the file (if any) applied.
    pub fn healthy(&self) -> bool {
        self.problems().is_empty()
    }

    /// The report for people. Never a secret or the token.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut line = |label: &str, text: String| {
            let _ = writeln!(out, "  {label:<18} {text}");
        };
        line(
            "tenant",
            format!("{} (host:{} on {})", self.tenant, self.host, self.store),
        );
        line("config_version", self.versions());
        line("iMIS", self.imis());
        for app in &self.saml {
            line(&format!("SAML {}", app.app), self.saml_line(app));
        }
        match &self.oidc {
            Some(keys) => line("OIDC keys", self.oidc_line(keys)),
            None => line("OIDC keys", "none deployed".to_owned()),
        }
        let problems = self.problems();
        if problems.is_empty() {
            let _ = writeln!(out, "Status: healthy");
        } else {
            let _ = writeln!(out, "Status: NEEDS ATTENTION: {}", problems.join("; "));
        }
        format!("Status of {}:\n{out}", self.host)
    }

    fn versions(&self) -> String {
        let deployed = self
            .deployed_version
            .map_or_else(|| "none".to_owned(), |v| v.to_string());
        let mut text = format!("{deployed} deployed");
        if self.from_mirror {
            text.push_str(" (from the local mirror)");
        }
        if self.disabled {
            text.push_str(" (tenant DISABLED)");
        }
        let served = match &self.health {
            Health::Online { config_version, .. } | Health::Offline { config_version } => {
                *config_version
            }
            _ => None,
        };
        if let Some(served) = served.filter(|v| Some(*v) != self.deployed_version) {
            let newer = self.deployed_version.is_none_or(|d| served > d);
            if self.from_mirror && newer {
                // Only another writer makes the runtime serve a version the mirror never had.
                let _ = write!(
                    text,
                    "; the runtime serves {served}, newer than the mirror: it was applied from \
                     another mirror, so bring this one up to date before applying"
                );
            } else {
                let _ = write!(
                    text,
                    "; the runtime still serves {served} (its cache renews within a minute)"
                );
            }
        }
        if let Some(file) = &self.file {
            let version = file
                .config_version
                .map_or_else(|| "no config_version".to_owned(), |v| v.to_string());
            let sync = match file.changes {
                0 => "in sync".to_owned(),
                1 => "1 change pending".to_owned(),
                n => format!("{n} changes pending"),
            };
            let _ = write!(text, "; {}: {version}, {sync}", file.path);
        }
        text
    }

    fn imis(&self) -> String {
        match &self.health {
            Health::Online { ms: Some(ms), .. } => format!("online ({ms} ms)"),
            Health::Online { ms: None, .. } => "online".to_owned(),
            Health::Offline { .. } => {
                "OFFLINE (the reason is in the runtime's audit log: imis.unavailable)".to_owned()
            }
            Health::Disabled => "not checked: the tenant is disabled".to_owned(),
            Health::TokenRefused => "unknown: the admin token was refused (401); the runtime's \
                                     master key is not the one given to this command"
                .to_owned(),
            Health::NotDeep => {
                "unknown: the runtime answered without the iMIS check (the admin token did not \
                 reach it)"
                    .to_owned()
            }
            Health::Unexpected { status } => {
                format!("unknown: /healthz?deep=1 answered HTTP {status}")
            }
            Health::Unreachable { reason } => format!("unknown: no answer ({reason})"),
        }
    }

    fn saml_line(&self, app: &SamlKeys) -> String {
        let cert = match app.not_after {
            None => "WARNING: the certificate cannot be read".to_owned(),
            Some(end) => {
                let days = days_left(end, self.now);
                let warn = if days < WARN_DAYS { "WARNING: " } else { "" };
                if days < 0 {
                    format!("{warn}certificate EXPIRED on {}", date(end))
                } else {
                    format!(
                        "{warn}certificate valid until {} ({days} days left)",
                        date(end)
                    )
                }
            }
        };
        let next = if app.next_staged {
            "next key staged"
        } else {
            "no next key staged"
        };
        format!("{cert}; {next}")
    }

    fn oidc_line(&self, keys: &OidcKeys) -> String {
        let kid = keys.current_kid.as_deref().unwrap_or("(none)");
        let next = if keys.next_staged {
            "next key staged"
        } else {
            "no next key staged"
        };
        let age = match keys.created.as_deref().map(|c| (c, age_days(c, self.now))) {
            Some((_, Some(days))) => format!("current key {days} days old"),
            Some((created, None)) => format!("current key made {created}"),
            None => "age of the current key not recorded".to_owned(),
        };
        format!("current kid {kid}; {next}; {age}")
    }
}

#[cfg(test)]
#[path = "status_report_tests.rs"]
mod tests;
