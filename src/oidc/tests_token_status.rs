//! Revocation (RFC 7009) and introspection (RFC 7662) over the fake platform: each client
//! learns and ends only its own tokens, and ending one ends its family.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use super::tests::{put_code, send, setup};
use crate::http::encode_form;
use crate::platform::HttpMethod;
use crate::testing::FakePlatform;
use crate::Idp;

fn rp_auth() -> String {
    format!("Basic {}", STANDARD.encode("rp:s3cret"))
}

/// Tokens for client `rp` (secret `s3cret`): access, refresh.
fn tokens(idp: &Idp, p: &FakePlatform, code: &str) -> (String, String) {
    put_code(p, code, "rp", "https://rp.example/cb", None);
    let (status, body, _) = send(
        idp,
        p,
        HttpMethod::Post,
        "/oidc/token",
        &[("authorization", &rp_auth())],
        &encode_form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", "https://rp.example/cb"),
        ]),
    );
    assert_eq!(status, 200, "{body}");
    (
        body["access_token"].as_str().unwrap().to_string(),
        body["refresh_token"].as_str().unwrap().to_string(),
    )
}

fn as_rp(idp: &Idp, p: &FakePlatform, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let (status, body, resp) = send(
        idp,
        p,
        HttpMethod::Post,
        path,
        &[("authorization", &rp_auth())],
        &encode_form(form),
    );
    if status == 200 {
        assert_eq!(resp.header("cache-control"), Some("no-store"));
    }
    (status, body)
}

fn as_hs(idp: &Idp, p: &FakePlatform, path: &str, token: &str) -> (u16, Value) {
    let (status, body, _) = send(
        idp,
        p,
        HttpMethod::Post,
        path,
        &[],
        &encode_form(&[
            ("client_id", "hs"),
            ("client_secret", "hs-secret"),
            ("token", token),
        ]),
    );
    (status, body)
}

fn userinfo_status(idp: &Idp, p: &FakePlatform, at: &str) -> u16 {
    let bearer = format!("Bearer {at}");
    send(
        idp,
        p,
        HttpMethod::Get,
        "/oidc/userinfo",
        &[("authorization", &bearer)],
        "",
    )
    .0
}

fn refresh_error(idp: &Idp, p: &FakePlatform, rt: &str) -> Value {
    as_rp(
        idp,
        p,
        "/oidc/token",
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .1["error"]
        .clone()
}

#[test]
fn introspection_tells_a_client_about_its_own_tokens_only() {
    let p = setup();
    let idp = Idp::new();
    let (at, rt) = tokens(&idp, &p, "c-intro");
    let (status, info) = as_rp(&idp, &p, "/oidc/introspect", &[("token", &at)]);
    assert_eq!(status, 200);
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["client_id"], "rp");
    assert_eq!(info["sub"], "CK-1");
    assert_eq!(info["scope"], "openid email offline_access");
    assert_eq!(info["token_type"], "Bearer");
    assert!(info["exp"].as_u64().is_some());
    assert!(
        info.get("ext").is_none() && info.get("fam").is_none(),
        "nothing internal"
    );
    let (_, info) = as_rp(&idp, &p, "/oidc/introspect", &[("token", &rt)]);
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["token_type"], "refresh_token");
    // Introspecting a refresh token does not spend it.
    assert_eq!(refresh_error(&idp, &p, &rt), Value::Null);
    // Another client, garbage, and a missing token.
    assert_eq!(
        as_hs(&idp, &p, "/oidc/introspect", &at).1,
        json!({"active": false})
    );
    for junk in ["x", "a.b", "a.b.c", &format!("{at}x")] {
        let (status, info) = as_rp(&idp, &p, "/oidc/introspect", &[("token", junk)]);
        assert_eq!((status, info), (200, json!({"active": false})), "{junk}");
    }
    let (status, err) = as_rp(&idp, &p, "/oidc/introspect", &[]);
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, err) = as_rp(
        &idp,
        &p,
        "/oidc/introspect",
        &[("token", &at), ("token", &rt)],
    );
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // No client authentication, no answer.
    let (status, _, _) = send(
        &idp,
        &p,
        HttpMethod::Post,
        "/oidc/introspect",
        &[],
        &encode_form(&[("client_id", "rp"), ("token", &at)]),
    );
    assert_eq!(status, 401);
}

#[test]
fn revoking_a_refresh_token_ends_its_family() {
    let p = setup();
    let idp = Idp::new();
    let (at, rt) = tokens(&idp, &p, "c-rev-rt");
    assert_eq!(userinfo_status(&idp, &p, &at), 200);
    let (status, body) = as_rp(
        &idp,
        &p,
        "/oidc/revoke",
        &[("token", &rt), ("token_type_hint", "refresh_token")],
    );
    assert_eq!((status, body), (200, Value::Null));
    assert_eq!(refresh_error(&idp, &p, &rt), "invalid_grant");
    assert_eq!(
        userinfo_status(&idp, &p, &at),
        401,
        "the access token went with it"
    );
    let (_, info) = as_rp(&idp, &p, "/oidc/introspect", &[("token", &at)]);
    assert_eq!(info["active"], false);
    assert!(p.events().contains(&"oidc.token_revoked".to_string()));
    // Revoking it again, or a token that never was: 200 all the same (RFC 7009 §2.2).
    assert_eq!(as_rp(&idp, &p, "/oidc/revoke", &[("token", &rt)]).0, 200);
    assert_eq!(
        as_rp(&idp, &p, "/oidc/revoke", &[("token", "nope.nope")]).0,
        200
    );
}

#[test]
fn revoking_an_access_token_ends_its_family_and_a_wrong_hint_does_not_matter() {
    let p = setup();
    let idp = Idp::new();
    let (at, rt) = tokens(&idp, &p, "c-rev-at");
    let (status, _) = as_rp(
        &idp,
        &p,
        "/oidc/revoke",
        &[("token", &at), ("token_type_hint", "refresh_token")],
    );
    assert_eq!(status, 200);
    assert_eq!(userinfo_status(&idp, &p, &at), 401);
    assert_eq!(refresh_error(&idp, &p, &rt), "invalid_grant");
}

#[test]
fn another_client_cannot_revoke_a_token() {
    let p = setup();
    let idp = Idp::new();
    let (at, rt) = tokens(&idp, &p, "c-rev-other");
    for token in [&at, &rt] {
        let (status, err) = as_hs(&idp, &p, "/oidc/revoke", token);
        assert_eq!(
            (status, err["error"].as_str()),
            (400, Some("invalid_request"))
        );
    }
    assert_eq!(userinfo_status(&idp, &p, &at), 200, "still valid");
    assert_eq!(refresh_error(&idp, &p, &rt), Value::Null, "still valid");
}

#[test]
fn discovery_advertises_revocation_and_introspection() {
    let p = setup();
    let idp = Idp::new();
    let (_, doc, _) = send(
        &idp,
        &p,
        HttpMethod::Get,
        "/.well-known/openid-configuration",
        &[],
        "",
    );
    assert_eq!(
        doc["revocation_endpoint"],
        format!("{}/oidc/revoke", super::tests::ISS)
    );
    assert_eq!(
        doc["introspection_endpoint"],
        format!("{}/oidc/introspect", super::tests::ISS)
    );
    assert_eq!(
        doc["revocation_endpoint_auth_methods_supported"],
        doc["token_endpoint_auth_methods_supported"]
    );
}

#[test]
fn a_rotated_client_secret_keeps_working_until_its_overlap_ends() {
    let p = setup();
    let mut rp: Value = serde_json::from_slice(&p.kv.borrow()["tenant:acme:oidc:rp"]).unwrap();
    rp["client_secret_hash"] = json!(super::client::secret_hash("new-secret"));
    rp["previous_client_secret"] = json!({"client_secret_hash": super::client::secret_hash("s3cret"),
                                          "valid_until": crate::testing::NOW_MS / 1000 + 60});
    p.put_kv("tenant:acme:oidc:rp", &rp.to_string());
    let idp = Idp::new();
    let (at, _) = tokens(&idp, &p, "c-overlap");
    assert!(p
        .events()
        .contains(&"oidc.previous_secret_used".to_string()));
    let new_auth = format!("Basic {}", STANDARD.encode("rp:new-secret"));
    let introspect = |auth: &str| {
        send(
            &idp,
            &p,
            HttpMethod::Post,
            "/oidc/introspect",
            &[("authorization", auth)],
            &encode_form(&[("token", &at)]),
        )
        .0
    };
    assert_eq!(introspect(&new_auth), 200);
    assert_eq!(
        introspect(&rp_auth()),
        200,
        "the old secret, within the overlap"
    );
    p.advance_secs(61);
    assert_eq!(introspect(&rp_auth()), 401, "the overlap is over");
    assert_eq!(introspect(&new_auth), 200);
}

#[test]
fn a_revocation_the_store_cannot_record_is_not_reported_as_done() {
    let p = setup();
    let idp = Idp::new();
    let (at, rt) = tokens(&idp, &p, "c-rev-down");
    p.counter_writes_fail.set(true);
    let (status, body) = as_rp(&idp, &p, "/oidc/revoke", &[("token", &rt)]);
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(p
        .logs
        .borrow()
        .iter()
        .any(|e| e.event == "oidc.token_revoked" && e.outcome == crate::audit::Outcome::Failure));
    // Nothing was revoked, and the client was told so: once the store is back, it revokes.
    p.counter_writes_fail.set(false);
    assert_eq!(userinfo_status(&idp, &p, &at), 200);
    assert_eq!(as_rp(&idp, &p, "/oidc/revoke", &[("token", &rt)]).0, 200);
    assert_eq!(userinfo_status(&idp, &p, &at), 401);
}

#[test]
fn a_reused_code_is_refused_and_the_audit_says_when_its_family_could_not_be_revoked() {
    let p = setup();
    let idp = Idp::new();
    let redeem = || {
        as_rp(
            &idp,
            &p,
            "/oidc/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", "c-reuse-down"),
                ("redirect_uri", "https://rp.example/cb"),
            ],
        )
    };
    let (at, _) = tokens(&idp, &p, "c-reuse-down");
    p.counter_writes_fail.set(true);
    assert_eq!(redeem().1["error"], "invalid_grant");
    let logs = p.logs.borrow();
    let line = logs
        .iter()
        .rfind(|e| e.event == "oidc.code_reused")
        .unwrap();
    assert_eq!(line.outcome, crate::audit::Outcome::Failure);
    assert!(line
        .reason
        .as_deref()
        .unwrap_or("")
        .contains("could not be revoked"));
    drop(logs);
    p.counter_writes_fail.set(false);
    assert_eq!(userinfo_status(&idp, &p, &at), 200, "nothing was revoked");
}
