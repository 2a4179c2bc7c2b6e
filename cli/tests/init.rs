//! `edge-idp tenant init`, run as a program, then filled in with `edge-idp seal` and validated.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::*;
use serde_json::{json, Value};

fn seal(tenant: &str, secret: &str) -> String {
    let mut c = cmd(&["seal", "--tenant", tenant]);
    c.env("EDGE_IDP_MASTER_KEY", MASTER_KEY);
    let r = run_with(c, secret);
    assert_eq!(r.code, 0, "{}", r.all());
    r.stdout.trim().to_owned()
}

fn init(out: &Path, mode: &str) -> Run {
    run(cmd(&[
        "tenant",
        "init",
        "--id",
        "acme",
        "--name",
        "Acme Professional Association",
        "--host",
        "acme.localhost",
        "--host",
        "sso.acme.example",
        "--mode",
        mode,
        "--imis-base-url",
        "https://members.acme.example/",
        "--out",
        out.to_str().unwrap(),
    ]))
}

#[test]
fn cloud_starter_validates_once_its_secrets_are_sealed() {
    let dir = scratch("init-cloud");
    let acme = dir.join("acme");
    let r = init(&acme, "imis_cloud");
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("edge-idp seal --tenant acme"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("edge-idp push"), "{}", r.stdout);
    let file = acme.join("tenant.json");

    // Before the secrets are filled in, validation names every placeholder and nothing else.
    let r = run(cmd(&["validate", acme.to_str().unwrap()]));
    assert_eq!(r.code, 1);
    let pointers = [
        "/imis/background_account/password",
        "/imis/sso/saml/client_secret",
        "/imis/sso/oidc/client_secret",
    ];
    for pointer in pointers {
        assert!(
            r.stderr.contains(&format!("tenant.json: {pointer}: ")),
            "{pointer}: {}",
            r.stderr
        );
    }
    assert_eq!(
        r.stderr.matches("[rule: ").count(),
        pointers.len(),
        "{}",
        r.stderr
    );

    let mut tenant = read_json(&file);
    assert_eq!(tenant["imis"]["base_url"], "https://members.acme.example");
    for (pointer, secret) in pointers
        .iter()
        .zip(["bg-password", "saml-secret", "oidc-secret"])
    {
        let slot = tenant.pointer_mut(pointer).unwrap();
        assert!(
            slot.as_str().unwrap().starts_with("REPLACE-WITH-SEALED-"),
            "{slot}"
        );
        *slot = Value::String(seal("acme", secret));
    }
    write_json(&file, &tenant);
    let r = run_keyed(&["validate", acme.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.all());

    // And it pushes.
    let kv = dir.join("kv");
    let r = run_keyed(&[
        "push",
        acme.to_str().unwrap(),
        "--spin",
        "--local",
        "--kv-dir",
        kv.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(kv
        .join("default")
        .join(hex::encode(b"host:sso.acme.example"))
        .is_file());
}

#[test]
fn legacy_starter_has_one_secret() {
    let dir = scratch("init-legacy");
    let acme = dir.join("acme");
    let r = init(&acme, "imis_legacy");
    assert_eq!(r.code, 0, "{}", r.all());
    let file = acme.join("tenant.json");
    let mut tenant = read_json(&file);
    assert_eq!(tenant["identity_mode"], "imis_legacy");
    assert!(tenant["imis"].get("sso").is_none());
    tenant["imis"]["background_account"]["password"] = json!(seal("acme", "bg-password"));
    write_json(&file, &tenant);
    let r = run_keyed(&["validate", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.all());
}

#[test]
fn init_refuses_to_overwrite_and_bad_options() {
    let dir = scratch("init-refuse");
    let acme = dir.join("acme");
    assert_eq!(init(&acme, "imis_cloud").code, 0);
    let file = acme.join("tenant.json");
    std::fs::write(&file, "my edits").unwrap();
    let r = init(&acme, "imis_legacy");
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "my edits");

    let other = dir.join("other");
    let r = run(cmd(&[
        "tenant",
        "init",
        "--id",
        "Other",
        "--name",
        "Other",
        "--host",
        "other.localhost",
        "--mode",
        "imis_legacy",
        "--imis-base-url",
        "http://members.other.example",
        "--out",
        other.to_str().unwrap(),
    ]));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("/id"), "{}", r.stderr);
    assert!(r.stderr.contains("/imis/base_url"), "{}", r.stderr);
    assert!(!other.join("tenant.json").exists());
}

#[test]
fn init_defaults_to_tenants_slash_id() {
    let dir = scratch("init-default");
    let mut c = cmd(&[
        "tenant",
        "init",
        "--id",
        "globex",
        "--name",
        "Globex",
        "--host",
        "globex.localhost",
        "--mode",
        "imis_legacy",
        "--imis-base-url",
        "http://127.0.0.1:8790",
    ]);
    c.current_dir(&dir);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(dir.join("tenants/globex/tenant.json").is_file());
}
