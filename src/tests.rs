#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;

use crate::http::Request;
use crate::platform::{HttpMethod, PlatformError};
use crate::testing::*;
use crate::Idp;

fn get(
    idp: &Idp,
    p: &FakePlatform,
    host: &str,
    path: &str,
) -> (u16, String, crate::http::Response) {
    let resp = block_on(idp.handle(Request::new(HttpMethod::Get, host, path), p));
    (
        resp.status,
        String::from_utf8_lossy(&resp.body).into_owned(),
        resp,
    )
}

#[test]
fn tenants_are_picked_by_host_and_cached() {
    let p = FakePlatform::default();
    add_tenant(&p, "acme", "acme.localhost", "http://127.0.0.1:1/acme");
    add_tenant(
        &p,
        "globex",
        "globex.localhost",
        "http://127.0.0.1:1/globex",
    );
    let idp = Idp::new();
    let (status, body, resp) = get(&idp, &p, "acme.localhost:8787", "/healthz");
    assert_eq!(status, 200);
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["tenant"], "acme");
    assert_eq!(json["config_version"], 3);
    assert!(resp.header("x-request-id").is_some());
    let (_, body, _) = get(&idp, &p, "GLOBEX.localhost", "/healthz");
    assert!(body.contains("\"globex\""));
    let reads = p.kv_reads.get();
    get(&idp, &p, "acme.localhost", "/healthz");
    assert_eq!(
        p.kv_reads.get(),
        reads,
        "second request must be served from the cache"
    );
    p.advance_secs(crate::tenant::CONFIG_TTL_SECS + 1);
    get(&idp, &p, "acme.localhost", "/healthz");
    assert_eq!(
        p.kv_reads.get(),
        reads + 2,
        "expired entries are read again"
    );
}

#[test]
fn unknown_host_is_a_plain_404_and_is_cached() {
    let p = FakePlatform::default();
    let idp = Idp::new();
    let (status, body, resp) = get(&idp, &p, "nobody.localhost", "/healthz");
    assert_eq!(status, 404);
    assert!(body.contains("Site not found"));
    assert!(!body.contains("nobody"), "the page names nothing internal");
    assert!(resp.header("content-security-policy").is_some());
    get(&idp, &p, "nobody.localhost", "/");
    assert_eq!(p.kv_reads.get(), 1);
}

#[test]
fn broken_tenant_values_give_503_and_an_audit_event() {
    let cases = [
        ("not json", "{"),
        (
            "unknown field",
            r#"{"schema_version":1,"id":"acme","surprise":true}"#,
        ),
    ];
    for (what, value) in cases {
        let p = FakePlatform::default();
        p.put_kv(
            "host:acme.localhost",
            r#"{"schema_version":1,"tenant":"acme"}"#,
        );
        p.put_kv("tenant:acme", value);
        let (status, body, _) = get(&Idp::new(), &p, "acme.localhost", "/");
        assert_eq!(status, 503, "{what}");
        assert!(body.contains("temporarily unavailable"), "{what}");
        assert_eq!(p.events(), vec!["tenant.config_invalid"], "{what}");
    }
    // A schema-valid value that breaks a rule: plaintext secret.
    let p = FakePlatform::default();
    add_tenant(&p, "acme", "acme.localhost", "http://127.0.0.1:1/acme");
    let mut t = tenant_json("acme", "acme.localhost", "http://127.0.0.1:1/acme");
    t["imis"]["background_account"]["password"] = "hunter2".into();
    p.put_kv("tenant:acme", &t.to_string());
    let (status, _, _) = get(&Idp::new(), &p, "acme.localhost", "/");
    assert_eq!(status, 503);
    // The page's "Try again" link is the path asked for, but only ever a path on this host.
    for path in ["/\\evil.example", "//evil.example", "/%5cevil.example"] {
        let (status, body, _) = get(&Idp::new(), &p, "acme.localhost", path);
        assert_eq!(status, 503, "{path}");
        assert!(!body.contains("evil.example"), "{path}: {body}");
    }
    let (_, body, _) = get(&Idp::new(), &p, "acme.localhost", "/signin");
    assert!(body.contains("href=\"/signin\""), "{body}");
    let reason = p.logs.borrow()[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("background_account.password") && !reason.contains("hunter2"));
    // A host record pointing at a tenant that does not list the host.
    let p = FakePlatform::default();
    add_tenant(&p, "acme", "acme.localhost", "http://127.0.0.1:1/acme");
    p.put_kv(
        "host:evil.localhost",
        r#"{"schema_version":1,"tenant":"acme"}"#,
    );
    assert_eq!(get(&Idp::new(), &p, "evil.localhost", "/").0, 503);
    // Non-loopback plain http iMIS is refused.
    let p = FakePlatform::default();
    add_tenant(&p, "acme", "acme.localhost", "http://imis.example.org");
    assert_eq!(get(&Idp::new(), &p, "acme.localhost", "/").0, 503);
}

/// A GET with the tenant's admin token, as `edge-idp status` sends it.
fn get_as_admin(
    idp: &Idp,
    p: &FakePlatform,
    host: &str,
    tenant: &str,
    path: &str,
) -> (u16, String) {
    let master = crate::seal::MasterKey::from_base64(MASTER_KEY_B64).unwrap();
    let token = crate::healthz::admin_token(&master, tenant);
    let mut req = Request::new(HttpMethod::Get, host, path);
    req.headers
        .push(("authorization".into(), format!("Bearer {token}")));
    let resp = block_on(idp.handle(req, p));
    (
        resp.status,
        String::from_utf8_lossy(&resp.body).into_owned(),
    )
}

#[test]
fn deep_health_reports_imis_online_and_offline() {
    let p = FakePlatform::default();
    add_tenant(&p, "acme", "acme.localhost", "http://127.0.0.1:1/acme");
    p.on_fetch(|req| {
        if req.url.ends_with("/token") {
            let body = String::from_utf8_lossy(&req.body).into_owned();
            assert!(body.contains("grant_type=password") && body.contains("Service-Passw0rd"));
            json_response(200, r#"{"access_token":"tok","token_type":"bearer","expires_in":1199,"userName":"edgeidp-service"}"#)
        } else {
            assert!(req.headers.iter().any(|(k, v)| k == "authorization" && v == "Bearer tok"));
            json_response(200, r#"{"Items":{"$values":[]},"Count":0}"#)
        }
    });
    let idp = Idp::new();
    let deep = |idp: &Idp| get_as_admin(idp, &p, "acme.localhost", "acme", "/healthz?deep=1");
    let (status, body) = deep(&idp);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"imis\":\"online\""));
    assert!(body.contains("\"imis_ms\":"), "{body}");
    assert_eq!(p.requests.borrow().len(), 2);
    deep(&idp);
    assert_eq!(
        p.requests.borrow().len(),
        3,
        "the background token is cached"
    );

    p.on_fetch(|_| Err(PlatformError::Timeout(2000)));
    let (status, body) = deep(&idp);
    assert_eq!(status, 503);
    assert!(body.contains("\"imis\":\"offline\""), "{body}");
    // The reason (iMIS error text, hosts, accounts) stays in the audit log, even for an admin.
    assert!(
        !body.contains("2000 ms") && !body.contains("timed out"),
        "{body}"
    );
    assert!(p.events().contains(&"imis.unavailable".to_string()));
}

#[test]
fn deep_health_without_the_admin_token_never_reaches_imis() {
    let p = FakePlatform::default();
    add_tenant(&p, "acme", "acme.localhost", "http://127.0.0.1:1/acme");
    add_tenant(
        &p,
        "globex",
        "globex.localhost",
        "http://127.0.0.1:1/globex",
    );
    p.on_fetch(|_| panic!("iMIS must not be called"));
    let idp = Idp::new();

    // No token: the plain answer, and a word on what the deep check needs; nothing audited.
    let (status, body, _) = get(&idp, &p, "acme.localhost", "/healthz?deep=1");
    assert_eq!(status, 200, "{body}");
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["config_version"], 3);
    assert_eq!(json["deep"], "needs admin token");
    assert!(json.get("imis").is_none(), "{body}");
    assert!(p.events().is_empty(), "{:?}", p.events());

    // Another tenant's token, a made-up one, another scheme: refused and audited.
    let (status, body) = get_as_admin(&idp, &p, "acme.localhost", "globex", "/healthz?deep=1");
    assert_eq!(status, 401, "{body}");
    assert!(!body.contains("imis"), "{body}");
    for header in ["Bearer nope", "Basic YWRtaW46YWRtaW4=", "Bearer", ""] {
        let mut req = Request::new(HttpMethod::Get, "acme.localhost", "/healthz?deep=1");
        req.headers.push(("Authorization".into(), header.into()));
        let resp = block_on(idp.handle(req, &p));
        assert_eq!(resp.status, 401, "{header}");
        assert_eq!(resp.header("www-authenticate"), Some("Bearer"), "{header}");
    }
    assert_eq!(p.events(), vec!["healthz.admin_refused"; 5]);
    let reasons = p.reasons();
    assert!(reasons.iter().all(|r| !r.contains("nope")), "{reasons:?}");

    // The token of the tenant, with the scheme in any case; without deep=1 it is not needed.
    assert_eq!(get(&idp, &p, "acme.localhost", "/healthz").0, 200);
    let master = crate::seal::MasterKey::from_base64(MASTER_KEY_B64).unwrap();
    let token = crate::healthz::admin_token(&master, "acme");
    assert_ne!(token, crate::healthz::admin_token(&master, "globex"));
    assert_eq!(token.len(), 43, "base64url of 32 bytes, no padding");
    p.on_fetch(|_| Err(PlatformError::Timeout(2000)));
    let mut req = Request::new(HttpMethod::Get, "acme.localhost", "/healthz?deep=1");
    req.headers
        .push(("authorization".into(), format!("bearer {token}")));
    assert_eq!(block_on(idp.handle(req, &p)).status, 503, "iMIS was asked");
}

#[test]
fn the_admin_token_is_a_fixed_function_of_master_key_and_tenant() {
    // The same value scripts/stack.py derives for the end-to-end tests: keep them in step.
    let master = crate::seal::MasterKey::from_base64(MASTER_KEY_B64).unwrap();
    assert_eq!(
        crate::healthz::admin_token(&master, "acme"),
        "MZ4jVlFabNUmahAds67RDkYf4aaEpLJ60WqC0UPn_Yk"
    );
}

#[test]
fn unknown_paths_get_a_branded_404() {
    let p = FakePlatform::default();
    add_tenant(&p, "acme", "acme.localhost", "http://127.0.0.1:1/acme");
    let (status, body, _) = get(&Idp::new(), &p, "acme.localhost", "/nope");
    assert_eq!(status, 404);
    assert!(body.contains("acme association") && body.contains("#112233"));
    assert_eq!(p.events(), vec!["request.refused"]);
}

// ---------------------------------------------------------------- what every runtime owes the core
// The same contract is asserted end to end on both runtimes (tests/e2e/test_runtime_contract.py).

#[test]
fn a_host_differing_in_case_port_or_trailing_dot_picks_the_same_tenant() {
    let p = FakePlatform::default();
    add_tenant(&p, "acme", "acme.localhost", "http://127.0.0.1:1/acme");
    let idp = Idp::new();
    for host in [
        "acme.localhost",
        "ACME.LocalHost",
        "acme.localhost.",
        "acme.localhost:8443",
        "Acme.Localhost.:8443",
    ] {
        let (status, body, _) = get(&idp, &p, host, "/healthz");
        assert_eq!(status, 200, "{host}");
        let json: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["tenant"], "acme", "{host}");
    }
    for host in [
        "acme.localhost.evil",
        "evil.acme.localhost",
        "acme.localhost..",
        "acme",
        "",
        "acme.localhost@evil",
        "host:acme.localhost",
    ] {
        let (status, body, _) = get(&idp, &p, host, "/healthz");
        assert_eq!(status, 404, "{host:?}");
        assert!(body.contains("Site not found"), "{host:?}");
    }
}

#[test]
fn the_issuer_follows_the_normalized_host() {
    let p = FakePlatform::default();
    add_tenant(&p, "acme", "acme.localhost", "http://127.0.0.1:1/acme");
    let idp = Idp::new();
    let issuer = |host: &str| {
        let (status, body, _) = get(&idp, &p, host, "/.well-known/openid-configuration");
        assert_eq!(status, 200, "{host}");
        let json: Value = serde_json::from_str(&body).unwrap();
        json["issuer"].as_str().unwrap().to_string()
    };
    assert_eq!(issuer("ACME.localhost."), "https://acme.localhost");
    assert_eq!(issuer("acme.localhost:443"), "https://acme.localhost");
    assert_eq!(issuer("Acme.Localhost:8443"), "https://acme.localhost:8443");
}

fn post_body(idp: &Idp, p: &FakePlatform, len: usize) -> crate::http::Response {
    let mut req = Request::new(HttpMethod::Post, "acme.localhost", "/signin");
    req.headers.push((
        "content-type".into(),
        "application/x-www-form-urlencoded".into(),
    ));
    req.body = b"p="
        .iter()
        .copied()
        .chain(std::iter::repeat(b'a'))
        .take(len)
        .collect();
    block_on(idp.handle(req, p))
}

#[test]
fn a_body_over_the_limit_is_refused_before_any_route_reads_it() {
    let p = FakePlatform::default();
    add_tenant(&p, "acme", "acme.localhost", "http://127.0.0.1:1/acme");
    let idp = Idp::new();
    let resp = post_body(&idp, &p, crate::http::MAX_BODY_BYTES + 1);
    assert_eq!(resp.status, 413);
    let body = String::from_utf8_lossy(&resp.body);
    assert!(body.contains("Request too large") && body.contains("acme association"));
    assert!(p.requests.borrow().is_empty(), "nothing reached iMIS");
    assert_eq!(p.events(), vec!["request.refused"]);
    // At the limit the route reads it (and refuses the made-up form for its own reasons).
    let resp = post_body(&idp, &p, crate::http::MAX_BODY_BYTES);
    assert_ne!(resp.status, 413);
}

#[test]
fn the_in_memory_platform_keeps_the_runtime_contract() {
    use crate::platform::Platform;
    let p = FakePlatform::default();
    // Take-once: one taker gets the value; it is gone after its time-to-live.
    block_on(p.put_once("k", b"v", 10)).unwrap();
    assert_eq!(block_on(p.take_once("k")).unwrap(), Some(b"v".to_vec()));
    assert_eq!(block_on(p.take_once("k")).unwrap(), None);
    block_on(p.put_once("k", b"v", 10)).unwrap();
    p.advance_secs(10);
    assert_eq!(block_on(p.take_once("k")).unwrap(), None, "expired");
    // Counters live window_s from their first increment, not from the latest one.
    assert_eq!(block_on(p.count("c", 10, 1)).unwrap(), 1);
    p.advance_secs(6);
    assert_eq!(block_on(p.count("c", 10, 1)).unwrap(), 2);
    assert_eq!(block_on(p.count("c", 10, 0)).unwrap(), 2, "delta 0 reads");
    p.advance_secs(4);
    assert_eq!(block_on(p.count("c", 10, 1)).unwrap(), 1, "a new window");
    // The shared cache is a cache: with none (a Workers isolate) it answers nothing.
    block_on(p.shared_put("s", b"v"));
    assert_eq!(block_on(p.shared_get("s")), None);
    p.shared_cache.set(true);
    block_on(p.shared_put("s", b"v"));
    assert_eq!(block_on(p.shared_get("s")), Some(b"v".to_vec()));
}

#[test]
fn a_body_stream_is_read_only_past_the_limit() {
    use crate::http::{read_body_capped, MAX_BODY_BYTES};
    let pulled = std::cell::Cell::new(0usize);
    let chunks = futures_util::stream::iter(std::iter::repeat_with(|| {
        pulled.set(pulled.get() + 1);
        Ok::<_, ()>(vec![b'a'; 64 * 1024])
    }));
    let body = block_on(read_body_capped(chunks));
    assert!(body.len() > MAX_BODY_BYTES && body.len() <= MAX_BODY_BYTES + 64 * 1024);
    assert_eq!(
        pulled.get(),
        MAX_BODY_BYTES / (64 * 1024) + 1,
        "an endless body is not read to its end"
    );
    let short =
        futures_util::stream::iter(vec![Ok::<_, ()>(b"a=1".to_vec()), Ok(b"&b=2".to_vec())]);
    assert_eq!(block_on(read_body_capped(short)), b"a=1&b=2");
    let broken = futures_util::stream::iter(vec![Ok(b"a=1".to_vec()), Err(())]);
    assert!(
        block_on(read_body_capped(broken)).is_empty(),
        "a body that breaks off reads as empty"
    );
}

#[test]
fn a_disabled_tenant_answers_every_page_with_not_available_and_does_nothing_else() {
    let p = FakePlatform::default();
    let mut t = tenant_json("acme", "acme.localhost", "http://127.0.0.1:1/acme");
    t["disabled"] = serde_json::json!(true);
    p.put_kv(
        "host:acme.localhost",
        r#"{"schema_version":1,"tenant":"acme"}"#,
    );
    p.put_kv("tenant:acme", &t.to_string());
    add_tenant(
        &p,
        "globex",
        "globex.localhost",
        "http://127.0.0.1:1/globex",
    );
    let idp = Idp::new();
    for path in [
        "/",
        "/signin?return=/",
        "/oidc/authorize?client_id=rp",
        "/saml/demo-sp/sso",
        "/nope",
    ] {
        let (status, body, _) = get(&idp, &p, "acme.localhost", path);
        assert_eq!(status, 503, "{path}");
        assert!(
            body.contains("Sign-in unavailable") && body.contains("acme association"),
            "{path}"
        );
    }
    let resp = block_on(idp.handle(
        Request::new(HttpMethod::Post, "acme.localhost", "/oidc/token"),
        &p,
    ));
    assert_eq!(resp.status, 503);
    let (status, body, _) = get(&idp, &p, "acme.localhost", "/healthz?deep=1");
    assert_eq!(status, 503);
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (json["status"].as_str(), json["tenant"].as_str()),
        (Some("disabled"), Some("acme"))
    );
    assert!(p.requests.borrow().is_empty(), "nothing reached iMIS");
    // Another tenant is not affected.
    assert_eq!(get(&idp, &p, "globex.localhost", "/healthz").0, 200);
}

#[test]
fn an_empty_configuration_value_is_no_value() {
    use crate::platform::Platform;
    let p = FakePlatform::default();
    add_tenant(&p, "acme", "acme.localhost", "http://127.0.0.1:1/acme");
    // The admin CLI's tombstone on Fermyon Cloud, which cannot delete a key.
    p.put_kv("tenant:acme:saml:gone", "");
    p.put_kv("tenant:acme:oidc:gone", "");
    p.put_kv("tenant:acme:bridge:gone", "");
    assert_eq!(
        p.kv.borrow().get("tenant:acme:saml:gone"),
        Some(&Vec::new())
    );
    assert_eq!(
        block_on(p.config_get("tenant:acme:saml:gone")).unwrap(),
        None
    );
    assert_eq!(
        block_on(p.config_get("tenant:acme:saml:never")).unwrap(),
        None
    );
    assert!(block_on(p.config_get("tenant:acme")).unwrap().is_some());

    // Each reader answers a tombstoned app exactly as a key that was never written.
    let idp = Idp::new();
    for (gone, never) in [
        ("/saml/gone/metadata", "/saml/never/metadata"),
        ("/bridge/gone/ping", "/bridge/never/ping"),
        (
            "/oidc/authorize?client_id=gone&redirect_uri=https%3A%2F%2Frp.example%2Fcb\
             &response_type=code&scope=openid",
            "/oidc/authorize?client_id=never&redirect_uri=https%3A%2F%2Frp.example%2Fcb\
             &response_type=code&scope=openid",
        ),
    ] {
        let (status, _, _) = get(&idp, &p, "acme.localhost", gone);
        let gone_events = p.logs.take();
        let (expected, _, _) = get(&idp, &p, "acme.localhost", never);
        let never_events = p.logs.take();
        assert_eq!(status, expected, "{gone}");
        assert!((400..500).contains(&status), "{gone}: {status}");
        let names = |events: &[crate::audit::AuditEvent]| -> Vec<String> {
            events.iter().map(|e| e.event.to_string()).collect()
        };
        assert_eq!(names(&gone_events), names(&never_events), "{gone}");
    }

    // A tombstoned hostname is an unknown host; a tombstoned tenant value is a missing one.
    p.put_kv("host:gone.localhost", "");
    let (status, body, _) = get(&Idp::new(), &p, "gone.localhost", "/healthz");
    assert_eq!(status, 404);
    assert!(body.contains("Site not found"), "{body}");
    p.put_kv("tenant:acme", "");
    let (status, _, _) = get(&Idp::new(), &p, "acme.localhost", "/healthz");
    assert_eq!(status, 503);
    let reason = p.logs.borrow()[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("tenant value missing"), "{reason}");
}

/// The tombstone rule holds only if every configuration read goes through `config_get`.
#[test]
fn the_core_reads_configuration_only_through_config_get() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    assert!(files.len() > 20, "{files:?}");
    // Split so that this file does not match itself.
    let call = [".kv_", "get("].concat();
    let callers: Vec<String> = files
        .iter()
        .filter(|f| std::fs::read_to_string(f).unwrap().contains(&call))
        .map(|f| f.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    assert_eq!(
        callers,
        ["platform.rs"],
        "read configuration with config_get"
    );
}
