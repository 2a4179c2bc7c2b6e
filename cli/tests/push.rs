//! `edge-idp push`, run as a program: the local Spin store (files), Workers through a stand-in
//! wrangler that records what it was asked to do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::*;
use serde_json::{json, Value};

/// The keys and values a push of the `acme_folder` must write, in order.
fn expected_entries(acme: &Path) -> Vec<(String, String)> {
    let compact = |rel: &str| read_json(&acme.join(rel)).to_string();
    let host = json!({"schema_version": 1, "tenant": "acme"}).to_string();
    vec![
        ("tenant:acme:keys".into(), compact("keys.json")),
        (
            "tenant:acme:bridge:events".into(),
            compact("bridge/events.json"),
        ),
        (
            "tenant:acme:oidc:community-portal".into(),
            compact("oidc/community-portal.json"),
        ),
        (
            "tenant:acme:saml:moodle".into(),
            compact("saml/moodle.json"),
        ),
        ("tenant:acme".into(), compact("tenant.json")),
        ("host:acme.localhost".into(), host.clone()),
        ("host:sso.acme.example".into(), host),
    ]
}

#[test]
fn spin_local_writes_hex_named_files_with_exact_bytes() {
    let dir = scratch("spin");
    let acme = acme_folder(&dir);
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

    let expected = expected_entries(&acme);
    let store = kv.join("default");
    let mut names: Vec<String> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut want: Vec<String> = expected.iter().map(|(k, _)| hex(k.as_bytes())).collect();
    want.sort();
    assert_eq!(names, want, "no other files (no temporaries) are left");
    for (key, value) in &expected {
        let bytes = std::fs::read(store.join(hex(key.as_bytes()))).unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), *value, "{key}");
        assert!(
            r.stdout.contains(&format!("put {key}\n")),
            "{key} not reported"
        );
    }
    // One line per key, and never a value.
    assert_eq!(r.stdout.lines().count(), expected.len(), "{}", r.stdout);
    assert!(!r.stdout.contains("sealed:v1:"), "{}", r.stdout);

    // Pushing again overwrites in place.
    let r = run_keyed(&[
        "push",
        acme.to_str().unwrap(),
        "--spin",
        "--local",
        "--kv-dir",
        kv.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(std::fs::read_dir(&store).unwrap().count(), expected.len());
}

#[test]
fn push_refuses_an_invalid_folder_and_writes_nothing() {
    let dir = scratch("refuse");
    let acme = acme_folder(&dir);
    let mut tenant = read_json(&acme.join("tenant.json"));
    tenant["imis"]["background_account"]["password"] = json!("plain-text-password");
    write_json(&acme.join("tenant.json"), &tenant);
    let kv = dir.join("kv");
    let r = run(cmd(&[
        "push",
        acme.to_str().unwrap(),
        "--spin",
        "--local",
        "--kv-dir",
        kv.to_str().unwrap(),
    ]));
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr.contains("/imis/background_account/password"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("nothing was pushed"), "{}", r.stderr);
    assert!(!r.all().contains("plain-text-password"));
    assert!(!kv.exists(), "the kv folder was created");
    assert_eq!(r.stdout, "");
}

#[test]
fn push_refuses_sealed_values_that_do_not_open() {
    let dir = scratch("refuse-key");
    let acme = acme_folder(&dir);
    let kv = dir.join("kv");
    let mut c = cmd(&[
        "push",
        acme.to_str().unwrap(),
        "--spin",
        "--local",
        "--kv-dir",
        kv.to_str().unwrap(),
    ]);
    c.env(
        "EDGE_IDP_MASTER_KEY",
        "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
    );
    let r = run(c);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("[rule: sealed-opens]"), "{}", r.stderr);
    assert!(!kv.exists());
}

#[cfg(unix)]
fn fake_wrangler(dir: &Path, exit_code: i32) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("wrangler");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             printf '%s\\n' \"$@\" > \"{dir}/args\"\n\
             cp \"$4\" \"{dir}/bulk.json\"\n\
             exit {exit_code}\n",
            dir = dir.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[cfg(unix)]
#[test]
fn workers_local_runs_one_wrangler_bulk_put_with_every_key() {
    let dir = scratch("workers");
    let acme = acme_folder(&dir);
    let wrangler = fake_wrangler(&dir, 0);
    let state = dir.join("state");
    let r = run_keyed(&[
        "push",
        acme.to_str().unwrap(),
        "--local",
        "--persist-to",
        state.to_str().unwrap(),
        "--wrangler-config",
        "conf/wrangler.toml",
        "--wrangler-bin",
        wrangler.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.all());

    let args = std::fs::read_to_string(dir.join("args")).unwrap();
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(&args[..3], ["kv", "bulk", "put"]);
    assert!(args[3].ends_with("bulk.json"), "{args:?}");
    assert_eq!(
        &args[4..],
        [
            "--binding=TENANTS",
            "--local",
            "--persist-to",
            state.to_str().unwrap(),
            "--config",
            "conf/wrangler.toml"
        ]
    );
    assert!(
        !Path::new(args[3]).exists(),
        "the temporary bulk file was left behind"
    );

    let bulk: Value = read_json(&dir.join("bulk.json"));
    let got: Vec<(String, String)> = bulk
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e.as_object().unwrap().len(), 2, "{e}");
            (
                e["key"].as_str().unwrap().to_owned(),
                e["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(got, expected_entries(&acme));
    assert_eq!(r.stdout.lines().count(), got.len(), "{}", r.stdout);
}

#[cfg(unix)]
#[test]
fn workers_remote_and_wrangler_failure() {
    let dir = scratch("workers-remote");
    let acme = acme_folder(&dir);
    let wrangler = fake_wrangler(&dir, 3);
    let r = run(cmd(&[
        "push",
        acme.to_str().unwrap(),
        "--remote",
        "--binding",
        "OTHER",
        "--wrangler-bin",
        wrangler.to_str().unwrap(),
    ]));
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("failed"), "{}", r.stderr);
    assert_eq!(r.stdout, "", "no key may be reported as written");
    let args = std::fs::read_to_string(dir.join("args")).unwrap();
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(&args[4..], ["--binding=OTHER", "--remote"]);

    let r = run(cmd(&[
        "push",
        acme.to_str().unwrap(),
        "--local",
        "--wrangler-bin",
        dir.join("no-such-wrangler").to_str().unwrap(),
    ]));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("cannot run"), "{}", r.stderr);
}

#[test]
fn push_options_are_checked() {
    let dir = scratch("options");
    let acme = acme_folder(&dir);
    let a = acme.to_str().unwrap();

    let r = run(cmd(&["push", a, "--spin", "--remote"]));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("not supported yet"), "{}", r.stderr);
    assert!(r.stderr.contains("spin up --key-value"), "{}", r.stderr);

    let r = run(cmd(&["push", a, "--spin", "--local"]));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--kv-dir"), "{}", r.stderr);

    // One of --local / --remote, not both; Workers-only options conflict with --spin.
    for args in [
        vec!["push", a],
        vec!["push", a, "--local", "--remote"],
        vec![
            "push",
            a,
            "--spin",
            "--local",
            "--kv-dir",
            "x",
            "--persist-to",
            "y",
        ],
        vec!["push", a, "--remote", "--persist-to", "y"],
        vec!["push", a, "--local", "--kv-dir", "x"],
    ] {
        let r = run(cmd(&args));
        assert_eq!(r.code, 2, "{args:?}: {}", r.all());
    }

    let r = run(cmd(&[
        "push",
        acme.join("tenant.json").to_str().unwrap(),
        "--local",
    ]));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("is not a folder"), "{}", r.stderr);
}
