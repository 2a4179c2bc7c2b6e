//! Unit tests of `private_key_jwt` client authentication (OpenID Connect Core §9, RFC 7523):
//! RS256 and ES256 assertions, replay, audience, lifetime, key and algorithm confusion, and
//! the checks on a registered JWKS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

use super::client::{self, AuthMethod};
use super::client_assertion::ASSERTION_TYPE;
use super::tests::{put_code, send, setup, ISS};
use crate::http::encode_form;
use crate::platform::HttpMethod;
use crate::testing::*;
use crate::Idp;

const REDIRECT: &str = "https://pk.example/cb";
const TOKEN_ENDPOINT: &str = "https://acme.localhost:8787/oidc/token";

fn rsa_key() -> rsa::RsaPrivateKey {
    rsa::RsaPrivateKey::from_pkcs8_der(include_bytes!("../testdata/test-rsa2048.pk8.der")).unwrap()
}

fn ec_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap()
}

fn rsa_jwk(key: &rsa::RsaPrivateKey) -> Value {
    json!({"kty": "RSA", "kid": "rsa-1", "use": "sig",
           "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
           "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be())})
}

fn ec_jwk() -> Value {
    let point = ec_key().verifying_key().to_encoded_point(false);
    json!({"kty": "EC", "crv": "P-256",
           "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
           "y": URL_SAFE_NO_PAD.encode(point.y().unwrap())})
}

fn client_value(jwks: Value) -> Value {
    json!({"schema_version": 1, "id": "pk", "name": "PK", "type": "confidential",
           "token_endpoint_auth_method": "private_key_jwt", "jwks": jwks,
           "redirect_uris": [REDIRECT]})
}

fn platform() -> FakePlatform {
    let p = setup();
    p.put_kv(
        "tenant:acme:oidc:pk",
        &client_value(json!({"keys": [rsa_jwk(&rsa_key()), ec_jwk()]})).to_string(),
    );
    p
}

/// Claims of a good assertion, valid for a minute from the fake clock.
fn claims(jti: &str) -> Value {
    let now = NOW_MS / 1000;
    json!({"iss": "pk", "sub": "pk", "aud": TOKEN_ENDPOINT, "jti": jti,
           "iat": now, "exp": now + 60})
}

fn jws(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn rs256(claims: &Value) -> String {
    let key = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(rsa_key());
    jws(&json!({"alg": "RS256", "kid": "rsa-1"}), claims, |m| {
        key.sign(m).to_vec()
    })
}

fn es256(claims: &Value) -> String {
    jws(&json!({"alg": "ES256"}), claims, |m| {
        let sig: p256::ecdsa::Signature = ec_key().sign(m);
        sig.to_bytes().to_vec()
    })
}

/// Redeems a fresh code for client `pk` with `extra` authentication fields.
fn redeem_with(idp: &Idp, p: &FakePlatform, code: &str, extra: &[(&str, &str)]) -> (u16, Value) {
    put_code(p, code, "pk", REDIRECT, None);
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    form.extend_from_slice(extra);
    let (status, body, _) = send(
        idp,
        p,
        HttpMethod::Post,
        "/oidc/token",
        &[],
        &encode_form(&form),
    );
    (status, body)
}

fn redeem_assertion(idp: &Idp, p: &FakePlatform, code: &str, assertion: &str) -> (u16, Value) {
    redeem_with(
        idp,
        p,
        code,
        &[
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
        ],
    )
}

fn assert_refused(result: (u16, Value), why: &str) {
    let (status, body) = result;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client", "{body}");
    let text = body["error_description"].as_str().unwrap_or_default();
    assert!(text.contains(why), "{text:?} should say {why:?}");
}

#[test]
fn rs256_and_es256_assertions_authenticate_the_client() {
    let p = platform();
    let idp = Idp::new();
    let (status, body) = redeem_assertion(&idp, &p, "c-rs", &rs256(&claims("j-rs")));
    assert_eq!(status, 200, "{body}");
    assert!(body["id_token"].is_string() && body["access_token"].is_string());
    let (status, body) = redeem_assertion(&idp, &p, "c-es", &es256(&claims("j-es")));
    assert_eq!(status, 200, "{body}");
    // RFC 7523 §3 also lets the audience be the issuer; a client_id that agrees is fine.
    let mut c = claims("j-iss");
    c["aud"] = json!([ISS]);
    let (status, body) = redeem_with(
        &idp,
        &p,
        "c-iss",
        &[
            ("client_id", "pk"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &rs256(&c)),
        ],
    );
    assert_eq!(status, 200, "{body}");
}

#[test]
fn an_assertion_is_accepted_once() {
    let p = platform();
    let idp = Idp::new();
    let assertion = rs256(&claims("j-once"));
    assert_eq!(redeem_assertion(&idp, &p, "c-1", &assertion).0, 200);
    assert_refused(
        redeem_assertion(&idp, &p, "c-2", &assertion),
        "already used",
    );
    // The code of the refused request is not spent: a new assertion redeems it.
    let (status, body) = redeem_assertion(&idp, &p, "c-2", &rs256(&claims("j-again")));
    assert_eq!(status, 200, "{body}");
}

#[test]
fn wrong_claims_are_refused() {
    let p = platform();
    let idp = Idp::new();
    let now = (NOW_MS / 1000) as i64;
    let cases: [(&str, Value, &str); 8] = [
        (
            "aud",
            json!("https://elsewhere.example/token"),
            "aud must be",
        ),
        ("aud", Value::Null, "aud must be"),
        ("iss", json!("nobody"), "unknown client"),
        ("sub", json!("someone"), "iss and sub"),
        ("exp", json!(now - 120), "expired"),
        ("exp", json!(now + 7200), "too far ahead"),
        ("nbf", json!(now + 600), "nbf is in the future"),
        ("jti", json!(""), "jti is missing"),
    ];
    for (i, (name, value, why)) in cases.into_iter().enumerate() {
        let mut c = claims(&format!("j-{i}"));
        match value {
            Value::Null => {
                c.as_object_mut().unwrap().remove(name);
            }
            v => c[name] = v,
        }
        assert_refused(
            redeem_assertion(&idp, &p, &format!("c-{i}"), &rs256(&c)),
            why,
        );
    }
}

#[test]
fn foreign_keys_and_algorithm_confusion_are_refused() {
    let p = platform();
    let idp = Idp::new();
    let c = claims("j-x");
    // Signed by a key that is not registered (same kid).
    let other = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
    let forged = jws(&json!({"alg": "ES256"}), &c, |m| {
        let sig: p256::ecdsa::Signature = other.sign(m);
        sig.to_bytes().to_vec()
    });
    assert_refused(
        redeem_assertion(&idp, &p, "c-1", &forged),
        "does not verify",
    );
    // A kid that is not registered.
    let key = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(rsa_key());
    let unknown = jws(&json!({"alg": "RS256", "kid": "nope"}), &c, |m| {
        key.sign(m).to_vec()
    });
    assert_refused(redeem_assertion(&idp, &p, "c-2", &unknown), "kid");
    // HS256 keyed with the public key, and alg none.
    let public_n = URL_SAFE_NO_PAD.encode(rsa_key().n().to_bytes_be());
    let hs = jws(&json!({"alg": "HS256", "kid": "rsa-1"}), &c, |m| {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(public_n.as_bytes()).unwrap();
        mac.update(m);
        mac.finalize().into_bytes().to_vec()
    });
    assert_refused(redeem_assertion(&idp, &p, "c-3", &hs), "not accepted");
    let none = jws(&json!({"alg": "none"}), &c, |_| Vec::new());
    assert_refused(redeem_assertion(&idp, &p, "c-4", &none), "");
    // A tampered payload under a good signature.
    let good = rs256(&c);
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    let mut evil = c.clone();
    evil["exp"] = json!((NOW_MS / 1000) as i64 + 3000);
    parts[1] = URL_SAFE_NO_PAD.encode(evil.to_string());
    assert_refused(
        redeem_assertion(&idp, &p, "c-5", &parts.join(".")),
        "does not verify",
    );
}

#[test]
fn the_method_must_be_the_registered_one_and_used_alone() {
    let p = platform();
    let idp = Idp::new();
    let assertion = rs256(&claims("j-m"));
    // A secret instead of an assertion.
    assert_refused(
        redeem_with(
            &idp,
            &p,
            "c-1",
            &[("client_id", "pk"), ("client_secret", "x")],
        ),
        "private_key_jwt",
    );
    // Both at once.
    assert_refused(
        redeem_with(
            &idp,
            &p,
            "c-2",
            &[
                ("client_secret", "x"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &assertion),
            ],
        ),
        "one client authentication method",
    );
    // A wrong assertion type, and a client_id that disagrees with the assertion.
    assert_refused(
        redeem_with(
            &idp,
            &p,
            "c-3",
            &[
                ("client_assertion_type", "urn:example:other"),
                ("client_assertion", &assertion),
            ],
        ),
        "client_assertion_type",
    );
    assert_refused(
        redeem_with(
            &idp,
            &p,
            "c-4",
            &[
                ("client_id", "rp"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &assertion),
            ],
        ),
        "does not match",
    );
    // A secret-based client cannot switch to assertions.
    let mut c = claims("j-rp");
    c["iss"] = json!("rp");
    c["sub"] = json!("rp");
    assert_refused(
        redeem_with(
            &idp,
            &p,
            "c-5",
            &[
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &rs256(&c)),
            ],
        ),
        "client_secret_basic",
    );
}

#[test]
fn a_registered_jwks_must_hold_usable_public_keys() {
    let parse = |jwks: Value| client::parse("pk", client_value(jwks).to_string().as_bytes());
    let ok = parse(json!({"keys": [rsa_jwk(&rsa_key()), ec_jwk()]})).unwrap();
    assert_eq!(ok.token_endpoint_auth_method, AuthMethod::PrivateKeyJwt);
    assert_eq!(ok.assertion_keys.len(), 2);
    let mut private = ec_jwk();
    private["d"] = json!("AAAA");
    let cases = [
        (json!({"keys": []}), "1 to 10"),
        (json!({"keys": [private]}), "private key"),
        (
            json!({"keys": [{"kty": "oct", "k": "AAAA"}]}),
            "only RSA keys",
        ),
        (
            json!({"keys": [{"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}]}),
            "only RSA keys",
        ),
        (json!({"keys": [{"kty": "RSA", "n": "AQAB"}]}), "e missing"),
    ];
    for (jwks, why) in cases {
        let err = parse(jwks).unwrap_err().to_string();
        assert!(err.contains(why), "{err:?} should say {why:?}");
    }
    let small_n = URL_SAFE_NO_PAD.encode([0xc5u8; 128]);
    let err = parse(json!({"keys": [{"kty": "RSA", "n": small_n, "e": "AQAB"}]}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("2048"), "{err}");
    let mut no_jwks = client_value(Value::Null);
    no_jwks.as_object_mut().unwrap().remove("jwks");
    let err = client::parse("pk", no_jwks.to_string().as_bytes()).unwrap_err();
    assert!(err.to_string().contains("jwks"), "{err}");
}

#[test]
fn discovery_advertises_private_key_jwt() {
    let p = platform();
    let idp = Idp::new();
    let (_, meta, _) = send(
        &idp,
        &p,
        HttpMethod::Get,
        "/.well-known/openid-configuration",
        &[],
        "",
    );
    assert!(meta["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("private_key_jwt")));
    assert_eq!(
        meta["token_endpoint_auth_signing_alg_values_supported"],
        json!(["RS256", "ES256"])
    );
}
