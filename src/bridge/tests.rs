#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::http::Response;
use crate::platform::HttpMethod;
use crate::testing::*;
use crate::Idp;

const IMIS: &str = "http://127.0.0.1:9/acme";
const SECRET: &str = "vendor-secret-0123456789";

fn body(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

fn location(r: &Response) -> String {
    r.header("location").unwrap_or("").to_string()
}

fn setup(extra: Value) -> (Idp, FakePlatform) {
    let p = FakePlatform::default();
    add_tenant(&p, "acme", "acme.localhost", IMIS);
    let mut app = json!({
        "schema_version": 1, "id": "vendor", "name": "Vendor Portal",
        "deliveries": ["post", "query", "cookie"],
        "callback_url": "https://vendor.example/sso/token",
        "home_url": "https://vendor.example/",
        "return_domains": ["vendor.example"],
        "secret_sha256": hex::encode(Sha256::digest(SECRET.as_bytes())),
        "cookie_domain": "localhost.test",
        "allowed_origins": ["https://vendor.example"]
    });
    if let (Some(a), Some(e)) = (app.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            a.insert(k.clone(), v.clone());
        }
    }
    p.put_kv("tenant:acme:bridge:vendor", &app.to_string());
    p.on_fetch(|req| {
        if req.url.ends_with("/token") {
            let body = String::from_utf8_lossy(&req.body).into_owned();
            let user = if body.contains("refresh_token=rt-") { "jsmith" } else { "edgeidp-service" };
            return json_response(200, &json!({"access_token": "t", "expires_in": 1199, "userName": user}).to_string());
        }
        if req.url.contains("/api/User?UserName=") {
            return json_response(200, &json!({"Items": {"$values": [{"UserId": "101", "UserName": "jsmith", "IsDisable": false}]}}).to_string());
        }
        if let Some(answer) = iqa_answer(&req.url) {
            return answer;
        }
        json_response(200, r#"{"PersonName":{"FirstName":"Jane","LastName":"Smith"},"UniformId":"87EAD15E-B188-42E8-AE48-E9B8C2B24C94"}"#)
    });
    (Idp::new(), p)
}

fn recorded(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tools/imis-emulator/recorded/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The fake iMIS's IQAs: Roles (3 rows), AllContacts (620 rows over two pages), Broken (refused).
fn iqa_answer(
    url: &str,
) -> Option<Result<crate::platform::OutboundResponse, crate::platform::PlatformError>> {
    if url.contains("QueryName=%24%2FEdgeIdP%2FRoles") {
        return Some(json_response(200, &recorded("iqa_roles.json")));
    }
    if url.contains("QueryName=%24%2FEdgeIdP%2FAllContacts") {
        let page = if url.ends_with("Offset=0") {
            "iqa_allcontacts_page1.json"
        } else {
            "iqa_allcontacts_page2.json"
        };
        return Some(json_response(200, &recorded(page)));
    }
    if url.contains("QueryName=%24%2FEdgeIdP%2FBroken") {
        return Some(json_response(
            500,
            r#"{"Message":"An error has occurred."}"#,
        ));
    }
    None
}

fn signed_in<'a>(idp: &'a Idp, p: &'a FakePlatform) -> Browser<'a> {
    let mut b = Browser::new(idp, p, "acme.localhost");
    let r = b.get("/signin");
    assert_eq!(r.status, 303);
    let r = b.post("/imis/callback", "refresh_token=rt-jsmith");
    assert_eq!(r.status, 303, "{}", body(&r));
    assert!(b.jar.contains_key("__Host-idp-session"));
    b
}

fn redeem(b: &mut Browser<'_>, token: &str, secret: &str) -> Response {
    b.send(
        HttpMethod::Get,
        &format!("/bridge/vendor/user?token={token}"),
        None,
        &[("authorization", &format!("Bearer {secret}"))],
    )
}

/// The vendor's sign-out link, followed as a member does: it only asks (a forged confirmation
/// changes nothing), and the confirmation form signs out. The form's answer.
fn vendor_sign_out(b: &mut Browser<'_>) -> Response {
    // The vendor's link (or any <img> pointing here) only asks the member.
    let r = b.get("/bridge/vendor/signout?ReturnURL=https://vendor.example/bye");
    assert_eq!(r.status, 200, "{}", body(&r));
    assert!(b.jar.contains_key("__Host-idp-session"));
    let page = body(&r);
    assert!(page.contains("asked to sign you out"), "{page}");
    let action = value_after(&page, "action=\"");
    assert_eq!(
        action,
        "/bridge/vendor/signout?ReturnURL=https%3A%2F%2Fvendor.example%2Fbye"
    );
    let r = b.post(&action, "t=forged");
    assert_eq!(r.status, 200, "a forged token only asks again");
    assert!(b.jar.contains_key("__Host-idp-session"));
    b.post(&action, &format!("t={}", signout_token(&page)))
}

fn token_of(url: &str) -> String {
    url.split("token=")
        .nth(1)
        .unwrap()
        .split(['&', '#'])
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn query_delivery_round_trip_is_single_use() {
    let (idp, p) = setup(json!({}));
    let mut b = Browser::new(&idp, &p, "acme.localhost");
    let r = b.get("/bridge/vendor/signin?ReturnURL=https%3A%2F%2Fvendor.example%2Fa%3Fx%3D1%23top&delivery=query");
    assert_eq!(r.status, 303);
    assert_eq!(
        location(&r),
        format!("{IMIS}/sso/EdgeIdP-OIDC"),
        "not signed in: to iMIS"
    );
    let r = b.post("/imis/callback", "refresh_token=rt-jsmith");
    assert_eq!(r.status, 303, "{}", body(&r));
    let loc = location(&r);
    assert!(
        loc.starts_with("https://vendor.example/a?x=1&token="),
        "{loc}"
    );
    assert!(loc.ends_with("#top"));
    let token = token_of(&loc);
    assert_eq!(
        redeem(&mut b, &token, "wrong-secret").status,
        401,
        "wrong secret"
    );
    let r = redeem(&mut b, &token, SECRET);
    assert_eq!(r.status, 200, "{}", body(&r));
    let user: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(user["imis_id"], "101");
    assert_eq!(user["first_name"], "Jane");
    let r = redeem(&mut b, &token, SECRET);
    assert_eq!(r.status, 401, "reused");
    assert!(!body(&r).contains("Jane"));
    // Silent re-auth: a fresh token without iMIS sign-in.
    let calls = p.requests.borrow().len();
    let r = b.get("/bridge/vendor/signin?ReturnURL=https://vendor.example/&delivery=query");
    assert_eq!(r.status, 303);
    assert!(location(&r).starts_with("https://vendor.example/?token="));
    assert_eq!(p.requests.borrow().len(), calls);
}

#[test]
fn tokens_expire() {
    let (idp, p) = setup(json!({"token_ttl_seconds": 30}));
    let mut b = signed_in(&idp, &p);
    let r = b.get("/bridge/vendor/signin?ReturnURL=https://vendor.example/&delivery=query");
    let token = token_of(&location(&r));
    p.advance_secs(31);
    assert_eq!(redeem(&mut b, &token, SECRET).status, 401);
}

#[test]
fn post_and_cookie_deliveries() {
    let (idp, p) = setup(json!({"cookie_domain": "acme.localhost"}));
    let mut b = signed_in(&idp, &p);
    let r = b.get("/bridge/vendor/signin?ReturnURL=https://vendor.example/x&delivery=post");
    assert_eq!(r.status, 200);
    let html = body(&r);
    assert!(html.contains("action=\"https://vendor.example/sso/token\""));
    assert!(html.contains("name=\"ReturnURL\" value=\"https://vendor.example/x\""));
    assert!(r
        .header("content-security-policy")
        .unwrap()
        .contains("form-action https://vendor.example"));
    let r = b.get("/bridge/vendor/signin?delivery=cookie");
    assert_eq!(
        (r.status, location(&r).as_str()),
        (303, "https://vendor.example/")
    );
    let cookie = r
        .headers
        .iter()
        .find(|(k, v)| k == "set-cookie" && v.starts_with("bridge_token="))
        .unwrap();
    assert!(cookie.1.contains("Domain=acme.localhost") && cookie.1.contains("Secure"));
    // A cookie domain that does not cover the IdP's host is refused (the browser would drop it).
    let (idp, p) = setup(json!({}));
    let mut b = signed_in(&idp, &p);
    assert_eq!(b.get("/bridge/vendor/signin?delivery=cookie").status, 503);
}

#[test]
fn bad_return_urls_and_unknown_apps_are_refused() {
    let (idp, p) = setup(json!({}));
    let mut b = signed_in(&idp, &p);
    for bad in [
        "https://evil.example/",
        "https%3A%2F%2Fvendor.example%40evil.example",
        "//evil.example",
        "http://vendor.example/",
    ] {
        let r = b.get(&format!(
            "/bridge/vendor/signin?ReturnURL={bad}&delivery=query"
        ));
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.header("location").is_none());
        let r = b.get(&format!("/bridge/vendor/signout?ReturnURL={bad}"));
        assert_eq!(r.status, 400, "{bad}");
    }
    assert!(
        b.jar.contains_key("__Host-idp-session"),
        "refused sign-outs keep the session"
    );
    assert_eq!(b.get("/bridge/nope/signin").status, 404);
    assert_eq!(b.get("/bridge/vendor/signin?delivery=smoke").status, 400);
}

#[test]
fn ping_jsonp_and_cors() {
    let (idp, p) = setup(json!({}));
    let mut anon = Browser::new(&idp, &p, "acme.localhost");
    let r = anon.get("/bridge/vendor/ping?callback=cb");
    assert_eq!(body(&r), r#"/**/cb({"signed_in":false});"#);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/javascript"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    let r = anon.get("/bridge/vendor/ping?callback=alert(1)//");
    assert_eq!(r.status, 400);
    assert!(!body(&r).contains("alert"));
    let mut b = signed_in(&idp, &p);
    let r = b.send(
        HttpMethod::Get,
        "/bridge/vendor/ping",
        None,
        &[("origin", "https://vendor.example")],
    );
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://vendor.example")
    );
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["signed_in"], true);
    assert!(!body(&r).contains("Jane") && !body(&r).contains("jsmith"));
    let token = v["token"].as_str().unwrap().to_string();
    assert_eq!(redeem(&mut b, &token, SECRET).status, 200);
    let r = b.send(
        HttpMethod::Get,
        "/bridge/vendor/ping",
        None,
        &[("origin", "https://evil.example")],
    );
    assert_eq!(r.status, 403);
    assert!(r.header("access-control-allow-origin").is_none() && !body(&r).contains("token\""));
    // Without Origin, nobody the answer could be meant for is named: no token.
    let r = b.get("/bridge/vendor/ping");
    assert_eq!(body(&r), r#"{"signed_in":true}"#);
}

#[test]
fn jsonp_ping_gives_a_token_only_to_pages_of_allowed_origins() {
    let (idp, p) = setup(json!({}));
    let mut b = signed_in(&idp, &p);
    // Any page can include the ping as a script, and the session cookie goes along.
    for referer in [
        None,
        Some("https://evil.example/page"),
        Some("https://vendor.example.evil.example/"),
        Some("http://vendor.example/"),
        Some("null"),
    ] {
        let headers: Vec<(&str, &str)> = referer.iter().map(|r| ("referer", *r)).collect();
        let r = b.send(
            HttpMethod::Get,
            "/bridge/vendor/ping?callback=cb",
            None,
            &headers,
        );
        assert_eq!(r.status, 200);
        assert_eq!(body(&r), r#"/**/cb({"signed_in":true});"#, "{referer:?}");
    }
    let r = b.send(
        HttpMethod::Get,
        "/bridge/vendor/ping?callback=cb",
        None,
        &[("referer", "https://vendor.example/courses?id=1")],
    );
    let text = body(&r);
    let json = text
        .strip_prefix("/**/cb(")
        .and_then(|t| t.strip_suffix(");"))
        .unwrap();
    let v: Value = serde_json::from_str(json).unwrap();
    let token = v["token"].as_str().unwrap().to_string();
    assert_eq!(redeem(&mut b, &token, SECRET).status, 200);
}

#[test]
fn signout_goes_through_imis_and_back_to_the_return_url() {
    let (idp, p) = setup(json!({}));
    let mut b = signed_in(&idp, &p);
    b.get("/bridge/vendor/signin?ReturnURL=https://vendor.example/&delivery=query");
    let r = vendor_sign_out(&mut b);
    assert_eq!(r.status, 303);
    let loc = location(&r);
    assert!(
        loc.starts_with(&format!(
            "{IMIS}/AsiCommon/Controls/Shared/FormsAuthentication/logout.aspx?returnurl="
        )),
        "{loc}"
    );
    assert!(!b.jar.contains_key("__Host-idp-session"));
    let back = crate::http::percent_decode(loc.split("returnurl=").nth(1).unwrap(), false);
    let path = back.strip_prefix("https://acme.localhost").unwrap();
    let r = b.get(path);
    assert_eq!(
        (r.status, location(&r).as_str()),
        (303, "https://vendor.example/bye")
    );
    assert_eq!(
        b.get("/bridge/vendor/signed-out?ReturnURL=https://evil.example/")
            .status,
        400
    );
    let r = b.get("/bridge/vendor/ping?callback=cb");
    assert!(body(&r).contains("false"));
    // Signed out already: the vendor's link goes straight back.
    let r = b.get("/bridge/vendor/signout?ReturnURL=https://vendor.example/bye");
    assert_eq!(
        (r.status, location(&r).as_str()),
        (303, "https://vendor.example/bye")
    );
}

#[test]
fn idp_sign_out_elsewhere_loads_the_vendor_logout_page_in_a_frame() {
    let (idp, p) = setup(json!({"logout_url": "https://vendor.example/frontchannel-logout"}));
    let mut b = signed_in(&idp, &p);
    b.get("/bridge/vendor/signin?ReturnURL=https://vendor.example/&delivery=query");
    let confirm = body(&b.get("/signout"));
    let t = signout_token(&confirm);
    let r = b.send(HttpMethod::Post, "/signout", Some(&format!("t={t}")), &[]);
    assert_eq!(r.status, 200, "{}", body(&r));
    assert!(body(&r).contains("<iframe src=\"https://vendor.example/frontchannel-logout\""));
    assert!(r
        .header("content-security-policy")
        .unwrap()
        .contains("frame-src https://vendor.example"));
    // The app that starts the sign-out is not framed (it signed itself out).
    let mut b = signed_in(&idp, &p);
    b.get("/bridge/vendor/signin?ReturnURL=https://vendor.example/&delivery=query");
    let r = vendor_sign_out(&mut b);
    assert_eq!(r.status, 303);
}

#[test]
fn the_user_service_answers_get_only() {
    let (idp, p) = setup(json!({}));
    let mut b = signed_in(&idp, &p);
    let r = b.get("/bridge/vendor/signin?ReturnURL=https://vendor.example/&delivery=query");
    let token = token_of(&location(&r));
    let head = b.send(
        HttpMethod::Head,
        &format!("/bridge/vendor/user?token={token}"),
        None,
        &[("x-bridge-secret", SECRET)],
    );
    assert_eq!(head.status, 404);
    assert_eq!(
        redeem(&mut b, &token, SECRET).status,
        200,
        "HEAD did not spend it"
    );
}

#[test]
fn a_rotated_vendor_secret_keeps_working_until_its_overlap_ends() {
    const OLD: &str = "old-vendor-secret-9876543210";
    let until = NOW_MS / 1000 + 60;
    let (idp, p) = setup(json!({"previous_secret": {
        "secret_sha256": hex::encode(Sha256::digest(OLD.as_bytes())),
        "valid_until": until}}));
    let mut b = signed_in(&idp, &p);
    let fresh_token = |b: &mut Browser<'_>| {
        let r = b.get("/bridge/vendor/signin?ReturnURL=https://vendor.example/&delivery=query");
        assert_eq!(r.status, 303, "{}", body(&r));
        token_of(&location(&r))
    };
    let token = fresh_token(&mut b);
    let r = redeem(&mut b, &token, OLD);
    assert_eq!(r.status, 200, "the previous secret, within its overlap");
    assert!(p
        .events()
        .contains(&"bridge.previous_secret_used".to_string()));
    let token = fresh_token(&mut b);
    assert_eq!(
        redeem(&mut b, &token, SECRET).status,
        200,
        "the new one too"
    );
    p.advance_secs(61);
    let token = fresh_token(&mut b);
    assert_eq!(
        redeem(&mut b, &token, OLD).status,
        401,
        "the overlap is over"
    );
    assert_eq!(
        redeem(&mut b, &token, SECRET).status,
        200,
        "a refused secret spends nothing"
    );
}

/// A token redeemed by the vendor for an app with `extra` settings: the answer's status and body.
fn redeemed_user(extra: Value) -> (u16, Value, FakePlatform) {
    let (idp, p) = setup(extra);
    let mut b = signed_in(&idp, &p);
    let r = b.get("/bridge/vendor/signin?ReturnURL=https://vendor.example/&delivery=query");
    assert_eq!(r.status, 303, "{}", body(&r));
    let r = redeem(&mut b, &token_of(&location(&r)), SECRET);
    let status = r.status;
    let user = serde_json::from_slice(&r.body).unwrap();
    drop(b);
    (status, user, p)
}

#[test]
fn the_user_service_returns_roles_and_every_row_of_each_data_iqa() {
    let (status, user, p) = redeemed_user(json!({
        "role_iqa": "$/EdgeIdP/Roles",
        "data_iqas": [{"name": "contacts", "path": "$/EdgeIdP/AllContacts"}]
    }));
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["roles"], json!(["Member", "RegisteredUser", "Board"]));
    let contacts = user["data"]["contacts"].as_array().unwrap();
    assert_eq!(contacts.len(), 620, "both pages, every row");
    assert_eq!(contacts[0]["FullName"], "Contact 1");
    assert_eq!(contacts[619]["FullName"], "Contact 620");
    assert!(contacts[0].get("ResultRow").is_none(), "{}", contacts[0]);
    let pages: Vec<String> = p
        .requests
        .borrow()
        .iter()
        .filter(|r| r.url.contains("AllContacts"))
        .map(|r| r.url.clone())
        .collect();
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert!(
        pages.iter().all(|u| u.contains("&Parameter=jsmith&")),
        "{pages:?}"
    );
}

#[test]
fn an_app_without_data_iqas_answers_empty_roles_and_data() {
    let (status, user, _) = redeemed_user(json!({}));
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["roles"], json!([]));
    assert_eq!(user["data"], json!({}));
}

#[test]
fn a_failing_data_iqa_gives_the_vendor_no_member_data() {
    let (status, user, p) = redeemed_user(json!({
        "role_iqa": "$/EdgeIdP/Roles",
        "data_iqas": [{"name": "contacts", "path": "$/EdgeIdP/AllContacts"},
                      {"name": "broken", "path": "$/EdgeIdP/Broken"}]
    }));
    assert_eq!(status, 502, "{user}");
    assert_eq!(user["error"], "temporarily_unavailable");
    assert!(!user.to_string().contains("Jane"), "{user}");
    let failed: Vec<_> = p
        .logs
        .borrow()
        .iter()
        .filter(|e| e.event.starts_with("imis.") && e.app.as_deref() == Some("vendor"))
        .map(|e| e.reason.clone().unwrap_or_default())
        .collect();
    assert!(failed.iter().any(|r| r.contains("Broken")), "{failed:?}");
}

#[test]
fn data_iqas_are_checked_when_the_app_is_loaded() {
    for bad in [
        json!([{"name": "Committees", "path": "$/Q"}]),
        json!([{"name": "c", "path": "$/Q"}, {"name": "c", "path": "$/R"}]),
        json!([{"name": "c", "path": "Q"}]),
        json!([{"name": "a", "path": "$/A"}, {"name": "b", "path": "$/B"}, {"name": "c", "path": "$/C"},
               {"name": "d", "path": "$/D"}, {"name": "e", "path": "$/E"}]),
        json!([{"name": "c", "path": "$/Q", "parameters": ["x"]}]),
    ] {
        let (idp, p) = setup(json!({ "data_iqas": bad }));
        let mut b = signed_in(&idp, &p);
        let r = b.get("/bridge/vendor/signin?ReturnURL=https://vendor.example/&delivery=query");
        assert_ne!(r.status, 303, "{bad} was accepted");
        assert!(!location(&r).contains("token="), "{bad}");
    }
}

#[test]
fn an_id_no_app_can_have_is_answered_as_an_unknown_app_at_every_endpoint() {
    let (idp, p) = setup(json!({}));
    let mut b = signed_in(&idp, &p);
    let long = "a".repeat(129);
    for endpoint in ["signin", "user", "ping", "signout", "signed-out"] {
        let unknown = b.get(&format!("/bridge/nope/{endpoint}"));
        assert!(
            [401, 404].contains(&unknown.status),
            "{endpoint}: {}",
            unknown.status
        );
        for bad in ["bad:id", "-lead", "a%2Fb", &long] {
            let r = b.get(&format!("/bridge/{bad}/{endpoint}"));
            assert_eq!(r.status, unknown.status, "{endpoint} {bad}");
            assert_eq!(
                r.header("content-type"),
                unknown.header("content-type"),
                "{endpoint} {bad}"
            );
            if endpoint == "user" || endpoint == "ping" {
                assert_eq!(body(&r), body(&unknown), "{endpoint} {bad}");
            }
        }
    }
    assert!(b.jar.contains_key("__Host-idp-session"));
}
