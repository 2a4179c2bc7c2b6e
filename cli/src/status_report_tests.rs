#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::deployed::Deployed;
use edge_idp::seal::MasterKey;
use serde_json::json;

const NOW: i64 = 1_790_000_000;
const DAY: i64 = 86_400;

fn report(health: Health) -> Report {
    Report {
        host: "sso.acme.example".into(),
        tenant: "acme".into(),
        store: "local Spin store /tmp/kv".into(),
        from_mirror: false,
        deployed_version: Some(4),
        disabled: false,
        file: None,
        health,
        saml: vec![SamlKeys {
            app: "moodle".into(),
            not_after: Some(NOW + 400 * DAY),
            next_staged: false,
        }],
        oidc: Some(OidcKeys {
            current_kid: Some("rsa-1".into()),
            next_staged: true,
            created: None,
        }),
        now: NOW,
    }
}

fn online() -> Health {
    Health::Online {
        ms: Some(12),
        config_version: Some(4),
    }
}

#[test]
fn online_with_far_certificates_and_no_file_is_healthy() {
    let r = report(online());
    assert!(r.healthy(), "{:?}", r.problems());
    let text = r.render();
    assert!(text.starts_with("Status of sso.acme.example:\n"), "{text}");
    for line in [
        "tenant             acme (host:sso.acme.example on local Spin store /tmp/kv)",
        "config_version     4 deployed",
        "iMIS               online (12 ms)",
        "SAML moodle        certificate valid until 2027-",
        "(400 days left); no next key staged",
        "OIDC keys          current kid rsa-1; next key staged; age of the current key not recorded",
        "Status: healthy",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
}

#[test]
fn imis_offline_or_unknown_is_unhealthy() {
    for (health, says) in [
        (
            Health::Offline {
                config_version: Some(4),
            },
            "OFFLINE",
        ),
        (Health::TokenRefused, "the admin token was refused (401)"),
        (Health::NotDeep, "without the iMIS check"),
        (Health::Unexpected { status: 404 }, "answered HTTP 404"),
        (
            Health::Unreachable {
                reason: "connection refused".into(),
            },
            "no answer (connection refused)",
        ),
    ] {
        let r = report(health.clone());
        assert!(!r.healthy(), "{health:?}");
        let text = r.render();
        assert!(text.contains(says), "{says}\n{text}");
        assert!(text.contains("Status: NEEDS ATTENTION: "), "{text}");
    }
    // Disabled on purpose: nothing to check, nothing wrong.
    let mut r = report(Health::Disabled);
    r.disabled = true;
    assert!(r.healthy());
    assert!(r.render().contains("4 deployed (tenant DISABLED)"));
}

#[test]
fn certificates_warn_under_30_days_and_when_expired() {
    let with_end = |end: Option<i64>| {
        let mut r = report(online());
        r.saml[0].not_after = end;
        r
    };
    let r = with_end(Some(NOW + 30 * DAY));
    assert!(r.healthy(), "exactly 30 days left is not yet a warning");
    let r = with_end(Some(NOW + 29 * DAY + 10));
    assert_eq!(
        r.problems(),
        ["SAML app moodle: its certificate expires in 29 days"]
    );
    assert!(r.render().contains("WARNING: certificate valid until"));
    let r = with_end(Some(NOW - 1));
    assert_eq!(
        r.problems(),
        ["SAML app moodle: its certificate has expired"]
    );
    assert!(r.render().contains("WARNING: certificate EXPIRED on 2026-"));
    let r = with_end(None);
    assert_eq!(
        r.problems(),
        ["SAML app moodle: its certificate cannot be read"]
    );
}

#[test]
fn a_file_with_pending_changes_is_out_of_sync() {
    let mut r = report(online());
    r.file = Some(FileState {
        path: "acme.toml".into(),
        config_version: Some(3),
        changes: 0,
    });
    assert!(r.healthy());
    assert!(r.render().contains("4 deployed; acme.toml: 3, in sync"));
    r.file = Some(FileState {
        path: "acme.toml".into(),
        config_version: None,
        changes: 3,
    });
    assert_eq!(
        r.problems(),
        ["acme.toml is not applied (3 changes pending)"]
    );
    assert!(r
        .render()
        .contains("acme.toml: no config_version, 3 changes pending"));
    // Several problems are listed together.
    r.health = Health::Offline {
        config_version: Some(3),
    };
    let text = r.render();
    assert!(
        text.contains("NEEDS ATTENTION: iMIS is offline; acme.toml is not applied"),
        "{text}"
    );
    assert!(text.contains("the runtime still serves 3"), "{text}");
}

#[test]
fn a_mirrored_store_says_so_and_names_a_newer_runtime_version() {
    let mut r = report(online());
    r.from_mirror = true;
    let text = r.render();
    assert!(
        text.contains("config_version     4 deployed (from the local mirror)\n"),
        "{text}"
    );
    // The runtime serves a version the mirror never had: another mirror applied it.
    r.health = Health::Online {
        ms: Some(12),
        config_version: Some(5),
    };
    let text = r.render();
    assert!(
        text.contains("the runtime serves 5, newer than the mirror"),
        "{text}"
    );
    assert!(!text.contains("still serves"), "{text}");
    // An older one is the runtime's cache, as with any store.
    r.health = Health::Online {
        ms: Some(12),
        config_version: Some(3),
    };
    assert!(r.render().contains("the runtime still serves 3"));
    r.from_mirror = false;
    r.health = Health::Online {
        ms: Some(12),
        config_version: Some(5),
    };
    assert!(r.render().contains("the runtime still serves 5"));
}

#[test]
fn key_state_is_read_from_the_deployed_values() {
    let master = MasterKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8").unwrap();
    let key = crate::saml::new_key(&master, "acme", "moodle").unwrap();
    let cert = key.certificate.clone();
    let mut values = std::collections::BTreeMap::new();
    values.insert(
        "tenant:acme:saml:moodle".to_owned(),
        json!({"idp": {"current": {"certificate": cert}, "next": {"certificate": cert}}}),
    );
    values.insert(
        "tenant:acme:saml:broken".to_owned(),
        json!({"idp": {"current": {"certificate": "bm90IGEgY2VydA=="}}}),
    );
    values.insert(
        "tenant:acme:keys".to_owned(),
        json!({"current": {"kid": "rsa-9", "created": "2026-01-01"}}),
    );
    let deployed = Deployed {
        tenant: "acme".into(),
        tenant_values: values,
        ..Deployed::default()
    };
    let (saml, oidc) = keys_of(&deployed);
    assert_eq!(saml.len(), 2);
    assert_eq!(
        (saml[0].app.as_str(), saml[0].not_after, saml[0].next_staged),
        ("broken", None, false)
    );
    let made = now_secs();
    let end = saml[1].not_after.unwrap();
    assert_eq!(saml[1].app, "moodle");
    assert!(saml[1].next_staged);
    assert!(end - made > 9 * 365 * DAY, "a new key lasts years");
    let oidc = oidc.unwrap();
    assert_eq!(oidc.current_kid.as_deref(), Some("rsa-9"));
    assert!(!oidc.next_staged);
    let mut r = report(online());
    r.oidc = Some(oidc);
    r.now = edge_idp::saml::time::parse("2026-01-31T12:00:00Z")
        .and_then(|s| i64::try_from(s).ok())
        .unwrap();
    assert!(r
        .render()
        .contains("no next key staged; current key 30 days old"));
}

fn now_secs() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(d.as_secs()).unwrap()
}
