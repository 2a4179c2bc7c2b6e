#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::json;

use crate::http::Response;
use crate::platform::{HttpMethod, PlatformError};
use crate::testing::*;
use crate::Idp;

/// A strict browser: every cookie the IdP sets must be `__Host-`, Secure, HttpOnly, SameSite=None.
fn browser<'a>(idp: &'a Idp, p: &'a FakePlatform, host: &'a str) -> Browser<'a> {
    let mut b = Browser::new(idp, p, host);
    b.strict = true;
    b
}

fn location(r: &Response) -> &str {
    r.header("location").unwrap_or("")
}

fn body(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

const IMIS: &str = "http://127.0.0.1:9/acme";

#[derive(Clone, Copy, PartialEq)]
enum Imis {
    Ok,
    Disabled,
    Unknown,
    Timeout,
    Garbage,
}

/// A fake iMIS: refresh tokens `rt-<user>`, password `pw` for every user.
fn fake_imis(p: &FakePlatform, mode: Rc<RefCell<Imis>>) {
    p.on_fetch(move |req| {
        let mode = *mode.borrow();
        if mode == Imis::Timeout {
            return Err(PlatformError::Timeout(2000));
        }
        if mode == Imis::Garbage {
            return json_response(200, "<html>");
        }
        let body = String::from_utf8_lossy(&req.body).into_owned();
        if req.url.ends_with("/token") {
            let form: HashMap<String, String> = crate::http::parse_urlencoded(&body).into_iter().collect();
            let user = match form["grant_type"].as_str() {
                "refresh_token" => {
                    assert_eq!(form["client_id"], "EdgeIdP-OIDC");
                    assert_eq!(form["client_secret"], "oidc-secret");
                    form["refresh_token"].strip_prefix("rt-").map(str::to_string)
                }
                _ if form["password"] == "pw" || form["password"] == "Service-Passw0rd" => Some(form["username"].clone()),
                _ => None,
            };
            return match user {
                Some(u) => json_response(200, &json!({"access_token": "t", "expires_in": 1199, "userName": u}).to_string()),
                None => json_response(400, r#"{"error":"invalid_grant"}"#),
            };
        }
        if req.url.contains("/api/User?UserName=") {
            let user = req.url.rsplit('=').next().unwrap().to_string();
            if mode == Imis::Unknown {
                return json_response(200, r#"{"Items":{"$values":[]}}"#);
            }
            return json_response(
                200,
                &json!({"Items": {"$values": [{"UserId": "101", "UserName": user, "IsDisable": mode == Imis::Disabled}]}}).to_string(),
            );
        }
        json_response(200, r#"{"PersonName":{"FirstName":"Jane","LastName":"Smith"},"UniformId":"87EAD15E-B188-42E8-AE48-E9B8C2B24C94"}"#)
    });
}

fn cloud() -> (Idp, FakePlatform, Rc<RefCell<Imis>>) {
    let p = FakePlatform::default();
    add_tenant(&p, "acme", "acme.localhost", IMIS);
    let mode = Rc::new(RefCell::new(Imis::Ok));
    fake_imis(&p, mode.clone());
    (Idp::new(), p, mode)
}

fn legacy() -> (Idp, FakePlatform, Rc<RefCell<Imis>>) {
    let p = FakePlatform::default();
    let mut t = tenant_json("globex", "globex.localhost", IMIS);
    t["identity_mode"] = "imis_legacy".into();
    t["imis"]["sign_out_of_imis"] = false.into();
    p.put_kv(
        "host:globex.localhost",
        r#"{"schema_version":1,"tenant":"globex"}"#,
    );
    p.put_kv("tenant:globex", &t.to_string());
    let mode = Rc::new(RefCell::new(Imis::Ok));
    fake_imis(&p, mode.clone());
    (Idp::new(), p, mode)
}

#[test]
fn cloud_sign_in_round_trip_then_silent() {
    let (idp, p, _) = cloud();
    let mut b = browser(&idp, &p, "acme.localhost");
    let r = b.get("/signin?return=/after");
    assert_eq!(r.status, 303);
    assert_eq!(location(&r), format!("{IMIS}/sso/EdgeIdP-OIDC"));
    assert!(b.jar.contains_key("__Host-idp-pending"));
    let r = b.post("/imis/callback", "refresh_token=rt-jsmith");
    assert_eq!(r.status, 303, "{}", body(&r));
    assert_eq!(location(&r), "/after");
    assert!(b.jar.contains_key("__Host-idp-session"));
    assert!(
        !b.jar.contains_key("__Host-idp-pending"),
        "the resumed request is gone"
    );
    assert!(p.events().contains(&"signin.success".to_string()));
    let home = b.get("/");
    assert!(body(&home).contains("Signed in as <strong>Jane Smith</strong>"));
    let calls = p.requests.borrow().len();
    let r = b.get("/signin?return=/again");
    assert_eq!(
        (r.status, location(&r)),
        (303, "/again"),
        "silent: no trip to iMIS"
    );
    assert_eq!(p.requests.borrow().len(), calls);
    let r = b.get("/signin?prompt=login");
    assert_eq!(
        location(&r),
        format!(
            "{IMIS}/AsiCommon/Controls/Shared/FormsAuthentication/logout.aspx?returnurl={}",
            crate::http::percent_encode(&format!("{IMIS}/sso/EdgeIdP-OIDC"))
        ),
        "prompt=login asks iMIS again: through its logout, so its session cannot answer"
    );
}

#[test]
fn callbacks_this_browser_did_not_start_are_refused() {
    let (idp, p, _) = cloud();
    let mut b = browser(&idp, &p, "acme.localhost");
    let r = b.post("/imis/callback", "refresh_token=rt-attacker");
    assert_eq!(r.status, 400);
    assert!(!b.jar.contains_key("__Host-idp-session"));
    assert!(
        p.requests.borrow().is_empty(),
        "the token is not even redeemed"
    );
    // A SAML sign-in pending does not make the OIDC callback acceptable either.
    b.get("/signin");
    let r = b.post("/saml/imis/callback", "refresh_token=rt-jsmith");
    assert_eq!(r.status, 400);
    let r = b.post("/imis/callback", "");
    assert_eq!(r.status, 400);
}

#[test]
fn callbacks_not_posted_from_the_imis_site_are_refused() {
    let (idp, p, _) = cloud();
    let mut b = browser(&idp, &p, "acme.localhost");
    // The victim's browser has a sign-in of its own pending; the attacker's page posts the
    // attacker's refresh token (login CSRF).
    b.get("/signin");
    for headers in [
        vec![],
        vec![("origin", "null")],
        vec![("origin", "https://evil.example")],
        vec![("origin", "http://127.0.0.1:9.evil.example")],
        vec![("origin", "http://127.0.0.1:90")],
        vec![("referer", "https://evil.example/http://127.0.0.1:9/")],
        vec![
            ("origin", "null"),
            ("referer", "http://127.0.0.1:9/acme/sso"),
        ],
    ] {
        let r = b.send(
            HttpMethod::Post,
            "/imis/callback",
            Some("refresh_token=rt-attacker"),
            &headers,
        );
        assert_eq!(r.status, 403, "{headers:?}");
        assert!(!b.jar.contains_key("__Host-idp-session"), "{headers:?}");
    }
    assert!(p.requests.borrow().is_empty(), "no token is redeemed");
    assert!(p.events().contains(&"signin.callback_refused".to_string()));
    // The RiSE page's own form: by Origin, or by Referer when the browser sends no Origin.
    let r = b.send(
        HttpMethod::Post,
        "/imis/callback",
        Some("refresh_token=rt-jsmith"),
        &[("referer", "http://127.0.0.1:9/acme/sso/EdgeIdP-OIDC")],
    );
    assert_eq!(r.status, 303, "{}", body(&r));
    assert!(b.jar.contains_key("__Host-idp-session"));
}

#[test]
fn parallel_tabs_each_resume_their_own_request() {
    let (idp, p, _) = cloud();
    let mut b = browser(&idp, &p, "acme.localhost");
    b.get("/signin?return=/tab-one");
    b.get("/signin?return=/tab-two");
    let r = b.post("/imis/callback", "refresh_token=rt-jsmith");
    assert_eq!(location(&r), "/tab-two");
    let r = b.post("/imis/callback", "refresh_token=rt-jsmith");
    assert_eq!(location(&r), "/tab-one");
}

#[test]
fn tampered_foreign_and_expired_sessions_are_ignored() {
    let (idp, p, _) = cloud();
    add_tenant(&p, "globex", "globex.localhost", IMIS);
    let mut b = browser(&idp, &p, "acme.localhost");
    b.get("/signin");
    b.post("/imis/callback", "refresh_token=rt-jsmith");
    let good = b.jar["__Host-idp-session"].clone();
    // Tampered: flip a character.
    let mut bad = good.clone().into_bytes();
    bad[20] = if bad[20] == b'A' { b'B' } else { b'A' };
    b.jar
        .insert("__Host-idp-session".into(), String::from_utf8(bad).unwrap());
    assert!(body(&b.get("/")).contains("signin-link"));
    // Foreign tenant: acme's cookie presented to globex.
    let mut g = browser(&idp, &p, "globex.localhost");
    g.jar.insert("__Host-idp-session".into(), good.clone());
    assert!(body(&g.get("/")).contains("signin-link"));
    // Idle timeout (60 minutes in the test tenant's defaults).
    b.jar.insert("__Host-idp-session".into(), good);
    assert!(body(&b.get("/")).contains("Signed in as"));
    p.advance_secs(61 * 60);
    assert!(body(&b.get("/")).contains("signin-link"));
}

#[test]
fn idle_timeout_slides_with_use_until_the_absolute_end() {
    let (idp, p, _) = cloud();
    let mut b = browser(&idp, &p, "acme.localhost");
    b.get("/signin");
    b.post("/imis/callback", "refresh_token=rt-jsmith");
    for _ in 0..9 {
        p.advance_secs(50 * 60);
        assert!(
            body(&b.get("/")).contains("Signed in as"),
            "each visit slides the idle timer"
        );
    }
    // 450 minutes of use; 40 more minutes is within the idle limit but past the absolute 480.
    p.advance_secs(40 * 60);
    assert!(body(&b.get("/")).contains("signin-link"));
}

#[test]
fn imis_failures_give_clear_pages_and_audit_events() {
    for (mode, status, event) in [
        (Imis::Timeout, 504, "imis.unavailable"),
        (Imis::Garbage, 502, "imis.unavailable"),
        (Imis::Unknown, 403, "signin.member_not_found"),
        (Imis::Disabled, 403, "signin.member_disabled"),
    ] {
        let (idp, p, m) = cloud();
        let mut b = browser(&idp, &p, "acme.localhost");
        b.get("/signin");
        *m.borrow_mut() = mode;
        let r = b.post("/imis/callback", "refresh_token=rt-jsmith");
        assert_eq!(r.status, status);
        assert!(body(&r).contains("href=\"/signin\""), "a retry link");
        assert!(
            !b.jar.contains_key("__Host-idp-session"),
            "nothing half-done"
        );
        assert!(p.events().contains(&event.to_string()), "{event}");
    }
    let (idp, p, _) = cloud();
    let mut b = browser(&idp, &p, "acme.localhost");
    b.get("/signin");
    let r = b.post("/imis/callback", "refresh_token=not-valid");
    assert_eq!(r.status, 400);
    assert!(p.events().contains(&"signin.imis_refused".to_string()));
}

#[test]
fn legacy_sign_in_form_checks_the_password_at_imis() {
    let (idp, p, _) = legacy();
    let mut b = browser(&idp, &p, "globex.localhost");
    let r = b.get("/signin?return=/x");
    let form_url = location(&r).to_string();
    assert!(form_url.starts_with("/signin?p="));
    let form = b.get(&form_url);
    let html = body(&form);
    assert!(
        html.contains("id=\"signin-form\"") && html.contains("autocomplete=\"current-password\"")
    );
    let id = crate::http::percent_decode(form_url.trim_start_matches("/signin?p="), true);
    let enc = crate::http::percent_encode(&id);
    let r = b.post(
        "/signin",
        &format!("p={enc}&username=jsmith&password=wrong"),
    );
    assert_eq!(r.status, 401);
    assert!(body(&r).contains("The username or password is not correct."));
    assert!(
        p.slept_ms.get() >= 600,
        "failures are padded to a fixed time"
    );
    let r = b.post(
        "/signin",
        &format!("p={enc}&username=nosuchuser&password=wrong"),
    );
    assert!(
        body(&r).contains("The username or password is not correct."),
        "the same message for unknown users"
    );
    let r = b.post("/signin", &format!("p={enc}&username=jsmith&password=pw"));
    assert_eq!((r.status, location(&r)), (303, "/x"), "{}", body(&r));
    assert!(body(&b.get("/")).contains("Signed in as"));
    // The form cannot be replayed or forged.
    let r = b.post("/signin", &format!("p={enc}&username=jsmith&password=pw"));
    assert_eq!(r.status, 400);
}

#[test]
fn a_hostile_username_comes_back_escaped_in_the_form() {
    let (idp, p, _) = legacy();
    let mut b = browser(&idp, &p, "globex.localhost");
    let form_url = location(&b.get("/signin?return=/x")).to_string();
    let id = crate::http::percent_decode(form_url.trim_start_matches("/signin?p="), true);
    let hostile = "\"><script>alert(1)</script>";
    let r = b.post(
        "/signin",
        &crate::http::encode_form(&[("p", &id), ("username", hostile), ("password", "wrong")]),
    );
    assert_eq!(r.status, 401);
    let html = body(&r);
    assert!(
        html.contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""),
        "{html}"
    );
    assert!(!html.contains("<script>alert"));
}

#[test]
fn parallel_password_guesses_cannot_race_past_the_throttle() {
    let (idp, p, _) = legacy();
    // Fifty browsers, each with its own sign-in form, guess one member's password at once; the
    // runtime waits for iMIS on every request, so all of them are in flight together.
    let mut forms = Vec::new();
    for _ in 0..50 {
        let mut b = Browser::new(&idp, &p, "globex.localhost");
        let r = b.get("/signin");
        let id = location(&r).trim_start_matches("/signin?p=").to_string();
        let cookies: Vec<String> = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        forms.push((id, cookies.join("; ")));
    }
    p.yield_on_fetch.set(true);
    let requests = forms.iter().map(|(id, cookie)| {
        let mut req = crate::http::Request::new(HttpMethod::Post, "globex.localhost", "/signin");
        req.headers.push(("cookie".into(), cookie.clone()));
        req.headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        req.body = format!("p={id}&username=jsmith&password=guess").into_bytes();
        idp.handle(req, &p)
    });
    let answers = futures_executor::block_on(futures_util::future::join_all(requests));
    let password_grants = p
        .requests
        .borrow()
        .iter()
        .filter(|r| {
            String::from_utf8_lossy(&r.body).contains("grant_type=password&username=jsmith")
        })
        .count();
    assert_eq!(
        password_grants as i64,
        crate::signin::throttle::MAX_USER_ATTEMPTS,
        "only the allowed attempts reach iMIS"
    );
    assert_eq!(answers.iter().filter(|r| r.status == 401).count(), 4);
    assert_eq!(answers.iter().filter(|r| r.status == 429).count(), 46);
}

#[test]
fn legacy_sign_in_is_throttled_before_imis_locks_the_account() {
    let (idp, p, _) = legacy();
    let mut b = browser(&idp, &p, "globex.localhost");
    let id_of = |r: &Response| {
        crate::http::percent_decode(location(r).trim_start_matches("/signin?p="), true)
    };
    let r = b.get("/signin");
    let id = crate::http::percent_encode(&id_of(&r));
    for _ in 0..crate::signin::throttle::MAX_USER_ATTEMPTS {
        assert_eq!(
            b.post("/signin", &format!("p={id}&username=JSmith&password=bad"))
                .status,
            401
        );
    }
    let before = p.requests.borrow().len();
    let r = b.post("/signin", &format!("p={id}&username=jsmith&password=pw"));
    assert_eq!(r.status, 429);
    assert_eq!(
        p.requests.borrow().len(),
        before,
        "no further attempt reaches iMIS"
    );
    assert!(p.events().contains(&"signin.throttled".to_string()));
}

#[test]
fn sign_out_needs_the_form_token_and_signs_out_of_imis() {
    let (idp, p, _) = cloud();
    let mut b = browser(&idp, &p, "acme.localhost:8787");
    b.get("/signin");
    b.post("/imis/callback", "refresh_token=rt-jsmith");
    let page = body(&b.get("/signout"));
    let token = signout_token(&page);
    let r = b.post("/signout", "t=forged");
    assert_eq!(
        r.status, 200,
        "a forged sign-out only shows the confirmation"
    );
    assert!(b.jar.contains_key("__Host-idp-session"));
    let r = b.post("/signout", &format!("t={token}"));
    assert_eq!(r.status, 303);
    assert_eq!(
        location(&r),
        format!(
            "{IMIS}/AsiCommon/Controls/Shared/FormsAuthentication/logout.aspx?returnurl={}",
            crate::http::percent_encode("https://acme.localhost:8787/signed-out")
        )
    );
    assert!(!b.jar.contains_key("__Host-idp-session"));
    assert!(body(&b.get("/")).contains("signin-link"));
    assert!(body(&b.get("/signed-out")).contains("You are signed out"));
}

#[test]
fn a_session_cookie_copied_before_sign_out_is_dead_after_it() {
    let (idp, p, _) = cloud();
    let mut b = browser(&idp, &p, "acme.localhost");
    b.get("/signin");
    b.post("/imis/callback", "refresh_token=rt-jsmith");
    let copy = b.jar.clone();
    let page = body(&b.get("/"));
    assert!(page.contains("Signed in as"));
    let token = signout_token(&page);
    assert_eq!(b.post("/signout", &format!("t={token}")).status, 303);
    // Someone who copied the cookie (a shared computer, a leaked log) comes back with it.
    let mut thief = browser(&idp, &p, "acme.localhost");
    thief.jar = copy;
    assert!(!body(&thief.get("/")).contains("Signed in as"));
    let r = thief.get("/signin?return=/after");
    assert!(
        location(&r).starts_with(IMIS),
        "a silent sign-in with it goes to iMIS: {}",
        location(&r)
    );
    // A new sign-in gets a new session that works.
    thief.post("/imis/callback", "refresh_token=rt-jsmith");
    assert!(body(&thief.get("/")).contains("Signed in as"));
}

#[test]
fn a_sign_out_through_imis_continues_only_to_a_vouched_destination() {
    let (idp, p, _) = cloud();
    let mut b = browser(&idp, &p, "acme.localhost:8787");
    let ctx_target = "https://rp.example/signed-out?state=s1";
    // What an RP-initiated logout builds (the route is exercised end to end in the OIDC tests).
    let req = crate::http::Request::new(HttpMethod::Get, "acme.localhost:8787", "/");
    let via_imis = futures_executor::block_on(async {
        let tenant = idp.tenants.resolve(&req.host, &p).await.unwrap();
        let ctx = crate::Ctx::new(&p, &idp, &req, tenant, "r".into(), "n".into());
        super::after_sign_out_then(&ctx, ctx_target)
    });
    let prefix =
        format!("{IMIS}/AsiCommon/Controls/Shared/FormsAuthentication/logout.aspx?returnurl=");
    let back = crate::http::percent_decode(via_imis.strip_prefix(&prefix).unwrap(), false);
    let path = back.strip_prefix("https://acme.localhost:8787").unwrap();
    let r = b.get(path);
    assert_eq!(r.status, 303);
    assert_eq!(location(&r), ctx_target);
    // A changed destination, MAC or expiry only shows the signed-out page.
    for (from, to) in [
        ("rp.example", "evil.example"),
        ("mac=", "mac=x"),
        ("exp=1", "exp=2"),
    ] {
        let forged = path.replacen(from, to, 1);
        assert_ne!(forged, path, "{from}");
        let r = b.get(&forged);
        assert_eq!(r.status, 200, "{forged}");
        assert!(body(&r).contains("You are signed out"));
    }
    p.advance_secs(super::signout::CONTINUE_TTL_SECS + 1);
    assert_eq!(b.get(path).status, 200, "expired");
}

#[test]
fn return_targets_must_be_local() {
    for bad in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "/\\evil.example",
        "/%5Cevil.example",
        "/\t/evil.example",
    ] {
        assert!(!crate::http::is_local_path(bad), "{bad}");
    }
    assert!(crate::http::is_local_path("/ok?x=1"));
    let (idp, p, _) = cloud();
    let mut b = browser(&idp, &p, "acme.localhost");
    b.get(&format!(
        "/signin?return={}",
        crate::http::percent_encode("//evil.example/")
    ));
    let r = b.post("/imis/callback", "refresh_token=rt-jsmith");
    assert_eq!(location(&r), "/");
}

/// The legacy tenant reading iMIS's `Login` cookie with a Framework45 HMACSHA256 machine key.
fn legacy_with_forms_ticket() -> (Idp, FakePlatform, crate::imis::forms_ticket::MachineKey) {
    use crate::imis::forms_ticket::{FormsCompatibility, FormsValidation, MachineKey};
    let (idp, p, _) = legacy();
    let (vk, dk) = ("6F1C".repeat(32), "A37B".repeat(16));
    let mut t = tenant_json("globex", "globex.localhost", IMIS);
    t["identity_mode"] = "imis_legacy".into();
    t["imis"]["forms_ticket"] = json!({
        "cookie_name": "Login", "compatibility_mode": "framework45", "validation": "HMACSHA256",
        "validation_key": sealed("globex", &vk), "decryption_key": sealed("globex", &dk),
        "max_age_minutes": 60,
    });
    p.put_kv("tenant:globex", &t.to_string());
    let key = MachineKey::from_hex(
        FormsCompatibility::Framework45,
        FormsValidation::HmacSha256,
        &vk,
        &dk,
    )
    .unwrap();
    (idp, p, key)
}

fn ticket_cookie(
    key: &crate::imis::forms_ticket::MachineKey,
    name: &str,
    issued: i64,
    expires: i64,
) -> String {
    use crate::imis::forms_ticket::tests::{issue, serialize};
    issue(key, &serialize(name, issued, expires), &[7; 64])
}

#[test]
fn legacy_mode_signs_in_from_imis_s_forms_ticket_and_doubts_show_the_form() {
    let (idp, p, key) = legacy_with_forms_ticket();
    let now = i64::try_from(crate::platform::Platform::now(&p).secs()).unwrap();
    let start = |b: &mut Browser, path: &str| {
        let r = b.get(path);
        assert!(location(&r).starts_with("/signin?p="), "{}", body(&r));
        b.get(location(&r))
    };
    // A current ticket: signed in without the form.
    let mut b = browser(&idp, &p, "globex.localhost");
    b.jar.insert(
        "Login".into(),
        ticket_cookie(&key, "jsmith", now - 60, now + 3600),
    );
    let r = start(&mut b, "/signin?return=/x");
    assert_eq!((r.status, location(&r)), (303, "/x"), "{}", body(&r));
    assert!(body(&b.get("/")).contains("Signed in as"));
    let logged = || serde_json::to_string(&*p.logs.borrow()).unwrap();
    assert!(
        logged().contains(r#""event":"signin.forms_ticket","outcome":"success""#),
        "{}",
        logged()
    );

    let doubtful = [
        (
            "expired",
            ticket_cookie(&key, "jsmith", now - 7200, now - 60),
        ),
        (
            "older than max_age",
            ticket_cookie(&key, "jsmith", now - 7200, now + 3600),
        ),
        (
            "from the future",
            ticket_cookie(&key, "jsmith", now + 3600, now + 7200),
        ),
        ("garbage", "00ff".into()),
    ];
    for (why, value) in doubtful {
        let mut b = browser(&idp, &p, "globex.localhost");
        b.jar.insert("Login".into(), value.clone());
        let r = start(&mut b, "/signin?return=/x");
        assert_eq!(r.status, 200, "{why}");
        assert!(body(&r).contains("id=\"signin-form\""), "{why}");
        assert!(!logged().contains(&value), "{why}: never logged");
    }

    // A fresh sign-in asked for: the form, despite a good ticket.
    let mut b = browser(&idp, &p, "globex.localhost");
    b.jar.insert(
        "Login".into(),
        ticket_cookie(&key, "jsmith", now - 60, now + 3600),
    );
    let r = start(&mut b, "/signin?return=/x&prompt=login");
    assert!(body(&r).contains("id=\"signin-form\""));
}

#[test]
fn a_forms_ticket_is_read_in_legacy_mode_only() {
    let mut t = tenant_json("acme", "acme.localhost", IMIS);
    t["imis"]["forms_ticket"] = json!({
        "cookie_name": "Login", "compatibility_mode": "framework45", "validation": "SHA1",
        "validation_key": sealed("acme", "00"), "decryption_key": sealed("acme", "00"),
    });
    let err = crate::tenant::TenantConfig::parse(t.to_string().as_bytes()).unwrap_err();
    assert!(err.to_string().contains("legacy mode"), "{err}");
}
