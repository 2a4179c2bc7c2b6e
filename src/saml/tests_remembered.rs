//! A signed-in member's IQA answers remembered with the session: repeat sign-ins to an app within
//! the freshness window ask iMIS nothing, an iMIS outage is bridged with the last answer for
//! members already signed in, and the remembered answers are sealed and bound to their session.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;

use super::tests::{app_json, body, saml_response, setup, signed_in_saml};
use crate::platform::PlatformError;
use crate::testing::*;

const ANSWERS: &str = "__Host-idp-iqa";

fn iqa_calls(p: &FakePlatform) -> usize {
    p.requests
        .borrow()
        .iter()
        .filter(|r| r.url.contains("QueryName="))
        .count()
}

/// An IdP-initiated sign-in to the demo app for a browser that is already signed in.
fn sso(b: &mut Browser<'_>) -> crate::http::Response {
    b.get("/saml/demo-sp/login")
}

fn has_roles(r: &crate::http::Response) -> bool {
    let xml = saml_response(r);
    xml.contains(">Board<") && xml.contains(">Jane<")
}

fn imis_down(p: &FakePlatform) {
    p.on_fetch(|_| Err(PlatformError::Timeout(8000)));
}

fn with_cache_minutes(p: &FakePlatform, minutes: u64) {
    let mut tenant: Value = serde_json::from_slice(&p.kv.borrow()["tenant:acme"]).unwrap();
    tenant["imis"]["profile_cache_minutes"] = minutes.into();
    p.put_kv("tenant:acme", &tenant.to_string());
}

#[test]
fn a_repeat_sign_in_within_the_window_asks_imis_nothing() {
    let (idp, p) = setup(&app_json(|_| {}));
    let mut b = signed_in_saml(&idp, &p);
    let first = iqa_calls(&p);
    assert_eq!(first, 2, "the first sign-in runs the Profile and Role IQAs");
    assert!(b.jar.contains_key(ANSWERS));
    let r = sso(&mut b);
    assert!(has_roles(&r), "{}", body(&r));
    assert_eq!(
        iqa_calls(&p),
        first,
        "the repeat is answered from the session"
    );
    // Past the default five minutes the answers are fresh no more: iMIS is asked again.
    p.advance_secs(5 * 60 + 1);
    let r = sso(&mut b);
    assert!(has_roles(&r));
    assert_eq!(iqa_calls(&p), first + 2);
}

#[test]
fn a_window_of_zero_asks_imis_every_time() {
    let (idp, p) = setup(&app_json(|_| {}));
    with_cache_minutes(&p, 0);
    let mut b = signed_in_saml(&idp, &p);
    let first = iqa_calls(&p);
    sso(&mut b);
    assert_eq!(iqa_calls(&p), first + 2);
}

#[test]
fn while_imis_is_down_a_signed_in_member_gets_the_last_answer() {
    let (idp, p) = setup(&app_json(|_| {}));
    with_cache_minutes(&p, 0);
    let mut b = signed_in_saml(&idp, &p);
    p.advance_secs(30 * 60);
    imis_down(&p);
    let r = sso(&mut b);
    assert!(has_roles(&r), "{}", body(&r));
    assert!(p
        .events()
        .contains(&"imis.remembered_answer_used".to_string()));
}

#[test]
fn remembered_answers_serve_only_their_own_session() {
    let (idp, p) = setup(&app_json(|_| {}));
    let a = signed_in_saml(&idp, &p);
    let mut b = signed_in_saml(&idp, &p);
    // The sealed answers of A's session, copied into B's browser, are not B's.
    b.jar.insert(ANSWERS.into(), a.jar[ANSWERS].clone());
    p.advance_secs(5 * 60 + 1);
    imis_down(&p);
    let r = sso(&mut b);
    assert_eq!(r.status, 502, "{}", body(&r));
    assert!(!body(&r).contains("Jane"));
}

#[test]
fn a_new_sign_in_does_not_reuse_the_answers_of_the_previous_session() {
    let (idp, p) = setup(&app_json(|_| {}));
    let mut b = signed_in_saml(&idp, &p);
    let old = b.jar[ANSWERS].clone();
    // Sign out, then in again: a new session with a new id.
    b.jar.remove("__Host-idp-session");
    b.get("/saml/demo-sp/login");
    b.post("/saml/imis/callback", "refresh_token=rt-jsmith");
    b.jar.insert(ANSWERS.into(), old);
    let before = iqa_calls(&p);
    sso(&mut b);
    assert_eq!(
        iqa_calls(&p),
        before + 2,
        "the old session's answers are ignored"
    );
}

#[test]
fn the_remembered_answers_are_sealed() {
    let (idp, p) = setup(&app_json(|_| {}));
    let b = signed_in_saml(&idp, &p);
    let cookie = &b.jar[ANSWERS];
    assert!(cookie.len() > 40);
    for plain in ["Jane", "Board", "jsmith", "Profile"] {
        assert!(!cookie.contains(plain), "{plain} readable in the cookie");
    }
}

#[test]
fn a_forged_or_mangled_answers_cookie_is_ignored_and_imis_is_asked() {
    let (idp, p) = setup(&app_json(|_| {}));
    let mut b = signed_in_saml(&idp, &p);
    let sealed = b.jar[ANSWERS].clone();
    let flipped: String = sealed
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 20 {
                if c == 'A' {
                    'B'
                } else {
                    'A'
                }
            } else {
                c
            }
        })
        .collect();
    for forged in [
        flipped,
        "not-base64-\u{0}".to_string(),
        String::new(),
        "A".repeat(5000),
    ] {
        b.jar.insert(ANSWERS.into(), forged);
        let before = iqa_calls(&p);
        let r = sso(&mut b);
        assert!(has_roles(&r), "{}", body(&r));
        assert_eq!(
            iqa_calls(&p),
            before + 2,
            "a cookie that does not open is not used"
        );
    }
}
