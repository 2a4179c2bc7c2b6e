//! Fuzz harness of the edge-idp core.
//!
//! - [`targets`]: one function per fuzz target, called by the libFuzzer binaries in
//!   `fuzz_targets/` and by the corpus regression test (`tests/corpus.rs`).
//! - [`platform`] and [`world`]: an in-process fake runtime seeded with the demo tenants.
//! - [`request`]: whole requests through `Idp::handle`, with the response invariants.
//! - [`known`]: known core bugs that a campaign temporarily skips.

pub mod known;
pub mod platform;
pub mod request;
pub mod targets;
pub mod world;

/// Every target: name (= `fuzz_targets/{name}.rs` and `corpus/{name}/`) and harness.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("saml_time", targets::saml_time),
    ("saml_xml", targets::saml_xml),
    ("saml_binding", targets::saml_binding),
    ("saml_request", targets::saml_request),
    ("saml_dsig", targets::saml_dsig),
    ("oidc_jwt", targets::oidc_jwt),
    ("seal_cookie", targets::seal_cookie),
    ("http_parse", targets::http_parse),
    ("bridge_return_url", targets::bridge_return_url),
    ("tenant_host", targets::tenant_host),
    ("imis_wire", targets::imis_wire),
    ("http_request", targets::http_request),
    ("saml_sso_request", targets::saml_sso_request),
    ("oidc_request", targets::oidc_request),
    ("bridge_request", targets::bridge_request),
    ("forms_ticket", targets::forms_ticket),
];

/// Runs target `name` on `data`; `false` if there is no such target.
pub fn run(name: &str, data: &[u8]) -> bool {
    match TARGETS.iter().find(|(n, _)| *n == name) {
        Some((_, f)) => {
            f(data);
            true
        }
        None => false,
    }
}
