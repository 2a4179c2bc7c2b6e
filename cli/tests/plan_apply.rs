//! `edge-idp plan` and `edge-idp apply`, run as a program against a temporary local Spin store
//! and a stand-in wrangler: onboarding, removals, hostname moves, deleting and disabling a
//! tenant, secrets refused or never shown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use edge_idp::seal::{open_secret, MasterKey};
use serde_json::Value;

/// Secrets the tests' files refer to; none may ever appear in any output.
const PASSWORD: &str = "imis-password-7f3a91";
const VENDOR: &str = "vendor-secret-c0ffee42";
const PROMPTED: &str = "typed-in-secret-5521";

/// A tenant file for `id` with `hosts`, an OIDC client `portal`, a bridge app `events` and a
/// SAML app `moodle` (keys generated), each app only when listed in `apps`.
fn tenant_file(id: &str, hosts: &[&str], apps: &[&str], extra_tenant: &str) -> String {
    let hosts: Vec<String> = hosts.iter().map(|h| format!("{h:?}")).collect();
    let mut text = format!(
        r#"[tenant]
id = "{id}"
name = "Tenant {id}"
hostnames = [{}]
identity_mode = "imis_legacy"
{extra_tenant}
[tenant.imis]
base_url = "https://members.{id}.example"
background_account = {{ username = "svc", password = "env:PA_PASSWORD" }}
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
secret_sha256 = "env:PA_VENDOR"
"#,
        );
    }
    if apps.contains(&"moodle") {
        text.push_str(
            r#"
[[saml]]
id = "moodle"
name = "Moodle"
sp = { entity_id = "urn:moodle", acs = [{ url = "https://moodle.example/acs", binding = "post" }] }
"#,
        );
    }
    text
}

/// Writes `text` as `dir/NAME.toml`.
fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the CLI with the examples' master key and the tests' secrets in its environment.
fn run_env(args: &[&str], stdin: &str) -> Run {
    let mut c = cmd(args);
    c.env("EDGE_IDP_MASTER_KEY", MASTER_KEY)
        .env("PA_PASSWORD", PASSWORD)
        .env("PA_VENDOR", VENDOR);
    let r = run_with(c, stdin);
    for secret in [PASSWORD, VENDOR, PROMPTED, "sealed:v1:"] {
        assert!(!r.all().contains(secret), "{secret} shown: {}", r.all());
    }
    r
}

/// `plan`/`apply` FILE-or-flags against the local Spin store `kv`.
fn spin(verb: &str, what: &[&str], kv: &Path, extra: &[&str]) -> Run {
    let mut args = vec![verb];
    args.extend_from_slice(what);
    args.extend_from_slice(&["--spin", "--local", "--kv-dir", kv.to_str().unwrap()]);
    args.extend_from_slice(extra);
    run_env(&args, "")
}

/// `--yes` for apply, nothing for plan.
fn yes_for(verb: &str) -> &'static [&'static str] {
    if verb == "apply" {
        &["--yes"]
    } else {
        &[]
    }
}

/// Every key of the local Spin store, sorted, with its value.
fn spin_store(kv: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(kv.join("default")) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = entries
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
        .collect();
    out.sort();
    out
}

fn keys_of(store: &[(String, String)]) -> Vec<&str> {
    store.iter().map(|(k, _)| k.as_str()).collect()
}

fn value_of(store: &[(String, String)], key: &str) -> Value {
    let (_, v) = store.iter().find(|(k, _)| k == key).unwrap();
    serde_json::from_str(v).unwrap()
}

const ACME_KEYS: [&str; 7] = [
    "host:a.acme.example",
    "host:b.acme.example",
    "tenant:acme",
    "tenant:acme:bridge:events",
    "tenant:acme:keys",
    "tenant:acme:oidc:portal",
    "tenant:acme:saml:moodle",
];

/// Onboards acme (two hostnames, three apps) into `kv`; returns its file.
fn onboard_acme(dir: &Path, kv: &Path) -> PathBuf {
    let text = tenant_file(
        "acme",
        &["a.acme.example", "b.acme.example"],
        &["portal", "events", "moodle"],
        "",
    );
    let file = write_file(dir, "acme", &text);
    let r = spin("apply", &[file.to_str().unwrap()], kv, &["--yes"]);
    assert_eq!(r.code, 0, "{}", r.all());
    file
}

#[test]
fn onboarding_is_plan_then_apply_then_an_empty_plan() {
    let dir = scratch("pa-onboard");
    let kv = dir.join("kv");
    let text = tenant_file(
        "acme",
        &["a.acme.example", "b.acme.example"],
        &["portal", "events", "moodle"],
        "",
    );
    let file = write_file(&dir, "acme", &text);
    let f = file.to_str().unwrap();

    let r = spin("plan", &[f], &kv, &[]);
    assert_eq!(r.code, 2, "{}", r.all());
    for key in ACME_KEYS {
        assert!(
            r.stdout.contains(&format!("  + {key}")),
            "{key}: {}",
            r.stdout
        );
    }
    assert!(r
        .stdout
        .contains("+ tenant:acme:saml:moodle (keys generated)"));
    assert!(r
        .stdout
        .contains("Plan: 7 to add, 0 to change, 0 to remove"));
    assert!(spin_store(&kv).is_empty(), "plan wrote something");

    let r = spin("apply", &[f], &kv, &["--yes"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let store = spin_store(&kv);
    assert_eq!(keys_of(&store), ACME_KEYS);
    // Hostnames are written after the tenant, the tenant after its apps.
    let put: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("put "))
        .collect();
    assert_eq!(
        &put[4..],
        ["tenant:acme", "host:a.acme.example", "host:b.acme.example"]
    );

    // What was written is what the core reads: sealed for acme, digests, keys that open.
    let master = MasterKey::from_base64(MASTER_KEY).unwrap();
    let tenant = value_of(&store, "tenant:acme");
    assert_eq!(tenant["config_version"], 1);
    let sealed = tenant["imis"]["background_account"]["password"]
        .as_str()
        .unwrap();
    assert_eq!(open_secret(&master, "acme", sealed).unwrap(), PASSWORD);
    let (_, raw) = store.iter().find(|(k, _)| k == "tenant:acme").unwrap();
    edge_idp::tenant::TenantConfig::parse(raw.as_bytes()).unwrap();
    let (_, raw) = store
        .iter()
        .find(|(k, _)| k == "tenant:acme:saml:moodle")
        .unwrap();
    edge_idp::saml::config::SamlApp::parse(raw.as_bytes()).unwrap();
    let (_, raw) = store.iter().find(|(k, _)| k == "tenant:acme:keys").unwrap();
    edge_idp::oidc::keys::parse("acme", raw.as_bytes(), Some(&master)).unwrap();
    let vendor_digest: String = sha2_hex(VENDOR);
    assert_eq!(
        value_of(&store, "tenant:acme:bridge:events")["secret_sha256"],
        vendor_digest
    );

    let r = spin("plan", &[f], &kv, &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.starts_with("No changes: tenant acme"),
        "{}",
        r.stdout
    );
    let r = spin("apply", &[f], &kv, &["--yes"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(spin_store(&kv), store, "an empty apply changed the store");
}

fn sha2_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

#[test]
fn removing_an_app_and_a_hostname_deletes_exactly_those_keys() {
    let dir = scratch("pa-remove");
    let kv = dir.join("kv");
    let file = onboard_acme(&dir, &kv);
    let before = spin_store(&kv);
    let text = tenant_file("acme", &["a.acme.example"], &["events", "moodle"], "");
    std::fs::write(&file, text).unwrap();
    let f = file.to_str().unwrap();

    let r = spin("plan", &[f], &kv, &[]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stdout.contains("  - host:b.acme.example\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("  - tenant:acme:oidc:portal\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("  ~ tenant:acme: config_version, hostnames\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("0 to add, 1 to change, 2 to remove"),
        "{}",
        r.stdout
    );

    let r = spin("apply", &[f], &kv, &["--yes"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let lines: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("put ") || l.starts_with("deleted "))
        .collect();
    assert_eq!(
        lines,
        [
            "deleted host:b.acme.example",
            "put tenant:acme",
            "deleted tenant:acme:oidc:portal"
        ],
        "{}",
        r.stdout
    );
    let after = spin_store(&kv);
    let gone: Vec<&str> = keys_of(&before)
        .into_iter()
        .filter(|k| !keys_of(&after).contains(k))
        .collect();
    assert_eq!(gone, ["host:b.acme.example", "tenant:acme:oidc:portal"]);
    assert_eq!(value_of(&after, "tenant:acme")["config_version"], 2);
    // Everything else is untouched, the SAML key included.
    for key in [
        "tenant:acme:saml:moodle",
        "tenant:acme:keys",
        "host:a.acme.example",
    ] {
        assert_eq!(value_of(&after, key), value_of(&before, key), "{key}");
    }
}

#[test]
fn a_hostname_of_another_tenant_is_refused_unless_moved() {
    let dir = scratch("pa-move");
    let kv = dir.join("kv");
    onboard_acme(&dir, &kv);
    let beta = write_file(
        &dir,
        "beta",
        &tenant_file("beta", &["beta.example", "b.acme.example"], &[], ""),
    );
    let b = beta.to_str().unwrap();
    let before = spin_store(&kv);

    for verb in ["plan", "apply"] {
        let r = spin(verb, &[b], &kv, yes_for(verb));
        assert_eq!(r.code, 1, "{verb}: {}", r.all());
        assert!(
            r.stderr
                .contains("host b.acme.example belongs to tenant acme"),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr.contains("--move-host b.acme.example=acme"),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("nothing was written"), "{}", r.stderr);
        assert_eq!(spin_store(&kv), before, "{verb} changed the store");
    }

    let moved = ["--move-host", "b.acme.example=acme"];
    let r = spin("plan", &[b], &kv, &moved);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stdout
            .contains("  > host:b.acme.example moved from tenant acme\n"),
        "{}",
        r.stdout
    );
    let r = spin("apply", &[b], &kv, &[&moved[..], &["--yes"]].concat());
    assert_eq!(r.code, 0, "{}", r.all());
    let store = spin_store(&kv);
    assert_eq!(value_of(&store, "host:b.acme.example")["tenant"], "beta");
    assert_eq!(value_of(&store, "host:a.acme.example")["tenant"], "acme");

    // acme's file still lists it: acme's plan now refuses it the other way round.
    let acme = dir.join("acme.toml");
    let r = spin("plan", &[acme.to_str().unwrap()], &kv, &[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr
            .contains("host b.acme.example belongs to tenant beta"),
        "{}",
        r.stderr
    );
}

#[test]
fn delete_tenant_removes_every_key_of_that_tenant_only() {
    let dir = scratch("pa-delete");
    let kv = dir.join("kv");
    onboard_acme(&dir, &kv);
    let beta = write_file(
        &dir,
        "beta",
        &tenant_file("beta", &["beta.example"], &["portal"], ""),
    );
    let r = spin("apply", &[beta.to_str().unwrap()], &kv, &["--yes"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let before = spin_store(&kv);

    let r = spin("plan", &["--delete-tenant", "acme"], &kv, &[]);
    assert_eq!(r.code, 2, "{}", r.all());
    for key in ACME_KEYS {
        assert!(
            r.stdout.contains(&format!("  - {key}\n")),
            "{key}: {}",
            r.stdout
        );
    }
    assert!(!r.stdout.contains("beta"), "{}", r.stdout);
    assert_eq!(spin_store(&kv), before);

    // No terminal and no --yes: nothing is written.
    let r = spin("apply", &["--delete-tenant", "acme"], &kv, &[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("run again with --yes"), "{}", r.stderr);
    assert_eq!(spin_store(&kv), before);

    let r = spin("apply", &["--delete-tenant", "acme"], &kv, &["--yes"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let deleted: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("deleted "))
        .collect();
    assert_eq!(
        deleted.last(),
        Some(&"tenant:acme"),
        "the tenant value goes last"
    );
    assert_eq!(
        keys_of(&spin_store(&kv)),
        [
            "host:beta.example",
            "tenant:beta",
            "tenant:beta:keys",
            "tenant:beta:oidc:portal"
        ]
    );
    let r = spin("plan", &["--delete-tenant", "acme"], &kv, &[]);
    assert_eq!(r.code, 0, "{}", r.all());
}

#[test]
fn disabling_a_tenant_is_one_field_and_a_note() {
    let dir = scratch("pa-disable");
    let kv = dir.join("kv");
    let file = onboard_acme(&dir, &kv);
    let text = tenant_file(
        "acme",
        &["a.acme.example", "b.acme.example"],
        &["portal", "events", "moodle"],
        "disabled = true",
    );
    std::fs::write(&file, text).unwrap();
    let r = spin("apply", &[file.to_str().unwrap()], &kv, &["--yes"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout
            .contains("~ tenant:acme: config_version, disabled\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("will be DISABLED"), "{}", r.stdout);
    let store = spin_store(&kv);
    assert_eq!(value_of(&store, "tenant:acme")["disabled"], true);
    assert_eq!(keys_of(&store), ACME_KEYS, "disabling removes nothing");
}

#[test]
fn a_clear_secret_is_refused_naming_its_field() {
    let dir = scratch("pa-clear");
    let kv = dir.join("kv");
    let text = tenant_file("acme", &["a.acme.example"], &[], "")
        .replace("env:PA_PASSWORD", "clear-text-hunter2");
    let file = write_file(&dir, "acme", &text);
    for verb in ["plan", "apply"] {
        let r = spin(verb, &[file.to_str().unwrap()], &kv, yes_for(verb));
        assert_eq!(r.code, 1, "{}", r.all());
        assert!(
            r.stderr
                .contains("[tenant] /imis/background_account/password: a clear secret"),
            "{}",
            r.stderr
        );
        assert!(!r.all().contains("hunter2"), "{}", r.all());
        assert_eq!(r.stdout, "");
    }
    assert!(spin_store(&kv).is_empty());
}

#[test]
fn a_changed_secret_is_resealed_and_shown_only_as_changed() {
    let dir = scratch("pa-reseal");
    let kv = dir.join("kv");
    let file = onboard_acme(&dir, &kv);
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("env:PA_PASSWORD", "prompt");
    std::fs::write(&file, text).unwrap();
    let f = file.to_str().unwrap();
    let args = [
        "apply",
        f,
        "--spin",
        "--local",
        "--kv-dir",
        kv.to_str().unwrap(),
        "--yes",
    ];
    let r = run_env(&args, &format!("{PROMPTED}\n"));
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout
            .contains("~ tenant:acme: config_version, imis (sealed value changed)\n"),
        "{}",
        r.stdout
    );
    let store = spin_store(&kv);
    let master = MasterKey::from_base64(MASTER_KEY).unwrap();
    let sealed = value_of(&store, "tenant:acme")["imis"]["background_account"]["password"].clone();
    assert_eq!(
        open_secret(&master, "acme", sealed.as_str().unwrap()).unwrap(),
        PROMPTED
    );
    // The same secret typed again: nothing to do.
    let mut args = args.to_vec();
    args[0] = "plan";
    args.pop();
    let r = run_env(&args, &format!("{PROMPTED}\n"));
    assert_eq!(r.code, 0, "{}", r.all());
}

#[test]
fn plan_help_gives_the_exit_codes_and_needs_a_master_key() {
    let r = run(cmd(&["plan", "--help"]));
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout
            .contains("0 when there is nothing to do, 2 when there are changes, 1 on error"),
        "{}",
        r.stdout
    );
    let dir = scratch("pa-nokey");
    let file = write_file(&dir, "acme", &tenant_file("acme", &["a.example"], &[], ""));
    let r = run(cmd(&[
        "plan",
        file.to_str().unwrap(),
        "--spin",
        "--local",
        "--kv-dir",
        "kv",
    ]));
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("no master key"), "{}", r.stderr);
    let r = run(cmd(&[
        "plan",
        file.to_str().unwrap(),
        "--delete-tenant",
        "acme",
        "--local",
    ]));
    // A usage error of plan is 1, never 2 (which means "changes to make").
    assert_eq!(
        r.code,
        1,
        "a file and --delete-tenant conflict: {}",
        r.all()
    );
    assert!(r.stderr.contains("cannot be used with"), "{}", r.stderr);
    let r = run(cmd(&[
        "apply",
        "--delete-tenant",
        "acme",
        "--local",
        "--bogus",
    ]));
    assert_eq!(r.code, 2, "{}", r.all());
}

#[test]
fn the_example_file_mirrors_the_demo_tenant() {
    let dir = scratch("pa-example");
    std::fs::copy(example("tenant-file/acme.toml"), dir.join("acme.toml")).unwrap();
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    std::fs::write(dir.join("secrets/acme-oidc-client-secret"), "oidc-secret\n").unwrap();
    let kv = dir.join("kv");
    let mut c = cmd(&[
        "apply",
        dir.join("acme.toml").to_str().unwrap(),
        "--spin",
        "--local",
        "--kv-dir",
        kv.to_str().unwrap(),
        "--yes",
    ]);
    for (name, value) in [
        ("EDGE_IDP_MASTER_KEY", MASTER_KEY),
        ("ACME_IMIS_PASSWORD", "Service-Passw0rd"),
        ("ACME_SAML_CLIENT_SECRET", "acme-saml-secret"),
        (
            "ACME_DEMO_HS_SIGNING_KEY",
            "demo-hs-jwt-signing-key-0123456789abcdef",
        ),
        (
            "ACME_DEMO_VENDOR_SECRET",
            "demo-vendor-secret-local-only-0123456789",
        ),
    ] {
        c.env(name, value);
    }
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.all());
    // One key per document of demo/tenants/acme, and the same content as far as it goes.
    let demo = repo().join("demo/tenants/acme");
    let store = spin_store(&kv);
    for kind in ["saml", "oidc", "bridge"] {
        for entry in std::fs::read_dir(demo.join(kind)).unwrap() {
            let path = entry.unwrap().path();
            let id = path.file_stem().unwrap().to_string_lossy().into_owned();
            let key = format!("tenant:acme:{kind}:{id}");
            let got = value_of(&store, &key);
            let want = read_json(&path);
            for (field, value) in want.as_object().unwrap() {
                let text = value.to_string();
                if text.contains("${") {
                    continue;
                }
                assert_eq!(&got[field], value, "{key} {field}");
            }
        }
    }
    let tenant = value_of(&store, "tenant:acme");
    let want = read_json(&demo.join("tenant.json"));
    for field in [
        "name",
        "hostnames",
        "branding",
        "identity_mode",
        "session",
        "allowed_return_domains",
    ] {
        assert_eq!(tenant[field], want[field], "{field}");
    }
}

// ---- Workers, through a stand-in wrangler ----

/// What the fake wrangler prints for `kv bulk get FILE`: wrangler's JSON object of values.
#[cfg(unix)]
const BULK_GET: &str = "import json, os, sys; store = sys.argv[1]; \
    path = lambda k: os.path.join(store, k); \
    print(json.dumps({k: {\"value\": open(path(k)).read() if os.path.isfile(path(k)) else None} \
    for k in json.load(open(sys.argv[2]))}, indent=2))";

/// What the fake wrangler prints for `kv key list --prefix P`: names, with their metadata.
#[cfg(unix)]
const LIST: &str = "import json, os, sys; d = sys.argv[1]; \
    meta = lambda k: os.path.join(d, 'meta', k); \
    print(json.dumps([dict(name=k, **({'metadata': json.load(open(meta(k)))} \
    if os.path.isfile(meta(k)) else {})) for k in sorted(os.listdir(os.path.join(d, 'store'))) \
    if k.startswith(sys.argv[2])]))";

/// What the fake wrangler does for `kv bulk delete FILE`: removes each key and its metadata, and
/// adds a line `deleted KEY` for each to the calls.
#[cfg(unix)]
const BULK_DELETE: &str = "import json, os, sys; d = sys.argv[1]; \
    keys = json.load(open(sys.argv[2])); \
    [os.remove(p) for k in keys \
    for p in (os.path.join(d, 'store', k), os.path.join(d, 'meta', k)) if os.path.isfile(p)]; \
    open(os.path.join(d, 'calls'), 'a').write(''.join('deleted %s\\n' % k for k in keys))";

/// A stand-in wrangler over `dir/store/` (one file per key, named by the key) and `dir/meta/`
/// (the keys' metadata). `kv key get` and `kv key list --prefix` read them as wrangler 4
/// answers (a missing key: "Value not found"); `kv bulk delete FILE` removes FILE's keys;
/// `kv bulk get FILE` prints the values of FILE's keys; `kv bulk put FILE` copies FILE to
/// `dir/bulk-<n>.json`, which `flush` writes into the store after the run (a run reads before
/// it writes and never puts and deletes one key, so the end state is the same). Every call is
/// appended to `dir/calls`.
#[cfg(unix)]
fn fake_wrangler(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("wrangler");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             d=\"{dir}\"\n\
             BULK_GET='{BULK_GET}'\n\
             LIST=\"{LIST}\"\n\
             BULK_DELETE=\"{BULK_DELETE}\"\n\
             echo \"$*\" >> \"$d/calls\"\n\
             case \"$1 $2 $3\" in\n\
             'kv key get') if [ -f \"$d/store/$4\" ]; then cat \"$d/store/$4\"; else echo 'Value not found'; fi; exit 0;;\n\
             'kv key list') exec python3 -c \"$LIST\" \"$d\" \"$5\";;\n\
             'kv bulk delete') exec python3 -c \"$BULK_DELETE\" \"$d\" \"$4\";;\n\
             'kv bulk put') n=$(ls \"$d\" | grep -c '^bulk-'); cp \"$4\" \"$d/bulk-$n.json\"; exit 0;;\n\
             'kv bulk get') exec python3 -c \"$BULK_GET\" \"$d/store\" \"$4\";;\n\
             esac\n\
             echo \"fake wrangler: unexpected call $*\" >&2; exit 99\n",
            dir = dir.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(dir.join("store")).unwrap();
    std::fs::create_dir_all(dir.join("meta")).unwrap();
    script
}

/// Writes the bulk puts of the last run into the fake store, in order, with their metadata.
#[cfg(unix)]
fn flush(dir: &Path) {
    for n in 0.. {
        let bulk = dir.join(format!("bulk-{n}.json"));
        let Ok(text) = std::fs::read_to_string(&bulk) else {
            break;
        };
        let entries: Value = serde_json::from_str(&text).unwrap();
        for e in entries.as_array().unwrap() {
            let key = e["key"].as_str().unwrap();
            std::fs::write(dir.join("store").join(key), e["value"].as_str().unwrap()).unwrap();
            let meta = dir.join("meta").join(key);
            match e.get("metadata") {
                Some(m) => std::fs::write(meta, m.to_string()).unwrap(),
                None => {
                    let _ = std::fs::remove_file(meta);
                }
            }
        }
        std::fs::remove_file(bulk).unwrap();
    }
}

/// The fake's calls since the last `take_calls`, without the namespace flags.
#[cfg(unix)]
fn take_calls(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("calls")).unwrap_or_default();
    let _ = std::fs::remove_file(dir.join("calls"));
    text.lines()
        .map(|l| {
            let l = l.split(" --binding").next().unwrap();
            if l.starts_with("kv bulk put ") {
                "kv bulk put".to_owned()
            } else if l.starts_with("kv bulk delete ") {
                "kv bulk delete".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect()
}

#[cfg(unix)]
fn workers(verb: &str, file: &Path, wrangler: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        verb,
        file.to_str().unwrap(),
        "--remote",
        "--wrangler-bin",
        wrangler.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run_env(&args, "")
}

#[cfg(unix)]
#[test]
fn workers_onboarding_then_removals_in_order() {
    let dir = scratch("pa-workers");
    let wrangler = fake_wrangler(&dir);
    let text = tenant_file(
        "acme",
        &["a.acme.example", "b.acme.example"],
        &["portal", "events"],
        "",
    );
    let file = write_file(&dir, "acme", &text);

    let r = workers("plan", &file, &wrangler, &[]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stdout.contains("Plan: 6 to add"), "{}", r.stdout);
    assert_eq!(
        take_calls(&dir),
        [
            "kv key list --prefix tenant:acme:",
            "kv key get tenant:acme",
            "kv key get host:a.acme.example",
            "kv key get host:b.acme.example",
        ]
    );

    let r = workers("apply", &file, &wrangler, &["--yes"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let calls = take_calls(&dir);
    assert_eq!(
        &calls[4..],
        ["kv bulk put", "kv bulk put", "kv bulk put"],
        "{calls:?}"
    );
    // The bulk puts: apps and keys, then the tenant, then its hostnames.
    let names = |n: usize| -> Vec<String> {
        let bulk: Value = read_json(&dir.join(format!("bulk-{n}.json")));
        bulk.as_array()
            .unwrap()
            .iter()
            .map(|e| e["key"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(1), ["tenant:acme"]);
    assert_eq!(names(2), ["host:a.acme.example", "host:b.acme.example"]);
    assert!(names(0).contains(&"tenant:acme:keys".to_owned()));
    flush(&dir);

    let r = workers("plan", &file, &wrangler, &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.starts_with("No changes"), "{}", r.stdout);
    let calls = take_calls(&dir);
    assert!(
        calls.contains(&"kv key get tenant:acme:oidc:portal".to_owned()),
        "{calls:?}"
    );

    let text = tenant_file("acme", &["a.acme.example"], &["events"], "");
    std::fs::write(&file, text).unwrap();
    let r = workers("apply", &file, &wrangler, &["--yes"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let writes: Vec<String> = take_calls(&dir)
        .into_iter()
        .filter(|c| !c.starts_with("kv key get") && !c.starts_with("kv key list"))
        .collect();
    assert_eq!(
        writes,
        [
            "kv bulk delete",
            "deleted host:b.acme.example",
            "kv bulk put",
            "kv bulk delete",
            "deleted tenant:acme:oidc:portal"
        ]
    );
    flush(&dir);
    let mut left: Vec<String> = std::fs::read_dir(dir.join("store"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "host:a.acme.example",
            "tenant:acme",
            "tenant:acme:bridge:events",
            "tenant:acme:keys"
        ]
    );
    let tenant: Value = read_json(&dir.join("store/tenant:acme"));
    assert_eq!(tenant["config_version"], 2);
}

#[test]
fn several_files_are_planned_and_applied_together() {
    let dir = scratch("pa-many");
    let kv = dir.join("kv");
    let files: Vec<PathBuf> = ["t1", "t2", "t3"]
        .iter()
        .map(|id| {
            let host = format!("{id}.example");
            write_file(&dir, id, &tenant_file(id, &[&host], &["portal"], ""))
        })
        .collect();
    let paths: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();

    let r = spin("plan", &paths, &kv, &[]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stdout.contains("3 of 3 tenants have changes"),
        "{}",
        r.stdout
    );
    let r = spin("apply", &paths, &kv, &["--yes"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let store = spin_store(&kv);
    for id in ["t1", "t2", "t3"] {
        assert_eq!(
            value_of(&store, &format!("host:{id}.example"))["tenant"],
            id
        );
        assert!(keys_of(&store).contains(&format!("tenant:{id}:oidc:portal").as_str()));
    }
    let r = spin("plan", &paths, &kv, &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("0 of 3 tenants have changes"),
        "{}",
        r.stdout
    );

    // One file changes: only its tenant has a plan, and only its key goes.
    let host = "t2.example";
    std::fs::write(&files[1], tenant_file("t2", &[host], &[], "")).unwrap();
    let r = spin("apply", &paths, &kv, &["--yes"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("deleted tenant:t2:oidc:portal"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("tenant:t1:oidc"), "{}", r.stdout);
    let after = spin_store(&kv);
    assert!(!keys_of(&after).contains(&"tenant:t2:oidc:portal"));
    assert!(keys_of(&after).contains(&"tenant:t3:oidc:portal"));
}

#[test]
fn several_files_may_not_share_a_tenant_or_a_hostname() {
    let dir = scratch("pa-many-clash");
    let kv = dir.join("kv");
    let a = write_file(&dir, "a", &tenant_file("a", &["a.example"], &[], ""));
    let again = write_file(&dir, "a-again", &tenant_file("a", &["z.example"], &[], ""));
    let b = write_file(&dir, "b", &tenant_file("b", &["a.example"], &[], ""));
    for (other, what) in [
        (&again, "both describe tenant a"),
        (&b, "both list the hostname a.example"),
    ] {
        let r = spin(
            "apply",
            &[a.to_str().unwrap(), other.to_str().unwrap()],
            &kv,
            &["--yes"],
        );
        assert_eq!(r.code, 1, "{}", r.all());
        assert!(r.stderr.contains(what), "{}", r.stderr);
        assert!(spin_store(&kv).is_empty(), "nothing written");
    }
}

#[cfg(unix)]
#[test]
fn several_files_on_workers_read_in_bulk_and_write_each_phase_once() {
    let dir = scratch("pa-workers-many");
    let wrangler = fake_wrangler(&dir);
    let files: Vec<PathBuf> = ["w1", "w2", "w3"]
        .iter()
        .map(|id| {
            let host = format!("{id}.example");
            write_file(&dir, id, &tenant_file(id, &[&host], &["events"], ""))
        })
        .collect();
    let mut args: Vec<&str> = vec!["apply"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    args.extend([
        "--remote",
        "--wrangler-bin",
        wrangler.to_str().unwrap(),
        "--yes",
    ]);
    let r = run_env(&args, "");
    assert_eq!(r.code, 0, "{}", r.all());
    let calls = take_calls(&dir);
    assert_eq!(
        calls[..2],
        ["kv key list --prefix host:", "kv key list --prefix tenant:"]
    );
    // An empty store: nothing to fetch. Apps, tenants, hostnames: three puts for the three
    // tenants together.
    assert_eq!(
        calls[2..],
        ["kv bulk put", "kv bulk put", "kv bulk put"],
        "{calls:?}"
    );
    flush(&dir);

    args[0] = "plan";
    args.pop();
    let r = run_env(&args, "");
    assert_eq!(r.code, 0, "a second plan finds nothing to do: {}", r.all());
    // Every value apply wrote is in the local cache under the digest the listing shows.
    assert_eq!(
        take_calls(&dir),
        ["kv key list --prefix host:", "kv key list --prefix tenant:"]
    );
    assert!(
        r.stderr
            .contains("read 12 values: 12 from the local cache, 0 fetched"),
        "{}",
        r.stderr
    );

    // A value written behind the CLI's back (no digest in its metadata) is fetched, alone, and
    // its change shows.
    let key = "tenant:w2:bridge:events";
    let mut changed: Value = read_json(&dir.join("store").join(key));
    changed["name"] = Value::from("Changed by hand");
    std::fs::write(dir.join("store").join(key), changed.to_string()).unwrap();
    std::fs::remove_file(dir.join("meta").join(key)).unwrap();
    let r = run_env(&args, "");
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stdout.contains(&format!("~ {key}: name")), "{}", r.stdout);
    assert!(
        r.stderr.contains("11 from the local cache, 1 fetched"),
        "{}",
        r.stderr
    );
    let calls = take_calls(&dir);
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert!(calls[2].starts_with("kv bulk get "), "{calls:?}");

    // A cached file that no longer matches its digest is a miss, never a wrong value.
    let digest = |v: &str| sha2_hex(v);
    let w1 = std::fs::read_to_string(dir.join("store/tenant:w1:bridge:events")).unwrap();
    std::fs::write(cache_dir().join(digest(&w1)), "{}").unwrap();
    let r = run_env(&args, "");
    // Keys with equal values share one cached file: each of them is fetched.
    let sharing = std::fs::read_dir(dir.join("store"))
        .unwrap()
        .filter(|e| std::fs::read_to_string(e.as_ref().unwrap().path()).unwrap() == w1)
        .count();
    let fetched = 1 + sharing;
    assert!(
        r.stderr.contains(&format!(
            "{} from the local cache, {fetched} fetched",
            12 - fetched
        )),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains("tenant:w1"), "{}", r.stdout);

    // Without a cache every value is fetched.
    let mut c = common::cmd(&args);
    c.env("EDGE_IDP_MASTER_KEY", MASTER_KEY)
        .env("PA_PASSWORD", PASSWORD)
        .env("PA_VENDOR", VENDOR)
        .env("EDGE_IDP_CACHE_DIR", "");
    let r = common::run(c);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stderr.contains("0 from the local cache, 12 fetched"),
        "{}",
        r.stderr
    );
}
