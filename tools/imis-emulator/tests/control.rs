//! Control API: faults, request log, reset, health; startup errors; logging hygiene.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{request, Emu};
use serde_json::{json, Value};

fn pw(emu: &Emu, user: &str) -> common::Resp {
    emu.post_form(
        "/acme/token",
        &[
            ("grant_type", "password"),
            ("username", user),
            ("password", "Member-Passw0rd"),
        ],
        &[],
    )
}

#[test]
fn health() {
    let emu = Emu::start();
    let r = emu.get("/__emulator/health");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");
    assert_eq!(r.json()["sites"], json!(["acme", "globex"]));
    assert_eq!(emu.get("/__emulator/nope").status, 404);
}

#[test]
fn status_fault_applies_n_times_to_matching_paths() {
    let emu = Emu::start();
    let r = emu.post_json(
        "/__emulator/faults",
        &json!({"path_contains": "/TOKEN", "status": 503, "times": 2}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    // Other paths are unaffected.
    assert_eq!(emu.get("/acme/sso/EdgeIdP-OIDC").status, 200);
    for _ in 0..2 {
        let r = pw(&emu, "jsmith");
        assert_eq!(r.status, 503);
        assert!(
            serde_json::from_str::<Value>(&r.body).is_err(),
            "plain error body"
        );
    }
    assert_eq!(pw(&emu, "jsmith").status, 200, "fault used up");
    assert_eq!(emu.get("/__emulator/faults").json(), json!([]));
}

#[test]
fn latency_fault_delays_and_empty_path_matches_everything() {
    let emu = Emu::start();
    emu.post_json(
        "/__emulator/faults",
        &json!({"latency_ms": 400, "times": 1}),
    );
    let t = Instant::now();
    let r = pw(&emu, "jsmith");
    assert_eq!(r.status, 200, "latency alone still answers normally");
    assert!(
        t.elapsed() >= Duration::from_millis(400),
        "{:?}",
        t.elapsed()
    );
    let t = Instant::now();
    assert_eq!(pw(&emu, "jsmith").status, 200);
    assert!(t.elapsed() < Duration::from_millis(350));
}

#[test]
fn garbage_fault_returns_non_json_200() {
    let emu = Emu::start();
    let token = emu.acme_service_token();
    emu.post_json(
        "/__emulator/faults",
        &json!({"path_contains": "$/EdgeIdP/Profile", "garbage": true}),
    );
    let r = emu.get_auth(
        "/acme/api/IQA?QueryName=$/EdgeIdP/Profile&Parameter=jsmith",
        &token,
    );
    assert_eq!(r.status, 200);
    assert!(serde_json::from_str::<Value>(&r.body).is_err());
    assert!(!r.body.is_empty());
    // Matching is on the decoded query too: other queries are fine.
    let r = emu.get_auth(
        "/acme/api/IQA?QueryName=$/EdgeIdP/Roles&Parameter=jsmith",
        &token,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["Count"], 2);
    // Without `times` the fault stays; DELETE clears it.
    let r = emu.get_auth(
        "/acme/api/IQA?QueryName=$/EdgeIdP/Profile&Parameter=jsmith",
        &token,
    );
    assert!(serde_json::from_str::<Value>(&r.body).is_err());
    assert_eq!(emu.delete("/__emulator/faults").status, 200);
    let r = emu.get_auth(
        "/acme/api/IQA?QueryName=$/EdgeIdP/Profile&Parameter=jsmith",
        &token,
    );
    assert_eq!(r.json()["Count"], 1);
}

#[test]
fn hanging_request_does_not_block_others() {
    let emu = Emu::start();
    emu.post_json(
        "/__emulator/faults",
        &json!({"path_contains": "/api/", "hang": true}),
    );
    let token = emu.acme_service_token();
    let t = Instant::now();
    let hung = request(
        &emu.addr,
        "GET",
        "/acme/api/User?UserName=jsmith",
        &[("Authorization", &format!("Bearer {token}"))],
        None,
        Duration::from_millis(600),
    );
    assert!(hung.is_err(), "expected a timeout, got {hung:?}");
    assert!(t.elapsed() >= Duration::from_millis(550));
    // While another request hangs on an open connection, others are answered.
    let mut open = TcpStream::connect(&emu.addr).unwrap();
    write!(
        open,
        "GET /acme/api/User?UserName=jsmith HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    assert_eq!(emu.get("/__emulator/health").status, 200);
    assert_eq!(pw(&emu, "jsmith").status, 200);
    assert!(t.elapsed() < Duration::from_secs(2));
    // Clearing faults releases the hung request: the connection is closed without an answer.
    emu.delete("/__emulator/faults");
    open.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = Vec::new();
    let _ = open.read_to_end(&mut buf);
    assert!(buf.is_empty(), "hung request must not be answered");
    let log = emu.get("/__emulator/requests").json();
    assert!(log.as_array().unwrap().iter().any(|e| e["status"] == 0));
}

#[test]
fn request_log_counts_subrequests_without_values() {
    let emu = Emu::start();
    let token = emu.acme_service_token();
    // Something before the clear.
    pw(&emu, "jsmith");
    assert_eq!(emu.delete("/__emulator/requests").status, 200);
    assert_eq!(emu.get("/__emulator/requests").json(), json!([]));

    // A sign-in as the IdP would do it.
    let (_, rt) = common::sso_sign_in(&emu, "/acme", "EdgeIdP-OIDC", "jsmith", "Member-Passw0rd");
    emu.post_form(
        "/acme/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "EdgeIdP-OIDC"),
            ("client_secret", "acme-oidc-secret"),
            ("refresh_token", &rt),
        ],
        &[],
    );
    emu.get_auth("/acme/api/User?UserName=jsmith", &token);
    emu.get_auth(
        "/acme/api/IQA?QueryName=$/EdgeIdP/Profile&Parameter=jsmith",
        &token,
    );
    emu.get_auth(
        "/acme/api/IQA?QueryName=$/EdgeIdP/Roles&Parameter=jsmith",
        &token,
    );
    emu.get("/globex/nothing-here");

    let log = emu.get("/__emulator/requests").json();
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 6, "{log:#?}");
    assert!(log
        .iter()
        .all(|e| !e["path"].as_str().unwrap().starts_with("/__emulator")));
    assert_eq!(log[0]["endpoint"], "sso");
    assert_eq!(log[0]["method"], "POST");
    assert_eq!(log[1]["endpoint"], "token");
    assert_eq!(log[1]["grant_type"], "refresh_token");
    assert_eq!(log[1]["site"], "acme");
    assert_eq!(log[1]["status"], 200);
    assert_eq!(log[2]["entity"], "User");
    assert_eq!(log[2]["query_keys"], json!(["UserName"]));
    assert_eq!(log[3]["query_name"], "$/EdgeIdP/Profile");
    assert_eq!(log[3]["query_keys"], json!(["QueryName", "Parameter"]));
    let api_calls = log.iter().filter(|e| e["endpoint"] == "api").count();
    assert_eq!(api_calls, 3);
    assert_eq!(log[5]["status"], 404);
    assert_eq!(log[5]["site"], "globex");
    assert!(log.iter().all(|e| e["millis"].is_u64()));
    let text = serde_json::to_string(log).unwrap();
    assert!(!text.contains("jsmith"), "no values in the log: {text}");
    assert!(!text.contains(&rt));
}

#[test]
fn reset_clears_tokens_sessions_faults_and_log() {
    let emu = Emu::start();
    let token = emu.acme_service_token();
    let (cookie, _) =
        common::sso_sign_in(&emu, "/acme", "EdgeIdP-OIDC", "jsmith", "Member-Passw0rd");
    emu.post_json(
        "/__emulator/faults",
        &json!({"path_contains": "/nothing", "status": 500}),
    );
    assert_eq!(
        emu.get_auth("/acme/api/User?UserName=jsmith", &token)
            .status,
        200
    );
    assert_eq!(emu.post_json("/__emulator/reset", &json!({})).status, 200);
    assert_eq!(
        emu.get_auth("/acme/api/User?UserName=jsmith", &token)
            .status,
        401
    );
    let page = emu.req(
        "GET",
        "/acme/sso/EdgeIdP-OIDC",
        &[("Cookie", &cookie)],
        None,
    );
    assert!(common::handoff(&page.body).is_none());
    assert_eq!(emu.get("/__emulator/faults").json(), json!([]));
    let log = emu.get("/__emulator/requests").json();
    assert_eq!(
        log.as_array().unwrap().len(),
        2,
        "only the two requests after the reset"
    );
}

#[test]
fn bad_fault_specs_are_rejected() {
    let emu = Emu::start();
    assert_eq!(
        emu.post_json("/__emulator/faults", &json!({"statuss": 500}))
            .status,
        400
    );
    assert_eq!(
        emu.post_json("/__emulator/faults", &json!({"status": 42}))
            .status,
        400
    );
    assert_eq!(
        emu.post_json("/__emulator/faults", &json!({"times": 0}))
            .status,
        400
    );
    assert_eq!(emu.get("/__emulator/faults").json(), json!([]));
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let emu = Emu::start();
    let mut s = TcpStream::connect(&emu.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for _ in 0..2 {
        s.write_all(b"GET /__emulator/health HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        // Read exactly one response (head + Content-Length bytes).
        let mut raw = Vec::new();
        let mut byte = [0u8; 1];
        while !raw.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut byte).unwrap();
            raw.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&raw).into_owned();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).unwrap();
        let text = format!("{head}{}", String::from_utf8_lossy(&body));
        assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
        assert!(text.contains("\"status\":\"ok\""), "{text}");
    }
}

#[test]
fn logs_never_contain_passwords_or_tokens() {
    let emu = Emu::start();
    let token = emu.acme_service_token();
    let (_, rt) = common::sso_sign_in(&emu, "/acme", "EdgeIdP-OIDC", "jsmith", "Member-Passw0rd");
    emu.get_auth("/acme/api/User?UserName=jsmith", &token);
    let log = emu.stderr();
    assert!(log.contains("POST /acme/token -> 200"), "{log}");
    assert!(log.contains("GET /acme/api/User -> 200"), "{log}");
    assert!(!log.contains("Passw0rd"));
    assert!(!log.contains(&token));
    assert!(!log.contains(&rt));
}

#[test]
fn unknown_placeholder_is_a_startup_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_imis-emulator"))
        .args(["--addr", "127.0.0.1:0", "--fixtures"])
        .arg(common::demo_fixtures())
        .env_remove("IDP_PORT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("${IDP_PORT}"), "{err}");

    // The environment is the fallback for --var.
    let dir = std::env::temp_dir().join(format!("imis-emu-fx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fx = dir.join("one.json");
    std::fs::write(
        &fx,
        r#"{"sites":[{"name":"solo","web_prefix":"/${SITE_PREFIX}","api_prefix":"/${SITE_PREFIX}",
            "users":[{"username":"u","password":"${PW}","imis_id":"1","contact_key":"K","first_name":"F","last_name":"L"}]}]}"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_imis-emulator"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--var",
            "SITE_PREFIX=solo",
            "--fixtures",
        ])
        .arg(&fx)
        .env("PW", "from-env-1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let addr = line.trim().rsplit("http://").next().unwrap().to_string();
    let r = request(
        &addr,
        "POST",
        "/solo/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(b"grant_type=password&username=u&password=from-env-1"),
        Duration::from_secs(5),
    )
    .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(r.status, 200, "{}", r.body);
}
