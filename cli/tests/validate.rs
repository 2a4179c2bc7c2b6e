//! `edge-idp validate`, run as a program against kv-schema's examples and scratch tenant folders.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

fn examples(prefix: &str) -> Vec<(String, std::path::PathBuf)> {
    let mut out = Vec::new();
    for kind in [
        "host",
        "tenant",
        "saml-app",
        "oidc-client",
        "bridge-app",
        "keys",
    ] {
        let dir = example(kind);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with(prefix) && name.ends_with(".json") {
                out.push((format!("{kind}/{name}"), path));
            }
        }
    }
    out.sort();
    assert!(out.len() >= 6, "no {prefix} examples found");
    out
}

#[test]
fn every_valid_example_passes_and_its_sealed_values_open() {
    for (name, path) in examples("valid-") {
        let path = path.to_str().unwrap();
        let r = run(cmd(&["validate", path]));
        assert_eq!(r.code, 0, "{name}: {}", r.all());
        assert!(r.stdout.contains("ok "), "{name}: {}", r.all());
        // The examples are sealed with MASTER_KEY for their own tenant (acme or globex).
        let r = run_keyed(&["validate", "--tenant", "acme", path]);
        assert_eq!(r.code, 0, "{name} with the master key: {}", r.all());
    }
}

#[test]
fn every_invalid_example_fails_naming_its_field() {
    let expected = read_json(&example("expected-errors.json"));
    let expected = expected.as_object().unwrap();
    let invalid = examples("invalid-");
    assert_eq!(invalid.len(), expected.len());
    for (name, path) in invalid {
        let pointer = expected[&name].as_str().unwrap();
        let r = run(cmd(&["validate", path.to_str().unwrap()]));
        assert_eq!(r.code, 1, "{name} should fail: {}", r.all());
        let line = format!("{}: {pointer}: ", path.display());
        assert!(
            r.stderr.contains(&line),
            "{name}: expected {line:?} in\n{}",
            r.stderr
        );
        assert!(r.stderr.contains("[rule: "), "{name}: {}", r.stderr);
        assert!(!r.stdout.contains("ok "), "{name}: {}", r.stdout);
    }
}

#[test]
fn plaintext_secrets_are_never_echoed() {
    for name in [
        "tenant/invalid-plaintext-background-password.json",
        "tenant/invalid-plaintext-client-secret.json",
        "keys/invalid-plaintext-private-key.json",
    ] {
        let path = example(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let r = run(cmd(&["validate", path.to_str().unwrap()]));
        assert_eq!(r.code, 1);
        let value: Value = serde_json::from_str(&text).unwrap();
        let mut secrets = Vec::new();
        for pointer in [
            "/imis/background_account/password",
            "/imis/sso/saml/client_secret",
            "/current/private_key",
        ] {
            if let Some(s) = value.pointer(pointer).and_then(Value::as_str) {
                secrets.push(s.to_owned());
            }
        }
        for secret in secrets.iter().filter(|s| !s.starts_with("sealed:")) {
            assert!(
                !r.all().contains(secret.as_str()),
                "{name} echoed its secret"
            );
        }
    }
}

#[test]
fn kind_can_be_forced_for_a_file_anywhere() {
    let dir = scratch("kind");
    let file = dir.join("whatever.json");
    std::fs::copy(example("host/valid-acme.json"), &file).unwrap();
    let r = run(cmd(&["validate", file.to_str().unwrap()]));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("cannot tell which kind"), "{}", r.stderr);
    let r = run(cmd(&["validate", "--kind", "host", file.to_str().unwrap()]));
    assert_eq!(r.code, 0, "{}", r.all());
    let r = run(cmd(&[
        "validate",
        "--kind",
        "tenant",
        file.to_str().unwrap(),
    ]));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(": /id: required field is missing"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_complete_tenant_folder_passes_with_its_master_key() {
    let acme = acme_folder(&scratch("folder"));
    let r = run_keyed(&["validate", acme.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.all());
    for file in [
        "tenant.json",
        "keys.json",
        "saml/moodle.json",
        "oidc/community-portal.json",
        "bridge/events.json",
    ] {
        assert!(r.stdout.contains(file), "{file} not reported: {}", r.stdout);
    }
    // Single files of the folder are recognised by their place too.
    let r = run_keyed(&[
        "validate",
        acme.join("tenant.json").to_str().unwrap(),
        acme.join("saml/moodle.json").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("(saml-app)"), "{}", r.stdout);
}

#[test]
fn tenant_id_must_match_its_folder_and_app_ids_their_files() {
    let parent = scratch("names");
    let acme = acme_folder(&parent);
    let renamed = parent.join("acme-two");
    std::fs::rename(&acme, &renamed).unwrap();
    std::fs::rename(
        renamed.join("saml/moodle.json"),
        renamed.join("saml/lms.json"),
    )
    .unwrap();
    let r = run(cmd(&["validate", renamed.to_str().unwrap()]));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("tenant.json: /id: "), "{}", r.stderr);
    assert!(
        r.stderr.contains("[rule: id-matches-folder]"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("lms.json: /id: "), "{}", r.stderr);
    assert!(
        r.stderr.contains("[rule: id-matches-file-name]"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_hostname_cannot_belong_to_two_tenants() {
    let parent = scratch("hosts");
    let acme = acme_folder(&parent);
    let globex = parent.join("globex");
    std::fs::create_dir_all(&globex).unwrap();
    let mut tenant = read_json(&example("tenant/valid-globex-legacy.json"));
    tenant["hostnames"] = json!(["globex.localhost", "sso.acme.example"]);
    write_json(&globex.join("tenant.json"), &tenant);
    let r = run(cmd(&[
        "validate",
        acme.to_str().unwrap(),
        globex.to_str().unwrap(),
    ]));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("globex/tenant.json: /hostnames/1: hostname \"sso.acme.example\" is also claimed by tenant \"acme\""),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("[rule: unique-hostname]"), "{}", r.stderr);
}

#[test]
fn a_sealed_value_that_does_not_open_is_named_but_not_shown() {
    let parent = scratch("sealed");
    let acme = acme_folder(&parent);
    // Sealed for another tenant: well formed, but it must not open as acme's.
    let globex = read_json(&example("tenant/valid-globex-legacy.json"));
    let foreign = globex["imis"]["background_account"]["password"]
        .as_str()
        .unwrap();
    let mut tenant = read_json(&acme.join("tenant.json"));
    tenant["imis"]["sso"]["oidc"]["client_secret"] = json!(foreign);
    write_json(&acme.join("tenant.json"), &tenant);

    let r = run(cmd(&["validate", acme.to_str().unwrap()]));
    assert_eq!(
        r.code,
        0,
        "without a master key sealed values are not opened: {}",
        r.all()
    );
    assert!(
        r.stderr.contains("sealed values were not opened"),
        "{}",
        r.stderr
    );

    let r = run_keyed(&["validate", acme.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr
            .contains("tenant.json: /imis/sso/oidc/client_secret: "),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("[rule: sealed-opens]"), "{}", r.stderr);
    assert!(!r.all().contains(foreign), "the sealed value was printed");
    assert_eq!(r.stderr.matches("sealed-opens").count(), 1, "{}", r.stderr);

    // A master key that is not the one the folder was sealed with fails every sealed field.
    let mut c = cmd(&["validate", acme.to_str().unwrap()]);
    c.env(
        "EDGE_IDP_MASTER_KEY",
        "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
    );
    let r = run(c);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.matches("[rule: sealed-opens]").count() >= 5,
        "{}",
        r.stderr
    );
}

#[test]
fn folder_layout_problems_are_reported() {
    let parent = scratch("layout");
    let acme = acme_folder(&parent);
    std::fs::write(acme.join("notes.json"), "{}").unwrap();
    std::fs::write(acme.join("README.md"), "ignored").unwrap();
    std::fs::write(acme.join("oidc/broken.json"), "{ \"id\": ").unwrap();
    let r = run(cmd(&["validate", acme.to_str().unwrap()]));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("notes.json: (whole file): unexpected file"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("broken.json: (whole file): not valid JSON: line 1"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("README.md"), "{}", r.stderr);

    let empty = parent.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let r = run(cmd(&["validate", empty.to_str().unwrap()]));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("a tenant folder needs a tenant.json"),
        "{}",
        r.stderr
    );

    let r = run(cmd(&["validate", parent.join("missing").to_str().unwrap()]));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("no such file or folder"), "{}", r.stderr);
}

/// The schemas and the runtime's parser agree: whatever validates, the runtime can read.
#[test]
fn runtime_reads_every_valid_host_and_tenant_example() {
    use edge_idp::tenant::config::HostRecord;
    use edge_idp::tenant::TenantConfig;
    for (name, path) in examples("valid-") {
        let bytes = std::fs::read(&path).unwrap();
        if name.starts_with("tenant/") {
            TenantConfig::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        } else if name.starts_with("host/") {
            HostRecord::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

#[test]
fn a_forms_ticket_machine_key_that_is_not_usable_hex_is_named() {
    let folder = scratch("machine-key").join("globex");
    std::fs::create_dir_all(&folder).unwrap();
    let path = folder.join("tenant.json");
    let mut tenant = read_json(&example("tenant/valid-globex-legacy-forms-ticket.json"));
    write_json(&path, &tenant);
    let r = run_keyed(&["validate", path.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.all());

    // Sealed for globex, and it opens, but to "not-hex".
    let not_hex = "sealed:v1:hjLpH_hWlNADXAaEPtKeCQrwuISZfj39G-ca0NMuYow88r8";
    tenant["imis"]["forms_ticket"]["decryption_key"] = json!(not_hex);
    write_json(&path, &tenant);
    let r = run_keyed(&["validate", path.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr.contains("/imis/forms_ticket/decryption_key: ")
            && r.stderr.contains("[rule: machine-key]"),
        "{}",
        r.stderr
    );
    assert!(!r.all().contains("not-hex"), "the opened key was printed");
}
