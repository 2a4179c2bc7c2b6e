//! RiSE pages: the Single Sign On content item, sign-in, logout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{handoff, Emu};

fn is_refresh_token(t: &str) -> bool {
    t.len() == 32
        && t.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

#[test]
fn sso_page_without_cookie_renders_sign_in_form() {
    let emu = Emu::start();
    let r = emu.get("/acme/sso/EdgeIdP-OIDC");
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.body.contains("name=\"username\""));
    assert!(r.body.contains("name=\"password\""));
    assert!(r.body.contains("method=\"post\""));
    assert_eq!(
        common::attr_after(&r.body, "id=\"signin-form\"", "action").as_deref(),
        Some("/acme/sso/EdgeIdP-OIDC")
    );
    assert!(handoff(&r.body).is_none());
    assert!(!r.body.contains("refresh_token"));
}

#[test]
fn sign_in_sets_login_cookie_and_hands_off_refresh_token() {
    let emu = Emu::start();
    let r = emu.post_form(
        "/acme/sso/EdgeIdP-OIDC",
        &[("username", "jsmith"), ("password", "Member-Passw0rd")],
        &[],
    );
    assert_eq!(r.status, 200);
    let set_cookie = r.header("set-cookie").unwrap();
    assert!(set_cookie.starts_with("Login="), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"));
    assert!(set_cookie.contains("path=/acme"));
    assert!(
        !set_cookie.to_ascii_lowercase().contains("domain="),
        "host-only cookie"
    );
    let (action, token) = handoff(&r.body).unwrap();
    assert_eq!(action, "https://acme.localhost:8443/imis/callback");
    assert!(is_refresh_token(&token), "{token}");
    // Exactly one named field, posted form-urlencoded, auto-submitted, with a no-JS button.
    let form_start = r.body.find("id=\"sso-handoff\"").unwrap();
    let form_end = form_start + r.body[form_start..].find("</form>").unwrap();
    let form_html = &r.body[form_start..form_end];
    assert_eq!(form_html.matches("name=").count(), 1, "{form_html}");
    assert!(r.body.contains("method=\"post\""));
    assert!(r
        .body
        .contains("enctype=\"application/x-www-form-urlencoded\""));
    assert!(r.body.contains("<script>") && r.body.contains(".submit()"));
    assert!(form_html.contains("<button type=\"submit\">Continue</button>"));

    // Already signed in: the hand-off is rendered at once, with a fresh token.
    let cookie = r.login_cookie().unwrap();
    let again = emu.req(
        "GET",
        "/acme/sso/EdgeIdP-OIDC",
        &[("Cookie", &cookie)],
        None,
    );
    assert_eq!(again.status, 200);
    let (_, token2) = handoff(&again.body).unwrap();
    assert!(is_refresh_token(&token2));
    assert_ne!(token, token2);
    // The SAML client app page posts to its own redirect URL.
    let saml = emu.req(
        "GET",
        "/ACME/SSO/edgeidp-saml",
        &[("Cookie", &cookie)],
        None,
    );
    let (saml_action, _) = handoff(&saml.body).unwrap();
    assert_eq!(
        saml_action,
        "https://acme.localhost:8443/saml/imis/callback"
    );
    // The acme cookie means nothing to globex.
    let other = emu.req(
        "GET",
        "/globex/sso/EdgeIdP-OIDC",
        &[("Cookie", &cookie)],
        None,
    );
    assert!(handoff(&other.body).is_none());
    assert!(other.body.contains("name=\"password\""));
}

#[test]
fn globex_hand_off_goes_to_globex_host_and_is_redeemable() {
    let emu = Emu::start();
    let (_, token) = common::sso_sign_in(
        &emu,
        "/globex",
        "EdgeIdP-OIDC",
        "hsimpson",
        "Member-Passw0rd",
    );
    let r = emu.post_form(
        "/globex/Asi.Scheduler_iMIS/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "EdgeIdP-OIDC"),
            ("client_secret", "globex-oidc-secret"),
            ("refresh_token", &token),
        ],
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["userName"], "hsimpson");
    let page = emu.post_form(
        "/globex/sso/EdgeIdP-SAML",
        &[("username", "hsimpson"), ("password", "Member-Passw0rd")],
        &[],
    );
    let (action, _) = handoff(&page.body).unwrap();
    assert_eq!(action, "https://globex.localhost:8443/saml/imis/callback");
}

#[test]
fn failed_sign_ins_show_errors_and_set_no_cookie() {
    let emu = Emu::start();
    for (user, pass, needle) in [
        ("jsmith", "wrong", "incorrect"),
        ("nobody", "Member-Passw0rd", "incorrect"),
        ("disabled", "Member-Passw0rd", "disabled"),
    ] {
        let r = emu.post_form(
            "/acme/sso/EdgeIdP-OIDC",
            &[("username", user), ("password", pass)],
            &[],
        );
        assert_eq!(r.status, 200);
        assert!(r.login_cookie().is_none(), "{user}");
        assert!(handoff(&r.body).is_none(), "{user}");
        assert!(r.body.contains("id=\"error\""), "{user}");
        assert!(r.body.contains(needle), "{user}: {}", r.body);
    }
    // A suspended non-member can still sign in (access decisions are the IdP's job).
    let r = emu.post_form(
        "/acme/sso/EdgeIdP-OIDC",
        &[("username", "bwayne"), ("password", "Member-Passw0rd")],
        &[],
    );
    assert!(handoff(&r.body).is_some());
}

#[test]
fn unknown_client_app_is_404() {
    let emu = Emu::start();
    assert_eq!(emu.get("/acme/sso/NoSuchApp").status, 404);
    assert_eq!(emu.get("/nosuchsite/sso/EdgeIdP-OIDC").status, 404);
}

#[test]
fn logout_clears_cookie_and_redirects_anywhere() {
    let emu = Emu::start();
    let (cookie, _) =
        common::sso_sign_in(&emu, "/acme", "EdgeIdP-OIDC", "jsmith", "Member-Passw0rd");
    let home = emu.req("GET", "/acme/", &[("Cookie", &cookie)], None);
    assert!(home.body.contains("Signed in as <strong>jsmith</strong>"));

    let url = "/acme/AsiCommon/Controls/Shared/FormsAuthentication/logout.aspx?returnurl=https%3A%2F%2Facme.localhost%3A8443%2Flogged-out%3Fa%3D1";
    let r = emu.req("GET", url, &[("Cookie", &cookie)], None);
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some("https://acme.localhost:8443/logged-out?a=1")
    );
    let sc = r.header("set-cookie").unwrap();
    assert!(
        sc.starts_with("Login=;") && sc.contains("1970") && sc.contains("path=/acme"),
        "{sc}"
    );
    // The old cookie no longer signs in.
    let page = emu.req(
        "GET",
        "/acme/sso/EdgeIdP-OIDC",
        &[("Cookie", &cookie)],
        None,
    );
    assert!(handoff(&page.body).is_none());

    // No returnurl → the sign-in page; key and path case-insensitive.
    let r = emu.get("/ACME/asicommon/controls/shared/formsauthentication/LOGOUT.ASPX");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("/acme/SignIn"));
    let r = emu.get("/globex/AsiCommon/Controls/Shared/FormsAuthentication/logout.aspx?ReturnUrl=https%3A%2F%2Fevil.example%2F");
    assert_eq!(
        r.header("location"),
        Some("https://evil.example/"),
        "2017: no allow-list"
    );
    let r = emu.get("/globex/AsiCommon/Controls/Shared/FormsAuthentication/logout.aspx?Redirect=0");
    assert_eq!(r.status, 200);
}

#[test]
fn sign_in_page_returns_only_to_relative_paths() {
    let emu = Emu::start();
    let r = emu.get("/acme/SignIn?returnurl=%2Facme%2Fsso%2FEdgeIdP-OIDC");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("name=\"password\""));
    let r = emu.post_form(
        "/acme/SignIn?returnurl=%2Facme%2Fsso%2FEdgeIdP-OIDC",
        &[("username", "jsmith"), ("password", "Member-Passw0rd")],
        &[],
    );
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("/acme/sso/EdgeIdP-OIDC"));
    let cookie = r.login_cookie().unwrap();
    let page = emu.req(
        "GET",
        "/acme/sso/EdgeIdP-OIDC",
        &[("Cookie", &cookie)],
        None,
    );
    assert!(handoff(&page.body).is_some());

    let r = emu.post_form(
        "/acme/signin?ReturnUrl=https%3A%2F%2Fevil.example%2F",
        &[("username", "jsmith"), ("password", "Member-Passw0rd")],
        &[],
    );
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("/acme/"));
    let r = emu.post_form(
        "/acme/signin?ReturnUrl=%2F%2Fevil.example%2F",
        &[("username", "jsmith"), ("password", "Member-Passw0rd")],
        &[],
    );
    assert_eq!(r.header("location"), Some("/acme/"));
}
