//! What `saml import` shows before it writes: the SP's metadata as the app will take it.

use edge_idp::saml::config::Binding;
use edge_idp::saml::metadata::SpMetadata;

/// The preview of `md` as the app `id` named `name` (`existing`: an app that keeps its keys).
pub(super) fn preview(md: &SpMetadata, id: &str, name: &str, existing: bool) -> String {
    let mut s = String::new();
    let mut line = |k: &str, v: &str| s.push_str(&format!("  {k:<24} {v}\n"));
    line("Client ID", id);
    line("App Name", name);
    line(
        if existing {
            "(existing app)"
        } else {
            "(new app)"
        },
        if existing {
            "SP information replaced; keys and settings kept"
        } else {
            "a new signing key is made"
        },
    );
    line("SP Entity ID", &md.entity_id);
    for (i, a) in md.acs.iter().enumerate() {
        line(
            if i == 0 { "ACS (default)" } else { "ACS" },
            &format!(
                "{} [{}{}]",
                a.url,
                binding_name(&a.binding),
                a.index.map(|i| format!(", index {i}")).unwrap_or_default()
            ),
        );
    }
    match &md.slo {
        Some(slo) => line(
            "SP Single Logout",
            &format!("{} [{}]", slo.url, binding_name(&slo.binding)),
        ),
        None => line("SP Single Logout", "(none)"),
    }
    line("Signing certificates", &md.certificates.len().to_string());
    line("AuthnRequestsSigned", &md.authn_requests_signed.to_string());
    line(
        "WantAssertionsSigned",
        &md.want_assertions_signed.to_string(),
    );
    line(
        "NameID formats",
        &if md.name_id_formats.is_empty() {
            "(none listed)".to_string()
        } else {
            md.name_id_formats.join(", ")
        },
    );
    for n in &md.notes {
        line("note", n);
    }
    s
}

/// A binding as SAML metadata names it.
fn binding_name(binding: &Binding) -> &'static str {
    if *binding == Binding::Post {
        "HTTP-POST"
    } else {
        "HTTP-Redirect"
    }
}
