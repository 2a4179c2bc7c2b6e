#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::Cell;
use std::rc::Rc;

use serde_json::json;

use super::*;
use crate::testing::*;

fn tenant() -> TenantConfig {
    TenantConfig::parse(
        tenant_json("acme", "acme.localhost", "http://127.0.0.1:9/acme")
            .to_string()
            .as_bytes(),
    )
    .unwrap()
}

const TOKEN_OK: &str = r#"{"access_token":"bg-token","token_type":"bearer","expires_in":1199,"userName":"edgeidp-service"}"#;

#[test]
fn token_grants_map_every_answer() {
    let t = tenant();
    type Case = (u16, &'static str, Result<Option<&'static str>, ImisError>);
    let cases: Vec<Case> = vec![
        (
            200,
            r#"{"access_token":"a","token_type":"bearer","expires_in":1199,"userName":"jsmith"}"#,
            Ok(Some("jsmith")),
        ),
        (
            400,
            r#"{"error":"invalid_grant","error_description":"bad"}"#,
            Err(ImisError::InvalidGrant),
        ),
        (
            400,
            r#"{"error":"invalid_client"}"#,
            Err(ImisError::InvalidClient),
        ),
        (
            400,
            r#"{"error":"unsupported_grant_type"}"#,
            Err(ImisError::TokenError("unsupported_grant_type".into())),
        ),
        (503, "Service Unavailable", Err(ImisError::Status(503))),
        (
            200,
            "<html>oops</html>",
            Err(ImisError::Unexpected(
                "token endpoint answered HTTP 200 without JSON".into(),
            )),
        ),
        (
            200,
            r#"{"token_type":"bearer"}"#,
            Err(ImisError::Unexpected(
                "token answer without access_token".into(),
            )),
        ),
    ];
    for (status, body, expected) in cases {
        let p = FakePlatform::default();
        let body = body.to_string();
        p.on_fetch(move |_| json_response(status, &body));
        let got =
            block_on(ImisClient::new(&p, &t).refresh_grant("EdgeIdP-OIDC", "s3cret", "2101be80"));
        assert_eq!(
            got.as_ref().map(|g| g.user_name.as_deref()),
            expected.as_ref().map(|u| *u),
            "{status}"
        );
        let sent = p.requests.borrow()[0].clone();
        assert!(sent.url.ends_with("/acme/token"));
        assert_eq!(
            String::from_utf8(sent.body).unwrap(),
            "grant_type=refresh_token&client_id=EdgeIdP-OIDC&client_secret=s3cret&refresh_token=2101be80"
        );
    }
}

#[test]
fn grant_debug_output_redacts_the_token() {
    let g = TokenGrant {
        access_token: "secret-token".into(),
        user_name: None,
        expires_in: 5,
    };
    assert!(!format!("{g:?}").contains("secret-token"));
}

#[test]
fn timeouts_and_network_failures_are_errors_not_panics() {
    let t = tenant();
    let p = FakePlatform::default();
    p.on_fetch(|req| {
        assert_eq!(req.timeout_ms, 2000);
        Err(PlatformError::Timeout(2000))
    });
    assert_eq!(
        block_on(ImisClient::new(&p, &t).password_grant("u", "p")),
        Err(ImisError::Timeout(2000))
    );
    p.on_fetch(|_| Err(PlatformError::Fetch("connection refused".into())));
    assert!(matches!(
        block_on(ImisClient::new(&p, &t).password_grant("u", "p")),
        Err(ImisError::Unreachable(_))
    ));
}

fn iqa_page(offset: u64, rows: std::ops::Range<u64>, total: u64) -> String {
    let items: Vec<_> = rows
        .map(|i| json!({"$type": "Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts", "EntityTypeName": "9",
            "Properties": {"$values": [
                {"Name": "ResultRow", "Value": (i + 1).to_string()},
                {"Name": "Id", "Value": {"$type": "System.Int32", "$value": i}},
                {"Name": "Chapter"}
            ]}}))
        .collect();
    let count = items.len() as u64;
    let has_next = offset + count < total;
    json!({"Items": {"$values": items}, "Offset": offset, "Limit": 500, "Count": count, "TotalCount": total,
           "NextPageLink": null, "HasNext": has_next, "NextOffset": if has_next { offset + count } else { 0 }})
    .to_string()
}

#[test]
fn iqa_reads_every_page_with_the_background_token() {
    let t = tenant();
    let p = FakePlatform::default();
    p.on_fetch(|req| {
        if req.url.ends_with("/token") {
            return json_response(200, TOKEN_OK);
        }
        assert!(req
            .url
            .contains("/api/IQA?QueryName=%24%2FEdgeIdP%2FAll&Parameter=a%20b&Limit=500&Offset="));
        if req.url.ends_with("Offset=0") {
            json_response(200, &iqa_page(0, 0..500, 620))
        } else {
            assert!(req.url.ends_with("Offset=500"));
            json_response(200, &iqa_page(500, 500..620, 620))
        }
    });
    let cache = TokenCache::default();
    let rows = block_on(ImisClient::new(&p, &t).iqa(&cache, "$/EdgeIdP/All", &["a b"])).unwrap();
    assert_eq!(rows.len(), 620);
    assert_eq!(
        rows[619],
        vec![
            ("Id".to_string(), json!(619)),
            ("Chapter".to_string(), serde_json::Value::Null)
        ]
    );
    assert_eq!(p.requests.borrow().len(), 3, "one token grant, two pages");
}

#[test]
fn iqa_refusals_name_the_query() {
    let t = tenant();
    let p = FakePlatform::default();
    p.on_fetch(|req| {
        if req.url.ends_with("/token") {
            json_response(200, TOKEN_OK)
        } else {
            json_response(400, r#"{"IsValid":false}"#)
        }
    });
    let got = block_on(ImisClient::new(&p, &t).iqa(&TokenCache::default(), "$/Nope", &[]));
    assert_eq!(
        got,
        Err(ImisError::QueryRefused {
            query: "$/Nope".into(),
            status: 400
        })
    );
}

#[test]
fn background_token_is_cached_and_renewed_after_a_401() {
    let t = tenant();
    let p = FakePlatform::default();
    let grants = Rc::new(Cell::new(0));
    let g = grants.clone();
    let api_calls = Rc::new(Cell::new(0));
    let a = api_calls.clone();
    p.on_fetch(move |req| {
        if req.url.ends_with("/token") {
            g.set(g.get() + 1);
            return json_response(
                200,
                &format!(r#"{{"access_token":"t{}","expires_in":1199}}"#, g.get()),
            );
        }
        a.set(a.get() + 1);
        // The first token is refused once (iMIS's spurious 401), the renewed one works.
        let bearer = req
            .headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .map(|(_, v)| v.clone())
            .unwrap();
        if bearer == "Bearer t1" && a.get() == 2 {
            json_response(401, "")
        } else {
            json_response(200, r#"{"Items":{"$values":[]}}"#)
        }
    });
    let cache = TokenCache::default();
    let client = ImisClient::new(&p, &t);
    block_on(client.get_json_as_service(&cache, "User?UserName=x")).unwrap();
    assert_eq!(grants.get(), 1);
    block_on(client.get_json_as_service(&cache, "User?UserName=x")).unwrap();
    assert_eq!(grants.get(), 2, "a 401 renews the token once");
    p.advance_secs(1199);
    block_on(client.get_json_as_service(&cache, "User?UserName=x")).unwrap();
    assert_eq!(grants.get(), 3, "an expired token is renewed");
}

#[test]
fn a_fresh_instance_reuses_the_sealed_background_token_of_the_shared_cache() {
    let t = tenant();
    let p = FakePlatform::default();
    p.shared_cache.set(true); // as on Spin: every request is a fresh instance
    let grants = Rc::new(Cell::new(0));
    let g = grants.clone();
    p.on_fetch(move |req| {
        if req.url.ends_with("/token") {
            g.set(g.get() + 1);
            return json_response(
                200,
                &format!(r#"{{"access_token":"tok-{}","expires_in":1199}}"#, g.get()),
            );
        }
        let stale = req
            .headers
            .iter()
            .any(|(k, v)| k == "authorization" && v == "Bearer tok-1");
        // iMIS revokes the first token after a while (a 401 renews it).
        if stale && req.url.contains("revoked") {
            json_response(401, "")
        } else {
            json_response(200, r#"{"Items":{"$values":[]}}"#)
        }
    });
    let client = ImisClient::new(&p, &t);
    block_on(client.get_json_as_service(&TokenCache::default(), "User?UserName=x")).unwrap();
    assert_eq!(grants.get(), 1);
    // The token is sealed in the shared cache, never in clear.
    let shared = p.shared.borrow().values().next().cloned().unwrap();
    assert!(!String::from_utf8_lossy(&shared).contains("tok-1"));
    // A new instance (empty in-memory cache) uses it: no second password grant.
    block_on(client.get_json_as_service(&TokenCache::default(), "User?UserName=y")).unwrap();
    assert_eq!(grants.get(), 1, "the shared token is reused");
    // A 401 renews it, and the renewed token replaces the shared one.
    block_on(client.get_json_as_service(&TokenCache::default(), "User?revoked")).unwrap();
    assert_eq!(grants.get(), 2);
    block_on(client.get_json_as_service(&TokenCache::default(), "User?revoked")).unwrap();
    assert_eq!(grants.get(), 2, "the renewed token was shared");
    // Expired (renew margin passed): a new grant.
    p.advance_secs(1199);
    block_on(client.get_json_as_service(&TokenCache::default(), "User?UserName=z")).unwrap();
    assert_eq!(grants.get(), 3);
    // A tampered shared value is ignored, not trusted.
    for v in p.shared.borrow_mut().values_mut() {
        let last = v.len() - 1;
        v[last] ^= 1;
    }
    block_on(client.get_json_as_service(&TokenCache::default(), "User?UserName=w")).unwrap();
    assert_eq!(grants.get(), 4);
}

#[test]
fn members_are_found_by_username() {
    let t = tenant();
    let p = FakePlatform::default();
    p.on_fetch(|req| {
        if req.url.ends_with("/token") {
            return json_response(200, TOKEN_OK);
        }
        if req.url.contains("/api/User?UserName=jsmith") {
            return json_response(200, r#"{"Items":{"$values":[{"UserId":"101","UserName":"JSmith","IsDisable":false,
                "Party":{"Id":"101","UniformId":"87EAD15E-B188-42E8-AE48-E9B8C2B24C94"}}]},"Count":1}"#);
        }
        if req.url.contains("/api/User?UserName=ghost") {
            return json_response(200, r#"{"Items":{"$values":[]},"Count":0}"#);
        }
        assert!(req.url.ends_with("/api/Person/101"));
        json_response(200, r#"{"PersonName":{"FirstName":"Jane","LastName":"Smith"},
            "Emails":{"$values":[{"Address":"old@example.org","IsPrimary":false},{"Address":"jane@example.org","IsPrimary":true}]},
            "AdditionalAttributes":{"$values":[{"Name":"CustomerTypeCode","Value":"M"}]},
            "Id":"101","UniformId":"87EAD15E-B188-42E8-AE48-E9B8C2B24C94"}"#)
    });
    let cache = TokenCache::default();
    let m = block_on(ImisClient::new(&p, &t).find_member(&cache, "jsmith"))
        .unwrap()
        .unwrap();
    assert_eq!(m.imis_id, "101");
    assert_eq!(m.username, "JSmith");
    assert_eq!(m.email.as_deref(), Some("jane@example.org"));
    assert_eq!(m.member_type.as_deref(), Some("M"));
    assert_eq!(
        m.contact_key.as_deref(),
        Some("87EAD15E-B188-42E8-AE48-E9B8C2B24C94")
    );
    assert!(!m.disabled);
    assert_eq!(
        block_on(ImisClient::new(&p, &t).find_member(&cache, "ghost")).unwrap(),
        None
    );
}

/// Responses recorded from the iMIS emulator (tools/imis-emulator/recorded, made by record.sh).
mod recorded {
    use super::*;

    macro_rules! rec {
        ($name:literal) => {
            include_str!(concat!("../../tools/imis-emulator/recorded/", $name))
        };
    }

    fn serve(routes: Vec<(&'static str, u16, &'static str)>) -> FakePlatform {
        let p = FakePlatform::default();
        p.on_fetch(move |req| {
            let (_, status, body) = routes
                .iter()
                .find(|(needle, _, _)| req.url.contains(needle))
                .unwrap_or_else(|| panic!("unexpected request {}", req.url));
            json_response(*status, body)
        });
        p
    }

    #[test]
    fn token_answers() {
        let t = tenant();
        let ok = serve(vec![("/token", 200, rec!("token_password_success.json"))]);
        let grant = block_on(ImisClient::new(&ok, &t).password_grant("jsmith", "x")).unwrap();
        assert_eq!(
            (grant.user_name.as_deref(), grant.expires_in),
            (Some("jsmith"), 1199)
        );
        let refresh = serve(vec![("/token", 200, rec!("token_refresh_success.json"))]);
        assert!(block_on(ImisClient::new(&refresh, &t).refresh_grant("c", "s", "r")).is_ok());
        for (file, expected) in [
            (
                rec!("token_error_bad_password.json"),
                ImisError::InvalidGrant,
            ),
            (
                rec!("token_error_disabled_user.json"),
                ImisError::InvalidGrant,
            ),
            (
                rec!("token_error_refresh_reused.json"),
                ImisError::InvalidGrant,
            ),
            (
                rec!("token_error_refresh_unknown.json"),
                ImisError::InvalidGrant,
            ),
            (
                rec!("token_error_invalid_client.json"),
                ImisError::InvalidClient,
            ),
            (
                rec!("token_error_invalid_request.json"),
                ImisError::TokenError("invalid_request".into()),
            ),
        ] {
            let p = serve(vec![("/token", 400, file)]);
            assert_eq!(
                block_on(ImisClient::new(&p, &t).password_grant("u", "p")),
                Err(expected)
            );
        }
    }

    #[test]
    fn member_lookup() {
        let t = tenant();
        let p = serve(vec![
            ("/token", 200, rec!("token_password_success.json")),
            ("/api/User?UserName=jsmith", 200, rec!("user_found.json")),
            (
                "/api/User?UserName=nobody",
                200,
                rec!("user_not_found.json"),
            ),
            ("/api/Person/", 200, rec!("person.json")),
        ]);
        let cache = TokenCache::default();
        let m = block_on(ImisClient::new(&p, &t).find_member(&cache, "jsmith"))
            .unwrap()
            .unwrap();
        assert_eq!(m.username, "jsmith");
        assert_eq!(
            (m.first_name.as_deref(), m.last_name.as_deref()),
            (Some("Jane"), Some("Smith"))
        );
        assert!(m.imis_id.chars().all(|c| c.is_ascii_digit()) && !m.imis_id.is_empty());
        assert!(m.contact_key.as_deref().is_some_and(|k| k.len() == 36));
        assert!(m.email.as_deref().is_some_and(|e| e.contains('@')));
        assert!(m.member_type.is_some());
        assert!(!m.disabled);
        assert_eq!(
            block_on(ImisClient::new(&p, &t).find_member(&cache, "nobody")).unwrap(),
            None
        );
    }

    #[test]
    fn iqa_results_and_errors() {
        let t = tenant();
        let p = serve(vec![
            ("/token", 200, rec!("token_password_success.json")),
            ("Unknown", 400, rec!("iqa_error_unknown_query.json")),
            ("Profile", 200, rec!("iqa_profile_nulls.json")),
            ("Roles", 200, rec!("iqa_roles.json")),
            ("Empty", 200, rec!("iqa_empty.json")),
            ("Offset=0", 200, rec!("iqa_allcontacts_page1.json")),
            ("Offset=500", 200, rec!("iqa_allcontacts_page2.json")),
        ]);
        let cache = TokenCache::default();
        let client = ImisClient::new(&p, &t);
        let profile = block_on(client.iqa(&cache, "$/EdgeIdP/Profile", &["x"])).unwrap();
        assert_eq!(profile.len(), 1);
        assert!(profile[0].iter().all(|(name, _)| name != "ResultRow"));
        assert!(
            profile[0].iter().any(|(_, v)| v.is_null()),
            "value-less properties read as null"
        );
        assert!(
            profile[0].iter().any(|(_, v)| v.is_boolean()),
            "typed wrappers are unwrapped"
        );
        let roles = block_on(client.iqa(&cache, "$/EdgeIdP/Roles", &["x"])).unwrap();
        assert!(roles.len() > 1 && roles.iter().all(|r| r.len() == 1));
        assert!(block_on(client.iqa(&cache, "$/EdgeIdP/Empty", &[]))
            .unwrap()
            .is_empty());
        let all = block_on(client.iqa(&cache, "$/EdgeIdP/AllContacts", &[])).unwrap();
        assert_eq!(all.len(), 620);
        assert!(matches!(
            block_on(client.iqa(&cache, "$/EdgeIdP/Unknown", &[])),
            Err(ImisError::QueryRefused { status: 400, .. })
        ));
    }
}
