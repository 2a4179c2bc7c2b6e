//! Spin's key-value limits, run as a program: a hostname whose `host:` key is longer than the
//! 256 bytes Spin takes is refused by `plan`, `apply` and `push` before anything is written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::*;

/// A valid hostname of 253 characters: its key `host:…` is 258 bytes.
fn long_host() -> String {
    let label = "a".repeat(63);
    let host = format!("{label}.{label}.{label}.{}", "b".repeat(61));
    assert_eq!(host.len(), 253);
    host
}

fn spin_store_is_empty(kv: &Path) -> bool {
    std::fs::read_dir(kv.join("default")).map_or(true, |mut d| d.next().is_none())
}

#[test]
fn plan_and_apply_refuse_a_key_spin_would_refuse() {
    let dir = scratch("limits-plan");
    let kv = dir.join("kv");
    let host = long_host();
    let file = dir.join("acme.toml");
    std::fs::write(
        &file,
        format!(
            r#"[tenant]
id = "acme"
name = "Acme"
hostnames = ["{host}"]
identity_mode = "imis_legacy"
[tenant.imis]
base_url = "https://members.acme.example"
background_account = {{ username = "svc", password = "env:LIM_PASSWORD" }}
"#
        ),
    )
    .unwrap();
    for verb in ["plan", "apply"] {
        let mut args = vec![
            verb,
            file.to_str().unwrap(),
            "--spin",
            "--local",
            "--kv-dir",
            kv.to_str().unwrap(),
        ];
        if verb == "apply" {
            args.push("--yes");
        }
        let mut c = cmd(&args);
        c.env("EDGE_IDP_MASTER_KEY", MASTER_KEY)
            .env("LIM_PASSWORD", "pw-limits-1");
        let r = run(c);
        assert_eq!(r.code, 1, "{verb}: {}", r.all());
        assert!(
            r.stderr.contains(&format!(
                "key host:{host} is 258 bytes; Spin's default key-value store takes keys of at \
                 most 256 bytes"
            )),
            "{verb}: {}",
            r.stderr
        );
        assert!(r.stderr.contains("nothing was written"), "{}", r.stderr);
        assert!(spin_store_is_empty(&kv), "{verb} wrote something");
    }
}

#[test]
fn push_refuses_a_key_spin_would_refuse_and_writes_nothing() {
    let dir = scratch("limits-push");
    let folder = acme_folder(&dir);
    let tenant = folder.join("tenant.json");
    let mut value = read_json(&tenant);
    value["hostnames"] = serde_json::json!(["sso.acme.example", long_host()]);
    write_json(&tenant, &value);
    let kv = dir.join("kv");
    let r = run_keyed(&[
        "push",
        folder.to_str().unwrap(),
        "--spin",
        "--local",
        "--kv-dir",
        kv.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr
            .contains("is 258 bytes; Spin's default key-value store takes keys of at most 256"),
        "{}",
        r.stderr
    );
    assert!(spin_store_is_empty(&kv), "push wrote something");
}
