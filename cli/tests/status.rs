//! `edge-idp status`, run as a program against a local Spin store written by `apply` and a
//! stand-in runtime: a plain-http server on 127.0.0.1 that answers `/healthz?deep=1` as the
//! runtime does (online, offline, or 401 for any other token than the tenant's).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::*;
use edge_idp::seal::MasterKey;

const HOST: &str = "sso.acme.example";
const PASSWORD: &str = "imis-password-5e1f";
/// Another master key than the runtime's (the stand-in's) one.
const OTHER_KEY: &str = "HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4";

const FILE: &str = r#"[tenant]
id = "acme"
name = "Acme"
hostnames = ["sso.acme.example"]
identity_mode = "imis_legacy"
[tenant.imis]
base_url = "https://members.acme.example"
background_account = { username = "svc", password = "env:ST_PASSWORD" }

[[saml]]
id = "moodle"
name = "Moodle"
sp = { entity_id = "urn:moodle", acs = [{ url = "https://moodle.example/acs", binding = "post" }] }
"#;

/// The stand-in runtime: what it answers with the right token, and every request it got.
struct Runtime {
    port: u16,
    answer: Arc<Mutex<(u16, String)>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Runtime {
    /// Listens on 127.0.0.1 and answers the tenant's admin token with `answer`, any other
    /// request with 401, as the runtime does.
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let answer = Arc::new(Mutex::new((200, String::new())));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let master = MasterKey::from_base64(MASTER_KEY).unwrap();
        let token = edge_idp::healthz::admin_token(&master, "acme");
        let (a, r) = (answer.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut head = String::new();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let authorized = head
                    .lines()
                    .any(|l| l.eq_ignore_ascii_case(&format!("authorization: Bearer {token}")));
                r.lock().unwrap().push(head);
                let (status, body) = if authorized {
                    a.lock().unwrap().clone()
                } else {
                    (401, r#"{"error":"admin token refused"}"#.to_owned())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self {
            port,
            answer,
            requests,
        }
    }

    fn answer(&self, status: u16, body: &str) {
        *self.answer.lock().unwrap() = (status, body.to_owned());
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// `edge-idp status HOST` against the store `kv`, with `key` as the master key.
fn status(kv: &Path, url: &str, key: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "status",
        HOST,
        "--spin",
        "--local",
        "--kv-dir",
        kv.to_str().unwrap(),
        "--url",
        url,
    ];
    args.extend_from_slice(extra);
    let mut c = cmd(&args);
    c.env("EDGE_IDP_MASTER_KEY", key)
        .env("ST_PASSWORD", PASSWORD);
    for proxy in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        c.env_remove(proxy);
    }
    let r = run(c);
    for key in [MASTER_KEY, OTHER_KEY] {
        let token = edge_idp::healthz::admin_token(&MasterKey::from_base64(key).unwrap(), "acme");
        for secret in [key, token.as_str(), PASSWORD, "sealed:v1:"] {
            assert!(!r.all().contains(secret), "a secret shown: {}", r.all());
        }
    }
    r
}

/// A store with the tenant file applied; the file's path.
fn applied(dir: &Path, kv: &Path) -> PathBuf {
    let file = dir.join("acme.toml");
    std::fs::write(&file, FILE).unwrap();
    let mut c = cmd(&[
        "apply",
        file.to_str().unwrap(),
        "--spin",
        "--local",
        "--kv-dir",
        kv.to_str().unwrap(),
        "--yes",
    ]);
    c.env("EDGE_IDP_MASTER_KEY", MASTER_KEY)
        .env("ST_PASSWORD", PASSWORD);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.all());
    file
}

const ONLINE: &str =
    r#"{"status":"ok","tenant":"acme","config_version":1,"imis":"online","imis_ms":7}"#;

#[test]
fn a_healthy_tenant_in_sync_with_its_file() {
    let dir = scratch("status-healthy");
    let kv = dir.join("kv");
    let file = applied(&dir, &kv);
    let runtime = Runtime::start();
    runtime.answer(200, ONLINE);

    let r = status(
        &kv,
        &runtime.url(),
        MASTER_KEY,
        &["--file", file.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    for line in [
        "Status of sso.acme.example:",
        "  tenant             acme (host:sso.acme.example on local Spin store",
        "  config_version     1 deployed; ",
        "acme.toml: no config_version, in sync",
        "  iMIS               online (7 ms)",
        "  SAML moodle        certificate valid until ",
        "days left); no next key staged",
        "  OIDC keys          current kid ",
        "; next key staged; age of the current key not recorded",
        "Status: healthy",
    ] {
        assert!(r.stdout.contains(line), "{line}\n{}", r.stdout);
    }
    // The runtime was asked as HOST, with the tenant's admin token.
    let requests = runtime.requests.lock().unwrap();
    assert_eq!(requests.len(), 1);
    let head = requests[0].to_ascii_lowercase();
    assert!(
        head.starts_with("get /healthz?deep=1 http/1.1\r\n"),
        "{head}"
    );
    assert!(head.contains(&format!("\r\nhost: {HOST}\r\n")), "{head}");
    assert!(head.contains("\r\nauthorization: bearer "), "{head}");
}

#[test]
fn pending_changes_offline_imis_and_a_refused_token_need_attention() {
    let dir = scratch("status-attention");
    let kv = dir.join("kv");
    let file = applied(&dir, &kv);
    let runtime = Runtime::start();
    runtime.answer(200, ONLINE);

    // The file changed since it was applied.
    std::fs::write(
        &file,
        FILE.replace("name = \"Acme\"", "name = \"Acme Inc\""),
    )
    .unwrap();
    let r = status(
        &kv,
        &runtime.url(),
        MASTER_KEY,
        &["--file", file.to_str().unwrap()],
    );
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stdout.contains("1 change pending"), "{}", r.stdout);
    assert!(
        r.stdout.contains("Status: NEEDS ATTENTION: ")
            && r.stdout.contains("is not applied (1 changes pending)"),
        "{}",
        r.stdout
    );

    // iMIS offline.
    runtime.answer(
        503,
        r#"{"status":"degraded","tenant":"acme","config_version":1,"imis":"offline"}"#,
    );
    let r = status(&kv, &runtime.url(), MASTER_KEY, &[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stdout.contains("  iMIS               OFFLINE"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("NEEDS ATTENTION: iMIS is offline"),
        "{}",
        r.stdout
    );

    // Another master key than the runtime's: its token is refused.
    runtime.answer(200, ONLINE);
    let r = status(&kv, &runtime.url(), OTHER_KEY, &[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stdout.contains("the admin token was refused (401)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("NEEDS ATTENTION: the runtime refused the admin token"),
        "{}",
        r.stdout
    );

    // No runtime at all.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let r = status(&kv, &url, MASTER_KEY, &[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stdout
            .contains("  iMIS               unknown: no answer ("),
        "{}",
        r.stdout
    );
}

#[test]
fn an_unknown_host_a_foreign_file_and_plain_http_elsewhere_are_errors() {
    let dir = scratch("status-errors");
    let kv = dir.join("kv");
    applied(&dir, &kv);
    let runtime = Runtime::start();
    runtime.answer(200, ONLINE);

    let mut c = cmd(&[
        "status",
        "nobody.example",
        "--spin",
        "--local",
        "--kv-dir",
        kv.to_str().unwrap(),
        "--url",
        &runtime.url(),
    ]);
    c.env("EDGE_IDP_MASTER_KEY", MASTER_KEY);
    let r = run(c);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr
            .contains("host:nobody.example is not in local Spin store"),
        "{}",
        r.stderr
    );

    let other = dir.join("globex.toml");
    std::fs::write(&other, FILE.replace("id = \"acme\"", "id = \"globex\"")).unwrap();
    let r = status(
        &kv,
        &runtime.url(),
        MASTER_KEY,
        &["--file", other.to_str().unwrap()],
    );
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr
            .contains("is tenant globex's file, but sso.acme.example belongs to tenant acme"),
        "{}",
        r.stderr
    );

    let r = status(&kv, "http://sso.acme.example", MASTER_KEY, &[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr
            .contains("plain http would send the admin token in clear"),
        "{}",
        r.stderr
    );
    assert!(
        runtime.requests.lock().unwrap().is_empty(),
        "nothing was asked"
    );

    // Without a master key there is no token to ask with.
    let mut c = cmd(&[
        "status",
        HOST,
        "--spin",
        "--local",
        "--kv-dir",
        kv.to_str().unwrap(),
        "--url",
        &runtime.url(),
    ]);
    c.env_remove("EDGE_IDP_MASTER_KEY");
    let r = run(c);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("no master key"), "{}", r.stderr);
}
