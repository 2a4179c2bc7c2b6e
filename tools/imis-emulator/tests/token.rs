//! `POST {api}/token`: password and refresh_token grants, errors, lockout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{sso_sign_in, Emu};
use serde_json::json;

const ACME_TOKEN: &str = "/acme/token";
const GLOBEX_TOKEN: &str = "/globex/Asi.Scheduler_iMIS/token";

fn pw(emu: &Emu, path: &str, user: &str, password: &str) -> common::Resp {
    emu.post_form(
        path,
        &[
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
        ],
        &[],
    )
}

fn refresh(emu: &Emu, path: &str, client: &str, secret: &str, token: &str) -> common::Resp {
    emu.post_form(
        path,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client),
            ("client_secret", secret),
            ("refresh_token", token),
        ],
        &[],
    )
}

fn assert_error(r: &common::Resp, code: &str) {
    assert_eq!(r.status, 400, "body {}", r.body);
    assert_eq!(r.json()["error"], code, "body {}", r.body);
    assert!(r.json()["error_description"].is_string());
    assert!(r.json().get("access_token").is_none());
}

#[test]
fn password_grant_success_shape_and_headers() {
    let emu = Emu::start();
    let r = pw(&emu, ACME_TOKEN, "jsmith", "Member-Passw0rd");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("application/json;charset=UTF-8")
    );
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    assert_eq!(r.header("expires"), Some("-1"));
    let v = r.json();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        vec![
            ".expires",
            ".issued",
            "access_token",
            "expires_in",
            "token_type",
            "userName"
        ]
    );
    // Wire order as Katana writes it.
    assert!(r.body.starts_with("{\"access_token\":"));
    assert!(v["access_token"].as_str().unwrap().len() >= 64);
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], 1199);
    assert_eq!(v["userName"], "jsmith");
    for k in [".issued", ".expires"] {
        let d = v[k].as_str().unwrap();
        assert!(
            d.ends_with(" GMT") && d.len() == 29 && &d[3..5] == ", ",
            "{k}: {d}"
        );
    }
    assert!(
        v.get("refresh_token").is_none(),
        "strict: no refresh_token on password grant"
    );
    // Each grant yields a different access token.
    let again = pw(&emu, ACME_TOKEN, "jsmith", "Member-Passw0rd").json();
    assert_ne!(again["access_token"], v["access_token"]);
}

#[test]
fn form_keys_paths_and_usernames_are_case_insensitive() {
    let emu = Emu::start();
    let r = emu.post_form(
        "/ACME/Token",
        &[
            ("Grant_type", "password"),
            ("Username", "JSmith"),
            ("Password", "Member-Passw0rd"),
        ],
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["userName"],
        "jsmith",
        "canonical username is echoed"
    );
    // client credentials on the password grant are optional and ignored
    let r = emu.post_form(
        ACME_TOKEN,
        &[
            ("grant_type", "password"),
            ("username", "jsmith"),
            ("password", "Member-Passw0rd"),
            ("client_id", "whatever"),
            ("client_secret", "wrong"),
        ],
        &[],
    );
    assert_eq!(r.status, 200);
    // The password itself is case-sensitive.
    assert_error(
        &pw(&emu, ACME_TOKEN, "jsmith", "member-passw0rd"),
        "invalid_grant",
    );
}

#[test]
fn globex_token_lives_under_the_scheduler_prefix() {
    let emu = Emu::start();
    let r = pw(&emu, GLOBEX_TOKEN, "hsimpson", "Member-Passw0rd");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["userName"], "hsimpson");
    let r = pw(
        &emu,
        "/GLOBEX/asi.scheduler_imis/TOKEN",
        "hsimpson",
        "Member-Passw0rd",
    );
    assert_eq!(r.status, 200);
    // Not at the web root of a 2017 site.
    assert_eq!(
        pw(&emu, "/globex/token", "hsimpson", "Member-Passw0rd").status,
        404
    );
    // hsimpson only exists on globex.
    assert_error(
        &pw(&emu, ACME_TOKEN, "hsimpson", "Member-Passw0rd"),
        "invalid_grant",
    );
    // The background account works on both.
    assert_eq!(
        pw(&emu, GLOBEX_TOKEN, "edgeidp-service", "Service-Passw0rd").status,
        200
    );
    assert_eq!(
        pw(&emu, ACME_TOKEN, "edgeidp-service", "Service-Passw0rd").status,
        200
    );
}

#[test]
fn token_errors() {
    let emu = Emu::start();
    assert_error(&pw(&emu, ACME_TOKEN, "jsmith", "nope"), "invalid_grant");
    assert_error(
        &pw(&emu, ACME_TOKEN, "nobody", "Member-Passw0rd"),
        "invalid_grant",
    );
    assert_error(
        &pw(&emu, ACME_TOKEN, "disabled", "Member-Passw0rd"),
        "invalid_grant",
    );
    let r = emu.post_form(
        ACME_TOKEN,
        &[("grant_type", "password"), ("username", "jsmith")],
        &[],
    );
    assert_error(&r, "invalid_request");
    let r = emu.post_form(
        ACME_TOKEN,
        &[("username", "jsmith"), ("password", "x")],
        &[],
    );
    assert_error(&r, "invalid_request");
    let r = emu.post_form(ACME_TOKEN, &[("grant_type", "client_credentials")], &[]);
    assert_error(&r, "unsupported_grant_type");
    let r = emu.post_form(
        ACME_TOKEN,
        &[("grant_type", "authorization_code"), ("code", "x")],
        &[],
    );
    assert_error(&r, "unsupported_grant_type");
    // Not a form.
    let r = emu.post_json(ACME_TOKEN, &json!({"grant_type": "password"}));
    assert_error(&r, "invalid_request");
    let r = emu.get(ACME_TOKEN);
    assert_error(&r, "invalid_request");
    // Refresh grant: missing fields.
    let r = emu.post_form(
        ACME_TOKEN,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "EdgeIdP-OIDC"),
            ("refresh_token", "abc"),
        ],
        &[],
    );
    assert_error(&r, "invalid_request");
}

#[test]
fn refresh_token_is_single_use_and_bound_to_client_and_site() {
    let emu = Emu::start();
    let (_, token) = sso_sign_in(&emu, "/acme", "EdgeIdP-OIDC", "jsmith", "Member-Passw0rd");
    // Wrong secret / unknown client → invalid_client, and the token is not burnt.
    assert_error(
        &refresh(&emu, ACME_TOKEN, "EdgeIdP-OIDC", "wrong", &token),
        "invalid_client",
    );
    assert_error(
        &refresh(&emu, ACME_TOKEN, "Nope", "acme-oidc-secret", &token),
        "invalid_client",
    );
    // Client ids are case-sensitive on the token endpoint.
    assert_error(
        &refresh(&emu, ACME_TOKEN, "edgeidp-oidc", "acme-oidc-secret", &token),
        "invalid_client",
    );
    // Issued to EdgeIdP-OIDC, presented by EdgeIdP-SAML.
    assert_error(
        &refresh(&emu, ACME_TOKEN, "EdgeIdP-SAML", "acme-saml-secret", &token),
        "invalid_grant",
    );
    // Another site does not know it.
    assert_error(
        &refresh(
            &emu,
            GLOBEX_TOKEN,
            "EdgeIdP-OIDC",
            "globex-oidc-secret",
            &token,
        ),
        "invalid_grant",
    );

    let r = refresh(&emu, ACME_TOKEN, "EdgeIdP-OIDC", "acme-oidc-secret", &token);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["userName"], "jsmith");
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], 1199);
    assert!(v.get("refresh_token").is_none());
    // The access token works on the API.
    let user = emu.get_auth(
        "/acme/api/User?UserName=jsmith",
        v["access_token"].as_str().unwrap(),
    );
    assert_eq!(user.status, 200);

    // Second use fails.
    let again = refresh(&emu, ACME_TOKEN, "EdgeIdP-OIDC", "acme-oidc-secret", &token);
    assert_error(&again, "invalid_grant");
    assert!(again.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("already"));
    // A made-up token fails.
    assert_error(
        &refresh(
            &emu,
            ACME_TOKEN,
            "EdgeIdP-OIDC",
            "acme-oidc-secret",
            "0123456789abcdef0123456789abcdef",
        ),
        "invalid_grant",
    );
}

#[test]
fn refresh_token_expires() {
    let emu = Emu::start();
    let (_, token) = sso_sign_in(
        &emu,
        "/globex",
        "EdgeIdP-SAML",
        "hsimpson",
        "Member-Passw0rd",
    );
    let r = emu.post_json("/__emulator/expire-tokens", &json!({"site": "globex"}));
    assert_eq!(r.status, 200);
    assert!(r.json()["expired_refresh_tokens"].as_u64().unwrap() >= 1);
    let r = refresh(
        &emu,
        GLOBEX_TOKEN,
        "EdgeIdP-SAML",
        "globex-saml-secret",
        &token,
    );
    assert_error(&r, "invalid_grant");
    assert!(r.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("expired"));
    // A fresh one (minted through the control API) works on globex.
    let m = emu.post_json(
        "/__emulator/refresh-tokens",
        &json!({"site": "globex", "client_id": "EdgeIdP-SAML", "username": "hsimpson"}),
    );
    assert_eq!(m.status, 200);
    let fresh = m.json()["refresh_token"].as_str().unwrap().to_string();
    let r = refresh(
        &emu,
        GLOBEX_TOKEN,
        "EdgeIdP-SAML",
        "globex-saml-secret",
        &fresh,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["userName"], "hsimpson");
}

#[test]
fn disabled_user_refresh_token_is_rejected() {
    let emu = Emu::start();
    let m = emu.post_json(
        "/__emulator/refresh-tokens",
        &json!({"site": "acme", "client_id": "EdgeIdP-OIDC", "username": "disabled"}),
    );
    let token = m.json()["refresh_token"].as_str().unwrap().to_string();
    let r = refresh(&emu, ACME_TOKEN, "EdgeIdP-OIDC", "acme-oidc-secret", &token);
    assert_error(&r, "invalid_grant");
}

#[test]
fn lockout_after_five_bad_passwords() {
    let emu = Emu::start();
    // Four bad then a good one resets the counter.
    for _ in 0..4 {
        assert_error(&pw(&emu, ACME_TOKEN, "jsmith", "bad"), "invalid_grant");
    }
    assert_eq!(
        pw(&emu, ACME_TOKEN, "jsmith", "Member-Passw0rd").status,
        200
    );
    // Five consecutive bad passwords lock the account.
    for _ in 0..5 {
        assert_error(&pw(&emu, ACME_TOKEN, "jsmith", "bad"), "invalid_grant");
    }
    let r = pw(&emu, ACME_TOKEN, "jsmith", "Member-Passw0rd");
    assert_error(&r, "invalid_grant");
    assert!(r.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("locked"));
    // The SSO page refuses too.
    let page = emu.post_form(
        "/acme/sso/EdgeIdP-OIDC",
        &[("username", "jsmith"), ("password", "Member-Passw0rd")],
        &[],
    );
    assert!(page.login_cookie().is_none());
    assert!(page.body.contains("locked"));
    // Another site's jsmith is unaffected.
    assert_eq!(
        pw(&emu, GLOBEX_TOKEN, "jsmith", "Member-Passw0rd").status,
        200
    );
    // Reset unlocks.
    assert_eq!(emu.post_json("/__emulator/reset", &json!({})).status, 200);
    assert_eq!(
        pw(&emu, ACME_TOKEN, "jsmith", "Member-Passw0rd").status,
        200
    );
}

#[test]
fn lockout_counts_sso_page_failures() {
    let emu = Emu::start();
    for _ in 0..5 {
        let page = emu.post_form(
            "/globex/sso/EdgeIdP-OIDC",
            &[("username", "hsimpson"), ("password", "wrong")],
            &[],
        );
        assert_eq!(page.status, 200);
        assert!(page.login_cookie().is_none());
    }
    assert_error(
        &pw(&emu, GLOBEX_TOKEN, "hsimpson", "Member-Passw0rd"),
        "invalid_grant",
    );
}
