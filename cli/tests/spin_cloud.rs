//! `plan`, `apply`, `push` and `status` against a Spin app's store on Fermyon Cloud, run as a
//! program with a stand-in `spin` that records every call: pairs set with `spin cloud kv set`,
//! reads from the local mirror, tombstones for removals, the manifest written last, failures
//! that leave the mirror as it was, and the limits checked before any call.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// The secret the tenant file refers to; it must never appear in any output or `spin` call.
const PASSWORD: &str = "imis-password-c10ud";

/// A tenant file for acme with `hosts` and, when listed in `apps`, an OIDC client `portal` and
/// a bridge app `events`.
fn tenant_file(hosts: &[&str], apps: &[&str]) -> String {
    let hosts: Vec<String> = hosts.iter().map(|h| format!("{h:?}")).collect();
    let mut text = format!(
        r#"[tenant]
id = "acme"
name = "Acme"
hostnames = [{}]
identity_mode = "imis_legacy"
[tenant.imis]
base_url = "https://members.acme.example"
background_account = {{ username = "svc", password = "env:SC_PASSWORD" }}
"#,
        hosts.join(", ")
    );
    if apps.contains(&"portal") {
        text.push_str(
            r#"
[[oidc]]
id = "portal"
name = "Portal"
type = "public"
token_endpoint_auth_method = "none"
redirect_uris = ["https://portal.example/callback"]
"#,
        );
    }
    if apps.contains(&"events") {
        text.push_str(
            r#"
[[bridge]]
id = "events"
name = "Events"
deliveries = ["query"]
return_domains = ["events.example"]
secret_sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
"#,
        );
    }
    text
}

/// A stand-in `spin` in `dir`: each call's arguments go, one a line, to `dir/calls/<n>`. It
/// fails (exit 1, a message on stderr) from call number `dir/fail-from` on, when that file
/// exists.
fn fake_spin(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("spin");
    std::fs::create_dir_all(dir.join("calls")).unwrap();
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             d=\"{dir}\"\n\
             n=$(ls \"$d/calls\" | wc -l | tr -d ' ')\n\
             printf '%s\\n' \"$@\" > \"$d/calls/$n\"\n\
             if [ -f \"$d/fail-from\" ] && [ \"$n\" -ge \"$(cat \"$d/fail-from\")\" ]; then\n\
               echo 'Error: not logged in to Fermyon Cloud (fake)' >&2; exit 1\n\
             fi\n\
             echo 'Set pairs (fake)'\n",
            dir = dir.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// The fake's calls in order, each as its argument list; they are forgotten.
fn take_calls(dir: &Path) -> Vec<Vec<String>> {
    let calls = dir.join("calls");
    let mut out = Vec::new();
    for n in 0.. {
        let Ok(text) = std::fs::read_to_string(calls.join(n.to_string())) else {
            break;
        };
        out.push(text.lines().map(str::to_owned).collect());
    }
    let _ = std::fs::remove_dir_all(&calls);
    std::fs::create_dir_all(&calls).unwrap();
    out
}

/// The pairs of a `spin cloud kv set --store S` call, by key; asserts its leading arguments.
fn pairs(call: &[String], store_args: &[&str]) -> Vec<(String, String)> {
    let head: Vec<&str> = ["cloud", "kv", "set"]
        .into_iter()
        .chain(store_args.iter().copied())
        .collect();
    assert_eq!(&call[..head.len()], head, "{call:?}");
    call[head.len()..]
        .iter()
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

fn keys(pairs: &[(String, String)]) -> Vec<&str> {
    pairs.iter().map(|(k, _)| k.as_str()).collect()
}

/// Every key of a store folder in the local Spin layout (`DIR/default/<hex>`), with its value.
fn folder_store(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir.join("default")) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| e.unwrap())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let bytes = (0..name.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(name.get(i..i + 2)?, 16).ok())
                .collect::<Option<Vec<u8>>>()?;
            let value = std::fs::read_to_string(e.path()).unwrap();
            Some((String::from_utf8(bytes).unwrap(), value))
        })
        .collect()
}

/// Runs the CLI with the master key and the file's secret; no output may hold a secret or any
/// value (every value written here has a `schema_version` or `config_version` field).
fn run_cli(args: &[&str], cwd: Option<&Path>) -> Run {
    let mut c = cmd(args);
    c.env("EDGE_IDP_MASTER_KEY", MASTER_KEY)
        .env("SC_PASSWORD", PASSWORD);
    if let Some(cwd) = cwd {
        c.current_dir(cwd);
    }
    let r = run(c);
    for shown in [
        PASSWORD,
        "sealed:v1:",
        "schema_version",
        "config_version\":",
    ] {
        assert!(!r.all().contains(shown), "{shown} shown: {}", r.all());
    }
    r
}

/// `VERB FILE --spin --remote --store S --mirror MIRROR --spin-bin SPIN` (+ `--yes` to apply).
fn cloud(verb: &str, file: &Path, spin: &Path, mirror: &Path) -> Run {
    let mut args = vec![
        verb,
        file.to_str().unwrap(),
        "--spin",
        "--remote",
        "--store",
        "S",
        "--mirror",
        mirror.to_str().unwrap(),
        "--spin-bin",
        spin.to_str().unwrap(),
    ];
    if verb == "apply" {
        args.push("--yes");
    }
    run_cli(&args, None)
}

const ACME_KEYS: [&str; 6] = [
    "host:a.acme.example",
    "host:b.acme.example",
    "tenant:acme",
    "tenant:acme:bridge:events",
    "tenant:acme:keys",
    "tenant:acme:oidc:portal",
];

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Asserts that `manifest` lists exactly the mirror's keys of acme with their digests.
fn assert_manifest(manifest: &str, mirror: &BTreeMap<String, String>, version: u64) {
    let manifest: Value = serde_json::from_str(manifest).unwrap();
    assert_eq!(manifest["config_version"], version, "{manifest}");
    let listed = manifest["keys"].as_object().unwrap();
    let expected: BTreeMap<&String, String> = mirror
        .iter()
        .filter(|(k, _)| k.as_str() != "manifest:acme")
        .map(|(k, v)| (k, sha256_hex(v.as_bytes())))
        .collect();
    assert_eq!(listed.len(), expected.len(), "{manifest}");
    for (key, digest) in expected {
        assert_eq!(listed[key.as_str()], digest, "{key}");
    }
}

/// Onboards acme (two hostnames, two apps) through the fake; returns the file.
fn onboard(dir: &Path, spin: &Path, mirror: &Path) -> PathBuf {
    let file = dir.join("acme.toml");
    let text = tenant_file(&["a.acme.example", "b.acme.example"], &["portal", "events"]);
    std::fs::write(&file, text).unwrap();
    let r = cloud("apply", &file, spin, mirror);
    assert_eq!(r.code, 0, "{}", r.all());
    file
}

#[test]
fn apply_sets_the_pairs_mirrors_them_and_ends_with_the_manifest() {
    let dir = scratch("cloud-apply");
    let spin = fake_spin(&dir);
    let mirror = dir.join("mirror");
    let file = dir.join("acme.toml");
    let text = tenant_file(&["a.acme.example", "b.acme.example"], &["portal", "events"]);
    std::fs::write(&file, text).unwrap();

    // The plan reads only the mirror: no call, and a warning that it is empty.
    let r = cloud("plan", &file, &spin, &mirror);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stdout.contains("Plan: 6 to add"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("on Fermyon Cloud store S, read from the local mirror"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("warning: the mirror") && r.stderr.contains("a first deployment"),
        "{}",
        r.stderr
    );
    assert!(take_calls(&dir).is_empty(), "plan ran spin");

    let r = cloud("apply", &file, &spin, &mirror);
    assert_eq!(r.code, 0, "{}", r.all());
    let calls = take_calls(&dir);
    let sets: Vec<Vec<(String, String)>> =
        calls.iter().map(|c| pairs(c, &["--store", "S"])).collect();
    // Apps and keys in one call, then the tenant, its hostnames, and the manifest last.
    let order: Vec<Vec<&str>> = sets.iter().map(|p| keys(p)).collect();
    assert_eq!(order.len(), 4, "{order:?}");
    let mut first = order[0].clone();
    first.sort_unstable();
    assert_eq!(
        first,
        [
            "tenant:acme:bridge:events",
            "tenant:acme:keys",
            "tenant:acme:oidc:portal"
        ]
    );
    assert_eq!(order[1], ["tenant:acme"]);
    assert_eq!(order[2], ["host:a.acme.example", "host:b.acme.example"]);
    assert_eq!(order[3], ["manifest:acme"]);
    // The running lines name the keys, never a value.
    assert!(
        r.stderr.contains("cloud kv set --store S tenant:acme=…\n"),
        "{}",
        r.stderr
    );
    let put: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("put "))
        .collect();
    assert_eq!(put.last(), Some(&"manifest:acme"), "{}", r.stdout);

    // The mirror holds exactly what spin was given.
    let store = folder_store(&mirror);
    let sent: BTreeMap<String, String> = sets.into_iter().flatten().collect();
    assert_eq!(store, sent);
    let mut expected: Vec<&str> = ACME_KEYS.to_vec();
    expected.push("manifest:acme");
    expected.sort_unstable();
    assert_eq!(store.keys().collect::<Vec<_>>(), expected);
    assert_manifest(&store["manifest:acme"], &store, 1);
    // What went to spin is sealed and what the core reads.
    assert!(!store["tenant:acme"].contains(PASSWORD));
    edge_idp::tenant::TenantConfig::parse(store["tenant:acme"].as_bytes()).unwrap();

    // A second plan finds nothing to do, and an empty apply calls nothing.
    let r = cloud("plan", &file, &spin, &mirror);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.starts_with("No changes: tenant acme"),
        "{}",
        r.stdout
    );
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    let r = cloud("apply", &file, &spin, &mirror);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(take_calls(&dir).is_empty());
    assert_eq!(folder_store(&mirror), store);
}

#[test]
fn a_removed_app_is_sent_as_an_empty_value_and_leaves_the_mirror() {
    let dir = scratch("cloud-remove");
    let spin = fake_spin(&dir);
    let mirror = dir.join("mirror");
    let file = onboard(&dir, &spin, &mirror);
    take_calls(&dir);
    let before = folder_store(&mirror);
    std::fs::write(&file, tenant_file(&["a.acme.example"], &["events"])).unwrap();

    let r = cloud("plan", &file, &spin, &mirror);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stdout.contains("  - tenant:acme:oidc:portal\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("  - host:b.acme.example\n"),
        "{}",
        r.stdout
    );
    assert!(take_calls(&dir).is_empty());

    let r = cloud("apply", &file, &spin, &mirror);
    assert_eq!(r.code, 0, "{}", r.all());
    let calls: Vec<Vec<(String, String)>> = take_calls(&dir)
        .iter()
        .map(|c| pairs(c, &["--store", "S"]))
        .collect();
    let flat: Vec<(&str, &str)> = calls
        .iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    // The hostname goes first, the app after the tenant, each as `key=` (a tombstone).
    let order: Vec<&str> = flat.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        order,
        [
            "host:b.acme.example",
            "tenant:acme",
            "tenant:acme:oidc:portal",
            "manifest:acme"
        ]
    );
    assert_eq!(flat[0].1, "");
    assert_eq!(flat[2].1, "");
    assert!(!flat[1].1.is_empty() && !flat[3].1.is_empty());
    assert!(
        r.stderr
            .contains("cloud kv set --store S tenant:acme:oidc:portal=\n"),
        "{}",
        r.stderr
    );

    let after = folder_store(&mirror);
    let gone: Vec<&String> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    assert_eq!(gone, ["host:b.acme.example", "tenant:acme:oidc:portal"]);
    assert_manifest(&after["manifest:acme"], &after, 2);
    assert_eq!(
        after["tenant:acme:bridge:events"],
        before["tenant:acme:bridge:events"]
    );
    let r = cloud("plan", &file, &spin, &mirror);
    assert_eq!(r.code, 0, "{}", r.all());

    // Deleting the tenant tombstones every key left, the manifest too.
    let mirror_arg = mirror.to_str().unwrap();
    let spin_arg = spin.to_str().unwrap();
    let args = [
        "apply",
        "--delete-tenant",
        "acme",
        "--spin",
        "--remote",
        "--store",
        "S",
        "--mirror",
        mirror_arg,
        "--spin-bin",
        spin_arg,
        "--yes",
    ];
    let r = run_cli(&args, None);
    assert_eq!(r.code, 0, "{}", r.all());
    let tombstones: Vec<(String, String)> = take_calls(&dir)
        .iter()
        .flat_map(|c| pairs(c, &["--store", "S"]))
        .collect();
    assert!(
        tombstones.iter().all(|(_, v)| v.is_empty()),
        "{tombstones:?}"
    );
    assert_eq!(
        tombstones.last().map(|(k, _)| k.as_str()),
        Some("manifest:acme")
    );
    assert!(
        folder_store(&mirror).is_empty(),
        "{:?}",
        folder_store(&mirror)
    );
}

#[test]
fn an_app_and_label_pick_the_store_and_the_default_mirror() {
    let dir = scratch("cloud-app");
    let spin = fake_spin(&dir);
    let file = dir.join("acme.toml");
    std::fs::write(&file, tenant_file(&["a.acme.example"], &[])).unwrap();
    let args = [
        "apply",
        "acme.toml",
        "--spin",
        "--remote",
        "--app",
        "edge-idp",
        "--label",
        "default",
        "--spin-bin",
        spin.to_str().unwrap(),
        "--yes",
    ];
    let r = run_cli(&args, Some(&dir));
    assert_eq!(r.code, 0, "{}", r.all());
    let calls = take_calls(&dir);
    assert!(!calls.is_empty());
    let mut sent = BTreeMap::new();
    for call in &calls {
        sent.extend(pairs(call, &["--app", "edge-idp", "--label", "default"]));
    }
    let mirror = dir.join(".edge-idp/spin-cloud/app/edge-idp/default");
    let store = folder_store(&mirror);
    assert_eq!(store, sent);
    assert_eq!(
        store.keys().collect::<Vec<_>>(),
        [
            "host:a.acme.example",
            "manifest:acme",
            "tenant:acme",
            "tenant:acme:keys"
        ]
    );
    assert!(
        r.stdout
            .contains("Fermyon Cloud app edge-idp label default, read from the local mirror"),
        "{}",
        r.stdout
    );
    // The same store, read from the same default mirror: nothing to do.
    let mut plan = args.to_vec();
    plan[0] = "plan";
    plan.pop();
    let r = run_cli(&plan, Some(&dir));
    assert_eq!(r.code, 0, "{}", r.all());
}

#[test]
fn a_failing_spin_names_the_command_and_leaves_the_mirror_as_written() {
    let dir = scratch("cloud-fail");
    let spin = fake_spin(&dir);
    let mirror = dir.join("mirror");
    let file = dir.join("acme.toml");
    std::fs::write(&file, tenant_file(&["a.acme.example"], &["portal"])).unwrap();

    // The first call fails: nothing is in the mirror.
    std::fs::write(dir.join("fail-from"), "0").unwrap();
    let r = cloud("apply", &file, &spin, &mirror);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr
            .contains("Error: not logged in to Fermyon Cloud (fake)"),
        "spin's own words are shown: {}",
        r.stderr
    );
    let error = r.stderr.lines().find(|l| l.starts_with("error: ")).unwrap();
    assert!(
        error.contains(&format!(
            "error: `{} cloud kv set --store S tenant:acme:oidc:portal=… tenant:acme:keys=…` \
             failed (exit status: 1)",
            spin.display()
        )),
        "{error}"
    );
    assert!(error.contains(&mirror.display().to_string()), "{error}");
    assert!(folder_store(&mirror).is_empty());
    assert_eq!(take_calls(&dir).len(), 1, "nothing runs after a failure");

    // The second call fails: only the first call's pairs are in the mirror.
    std::fs::write(dir.join("fail-from"), "1").unwrap();
    let r = cloud("apply", &file, &spin, &mirror);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr
            .contains("cloud kv set --store S tenant:acme=…` failed"),
        "{}",
        r.stderr
    );
    assert_eq!(
        folder_store(&mirror).keys().collect::<Vec<_>>(),
        ["tenant:acme:keys", "tenant:acme:oidc:portal"]
    );
    take_calls(&dir);

    // Fixed: the next apply writes the rest.
    std::fs::remove_file(dir.join("fail-from")).unwrap();
    let r = cloud("apply", &file, &spin, &mirror);
    assert_eq!(r.code, 0, "{}", r.all());
    let written: Vec<String> = take_calls(&dir)
        .iter()
        .flat_map(|c| pairs(c, &["--store", "S"]))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        written,
        ["tenant:acme", "host:a.acme.example", "manifest:acme"]
    );
}

/// A valid hostname of 253 characters: its key `host:…` is 258 bytes.
fn long_host() -> String {
    let label = "a".repeat(63);
    format!("{label}.{label}.{label}.{}", "b".repeat(61))
}

#[test]
fn a_key_over_256_bytes_is_refused_before_any_spin_call() {
    let dir = scratch("cloud-limits");
    let spin = fake_spin(&dir);
    let mirror = dir.join("mirror");
    let host = long_host();
    let file = dir.join("acme.toml");
    std::fs::write(&file, tenant_file(&["a.acme.example", &host], &[])).unwrap();
    for verb in ["plan", "apply"] {
        let r = cloud(verb, &file, &spin, &mirror);
        assert_eq!(r.code, 1, "{verb}: {}", r.all());
        assert!(
            r.stderr.contains(&format!(
                "key host:{host} is 258 bytes; Spin's key-value store on Fermyon Cloud takes keys \
                 of at most 256 bytes"
            )),
            "{verb}: {}",
            r.stderr
        );
        assert!(r.stderr.contains("nothing was written"), "{}", r.stderr);
    }
    assert!(take_calls(&dir).is_empty(), "spin was called");
    assert!(folder_store(&mirror).is_empty());
}

#[test]
fn push_writes_a_folder_through_spin_and_its_manifest_last() {
    let dir = scratch("cloud-push");
    let spin = fake_spin(&dir);
    let mirror = dir.join("mirror");
    let folder = acme_folder(&dir);
    let args = [
        "push",
        folder.to_str().unwrap(),
        "--spin",
        "--remote",
        "--store",
        "S",
        "--mirror",
        mirror.to_str().unwrap(),
        "--spin-bin",
        spin.to_str().unwrap(),
    ];
    let r = run_cli(&args, None);
    assert_eq!(r.code, 0, "{}", r.all());
    let calls = take_calls(&dir);
    let last = pairs(calls.last().unwrap(), &["--store", "S"]);
    assert_eq!(keys(&last), ["manifest:acme"]);
    let store = folder_store(&mirror);
    let config_version = read_json(&folder.join("tenant.json"))["config_version"]
        .as_u64()
        .unwrap();
    assert_manifest(&store["manifest:acme"], &store, config_version);
    let sent: BTreeMap<String, String> = calls
        .iter()
        .flat_map(|c| pairs(c, &["--store", "S"]))
        .collect();
    assert_eq!(store, sent);
}

#[test]
fn status_reads_the_mirror_and_says_so() {
    let dir = scratch("cloud-status");
    let spin = fake_spin(&dir);
    let mirror = dir.join("mirror");
    onboard(&dir, &spin, &mirror);
    take_calls(&dir);
    let args = [
        "status",
        "a.acme.example",
        "--spin",
        "--remote",
        "--store",
        "S",
        "--mirror",
        mirror.to_str().unwrap(),
        "--spin-bin",
        spin.to_str().unwrap(),
        // Nothing listens there: the health check fails, the store part is still reported.
        "--url",
        "http://127.0.0.1:1",
    ];
    let r = run_cli(&args, None);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stdout
            .contains("config_version     1 deployed (from the local mirror)"),
        "{}",
        r.stdout
    );
    assert!(take_calls(&dir).is_empty(), "status ran spin");
}

#[test]
fn cloud_flags_belong_to_spin_remote_only() {
    let dir = scratch("cloud-flags");
    let file = dir.join("acme.toml");
    std::fs::write(&file, tenant_file(&["a.acme.example"], &[])).unwrap();
    let f = file.to_str().unwrap();
    for (args, expected) in [
        (
            vec!["plan", f, "--spin", "--remote"],
            "name it with --store NAME, or with --app APP --label LABEL",
        ),
        (
            vec![
                "plan", f, "--spin", "--remote", "--store", "S", "--app", "A",
            ],
            "cannot be used with",
        ),
        (
            vec!["plan", f, "--spin", "--remote", "--app", "A"],
            "--label <LABEL>",
        ),
        (
            vec![
                "plan",
                f,
                "--spin",
                "--remote",
                "--store",
                "S",
                "--binding",
                "T",
            ],
            "cannot be used with",
        ),
        (
            vec![
                "plan", f, "--spin", "--remote", "--store", "S", "--kv-dir", "kv",
            ],
            "cannot be used with",
        ),
        (
            vec![
                "plan", f, "--spin", "--local", "--kv-dir", "kv", "--store", "S",
            ],
            "cannot be used with",
        ),
        (
            vec![
                "plan", f, "--spin", "--local", "--kv-dir", "kv", "--mirror", "m",
            ],
            "cannot be used with",
        ),
        (vec!["plan", f, "--remote", "--store", "S"], "--spin"),
        (
            vec!["plan", f, "--remote", "--spin-bin", "/bin/spin"],
            "--spin",
        ),
    ] {
        let r = run_cli(&args, Some(&dir));
        assert_eq!(r.code, 1, "{args:?}: {}", r.all());
        assert!(r.stderr.contains(expected), "{args:?}: {}", r.stderr);
    }
    assert!(
        !dir.join(".edge-idp").exists(),
        "a refused command made a mirror"
    );
}
