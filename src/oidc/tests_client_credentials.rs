//! `client_credentials` over the fake platform: only a confidential client that enables it, only
//! its own API scopes, a token that stands for the client and that userinfo refuses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use super::client::{parse, secret_hash};
use super::jwt::Unverified;
use super::tests::{send, setup, ISS};
use crate::http::encode_form;
use crate::platform::HttpMethod;
use crate::testing::FakePlatform;
use crate::Idp;

fn api_client() -> Value {
    json!({"schema_version": 1, "id": "api", "name": "Member API", "type": "confidential",
           "token_endpoint_auth_method": "client_secret_basic",
           "client_secret_hash": secret_hash("api-secret"), "redirect_uris": [],
           "grant_types": ["client_credentials"], "api_scopes": ["members.read", "events.write"]})
}

fn with_api_client() -> FakePlatform {
    let p = setup();
    p.put_kv("tenant:acme:oidc:api", &api_client().to_string());
    p
}

fn token_as(
    idp: &Idp,
    p: &FakePlatform,
    id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let auth = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
    let (status, body, _) = send(
        idp,
        p,
        HttpMethod::Post,
        "/oidc/token",
        &[("authorization", &auth)],
        &encode_form(form),
    );
    (status, body)
}

#[test]
fn a_client_gets_a_token_for_itself_with_its_own_api_scopes() {
    let p = with_api_client();
    let idp = Idp::new();
    let (status, body) = token_as(
        &idp,
        &p,
        "api",
        "api-secret",
        &[
            ("grant_type", "client_credentials"),
            ("scope", "members.read"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "members.read");
    assert!(
        body.get("id_token").is_none() && body.get("refresh_token").is_none(),
        "{body}"
    );
    let at = body["access_token"].as_str().unwrap().to_string();
    let jws = Unverified::parse(&at).unwrap();
    assert_eq!(jws.header["typ"], "at+jwt");
    assert_eq!(jws.unverified_claims()["sub"], "api");
    assert_eq!(jws.unverified_claims()["client_id"], "api");
    assert_eq!(
        jws.unverified_claims()["aud"],
        ISS,
        "not userinfo's audience"
    );
    assert!(
        jws.unverified_claims().get("ext").is_none(),
        "no member claims"
    );
    // Without a scope: every api scope.
    let (_, all) = token_as(
        &idp,
        &p,
        "api",
        "api-secret",
        &[("grant_type", "client_credentials")],
    );
    assert_eq!(all["scope"], "members.read events.write");
    // Userinfo refuses it; introspection by the client shows it; revocation ends it.
    let bearer = format!("Bearer {at}");
    let (status, _, resp) = send(
        &idp,
        &p,
        HttpMethod::Get,
        "/oidc/userinfo",
        &[("authorization", &bearer)],
        "",
    );
    assert_eq!(status, 401);
    assert!(resp
        .header("www-authenticate")
        .unwrap()
        .contains("not a member"));
    let auth = format!("Basic {}", STANDARD.encode("api:api-secret"));
    let introspect = || {
        send(
            &idp,
            &p,
            HttpMethod::Post,
            "/oidc/introspect",
            &[("authorization", &auth)],
            &encode_form(&[("token", &at)]),
        )
        .1
    };
    let info = introspect();
    assert_eq!(
        (info["active"].clone(), info["sub"].clone()),
        (json!(true), json!("api")),
        "{info}"
    );
    let (status, _, _) = send(
        &idp,
        &p,
        HttpMethod::Post,
        "/oidc/revoke",
        &[("authorization", &auth)],
        &encode_form(&[("token", &at)]),
    );
    assert_eq!(status, 200);
    assert_eq!(introspect()["active"], false);
}

#[test]
fn member_scopes_other_scopes_and_other_clients_are_refused() {
    let p = with_api_client();
    let idp = Idp::new();
    for scope in ["openid", "members.read profile", "members.write"] {
        let (status, body) = token_as(
            &idp,
            &p,
            "api",
            "api-secret",
            &[("grant_type", "client_credentials"), ("scope", scope)],
        );
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_scope")),
            "{scope}"
        );
    }
    let (status, body) = token_as(
        &idp,
        &p,
        "rp",
        "s3cret",
        &[("grant_type", "client_credentials")],
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client")),
        "off unless enabled"
    );
    let (status, _) = token_as(
        &idp,
        &p,
        "api",
        "wrong",
        &[("grant_type", "client_credentials")],
    );
    assert_eq!(status, 401);
    // The client cannot sign members in.
    let (status, _, _) = send(&idp, &p, HttpMethod::Get,
                              "/oidc/authorize?client_id=api&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fx.example%2F",
                              &[], "");
    assert_eq!(status, 400);
}

#[test]
fn only_confidential_clients_with_api_scopes_may_enable_it() {
    let check = |change: &dyn Fn(&mut Value)| {
        let mut c = api_client();
        change(&mut c);
        parse("api", c.to_string().as_bytes())
    };
    assert!(check(&|_| {}).is_ok());
    let public = check(&|c| {
        c["type"] = json!("public");
        c["token_endpoint_auth_method"] = json!("none");
        c.as_object_mut().unwrap().remove("client_secret_hash");
    });
    assert!(public
        .unwrap_err()
        .to_string()
        .contains("confidential clients only"));
    for bad in ["openid", "roles", "", "a b", "q\"uote"] {
        let err = check(&|c| c["api_scopes"] = json!([bad])).unwrap_err();
        assert!(err.to_string().contains("api_scopes"), "{bad:?}: {err}");
    }
    let no_redirect =
        check(&|c| c["grant_types"] = json!(["authorization_code", "client_credentials"]));
    assert!(no_redirect
        .unwrap_err()
        .to_string()
        .contains("redirect URI"));
}
