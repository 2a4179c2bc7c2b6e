//! Back-channel logout over the fake platform: a session that signed in to two clients ends, and
//! each client with a back-channel URI gets one logout token, signed as its id_tokens are, naming
//! the session; a client that fails to answer does not stop the others or the logout. Also the
//! RP-initiated logout's confirmation page.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{json, Value};

use super::jwt::Unverified;
use super::keys;
use super::tests::{imis_signs_in_jsmith, setup, HOST, ISS};
use crate::audit::Outcome;
use crate::http::parse_urlencoded;
use crate::platform::HttpMethod;
use crate::testing::*;
use crate::Idp;

const RP_BACKCHANNEL: &str = "https://rp.example/backchannel";
const HS_BACKCHANNEL: &str = "https://hs.example/backchannel";

/// The two clients of [`setup`] with back-channel URIs; iMIS signs in `jsmith`; `hs.example`
/// answers its back channel with 500.
fn platform() -> FakePlatform {
    let p = setup();
    for (id, uri) in [("rp", RP_BACKCHANNEL), ("hs", HS_BACKCHANNEL)] {
        let key = format!("tenant:acme:oidc:{id}");
        let mut client: Value = serde_json::from_slice(&p.kv.borrow()[&key]).unwrap();
        client["backchannel_logout_uri"] = json!(uri);
        p.put_kv(&key, &client.to_string());
    }
    p.on_fetch(|req| {
        if req.url == HS_BACKCHANNEL {
            return json_response(500, "{}");
        }
        if req.url == RP_BACKCHANNEL {
            return json_response(200, "");
        }
        imis_signs_in_jsmith(req)
    });
    p
}

/// Signs in through an authorization request of each client, then signs out at the IdP.
fn sign_in_to_both_then_out(idp: &Idp, p: &FakePlatform) {
    let mut b = Browser::new(idp, p, HOST);
    for (client, redirect) in [
        ("rp", "https://rp.example/cb"),
        ("hs", "https://hs.example/cb"),
    ] {
        let r = b.get(&format!(
            "/oidc/authorize?response_type=code&client_id={client}&redirect_uri={redirect}&scope=openid&state=s&nonce=n"
        ));
        if client == "rp" {
            assert_eq!(r.status, 303);
            let r = b.post("/imis/callback", "refresh_token=rt-jsmith");
            assert_eq!(r.status, 303, "{}", String::from_utf8_lossy(&r.body));
            assert!(r.header("location").unwrap().starts_with(redirect));
        } else {
            assert!(
                r.header("location").unwrap().starts_with(redirect),
                "silent for the second"
            );
        }
    }
    let page = b.get("/signout");
    let token = signout_token(&String::from_utf8_lossy(&page.body));
    let r = b.post("/signout", &format!("t={token}"));
    assert!(r.status == 200 || r.status == 303, "{}", r.status);
}

fn logout_tokens(p: &FakePlatform, uri: &str) -> Vec<String> {
    p.requests
        .borrow()
        .iter()
        .filter(|r| r.url == uri)
        .map(|r| {
            assert_eq!(r.method, HttpMethod::Post);
            let form = parse_urlencoded(&String::from_utf8_lossy(&r.body));
            form.into_iter()
                .find(|(k, _)| k == "logout_token")
                .unwrap()
                .1
        })
        .collect()
}

#[test]
fn each_client_gets_one_logout_token_for_the_session() {
    let (idp, p) = (Idp::new(), platform());
    sign_in_to_both_then_out(&idp, &p);

    let rp = logout_tokens(&p, RP_BACKCHANNEL);
    assert_eq!(rp.len(), 1, "one POST to the RS256 client");
    let jws = Unverified::parse(&rp[0]).unwrap();
    assert_eq!(jws.header["typ"], "logout+jwt");
    let master = crate::seal::MasterKey::from_base64(MASTER_KEY_B64).unwrap();
    let keyset = keys::parse("acme", &p.kv.borrow()["tenant:acme:keys"], Some(&master)).unwrap();
    let claims = jws
        .verify_keys(&keyset)
        .expect("signed by the tenant's published key");
    assert_eq!(claims["iss"], ISS);
    assert_eq!(claims["aud"], "rp");
    assert!(claims.get("nonce").is_none());
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        120
    );
    let sid = claims["sid"].as_str().unwrap();
    assert!(sid.len() >= 16, "{sid}");

    let hs = logout_tokens(&p, HS_BACKCHANNEL);
    assert_eq!(hs.len(), 1, "the HS512 client is told too");
    let jws = Unverified::parse(&hs[0]).unwrap();
    assert_eq!(jws.alg(), "HS512");
    let hs_claims = jws
        .verify_hmac("HS512", b"hs-key")
        .expect("signed with the client's key");
    assert_eq!(hs_claims["sid"], sid, "one session, one sid");
    assert_eq!(hs_claims["aud"], "hs");

    let told: Vec<(Option<String>, Outcome)> = p
        .logs
        .borrow()
        .iter()
        .filter(|e| e.event == "oidc.backchannel_logout")
        .map(|e| (e.app.clone(), e.outcome))
        .collect();
    assert!(
        told.contains(&(Some("rp".into()), Outcome::Success)),
        "{told:?}"
    );
    assert!(
        told.contains(&(Some("hs".into()), Outcome::Failure)),
        "{told:?}"
    );
}

#[test]
fn a_client_without_a_back_channel_uri_is_not_called() {
    let (idp, p) = (Idp::new(), platform());
    let key = "tenant:acme:oidc:hs";
    let mut client: Value = serde_json::from_slice(&p.kv.borrow()[key]).unwrap();
    client
        .as_object_mut()
        .unwrap()
        .remove("backchannel_logout_uri");
    p.put_kv(key, &client.to_string());
    sign_in_to_both_then_out(&idp, &p);
    assert_eq!(logout_tokens(&p, RP_BACKCHANNEL).len(), 1);
    assert!(logout_tokens(&p, HS_BACKCHANNEL).is_empty());
}

#[test]
fn the_logout_confirmation_speaks_the_member_s_language_and_keeps_the_parameters() {
    let p = platform();
    let idp = Idp::new();
    let mut b = Browser::new(&idp, &p, HOST);
    let r = b.get("/oidc/authorize?response_type=code&client_id=rp&redirect_uri=https://rp.example/cb&scope=openid&state=s&nonce=n");
    assert_eq!(r.status, 303);
    assert_eq!(
        b.post("/imis/callback", "refresh_token=rt-jsmith").status,
        303
    );
    let r = b.send(
        HttpMethod::Get,
        "/oidc/logout?client_id=rp&state=x%22y",
        None,
        &[("accept-language", "fr")],
    );
    let html = String::from_utf8_lossy(&r.body);
    assert_eq!(r.status, 200, "{html}");
    assert!(
        html.contains("lang=\"fr\"") && html.contains("RP demande à vous déconnecter."),
        "{html}"
    );
    assert!(
        html.contains("<button type=\"submit\">Se déconnecter</button>"),
        "{html}"
    );
    assert!(html.contains("<form id=\"oidc-logout\""), "{html}");
    assert!(html.contains("name=\"client_id\" value=\"rp\""), "{html}");
    assert!(
        html.contains("name=\"state\" value=\"x&quot;y\""),
        "escaped: {html}"
    );
}
