//! Asks a deployed tenant's `/healthz?deep=1`, with its admin token, whether iMIS answers.
//!
//! The answer is reduced to what `status` reports; the token is sent only in the
//! `Authorization` header and never appears in a message.

use std::time::Duration;

use serde_json::Value;

use crate::error::CliError;

/// How long one health check may take: the runtime gives iMIS a few seconds, plus the way there.
const TIMEOUT: Duration = Duration::from_secs(20);
/// The largest health answer read (a real one is about a hundred bytes).
const MAX_BODY: u64 = 64 * 1024;

/// What the deep health check said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// iMIS answered the background account.
    Online {
        /// How long iMIS took, as the runtime measured it.
        ms: Option<u64>,
        /// The configuration version the runtime serves.
        config_version: Option<u64>,
    },
    /// iMIS did not answer as it should (the reason is in the runtime's audit log).
    Offline {
        /// The configuration version the runtime serves.
        config_version: Option<u64>,
    },
    /// The tenant is disabled: nothing, iMIS included, is asked.
    Disabled,
    /// 401: the runtime's master key is not the one the CLI has.
    TokenRefused,
    /// The runtime answered without the deep check (it did not see the token).
    NotDeep,
    /// Any other answer.
    Unexpected {
        /// Its HTTP status.
        status: u16,
    },
    /// No answer at all.
    Unreachable {
        /// Why (the HTTP client's words; they never hold the token).
        reason: String,
    },
}

/// Where and how to ask.
#[derive(Debug, Clone)]
pub struct Probe {
    /// `https://host[:port]` (or `http://` to a loopback address, for tests and local stacks).
    pub base: String,
    /// The Host header: the tenant's hostname.
    pub host: String,
    /// Accept any TLS certificate (local self-signed stacks).
    pub insecure: bool,
}

impl Probe {
    /// The probe of `host`: `https://{host}`, or `url` with `host` as the Host header. Plain
    /// http is refused except to a loopback address, so that the token never crosses a network
    /// in clear.
    pub fn new(host: &str, url: Option<&str>, insecure: bool) -> Result<Self, CliError> {
        let base = match url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => format!("https://{host}"),
        };
        let rest = if let Some(rest) = base.strip_prefix("https://") {
            rest
        } else if let Some(rest) = base.strip_prefix("http://") {
            if !is_loopback(rest) {
                return Err(CliError::Usage(format!(
                    "--url {base}: plain http would send the admin token in clear; it is only \
                     accepted to a loopback address (127.0.0.1, [::1], localhost)"
                )));
            }
            rest
        } else {
            return Err(CliError::Usage(format!(
                "--url {base}: give https://HOST[:PORT] (or http:// to a loopback address)"
            )));
        };
        if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
            return Err(CliError::Usage(format!(
                "--url {base}: give only the scheme, host and port; status adds /healthz?deep=1"
            )));
        }
        Ok(Self {
            base,
            host: host.to_owned(),
            insecure,
        })
    }

    /// GETs `/healthz?deep=1` with `token` and reads what it says.
    pub fn check(&self, token: &str) -> Health {
        let tls = ureq::tls::TlsConfig::builder()
            .disable_verification(self.insecure)
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .tls_config(tls)
            .build()
            .into();
        let url = format!("{}/healthz?deep=1", self.base);
        let answer = agent
            .get(&url)
            .header("host", &self.host)
            .header("authorization", &format!("Bearer {token}"))
            .header("accept", "application/json")
            .call();
        let mut response = match answer {
            Ok(r) => r,
            Err(e) => {
                return Health::Unreachable {
                    reason: e.to_string(),
                }
            }
        };
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .unwrap_or_default();
        interpret(status, &body)
    }
}

/// Whether the authority `host[:port]` names this machine.
fn is_loopback(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// What an answer of `/healthz?deep=1` means.
pub fn interpret(status: u16, body: &str) -> Health {
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let field = |name: &str| json.get(name).and_then(Value::as_str);
    let config_version = json.get("config_version").and_then(Value::as_u64);
    match (status, field("status"), field("imis")) {
        (401, _, _) => Health::TokenRefused,
        (_, Some("disabled"), _) => Health::Disabled,
        (200, _, Some("online")) => Health::Online {
            ms: json.get("imis_ms").and_then(Value::as_u64),
            config_version,
        },
        (_, _, Some("offline")) => Health::Offline { config_version },
        (200, _, None) if json.get("deep").is_some() => Health::NotDeep,
        _ => Health::Unexpected { status },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_as_the_runtime_means_them() {
        let online =
            r#"{"status":"ok","tenant":"acme","config_version":4,"imis":"online","imis_ms":12}"#;
        assert_eq!(
            interpret(200, online),
            Health::Online {
                ms: Some(12),
                config_version: Some(4)
            }
        );
        let offline =
            r#"{"status":"degraded","tenant":"acme","config_version":4,"imis":"offline"}"#;
        assert_eq!(
            interpret(503, offline),
            Health::Offline {
                config_version: Some(4)
            }
        );
        assert_eq!(
            interpret(401, r#"{"error":"admin token refused"}"#),
            Health::TokenRefused
        );
        assert_eq!(
            interpret(503, r#"{"status":"disabled","tenant":"acme"}"#),
            Health::Disabled
        );
        let plain =
            r#"{"status":"ok","tenant":"acme","config_version":4,"deep":"needs admin token"}"#;
        assert_eq!(interpret(200, plain), Health::NotDeep);
        assert_eq!(
            interpret(404, "<html>Site not found</html>"),
            Health::Unexpected { status: 404 }
        );
        assert_eq!(
            interpret(200, "not json"),
            Health::Unexpected { status: 200 }
        );
    }

    #[test]
    fn the_base_url_is_https_or_loopback_http_and_nothing_more() {
        let p = Probe::new("sso.acme.org", None, false).unwrap();
        assert_eq!(p.base, "https://sso.acme.org");
        assert_eq!(p.host, "sso.acme.org");
        let p = Probe::new("acme.localhost", Some("https://127.0.0.1:8787/"), true).unwrap();
        assert_eq!(p.base, "https://127.0.0.1:8787");
        for ok in [
            "http://127.0.0.1:9",
            "http://localhost:8080",
            "http://[::1]:80",
        ] {
            assert!(Probe::new("a.example", Some(ok), false).is_ok(), "{ok}");
        }
        for bad in [
            "http://sso.acme.org",
            "http://10.0.0.1:80",
            "ftp://127.0.0.1",
            "127.0.0.1:8787",
            "https://",
            "https://h/healthz",
            "https://user@h",
        ] {
            let e = Probe::new("a.example", Some(bad), false).unwrap_err();
            assert!(e.to_string().contains("--url"), "{bad}: {e}");
        }
    }
}
