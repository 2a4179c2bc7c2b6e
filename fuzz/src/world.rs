//! The KV the whole-request targets run against: the demo tenants of `demo/tenants` rendered as
//! `scripts/stack.py` renders them (with fixed origins and the fake's master key), plus a few of
//! the valid `kv-schema/examples` (whose sealed values do not open with this master key: those
//! apps exercise the "cannot be used right now" paths), a legacy tenant and broken host records.
//!
//! It also knows every host a response may send a browser to ([`World::allowed_host`]): the
//! tenants' hostnames and the host of every URL an administrator configured.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use edge_idp::seal::{seal_secret, MasterKey};
use serde_json::{json, Value};

use crate::platform::{FakePlatform, MASTER_KEY_B64};

/// Origin of the canned iMIS.
pub const IMIS_ORIGIN: &str = "http://127.0.0.1:8790";
/// Origin of the demo SAML SP.
pub const SP_ORIGIN: &str = "https://sp.demo.test";
/// Origin of the demo OIDC RP.
pub const RP_ORIGIN: &str = "https://rp.demo.test";
/// Origin of the demo bridge vendor.
pub const VENDOR_ORIGIN: &str = "https://vendor.demo.test";
/// The demo vendor's secret (`scripts/stack.py`).
pub const DEMO_VENDOR_SECRET: &str = "demo-vendor-secret-local-only-0123456789";

const ACME: &[(&str, &str)] = &[
    (
        "tenant",
        include_str!("../../demo/tenants/acme/tenant.json"),
    ),
    ("keys", include_str!("../../demo/tenants/acme/keys.json")),
    (
        "saml:demo-sp",
        include_str!("../../demo/tenants/acme/saml/demo-sp.json"),
    ),
    (
        "oidc:demo-consent",
        include_str!("../../demo/tenants/acme/oidc/demo-consent.json"),
    ),
    (
        "oidc:demo-es",
        include_str!("../../demo/tenants/acme/oidc/demo-es.json"),
    ),
    (
        "oidc:demo-hs",
        include_str!("../../demo/tenants/acme/oidc/demo-hs.json"),
    ),
    (
        "oidc:demo-pkjwt",
        include_str!("../../demo/tenants/acme/oidc/demo-pkjwt.json"),
    ),
    (
        "oidc:demo-rp",
        include_str!("../../demo/tenants/acme/oidc/demo-rp.json"),
    ),
    (
        "oidc:demo-spa",
        include_str!("../../demo/tenants/acme/oidc/demo-spa.json"),
    ),
    (
        "bridge:demo-vendor",
        include_str!("../../demo/tenants/acme/bridge/demo-vendor.json"),
    ),
    // Valid per the schema, sealed with another master key.
    (
        "saml:moodle",
        include_str!("../../kv-schema/examples/saml-app/valid-with-more-fields.json"),
    ),
    (
        "bridge:events",
        include_str!("../../kv-schema/examples/bridge-app/valid-with-more-fields.json"),
    ),
    (
        "oidc:community-portal",
        include_str!("../../kv-schema/examples/oidc-client/valid-with-more-fields.json"),
    ),
];
const GLOBEX_TENANT: &str = include_str!("../../demo/tenants/globex/tenant.json");
const SP_CERT: &str = include_str!("../../tests/saml/keys/sp.crt.b64");
const IDP_CERT: &str = include_str!("../../tests/saml/keys/idp.crt.b64");
const IDP_PK8: &str = include_str!("../../tests/saml/keys/idp.pk8.b64");

/// The seeded store and what it allows.
pub struct World {
    /// The fake runtime, KV seeded.
    pub platform: FakePlatform,
    /// Hosts a browser may be sent to (lowercase).
    allowed_hosts: Vec<String>,
    /// Domains whose subdomains a browser may be sent to (bridge apps with `allow_subdomains`).
    allowed_suffixes: Vec<String>,
}

fn master() -> MasterKey {
    #[allow(clippy::expect_used)]
    MasterKey::from_base64(MASTER_KEY_B64).expect("the fake's master key is valid")
}

/// `${SEAL:text}` → a value sealed for `tenant` with the fake's master key (fixed nonce).
fn seal_all(text: &str, tenant: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${SEAL:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 7..];
        let end = after.find('}').unwrap_or(after.len());
        out.push_str(&seal_secret(&master(), tenant, [7u8; 12], &after[..end]));
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn render(template: &str, tenant: &str) -> String {
    let text = template
        .replace("${IMIS_ORIGIN}", IMIS_ORIGIN)
        .replace("${VENDOR_ORIGIN}", VENDOR_ORIGIN)
        .replace(
            "${SHA256:${DEMO_VENDOR_SECRET}}",
            &sha256_hex(DEMO_VENDOR_SECRET),
        )
        .replace("${SP_ORIGIN}", SP_ORIGIN)
        .replace("${SP_CERT}", SP_CERT.trim())
        .replace("${RP_ORIGIN}", RP_ORIGIN);
    seal_all(&text, tenant)
}

/// The host of an absolute http(s) URL, lowercase, without port or userinfo.
pub fn url_host(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?.to_string(),
        None => host.split(':').next()?.to_string(),
    };
    Some(host.to_ascii_lowercase())
}

/// Every `http(s)://` URL inside a JSON value's strings.
fn urls_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            let mut rest = s.as_str();
            while let Some(i) = rest.find("http") {
                let candidate = &rest[i..];
                if let Some(h) = url_host(candidate.split(['\n', ' ', '|']).next().unwrap_or("")) {
                    out.push(h);
                }
                rest = &rest[i + 4..];
            }
        }
        Value::Array(a) => a.iter().for_each(|x| urls_in(x, out)),
        Value::Object(m) => m.values().for_each(|x| urls_in(x, out)),
        _ => {}
    }
}

impl World {
    /// Seeds the store.
    pub fn new() -> Self {
        let p = FakePlatform::default();
        let mut values: Vec<(String, Value)> = Vec::new();
        for (suffix, template) in ACME {
            let key = if *suffix == "tenant" {
                "tenant:acme".to_string()
            } else {
                format!("tenant:acme:{suffix}")
            };
            #[allow(clippy::expect_used)]
            let mut v: Value =
                serde_json::from_str(&render(template, "acme")).expect("demo values are JSON");
            if *suffix == "saml:demo-sp" {
                v["idp"] = json!({"current": {
                    "certificate": IDP_CERT.trim(),
                    "private_key": seal_secret(&master(), "acme", [9u8; 12], IDP_PK8.trim()),
                }});
            }
            values.push((key, v));
        }
        // A second SAML app of the demo SP that requires signed requests and answers by POST only.
        if let Some((_, sp)) = values.iter().find(|(k, _)| k == "tenant:acme:saml:demo-sp") {
            let mut signed = sp.clone();
            signed["id"] = json!("signed-sp");
            signed["sp"]["authn_requests_signed"] = json!(true);
            signed["sp"]["acs"] = json!([{"url": format!("{SP_ORIGIN}/acs"), "binding": "post"}]);
            signed["sp"]["slo"] = json!({"url": format!("{SP_ORIGIN}/slo"), "binding": "post"});
            signed["name_id_format"] = json!("transient");
            signed["role_format"] = json!("comma_separated");
            signed["sign_response"] = json!(false);
            signed["no_access_mapping"] = json!("S|https://noaccess.demo.test/denied\nX");
            values.push(("tenant:acme:saml:signed-sp".into(), signed));
        }
        #[allow(clippy::expect_used)]
        let globex: Value =
            serde_json::from_str(&render(GLOBEX_TENANT, "globex")).expect("demo values are JSON");
        values.push(("tenant:globex".into(), globex));

        let mut allowed_hosts = vec!["acme.localhost".to_string(), "globex.localhost".to_string()];
        let mut allowed_suffixes = Vec::new();
        for (key, v) in &values {
            urls_in(v, &mut allowed_hosts);
            if key.contains(":bridge:") {
                let subs = v["allow_subdomains"].as_bool().unwrap_or(false);
                for d in v["return_domains"].as_array().into_iter().flatten() {
                    if let Some(d) = d.as_str() {
                        allowed_hosts.push(d.to_ascii_lowercase());
                        if subs {
                            allowed_suffixes.push(format!(".{}", d.to_ascii_lowercase()));
                        }
                    }
                }
            }
            p.put_kv(key, v.to_string());
        }
        p.put_kv(
            "host:acme.localhost",
            r#"{"schema_version":1,"tenant":"acme"}"#,
        );
        p.put_kv(
            "host:globex.localhost",
            r#"{"schema_version":1,"tenant":"globex"}"#,
        );
        // Broken records: a host naming a tenant that does not list it, a bad host record, a
        // tenant value that is not JSON.
        p.put_kv(
            "host:evil.localhost",
            r#"{"schema_version":1,"tenant":"acme"}"#,
        );
        p.put_kv("host:bad.localhost", "{");
        p.put_kv(
            "host:broken.localhost",
            r#"{"schema_version":1,"tenant":"broken"}"#,
        );
        p.put_kv(
            "tenant:broken",
            r#"{"schema_version":1,"id":"broken","surprise":1}"#,
        );
        allowed_hosts.sort();
        allowed_hosts.dedup();
        Self {
            platform: p,
            allowed_hosts,
            allowed_suffixes,
        }
    }

    /// Whether a browser may be sent to `host` (lowercase).
    pub fn allowed_host(&self, host: &str) -> bool {
        self.allowed_hosts.iter().any(|h| h == host)
            || self
                .allowed_suffixes
                .iter()
                .any(|s| host.ends_with(s.as_str()))
    }

    /// The hosts a browser may be sent to (for reports).
    pub fn allowed_hosts(&self) -> &[String] {
        &self.allowed_hosts
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

/// The SP's certificate (base64 DER) — its key verifies the demo SP's signatures.
pub fn sp_certificate_der() -> Vec<u8> {
    STANDARD
        .decode(SP_CERT.trim().as_bytes())
        .unwrap_or_default()
}
