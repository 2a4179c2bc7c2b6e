//! `edge-idp oidc add` for a `private_key_jwt` client, run as a program on scratch tenant folders.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::json;

/// A P-256 public JWK (the generator point, a valid public key).
fn ec_jwk() -> serde_json::Value {
    json!({"kty": "EC", "crv": "P-256", "kid": "k1",
           "x": "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY",
           "y": "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"})
}

fn add(dir: &str, jwks: Option<&str>, auth: &str) -> Run {
    let mut args = vec![
        "oidc",
        "add",
        dir,
        "--id",
        "lms",
        "--name",
        "Acme Learning",
        "--redirect-uri",
        "https://learn.acme.example/cb",
        "--auth-method",
        auth,
    ];
    if let Some(j) = jwks {
        args.extend(["--jwks", j]);
    }
    run(cmd(&args))
}

#[test]
fn a_private_key_jwt_client_stores_its_public_keys_and_no_secret() {
    let parent = scratch("oidc-add-pkjwt");
    let dir = acme_folder(&parent);
    let jwks = parent.join("lms-jwks.json");
    write_json(&jwks, &json!({"keys": [ec_jwk()]}));
    let r = add(dir.to_str().unwrap(), jwks.to_str(), "private_key_jwt");
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(!r.stdout.contains("client_secret="), "{}", r.all());
    let client = read_json(&dir.join("oidc/lms.json"));
    assert_eq!(client["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(client["jwks"]["keys"][0]["kid"], "k1");
    assert!(client.get("client_secret_hash").is_none());
    let v = run(cmd(&["validate", dir.to_str().unwrap()]));
    assert_eq!(v.code, 0, "{}", v.all());
}

#[test]
fn bad_key_options_are_refused_and_nothing_is_written() {
    let parent = scratch("oidc-add-pkjwt-bad");
    let dir = acme_folder(&parent);
    let d = dir.to_str().unwrap();
    let r = add(d, None, "private_key_jwt");
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("needs --jwks"), "{}", r.all());
    let mut private = ec_jwk();
    private["d"] = json!("AAAA");
    let jwks = parent.join("private.json");
    write_json(&jwks, &json!({"keys": [private]}));
    let r = add(d, jwks.to_str(), "private_key_jwt");
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("private key"), "{}", r.all());
    let r = add(d, jwks.to_str(), "client_secret_basic");
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("only used with"), "{}", r.all());
    assert!(!dir.join("oidc/lms.json").exists());
}

#[test]
fn a_client_credentials_client_needs_no_redirect_uri_and_keeps_its_api_scopes() {
    let parent = scratch("oidc-add-cc");
    let dir = acme_folder(&parent);
    let d = dir.to_str().unwrap();
    let add = |id: &str, extra: &[&str]| {
        let mut args = vec!["oidc", "add", d, "--id", id, "--name", "Member API"];
        args.extend_from_slice(extra);
        run(cmd(&args))
    };
    let r = add("member-api", &[]);
    assert_ne!(r.code, 0, "no redirect URI and no client_credentials");
    assert!(
        r.stderr.contains("--redirect-uri is required"),
        "{}",
        r.all()
    );
    let r = add(
        "member-api",
        &["--client-credentials", "--api-scope", "members.read"],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("client_secret="), "{}", r.all());
    let client = read_json(&dir.join("oidc/member-api.json"));
    assert_eq!(client["grant_types"], json!(["client_credentials"]));
    assert_eq!(client["api_scopes"], json!(["members.read"]));
    assert_eq!(client["redirect_uris"], json!([]));
    let v = run(cmd(&["validate", d]));
    assert_eq!(v.code, 0, "{}", v.all());
    // A member scope is not an API scope; a public client cannot use the grant.
    let r = add("api2", &["--client-credentials", "--api-scope", "openid"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("api_scopes"), "{}", r.all());
    let r = add("api3", &["--client-credentials", "--public"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("confidential"), "{}", r.all());
}

#[test]
fn a_rotated_client_secret_keeps_the_old_one_for_the_overlap() {
    let parent = scratch("oidc-rotate");
    let dir = acme_folder(&parent);
    let d = dir.to_str().unwrap();
    let path = dir.join("oidc/community-portal.json");
    let before = read_json(&path)["client_secret_hash"].clone();
    let r = run(cmd(&[
        "oidc",
        "rotate-secret",
        d,
        "--id",
        "community-portal",
        "--overlap-hours",
        "48",
    ]));
    assert_eq!(r.code, 0, "{}", r.all());
    let secret = r
        .stdout
        .trim()
        .strip_prefix("client_secret=")
        .unwrap()
        .to_string();
    let client = read_json(&path);
    assert_eq!(
        client["client_secret_hash"],
        json!(edge_idp::oidc::client::secret_hash(&secret))
    );
    assert_eq!(
        client["previous_client_secret"]["client_secret_hash"],
        before
    );
    assert!(
        client["previous_client_secret"]["valid_until"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(r.stderr.contains("keeps working until"), "{}", r.all());
    let v = run(cmd(&["validate", d]));
    assert_eq!(v.code, 0, "{}", v.all());
}
