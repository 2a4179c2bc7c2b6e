//! Every key of both stores, built here and nowhere else: the configuration keys the admin CLI
//! writes and the IdP reads, and the keys of the strongly consistent store, which only the IdP
//! uses. `docs/kv-layout.md` says what each key holds, who writes it and how long it lives.
//!
//! A store key never holds a token, a message ID or a username as sent: the caller passes a
//! digest of it, so nothing secret or hostile becomes part of a key.

/// The prefix of every hostname's record.
pub const HOST_PREFIX: &str = "host:";
/// The prefix of every tenant's settings and of the values under them.
pub const TENANT_PREFIX: &str = "tenant:";

/// Which tenant `hostname` belongs to.
pub fn host(hostname: &str) -> String {
    format!("{HOST_PREFIX}{hostname}")
}

/// A tenant's settings.
pub fn tenant(tenant: &str) -> String {
    format!("{TENANT_PREFIX}{tenant}")
}

/// A tenant's SAML app.
pub fn saml_app(tenant: &str, app: &str) -> String {
    format!("{TENANT_PREFIX}{tenant}:saml:{app}")
}

/// The prefix of a tenant's SAML apps' keys.
pub fn saml_apps_prefix(tenant: &str) -> String {
    saml_app(tenant, "")
}

/// A tenant's OpenID Connect client.
pub fn oidc_client(tenant: &str, client: &str) -> String {
    format!("{TENANT_PREFIX}{tenant}:oidc:{client}")
}

/// A tenant's token-bridge app.
pub fn bridge_app(tenant: &str, app: &str) -> String {
    format!("{TENANT_PREFIX}{tenant}:bridge:{app}")
}

/// A tenant's OpenID Connect signing keys.
pub fn oidc_keys(tenant: &str) -> String {
    format!("{TENANT_PREFIX}{tenant}:keys")
}

/// The digest of a tenant's values that the CLI leaves on Fermyon Cloud, where it cannot read
/// the values back.
pub fn manifest(tenant: &str) -> String {
    format!("manifest:{tenant}")
}

/// A single-use OpenID Connect value (`kind`: `code`, `rt`) or its used mark (`code-used`,
/// `rt-used`), by the digest of the token.
pub(crate) fn oidc_token(kind: &str, tenant: &str, token_digest: &str) -> String {
    format!("oidc:{kind}:{tenant}:{token_digest}")
}

/// The revocation mark of a token family.
pub(crate) fn oidc_revoked(tenant: &str, family: &str) -> String {
    format!("oidc:revoked:{tenant}:{family}")
}

/// The uses of a client assertion's `jti`, by its digest.
pub(crate) fn oidc_jti(tenant: &str, client: &str, jti_digest: &str) -> String {
    format!("oidc:jti:{tenant}:{client}:{jti_digest}")
}

/// A member's remembered consent to a client.
pub(crate) fn oidc_consent(tenant: &str, client: &str, imis_id: &str) -> String {
    format!("oidc:consent:{tenant}:{client}:{imis_id}")
}

/// The sightings of a SAML message ID (`what`: `saml-req`, `saml-logout-req`), by its digest.
pub(crate) fn saml_message(what: &str, tenant: &str, app: &str, id_digest: &str) -> String {
    format!("{what}:{tenant}:{app}:{id_digest}")
}

/// A token-bridge token, by its digest.
pub(crate) fn bridge_token(tenant: &str, app: &str, token_digest: &str) -> String {
    format!("bridge:{tenant}:{app}:{token_digest}")
}

/// The mark of a session that has ended.
pub(crate) fn session_ended(tenant: &str, sid: &str) -> String {
    format!("session-ended:{tenant}:{sid}")
}

/// Legacy password attempts for a username, by its digest.
pub(crate) fn throttle_user(tenant: &str, username_digest: &str) -> String {
    format!("throttle:{tenant}:user:{username_digest}")
}

/// Legacy password attempts from a client address, by its digest.
pub(crate) fn throttle_ip(tenant: &str, address_digest: &str) -> String {
    format!("throttle:{tenant}:ip:{address_digest}")
}

/// The sealed iMIS background token of a tenant's configuration version, in the shared cache.
pub(crate) fn imis_token(tenant_and_version: &str) -> String {
    format!("imis-token:{tenant_and_version}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys are data already written to stores: a change here is a migration, not a refactor.
    #[test]
    fn every_key_keeps_the_shape_the_stores_hold() {
        assert_eq!(host("sso.acme.org"), "host:sso.acme.org");
        assert_eq!(tenant("acme"), "tenant:acme");
        assert_eq!(saml_app("acme", "lms"), "tenant:acme:saml:lms");
        assert_eq!(saml_apps_prefix("acme"), "tenant:acme:saml:");
        assert_eq!(oidc_client("acme", "portal"), "tenant:acme:oidc:portal");
        assert_eq!(bridge_app("acme", "events"), "tenant:acme:bridge:events");
        assert_eq!(oidc_keys("acme"), "tenant:acme:keys");
        assert_eq!(manifest("acme"), "manifest:acme");
        assert_eq!(oidc_token("code", "acme", "h"), "oidc:code:acme:h");
        assert_eq!(oidc_revoked("acme", "f"), "oidc:revoked:acme:f");
        assert_eq!(oidc_jti("acme", "c", "d"), "oidc:jti:acme:c:d");
        assert_eq!(
            oidc_consent("acme", "c", "1001"),
            "oidc:consent:acme:c:1001"
        );
        assert_eq!(
            saml_message("saml-req", "acme", "lms", "d"),
            "saml-req:acme:lms:d"
        );
        assert_eq!(bridge_token("acme", "events", "d"), "bridge:acme:events:d");
        assert_eq!(session_ended("acme", "sid"), "session-ended:acme:sid");
        assert_eq!(throttle_user("acme", "d"), "throttle:acme:user:d");
        assert_eq!(throttle_ip("acme", "d"), "throttle:acme:ip:d");
        assert_eq!(imis_token("acme:3"), "imis-token:acme:3");
    }

    #[test]
    fn a_tenant_s_values_are_under_its_key_and_not_under_a_longer_tenant_s() {
        let prefix = format!("{}:", tenant("acme"));
        for key in [
            saml_app("acme", "x"),
            oidc_client("acme", "x"),
            bridge_app("acme", "x"),
            oidc_keys("acme"),
        ] {
            assert!(key.starts_with(&prefix), "{key}");
        }
        assert!(!saml_app("acme-2", "x").starts_with(&prefix));
    }
}
