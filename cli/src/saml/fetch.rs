//! SP metadata from a file or an https URL.
//!
//! A URL is fetched over https only, redirects included, within a time limit and a size cap.
//! The server's certificate is checked against Mozilla's roots, or against the CA bundle named by
//! `CURL_CA_BUNDLE` or `SSL_CERT_FILE` (as curl and OpenSSL read them) for an SP behind a private
//! CA.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use super::usage;
use crate::error::CliError;

/// How long a download may take, connection and redirects included.
const TIMEOUT: Duration = Duration::from_secs(20);
/// The largest metadata read: real SP metadata is a few kilobytes, an aggregate of many SPs is not
/// one SP's metadata.
const MAX_BYTES: u64 = 1024 * 1024;
/// How many redirects are followed (each one to https only).
const MAX_REDIRECTS: u32 = 10;
/// The variables naming a CA bundle, in the order they are read: curl's own first.
const CA_BUNDLE_VARS: [&str; 2] = ["CURL_CA_BUNDLE", "SSL_CERT_FILE"];

/// Reads SP metadata from a file or an https URL.
pub(super) fn fetch_metadata(source: &str) -> Result<Vec<u8>, CliError> {
    if source.starts_with("http://") {
        return Err(usage("metadata URLs must be https://"));
    }
    if source.starts_with("https://") {
        return download(source);
    }
    let path = Path::new(source);
    std::fs::read(path).map_err(|e| CliError::io("cannot read", path, e))
}

/// GETs `url`, which must answer 2xx with at most [`MAX_BYTES`].
fn download(url: &str) -> Result<Vec<u8>, CliError> {
    let cannot = |why: String| usage(format!("cannot fetch {url}: {why}"));
    let roots = match ca_bundle()? {
        Some(certs) => RootCerts::from(certs),
        None => RootCerts::WebPki,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .https_only(true)
        .timeout_global(Some(TIMEOUT))
        .max_redirects(MAX_REDIRECTS)
        .tls_config(TlsConfig::builder().root_certs(roots).build())
        .build()
        .into();
    let mut response = agent.get(url).call().map_err(|e| cannot(reason(&e)))?;
    response
        .body_mut()
        .with_config()
        .limit(MAX_BYTES)
        .read_to_vec()
        .map_err(|e| cannot(reason(&e)))
}

/// The HTTP client's error in an admin's words.
fn reason(e: &ureq::Error) -> String {
    match e {
        ureq::Error::StatusCode(status) => format!("the server answered HTTP {status}"),
        ureq::Error::RequireHttpsOnly(to) => format!("redirected off https, to {to}"),
        ureq::Error::TooManyRedirects => format!("more than {MAX_REDIRECTS} redirects"),
        ureq::Error::BodyExceedsLimit(_) => {
            format!("the metadata is larger than {MAX_BYTES} bytes")
        }
        ureq::Error::Timeout(_) => format!("no complete answer within {}s", TIMEOUT.as_secs()),
        other => other.to_string(),
    }
}

/// The certificates of the CA bundle named by the first of [`CA_BUNDLE_VARS`] that is set, which
/// then replace the built-in roots (as they do for curl).
fn ca_bundle() -> Result<Option<Vec<Certificate<'static>>>, CliError> {
    ca_bundle_from(|var| std::env::var_os(var))
}

/// [`ca_bundle`] with the environment read through `env`.
fn ca_bundle_from(
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<Option<Vec<Certificate<'static>>>, CliError> {
    let Some((var, file)) = CA_BUNDLE_VARS
        .iter()
        .find_map(|var| Some((var, env(var).filter(|v| !v.is_empty())?)))
    else {
        return Ok(None);
    };
    let path = Path::new(&file);
    let pem = std::fs::read(path).map_err(|e| CliError::io("cannot read", path, e))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {}
            Err(e) => {
                return Err(usage(format!(
                    "{var}={}: not a PEM CA bundle: {e}",
                    path.display()
                )))
            }
        }
    }
    if certs.is_empty() {
        return Err(usage(format!(
            "{var}={}: no PEM certificate in it",
            path.display()
        )));
    }
    Ok(Some(certs))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// An environment with only the two CA bundle variables, set to these files.
    fn env(curl: Option<&Path>, openssl: Option<&Path>) -> impl Fn(&str) -> Option<OsString> {
        let (curl, openssl) = (curl.map(Path::to_path_buf), openssl.map(Path::to_path_buf));
        move |var| match var {
            "CURL_CA_BUNDLE" => curl.clone().map(Into::into),
            "SSL_CERT_FILE" => openssl.clone().map(Into::into),
            _ => None,
        }
    }

    #[test]
    fn the_ca_bundle_comes_from_curls_variable_first_then_openssls() {
        let dir = std::env::temp_dir().join(format!("edge-idp-fetch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, include_bytes!("../../../tests/saml/keys/sp.crt")).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();

        assert!(ca_bundle_from(env(None, None)).unwrap().is_none());
        assert_eq!(
            ca_bundle_from(env(Some(&ca), None)).unwrap().unwrap().len(),
            1
        );
        assert_eq!(
            ca_bundle_from(env(None, Some(&ca))).unwrap().unwrap().len(),
            1
        );
        let e = ca_bundle_from(env(Some(&empty), Some(&ca))).unwrap_err();
        assert!(e.to_string().contains("CURL_CA_BUNDLE="), "{e}");
        assert!(e.to_string().contains("no PEM certificate"), "{e}");
        let e = ca_bundle_from(env(None, Some(&dir.join("missing.pem")))).unwrap_err();
        assert!(e.to_string().contains("missing.pem"), "{e}");
        let blank = |var: &str| (var == "CURL_CA_BUNDLE").then(OsString::new);
        assert!(ca_bundle_from(blank).unwrap().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn plain_http_is_refused_before_anything_is_fetched() {
        let e = fetch_metadata("http://127.0.0.1:9/saml/metadata").unwrap_err();
        assert!(e.to_string().contains("must be https"), "{e}");
    }
}
