//! ReturnURL validation: the only URLs the bridge sends a member to are absolute `https://` URLs
//! on the app's registered primary domains (or their subdomains, when the app allows it).
//!
//! The check is deliberately narrow rather than a full URL parser: the authority may hold only
//! ASCII letters, digits, `-`, `.` and a port, so userinfo (`@`), percent-encoded hosts,
//! backslashes, Unicode look-alikes, whitespace and control characters are all refused before the
//! host is compared. Browsers strip tabs and newlines and read `\` as `/`; refusing them anywhere
//! in the URL means what we check is what the browser follows.

use super::app::BridgeApp;

/// Longest ReturnURL accepted.
const MAX_LEN: usize = 2048;

/// Why a ReturnURL is refused (for the audit log; the page says only that it is not allowed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Too long, control characters, whitespace, backslashes or non-ASCII.
    Malformed,
    /// Not `https://`.
    NotHttps,
    /// Userinfo, percent-encoding or other characters in the host.
    BadAuthority,
    /// A host that is not a registered domain.
    OtherHost(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed => f.write_str("ReturnURL malformed"),
            Self::NotHttps => f.write_str("ReturnURL is not https"),
            Self::BadAuthority => f.write_str("ReturnURL has a malformed host"),
            Self::OtherHost(h) => write!(f, "ReturnURL host {h} is not registered"),
        }
    }
}

/// Checks `url` against the app's registered domains; returns it unchanged when allowed.
pub(crate) fn validate(app: &BridgeApp, url: &str) -> Result<String, Refusal> {
    check(&app.return_domains, app.allow_subdomains, url).map(|()| url.to_string())
}

/// The host (lowercase, without port) of an allowed-shaped `https://` URL.
pub fn check(domains: &[String], allow_subdomains: bool, url: &str) -> Result<(), Refusal> {
    if url.is_empty()
        || url.len() > MAX_LEN
        || url.bytes().any(|b| !b.is_ascii_graphic() || b == b'\\')
    {
        return Err(Refusal::Malformed);
    }
    let rest = match (url.get(..8), url.get(8..)) {
        (Some(scheme), Some(rest)) if scheme.eq_ignore_ascii_case("https://") => rest,
        _ => return Err(Refusal::NotHttps),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if tail.starts_with("//") {
        return Err(Refusal::Malformed);
    }
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if let Some(port) = port {
        let valid = !port.is_empty()
            && port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n));
        if !valid {
            return Err(Refusal::BadAuthority);
        }
    }
    let host = host.to_ascii_lowercase();
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && !host.starts_with(['.', '-'])
        && !host.ends_with('.')
        && !host.contains("..")
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !host_ok {
        return Err(Refusal::BadAuthority);
    }
    let allowed = domains.iter().any(|d| {
        let d = d.to_ascii_lowercase();
        host == d
            || (allow_subdomains
                && host
                    .strip_suffix(d.as_str())
                    .is_some_and(|prefix| prefix.ends_with('.') && prefix.len() > 1))
    });
    if allowed {
        Ok(())
    } else {
        Err(Refusal::OtherHost(host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(url: &str, subs: bool) -> bool {
        check(&["vendor.example".to_string()], subs, url).is_ok()
    }

    #[test]
    fn registered_domain_and_subdomains_per_setting() {
        assert!(ok("https://vendor.example/", false));
        assert!(ok("https://vendor.example", false));
        assert!(ok("https://VENDOR.example:8443/a/b?c=d%20e#f", false));
        assert!(!ok("https://shop.vendor.example/", false));
        assert!(ok("https://shop.vendor.example/", true));
        assert!(ok("https://a.b.vendor.example/x", true));
    }

    #[test]
    fn tricks_are_refused() {
        for bad in [
            "http://vendor.example/",
            "//evil.example/",
            "/local",
            "javascript:alert(1)",
            "https:/vendor.example/",
            "https:\\\\evil.example",
            "https://evil.example/",
            "https://vendor.example.evil.example/",
            "https://evilvendor.example/",
            "https://vendor.example@evil.example/",
            "https://evil.example@vendor.example/",
            "https://vendor.example%2f@evil.example/",
            "https://vendor%2eexample/",
            "https://vendor.example\\@evil.example/",
            "https://vendor.example/\\evil.example",
            "https://vendor.example//evil.example",
            "https://vendor.example./",
            "https://vendor.example:0/",
            "https://vendor.example:99999/",
            "https://vendor.example:/",
            "https://vendor.example:80@evil.example/",
            "https://vendоr.example/",
            "https://vendor.example/\tx",
            "https://vendor.example\n.evil.example/",
            "https://vendor.example /",
            "https%3A%2F%2Fevil.example",
            "https://.vendor.example/",
            "https://[::1]/",
            "",
        ] {
            assert!(!ok(bad, true), "{bad} must be refused");
        }
    }
}
