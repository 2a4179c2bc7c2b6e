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
    let mut want: Vec<String> = expected
        .iter()
        .map(|(k, _)| hex::encode(k.as_bytes()))
        .collect();
    want.sort();
    assert_eq!(names, want, "no other files (no temporaries) are left");
    for (key, value) in &expected {
        let bytes = std::fs::read(store.join(hex::encode(key.as_bytes()))).unwrap();
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

/// A stand-in wrangler. `kv key get KEY` answers from the files of `dir/store/` (file name = key),
/// like wrangler 4 for a missing key: "Value not found" and exit 0 with `--local`, a 404 error and
/// exit 1 with `--remote`; when `dir/get-fails` exists it fails as when not logged in. Every call
/// is appended to `dir/calls` (one line each). `kv bulk put FILE` records its arguments in
/// `dir/args`, copies FILE to `dir/bulk.json` and exits `put_exit`.
#[cfg(unix)]
fn fake_wrangler(dir: &Path, put_exit: i32) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("wrangler");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             echo \"$*\" >> \"{dir}/calls\"\n\
             if [ \"$1 $2 $3\" = 'kv key get' ]; then\n\
               if [ -e \"{dir}/get-fails\" ]; then\n\
                 echo 'X [ERROR] Not logged in (fake)' >&2; exit 1\n\
               fi\n\
               if [ -f \"{dir}/store/$4\" ]; then cat \"{dir}/store/$4\"; exit 0; fi\n\
               for a in \"$@\"; do\n\
                 if [ \"$a\" = --local ]; then echo 'Value not found'; exit 0; fi\n\
               done\n\
               echo 'X [ERROR] Failed to fetch https://api.cloudflare.com/client/v4/accounts/0/storage/kv/namespaces/0/values/x - 404: Not Found' >&2\n\
               exit 1\n\
             fi\n\
             if [ \"$1 $2 $3\" = 'kv bulk put' ]; then\n\
               printf '%s\\n' \"$@\" > \"{dir}/args\"\n\
               cp \"$4\" \"{dir}/bulk.json\"\n\
               exit {put_exit}\n\
             fi\n\
             echo \"fake wrangler: unexpected call $*\" >&2\n\
             exit 99\n",
            dir = dir.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(dir.join("store")).unwrap();
    script
}

/// Records in the fake wrangler's store that `host` belongs to `tenant`.
#[cfg(unix)]
fn fake_owner(dir: &Path, host: &str, tenant: &str) {
    std::fs::write(
        dir.join("store").join(format!("host:{host}")),
        json!({"schema_version": 1, "tenant": tenant}).to_string(),
    )
    .unwrap();
}

/// The fake wrangler's calls, one line each.
#[cfg(unix)]
fn fake_calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("calls"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
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
            assert_eq!(e.as_object().unwrap().len(), 3, "{e}");
            // The digest a later plan finds the value by in the local value cache.
            let value = e["value"].as_str().unwrap();
            let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(value));
            assert_eq!(
                e["metadata"],
                serde_json::json!({ "sha256": sha256 }),
                "{e}"
            );
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

    // Fermyon Cloud needs its store named (tests/spin_cloud.rs drives it).
    let r = run(cmd(&["push", a, "--spin", "--remote"]));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("--store NAME, or with --app APP --label LABEL"),
        "{}",
        r.stderr
    );

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

// ---- hostname ownership: a push never takes over another tenant's hostname unless told to ----

/// A tenant folder `parent/beta` (only tenant.json, from the acme example; its sealed values are
/// not checked, as no master key is given) listing `hosts`.
fn beta_folder(parent: &Path, hosts: &[&str]) -> std::path::PathBuf {
    let dir = parent.join("beta");
    std::fs::create_dir_all(&dir).unwrap();
    let mut tenant = read_json(&example("tenant/valid-acme-cloud.json"));
    tenant["id"] = json!("beta");
    tenant["name"] = json!("Beta Association");
    tenant["hostnames"] = json!(hosts);
    write_json(&dir.join("tenant.json"), &tenant);
    dir
}

/// `push DIR --remote --wrangler-bin WRANGLER EXTRA…`, without a master key.
#[cfg(unix)]
fn push_remote(dir: &Path, wrangler: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "push",
        dir.to_str().unwrap(),
        "--remote",
        "--wrangler-bin",
        wrangler.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(cmd(&args))
}

/// Asserts that the fake wrangler was only asked to read: no `kv bulk put` ran.
#[cfg(unix)]
fn assert_only_reads(dir: &Path, r: &Run) {
    assert!(!dir.join("args").exists(), "a bulk put ran: {}", r.all());
    for call in fake_calls(dir) {
        assert!(call.starts_with("kv key get host:"), "{call}");
    }
    assert_eq!(r.stdout, "", "no key may be reported as written");
    assert!(r.stderr.contains("nothing was pushed"), "{}", r.stderr);
}

#[cfg(unix)]
#[test]
fn workers_refuses_a_hostname_of_another_tenant_and_writes_nothing() {
    let dir = scratch("host-takeover");
    let wrangler = fake_wrangler(&dir, 0);
    fake_owner(&dir, "sso.acme.example", "acme");
    let beta = beta_folder(&dir, &["beta.example", "sso.acme.example"]);

    let r = push_remote(&beta, &wrangler, &[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr
            .contains("host sso.acme.example belongs to tenant acme"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("--move-host sso.acme.example=acme"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("beta.example belongs"), "{}", r.stderr);
    assert_only_reads(&dir, &r);
    assert_eq!(
        fake_calls(&dir),
        [
            "kv key get host:beta.example --binding=TENANTS --remote",
            "kv key get host:sso.acme.example --binding=TENANTS --remote",
        ]
    );
}

#[cfg(unix)]
#[test]
fn workers_names_every_hostname_of_other_tenants_at_once() {
    let dir = scratch("host-takeover-all");
    let wrangler = fake_wrangler(&dir, 0);
    fake_owner(&dir, "acme.localhost", "acme");
    fake_owner(&dir, "sso.acme.example", "globex");
    let beta = beta_folder(&dir, &["acme.localhost", "sso.acme.example"]);
    let r = push_remote(&beta, &wrangler, &["--move-host", "acme.localhost=acme"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr
            .contains("host sso.acme.example belongs to tenant globex"),
        "{}",
        r.stderr
    );
    // The move that would be allowed does not happen either: the push is all or nothing.
    assert_only_reads(&dir, &r);
}

#[cfg(unix)]
#[test]
fn workers_refuses_a_move_naming_the_wrong_current_owner() {
    let dir = scratch("host-wrong-from");
    let wrangler = fake_wrangler(&dir, 0);
    fake_owner(&dir, "sso.acme.example", "acme");
    let beta = beta_folder(&dir, &["beta.example", "sso.acme.example"]);

    let r = push_remote(
        &beta,
        &wrangler,
        &["--move-host", "sso.acme.example=globex"],
    );
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr
            .contains("--move-host sso.acme.example=globex: host sso.acme.example belongs to tenant acme, not globex"),
        "{}",
        r.stderr
    );
    assert_only_reads(&dir, &r);

    // A move of a hostname nobody owns names the wrong owner too.
    let r = push_remote(&beta, &wrangler, &["--move-host", "beta.example=acme"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr.contains("host beta.example belongs to no tenant"),
        "{}",
        r.stderr
    );
    assert_only_reads(&dir, &r);
}

#[cfg(unix)]
#[test]
fn workers_moves_a_hostname_named_with_its_current_owner() {
    let dir = scratch("host-move");
    let wrangler = fake_wrangler(&dir, 0);
    fake_owner(&dir, "sso.acme.example", "acme");
    let beta = beta_folder(&dir, &["beta.example", "sso.acme.example"]);

    let r = push_remote(&beta, &wrangler, &["--move-host", "sso.acme.example=acme"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let bulk = read_json(&dir.join("bulk.json"));
    let hosts: Vec<(&str, &str)> = bulk
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["key"].as_str().unwrap(), e["value"].as_str().unwrap()))
        .filter(|(k, _)| k.starts_with("host:"))
        .collect();
    let beta_host = r#"{"schema_version":1,"tenant":"beta"}"#;
    assert_eq!(
        hosts,
        [
            ("host:beta.example", beta_host),
            ("host:sso.acme.example", beta_host)
        ]
    );
    assert!(
        r.stdout
            .contains("moved host:sso.acme.example from tenant acme to tenant beta\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("put host:sso.acme.example\n"),
        "{}",
        r.stdout
    );
}

#[cfg(unix)]
#[test]
fn workers_repush_of_the_same_tenant_needs_no_move() {
    let dir = scratch("host-same");
    let acme = acme_folder(&dir);
    let wrangler = fake_wrangler(&dir, 0);
    fake_owner(&dir, "acme.localhost", "acme");
    fake_owner(&dir, "sso.acme.example", "acme");
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
    assert!(!r.stdout.contains("moved"), "{}", r.stdout);
    let flags = format!(
        "--binding=TENANTS --local --persist-to {} --config conf/wrangler.toml",
        state.display()
    );
    let calls = fake_calls(&dir);
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(calls[0], format!("kv key get host:acme.localhost {flags}"));
    assert_eq!(
        calls[1],
        format!("kv key get host:sso.acme.example {flags}")
    );
    assert!(calls[2].starts_with("kv bulk put "), "{calls:?}");

    // A move of a hostname the tenant already owns is refused (it names the wrong owner).
    std::fs::remove_file(dir.join("args")).unwrap();
    let r = run_keyed(&[
        "push",
        acme.to_str().unwrap(),
        "--local",
        "--wrangler-bin",
        wrangler.to_str().unwrap(),
        "--move-host",
        "sso.acme.example=globex",
    ]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr
            .contains("host sso.acme.example already belongs to tenant acme"),
        "{}",
        r.stderr
    );
    assert!(!dir.join("args").exists());
}

#[cfg(unix)]
#[test]
fn workers_refuses_when_the_owner_cannot_be_read() {
    let dir = scratch("host-unreadable");
    let acme = acme_folder(&dir);
    let wrangler = fake_wrangler(&dir, 0);

    // wrangler fails for another reason than a missing key: fail closed.
    std::fs::write(dir.join("get-fails"), "").unwrap();
    let r = push_remote(&acme, &wrangler, &[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("Not logged in (fake)"), "{}", r.stderr);
    assert!(r.stderr.contains("host:acme.localhost"), "{}", r.stderr);
    assert_only_reads(&dir, &r);
    std::fs::remove_file(dir.join("get-fails")).unwrap();

    // A host key holding something else than a host mapping.
    std::fs::write(dir.join("store/host:sso.acme.example"), "garbage").unwrap();
    let r = push_remote(&acme, &wrangler, &[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr
            .contains("host:sso.acme.example holds a value that is not a host mapping"),
        "{}",
        r.stderr
    );
    assert!(!r.all().contains("garbage"), "{}", r.all());
    assert_only_reads(&dir, &r);
}

#[cfg(unix)]
#[test]
fn move_host_is_checked_before_anything_is_read() {
    let dir = scratch("host-move-usage");
    let beta = beta_folder(&dir, &["beta.example"]);
    let wrangler = fake_wrangler(&dir, 0);
    let r = push_remote(&beta, &wrangler, &["--move-host", "other.example=acme"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr
            .contains("other.example is not one of the hostnames of tenant beta"),
        "{}",
        r.stderr
    );
    let r = push_remote(
        &beta,
        &wrangler,
        &[
            "--move-host",
            "beta.example=acme",
            "--move-host",
            "beta.example=globex",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("more than once"), "{}", r.stderr);
    assert!(fake_calls(&dir).is_empty(), "{:?}", fake_calls(&dir));

    for bad in [
        "beta.example",
        "beta.example=",
        "=acme",
        "beta.example=Not_An_Id",
    ] {
        let r = push_remote(&beta, &wrangler, &["--move-host", bad]);
        assert_eq!(r.code, 2, "{bad}: {}", r.all());
        assert!(r.stderr.contains("--move-host"), "{}", r.stderr);
    }
}

/// `kv/default/<hex of host:HOST>` says HOST belongs to `tenant`.
fn spin_owner(kv: &Path, host: &str, tenant: &str) {
    let store = kv.join("default");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(
        store.join(hex::encode(format!("host:{host}").as_bytes())),
        json!({"schema_version": 1, "tenant": tenant}).to_string(),
    )
    .unwrap();
}

/// Every file of the Spin store and its content.
fn spin_files(kv: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(kv.join("default"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn spin_local_refuses_a_hostname_of_another_tenant_unless_moved() {
    let dir = scratch("spin-host");
    let kv = dir.join("kv");
    spin_owner(&kv, "sso.acme.example", "acme");
    let before = spin_files(&kv);
    let beta = beta_folder(&dir, &["beta.example", "sso.acme.example"]);
    let push = |extra: &[&str]| {
        let mut args = vec![
            "push",
            beta.to_str().unwrap(),
            "--spin",
            "--local",
            "--kv-dir",
            kv.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run(cmd(&args))
    };

    let r = push(&[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr
            .contains("host sso.acme.example belongs to tenant acme"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("nothing was pushed"), "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert_eq!(spin_files(&kv), before, "the store changed");

    let r = push(&["--move-host", "sso.acme.example=globex"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr.contains("belongs to tenant acme, not globex"),
        "{}",
        r.stderr
    );
    assert_eq!(spin_files(&kv), before, "the store changed");

    let r = push(&["--move-host", "sso.acme.example=acme"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout
            .contains("moved host:sso.acme.example from tenant acme to tenant beta\n"),
        "{}",
        r.stdout
    );
    let moved = std::fs::read_to_string(
        kv.join("default")
            .join(hex::encode("host:sso.acme.example".as_bytes())),
    )
    .unwrap();
    assert_eq!(moved, r#"{"schema_version":1,"tenant":"beta"}"#);

    // Now beta owns it: pushing beta again needs no move, and acme cannot take it back silently.
    let r = push(&[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(!r.stdout.contains("moved"), "{}", r.stdout);
    let acme = acme_folder(&dir);
    let after = spin_files(&kv);
    let r = run_keyed(&[
        "push",
        acme.to_str().unwrap(),
        "--spin",
        "--local",
        "--kv-dir",
        kv.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr
            .contains("host sso.acme.example belongs to tenant beta"),
        "{}",
        r.stderr
    );
    assert_eq!(spin_files(&kv), after, "the store changed");
}

#[test]
fn push_help_explains_move_host() {
    let r = run(cmd(&["push", "--help"]));
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("--move-host <HOST=FROM_TENANT>"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("another tenant"), "{}", r.stdout);
}
