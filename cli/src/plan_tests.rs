//! Unit tests of `plan`: the difference, the version bump, hostnames, the write order, the text.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;

use super::*;
use crate::deployed::Host;
use crate::desired::DesiredDoc;

const SEALED_A: &str = "sealed:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const SEALED_B: &str = "sealed:v1:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

fn tenant_value(version: u64, hosts: &[&str], password: &str) -> Value {
    json!({"schema_version": 1, "id": "acme", "config_version": version, "name": "Acme",
           "hostnames": hosts, "imis": {"background_account": {"password": password}}})
}

fn doc(key: &str, kind: Kind, value: Value) -> DesiredDoc {
    DesiredDoc {
        key: key.into(),
        kind,
        value,
        generated: false,
        label: key.into(),
    }
}

fn host(owner: &str) -> Host {
    Host {
        owner: owner.into(),
        value: json!({"schema_version": 1, "tenant": owner}),
    }
}

/// acme as deployed: config_version 3, hostnames a and b, apps x and y.
fn deployed() -> Deployed {
    let mut d = Deployed {
        tenant: "acme".into(),
        ..Deployed::default()
    };
    d.tenant_values.insert(
        "tenant:acme".into(),
        tenant_value(3, &["a.example", "b.example"], SEALED_A),
    );
    d.tenant_values
        .insert("tenant:acme:oidc:x".into(), json!({"id": "x", "name": "X"}));
    d.tenant_values
        .insert("tenant:acme:oidc:y".into(), json!({"id": "y", "name": "Y"}));
    d.hosts.insert("a.example".into(), host("acme"));
    d.hosts.insert("b.example".into(), host("acme"));
    d
}

/// The desired state the deployed one came from, as `desired::build` leaves it (the deployed
/// config_version).
fn same() -> Desired {
    Desired {
        tenant: "acme".into(),
        docs: vec![
            doc(
                "tenant:acme",
                Kind::Tenant,
                tenant_value(3, &["a.example", "b.example"], SEALED_A),
            ),
            doc(
                "tenant:acme:oidc:x",
                Kind::OidcClient,
                json!({"id": "x", "name": "X"}),
            ),
            doc(
                "tenant:acme:oidc:y",
                Kind::OidcClient,
                json!({"id": "y", "name": "Y"}),
            ),
        ],
        hosts: vec!["a.example".into(), "b.example".into()],
        file_config_version: None,
    }
}

fn keys_and_actions(plan: &Plan) -> Vec<(String, Action)> {
    plan.steps
        .iter()
        .map(|s| (s.key.clone(), s.action.clone()))
        .collect()
}

fn version_written(plan: &Plan) -> Option<u64> {
    let step = plan.steps.iter().find(|s| s.key == "tenant:acme")?;
    let value: Value = serde_json::from_str(step.value.as_deref()?).ok()?;
    value["config_version"].as_u64()
}

#[test]
fn the_same_state_plans_nothing() {
    let plan = compute(Some(&same()), &deployed(), &[]).unwrap();
    assert!(plan.is_empty(), "{plan:?}");
    assert!(plan
        .render("acme.toml", "kv")
        .starts_with("No changes: tenant acme"));
}

#[test]
fn adds_changes_and_removals_bump_the_version_once() {
    let mut want = same();
    want.docs.retain(|d| d.key != "tenant:acme:oidc:y");
    want.docs[1].value["name"] = json!("X2");
    want.docs.push(doc(
        "tenant:acme:bridge:z",
        Kind::BridgeApp,
        json!({"id": "z"}),
    ));
    let plan = compute(Some(&want), &deployed(), &[]).unwrap();
    let field = |name: &str| Field {
        name: name.into(),
        sealed: false,
    };
    assert_eq!(
        keys_and_actions(&plan),
        [
            (
                "tenant:acme:oidc:x".into(),
                Action::Change {
                    fields: vec![field("name")]
                }
            ),
            (
                "tenant:acme:bridge:z".into(),
                Action::Add { generated: false }
            ),
            ("tenant:acme:oidc:y".into(), Action::Remove),
            (
                "tenant:acme".into(),
                Action::Change {
                    fields: vec![field("config_version")]
                }
            ),
        ]
    );
    assert_eq!(version_written(&plan), Some(4));
}

#[test]
fn a_file_version_is_a_floor_and_a_new_tenant_keeps_its_own() {
    let mut want = same();
    want.file_config_version = Some(10);
    let plan = compute(Some(&want), &deployed(), &[]).unwrap();
    assert_eq!(version_written(&plan), Some(10));
    want.file_config_version = Some(2);
    assert!(compute(Some(&want), &deployed(), &[]).unwrap().is_empty());

    let empty = Deployed {
        tenant: "acme".into(),
        ..Deployed::default()
    };
    let plan = compute(Some(&same()), &empty, &[]).unwrap();
    assert_eq!(version_written(&plan), Some(3));
    assert!(plan
        .steps
        .iter()
        .all(|s| matches!(s.action, Action::Add { .. })));
}

#[test]
fn a_changed_sealed_value_is_named_but_never_shown() {
    let mut want = same();
    want.docs[0].value["imis"]["background_account"]["password"] = json!(SEALED_B);
    let plan = compute(Some(&want), &deployed(), &[]).unwrap();
    let Action::Change { fields } = &plan.steps[0].action else {
        panic!("{plan:?}");
    };
    assert!(fields.contains(&Field {
        name: "imis".into(),
        sealed: true
    }));
    assert!(fields.contains(&Field {
        name: "config_version".into(),
        sealed: false
    }));
    let text = plan.render("acme.toml", "kv");
    assert!(text.contains("imis (sealed value changed)"), "{text}");
    assert!(!text.contains("sealed:v1:"), "{text}");
}

#[test]
fn hostnames_dropped_are_removed_and_others_tenants_hosts_are_refused_unless_moved() {
    let mut want = same();
    want.hosts = vec!["a.example".into(), "c.example".into()];
    want.docs[0].value["hostnames"] = json!(want.hosts);
    let mut on_store = deployed();
    on_store.hosts.insert("c.example".into(), host("globex"));
    // A hostname of another tenant that the file does not list is none of its business.
    on_store.hosts.insert("g.example".into(), host("globex"));

    let e = compute(Some(&want), &on_store, &[]).unwrap_err();
    let CliError::ApplyRefused { reasons, .. } = &e else {
        panic!("{e}");
    };
    assert!(reasons[0].contains("host c.example belongs to tenant globex"));
    assert!(e.to_string().contains("nothing was written"), "{e}");

    let moves = ["c.example=globex".parse().unwrap()];
    let plan = compute(Some(&want), &on_store, &moves).unwrap();
    let hosts: Vec<(String, Action)> = keys_and_actions(&plan)
        .into_iter()
        .filter(|(k, _)| k.starts_with("host:"))
        .collect();
    assert_eq!(
        hosts,
        [
            (
                "host:c.example".into(),
                Action::Move {
                    from: "globex".into()
                }
            ),
            ("host:b.example".into(), Action::Remove),
        ]
    );
    let text = plan.render("acme.toml", "kv");
    assert!(
        text.contains("> host:c.example moved from tenant globex"),
        "{text}"
    );
    assert!(text.contains("1 hostname(s) moved"), "{text}");
}

#[test]
fn writes_go_hosts_out_first_then_apps_tenant_hosts_in_then_other_removals() {
    let mut want = same();
    want.hosts = vec!["a.example".into(), "c.example".into()];
    want.docs[0].value["hostnames"] = json!(want.hosts);
    want.docs.retain(|d| d.key != "tenant:acme:oidc:y");
    want.docs[1].value["name"] = json!("X2");
    let plan = compute(Some(&want), &deployed(), &[]).unwrap();
    let order: Vec<String> = plan
        .batches()
        .into_iter()
        .map(|b| match b {
            Batch::Put(e) => format!(
                "put {}",
                e.iter()
                    .map(|e| e.key.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            Batch::Delete(k) => format!("delete {}", k.join(" ")),
        })
        .collect();
    assert_eq!(
        order,
        [
            "delete host:b.example",
            "put tenant:acme:oidc:x",
            "put tenant:acme",
            "put host:c.example",
            "delete tenant:acme:oidc:y",
        ]
    );
}

#[test]
fn deleting_a_tenant_removes_its_keys_and_hosts_tenant_value_last() {
    let mut on_store = deployed();
    on_store.hosts.insert("g.example".into(), host("globex"));
    let plan = compute(None, &on_store, &[]).unwrap();
    let batches = plan.batches();
    assert_eq!(
        batches,
        [
            Batch::Delete(vec!["host:a.example".into(), "host:b.example".into()]),
            Batch::Delete(vec![
                "tenant:acme:oidc:x".into(),
                "tenant:acme:oidc:y".into()
            ]),
            Batch::Delete(vec!["tenant:acme".into()]),
        ]
    );
    let empty = Deployed {
        tenant: "ghost".into(),
        ..Deployed::default()
    };
    assert!(compute(None, &empty, &[]).unwrap().is_empty());
}

#[test]
fn rotations_and_disabling_are_reported() {
    let mut on_store = deployed();
    let keys = |current: &str, next: &str| json!({"schema_version": 1, "current": {"kid": current}, "next": {"kid": next}});
    on_store
        .tenant_values
        .insert("tenant:acme:keys".into(), keys("k1", "k2"));
    let mut want = same();
    want.docs
        .push(doc("tenant:acme:keys", Kind::Keys, keys("k2", "k3")));
    want.docs[0].value["disabled"] = json!(true);
    let plan = compute(Some(&want), &on_store, &[]).unwrap();
    assert_eq!(
        plan.rotations,
        [
            "tenant:acme:keys: current key k1 -> k2",
            "tenant:acme:keys: next key k2 -> k3"
        ]
    );
    assert_eq!(plan.notes.len(), 1);
    assert!(plan.notes[0].contains("DISABLED"), "{:?}", plan.notes);

    let mut saml_old = json!({"idp": {"current": {"certificate": "MIIa"}}});
    let saml_new =
        json!({"idp": {"current": {"certificate": "MIIb"}, "next": {"certificate": "MIIc"}}});
    let mut lines = Vec::new();
    rotations("tenant:acme:saml:m", Some(&saml_old), &saml_new, &mut lines);
    assert_eq!(
        lines,
        [
            "tenant:acme:saml:m: current signing key replaced",
            "tenant:acme:saml:m: next signing key added"
        ]
    );
    saml_old = saml_new.clone();
    lines.clear();
    rotations("tenant:acme:saml:m", Some(&saml_old), &saml_new, &mut lines);
    assert!(lines.is_empty());
}
