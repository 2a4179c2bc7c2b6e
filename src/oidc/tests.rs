//! Unit tests of the OIDC provider with the fake platform: discovery, JWKS, the token endpoint
//! (code redemption, PKCE, reuse revocation, refresh rotation), userinfo, JWS and claims.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Map, Value};

use super::authorize::{store_key, CodeRecord, Grant};
use super::claims;
use super::client::ClientId;
use super::grant_authorization_code::pkce_matches;
use super::jwt::Unverified;
use crate::access::Profile;
use crate::http::{encode_form, Request, Response};
use crate::platform::{HttpMethod, OutboundRequest, OutboundResponse, PlatformError};
use crate::signin::SessionUser;
use crate::testing::*;
use crate::Idp;

pub(super) const HOST: &str = "acme.localhost:8787";
pub(super) const ISS: &str = "https://acme.localhost:8787";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub(super) fn setup() -> FakePlatform {
    let p = FakePlatform::default();
    add_tenant(&p, "acme", "acme.localhost", "http://127.0.0.1:1/acme");
    let der = include_bytes!("../testdata/test-rsa2048.pk8.der");
    let key = rsa::RsaPrivateKey::from_pkcs8_der(der).unwrap();
    let jwk = json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
                     "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be())});
    p.put_kv(
        "tenant:acme:keys",
        &json!({"schema_version": 1,
                "current": {"kid": "k1", "alg": "RS256", "public_jwk": jwk,
                            "private_key": sealed("acme", &STANDARD.encode(der))},
                "next": {"kid": "k2", "alg": "RS256", "public_jwk": jwk}})
        .to_string(),
    );
    p.put_kv(
        "tenant:acme:oidc:rp",
        &json!({"schema_version": 1, "id": "rp", "name": "RP", "type": "confidential",
                "token_endpoint_auth_method": "client_secret_basic",
                "client_secret_hash": super::client::secret_hash("s3cret"),
                "redirect_uris": ["https://rp.example/cb"],
                "grant_types": ["authorization_code", "refresh_token"]})
        .to_string(),
    );
    p.put_kv(
        "tenant:acme:oidc:hs",
        &json!({"schema_version": 1, "id": "hs", "name": "HS", "type": "confidential",
                "token_endpoint_auth_method": "client_secret_post",
                "client_secret_hash": super::client::secret_hash("hs-secret"),
                "redirect_uris": ["https://hs.example/cb"], "id_token_signed_response_alg": "HS512",
                "jwt_signing_key": sealed("acme", "hs-key")})
        .to_string(),
    );
    p
}

/// What the fake iMIS answers a sign-in of `jsmith` (token, user, party).
pub(super) fn imis_signs_in_jsmith(
    req: &OutboundRequest,
) -> Result<OutboundResponse, PlatformError> {
    if req.url.ends_with("/token") {
        return json_response(
            200,
            &json!({"access_token": "t", "expires_in": 1199, "userName": "jsmith"}).to_string(),
        );
    }
    if req.url.contains("/api/User?UserName=") {
        return json_response(
            200,
            &json!({"Items": {"$values": [{"UserId": "101", "UserName": "jsmith"}]}}).to_string(),
        );
    }
    json_response(
        200,
        r#"{"PersonName":{"FirstName":"Jane","LastName":"Smith"},"UniformId":"CK-1"}"#,
    )
}

/// Stores a code for `client` whose grant asked for a refresh token (`offline_access`).
pub(super) fn put_code(
    p: &FakePlatform,
    code: &str,
    client: &str,
    redirect: &str,
    challenge: Option<&str>,
) {
    put_code_for_scope(
        p,
        code,
        client,
        redirect,
        challenge,
        "openid email offline_access",
    );
}

pub(super) fn put_code_for_scope(
    p: &FakePlatform,
    code: &str,
    client: &str,
    redirect: &str,
    challenge: Option<&str>,
    scope: &str,
) {
    let mut claims = Map::new();
    claims.insert("email".into(), json!("jane@example.org"));
    let record = CodeRecord {
        client_id: ClientId::parse(client).unwrap(),
        redirect_uri: redirect.into(),
        code_challenge: challenge.map(str::to_string),
        grant: Grant {
            scope: scope.into(),
            sub: "CK-1".into(),
            auth_time: NOW_MS / 1000 - 5,
            sid: "sid-1".into(),
            nonce: Some("n-1".into()),
            amr: Some("ext".into()),
            claims,
        },
        exp: NOW_MS / 1000 + 60,
    };
    p.once.borrow_mut().insert(
        store_key("acme", "code", code),
        (serde_json::to_vec(&record).unwrap(), NOW_MS + 60_000),
    );
}

pub(super) fn send(
    idp: &Idp,
    p: &FakePlatform,
    method: HttpMethod,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value, crate::http::Response) {
    let mut req = Request::new(method, HOST, path);
    req.headers = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    req.body = body.as_bytes().to_vec();
    let resp = futures_executor::block_on(idp.handle(req, p));
    let json = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    (resp.status, json, resp)
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// A token request of client `rp` (HTTP Basic): the status, JSON body and response.
fn token_as_rp(idp: &Idp, p: &FakePlatform, form: &[(&str, &str)]) -> (u16, Value, Response) {
    let auth = basic("rp", "s3cret");
    send(
        idp,
        p,
        HttpMethod::Post,
        "/oidc/token",
        &[("authorization", &auth)],
        &encode_form(form),
    )
}

fn redeem(idp: &Idp, p: &FakePlatform, code: &str, verifier: Option<&str>) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", "https://rp.example/cb"),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    let (status, json, resp) = token_as_rp(idp, p, &form);
    if status == 200 {
        assert_eq!(resp.header("cache-control"), Some("no-store"));
    }
    (status, json)
}

#[test]
fn discovery_names_this_issuer_with_its_port() {
    let p = setup();
    let idp = Idp::new();
    let (status, meta, resp) = send(
        &idp,
        &p,
        HttpMethod::Get,
        "/.well-known/openid-configuration",
        &[],
        "",
    );
    assert_eq!(status, 200);
    assert_eq!(meta["issuer"], ISS);
    assert_eq!(meta["token_endpoint"], format!("{ISS}/oidc/token"));
    assert_eq!(resp.header("access-control-allow-origin"), Some("*"));
    let (status, jwks, _) = send(&idp, &p, HttpMethod::Get, "/.well-known/jwks.json", &[], "");
    assert_eq!(status, 200);
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["k1", "k2"], "current and next are published");
}

#[test]
fn a_code_gives_verifiable_tokens_once_and_reuse_revokes_them() {
    let p = setup();
    let idp = Idp::new();
    put_code(&p, "code-1", "rp", "https://rp.example/cb", Some(CHALLENGE));
    let (status, body) = redeem(&idp, &p, "code-1", Some(VERIFIER));
    assert_eq!(status, 200, "{body}");
    let keys = futures_executor::block_on(async {
        let der = include_bytes!("../testdata/test-rsa2048.pk8.der");
        let key = rsa::RsaPrivateKey::from_pkcs8_der(der).unwrap();
        let jwk =
            json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()), "e": "AQAB"});
        super::keys::parse(
            "acme",
            json!({"schema_version": 1, "next": {"kid": "k1", "alg": "RS256", "public_jwk": jwk}})
                .to_string()
                .as_bytes(),
            None,
        )
        .unwrap()
    });
    let id = Unverified::parse(body["id_token"].as_str().unwrap())
        .unwrap()
        .verify_keys(&keys)
        .unwrap();
    assert_eq!(id["iss"], ISS);
    assert_eq!(id["aud"], "rp");
    assert_eq!(id["sub"], "CK-1");
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["email"], "jane@example.org");
    assert_eq!(
        id["at_hash"],
        super::jwt::half_hash("RS256", body["access_token"].as_str().unwrap())
    );
    let access = body["access_token"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {access}");
    let (status, info, _) = send(
        &idp,
        &p,
        HttpMethod::Get,
        "/oidc/userinfo",
        &[("authorization", &bearer)],
        "",
    );
    assert_eq!(status, 200);
    assert_eq!(info, json!({"sub": "CK-1", "email": "jane@example.org"}));
    // Second use: invalid_grant, and the first use's tokens stop working.
    let (status, err) = redeem(&idp, &p, "code-1", Some(VERIFIER));
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _, resp) = send(
        &idp,
        &p,
        HttpMethod::Get,
        "/openid/userinfo",
        &[("authorization", &bearer)],
        "",
    );
    assert_eq!(status, 401);
    assert!(resp
        .header("www-authenticate")
        .unwrap()
        .contains("invalid_token"));
    let rt = body["refresh_token"].as_str().unwrap();
    let (status, err) = refresh_as_rp(&idp, &p, rt, None);
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[test]
fn pkce_redirect_uri_and_client_bind_the_code() {
    let p = setup();
    let idp = Idp::new();
    put_code(&p, "c-pkce", "rp", "https://rp.example/cb", Some(CHALLENGE));
    assert_eq!(
        redeem(&idp, &p, "c-pkce", Some(&"a".repeat(43))).1["error"],
        "invalid_grant"
    );
    put_code(
        &p,
        "c-nover",
        "rp",
        "https://rp.example/cb",
        Some(CHALLENGE),
    );
    assert_eq!(
        redeem(&idp, &p, "c-nover", None).1["error"],
        "invalid_grant"
    );
    put_code(&p, "c-redirect", "rp", "https://rp.example/other", None);
    assert_eq!(
        redeem(&idp, &p, "c-redirect", None).1["error"],
        "invalid_grant"
    );
    put_code(&p, "c-client", "hs", "https://rp.example/cb", None);
    assert_eq!(
        redeem(&idp, &p, "c-client", None).1["error"],
        "invalid_grant"
    );
    let auth = basic("rp", "wrong");
    let (status, err, resp) = send(
        &idp,
        &p,
        HttpMethod::Post,
        "/oidc/token",
        &[("authorization", &auth)],
        &encode_form(&[("grant_type", "authorization_code"), ("code", "x")]),
    );
    assert_eq!(
        (status, err["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(resp
        .header("www-authenticate")
        .unwrap()
        .starts_with("Basic"));
    assert!(pkce_matches(VERIFIER, CHALLENGE));
}

/// A token request of client `hs` (client_secret_post) with `extra` fields.
fn as_other_client(idp: &Idp, p: &FakePlatform, extra: &[(&str, &str)]) -> Value {
    let mut form = vec![("client_id", "hs"), ("client_secret", "hs-secret")];
    form.extend_from_slice(extra);
    send(
        idp,
        p,
        HttpMethod::Post,
        "/oidc/token",
        &[],
        &encode_form(&form),
    )
    .1
}

#[test]
fn a_leaked_code_or_refresh_token_cannot_be_burnt_by_a_wrong_request() {
    let p = setup();
    // The other client may use refresh tokens too, so the refusal below is about whose token
    // it is.
    p.put_kv(
        "tenant:acme:oidc:hs",
        &json!({"schema_version": 1, "id": "hs", "name": "HS", "type": "confidential",
                "token_endpoint_auth_method": "client_secret_post",
                "client_secret_hash": super::client::secret_hash("hs-secret"),
                "redirect_uris": ["https://rp.example/cb"],
                "grant_types": ["authorization_code", "refresh_token"]})
        .to_string(),
    );
    let idp = Idp::new();
    put_code(
        &p,
        "c-leaked",
        "rp",
        "https://rp.example/cb",
        Some(CHALLENGE),
    );
    // Whoever holds the code but not the verifier, the redirect URI or the client's secret.
    assert_eq!(
        redeem(&idp, &p, "c-leaked", Some(&"a".repeat(43))).1["error"],
        "invalid_grant"
    );
    assert_eq!(
        redeem(&idp, &p, "c-leaked", None).1["error"],
        "invalid_grant"
    );
    let wrong_redirect = as_other_client(
        &idp,
        &p,
        &[
            ("grant_type", "authorization_code"),
            ("code", "c-leaked"),
            ("redirect_uri", "https://rp.example/cb"),
            ("code_verifier", VERIFIER),
        ],
    );
    assert_eq!(wrong_redirect["error"], "invalid_grant");
    // The code is still the real client's, and spending it works once.
    let (status, body) = redeem(&idp, &p, "c-leaked", Some(VERIFIER));
    assert_eq!(status, 200, "{body}");
    let rt = body["refresh_token"].as_str().unwrap().to_string();
    // A refresh token presented by another client: refused, the family is not revoked.
    let stolen = as_other_client(
        &idp,
        &p,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
    );
    assert_eq!(stolen["error"], "invalid_grant", "{stolen}");
    let (status, refreshed) = refresh_as_rp(&idp, &p, &rt, None);
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(
        redeem(&idp, &p, "c-leaked", Some(VERIFIER)).1["error"],
        "invalid_grant",
        "spent once it was redeemed"
    );
}

#[test]
fn a_refresh_token_is_issued_only_when_the_rp_asked_for_offline_access() {
    let p = setup();
    let idp = Idp::new();
    put_code_for_scope(
        &p,
        "code-online",
        "rp",
        "https://rp.example/cb",
        None,
        "openid email",
    );
    let refresh_tokens = || {
        p.once
            .borrow()
            .keys()
            .filter(|k| k.contains(":rt:"))
            .count()
    };
    let stored_before = p.once.borrow().len();
    let (status, body) = redeem(&idp, &p, "code-online", None);
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string() && body["id_token"].is_string());
    assert_eq!(body["scope"], "openid email");
    assert!(
        body.get("refresh_token").is_none(),
        "no offline_access, no refresh token: {body}"
    );
    assert_eq!(refresh_tokens(), 0, "nothing stored for a refresh");
    assert!(p.once.borrow().len() <= stored_before, "the code was taken");

    put_code(&p, "code-offline", "rp", "https://rp.example/cb", None);
    let (status, body) = redeem(&idp, &p, "code-offline", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "openid email offline_access");
    assert!(body["refresh_token"].is_string(), "{body}");
    assert_eq!(refresh_tokens(), 1);
}

#[test]
fn the_consent_page_says_when_a_client_asks_for_access_while_the_member_is_away() {
    let p = setup();
    p.on_fetch(imis_signs_in_jsmith);
    for (id, grants) in [
        ("cons-rt", json!(["authorization_code", "refresh_token"])),
        ("cons", json!(["authorization_code"])),
    ] {
        p.put_kv(
            &format!("tenant:acme:oidc:{id}"),
            &json!({"schema_version": 1, "id": id, "name": "Survey", "type": "confidential",
                    "token_endpoint_auth_method": "client_secret_basic",
                    "client_secret_hash": super::client::secret_hash("s3cret"),
                    "redirect_uris": ["https://rp.example/cb"], "grant_types": grants,
                    "consent": {"required": true, "grace_days": 0}})
            .to_string(),
        );
    }
    let idp = Idp::new();
    let mut b = Browser::new(&idp, &p, HOST);
    let consent_page = |b: &mut Browser, client: &str| {
        let r = b.get(&format!(
            "/oidc/authorize?response_type=code&client_id={client}&redirect_uri=https://rp.example/cb&scope=openid%20email%20offline_access&state=s"
        ));
        let r = if r.status == 303 && !b.jar.contains_key("__Host-idp-session") {
            b.post("/imis/callback", "refresh_token=rt-jsmith")
        } else {
            r
        };
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let page = String::from_utf8_lossy(&r.body).to_string();
        assert!(page.contains("id=\"consent\""), "{page}");
        page
    };
    let away = "Access to these while you are not signed in";
    let page = consent_page(&mut b, "cons-rt");
    assert!(page.contains(away), "{page}");
    let page = consent_page(&mut b, "cons");
    assert!(
        page.contains("Your member identifier") && !page.contains(away),
        "offline_access is not granted to a client without refresh tokens: {page}"
    );
}

/// A `refresh_token` grant of client `rp`, with `scope` when given: the status and JSON body.
fn refresh_as_rp(idp: &Idp, p: &FakePlatform, rt: &str, scope: Option<&str>) -> (u16, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    form.extend(scope.map(|s| ("scope", s)));
    let (status, json, _) = token_as_rp(idp, p, &form);
    (status, json)
}

#[test]
fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let p = setup();
    let idp = Idp::new();
    put_code(&p, "code-r", "rp", "https://rp.example/cb", None);
    let (_, body) = redeem(&idp, &p, "code-r", None);
    let rt1 = body["refresh_token"].as_str().unwrap().to_string();
    let refresh = |rt: &str| refresh_as_rp(&idp, &p, rt, None);
    let (status, b2) = refresh(&rt1);
    assert_eq!(status, 200, "{b2}");
    let rt2 = b2["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2);
    assert!(b2["id_token"].is_string());
    assert_eq!(refresh(&rt1).1["error"], "invalid_grant", "reuse");
    assert_eq!(
        refresh(&rt2).1["error"],
        "invalid_grant",
        "the family is revoked"
    );
}

#[test]
fn a_narrower_scope_at_refresh_narrows_the_tokens_not_the_next_refresh_token() {
    let p = setup();
    let idp = Idp::new();
    put_code(&p, "code-n", "rp", "https://rp.example/cb", None);
    let (_, body) = redeem(&idp, &p, "code-n", None);
    let refresh = |rt: &str, scope: Option<&str>| refresh_as_rp(&idp, &p, rt, scope).1;
    let narrow = refresh(body["refresh_token"].as_str().unwrap(), Some("openid"));
    assert_eq!(narrow["scope"], "openid", "{narrow}");
    // RFC 6749 §6: the new refresh token keeps the scope of the one presented, offline_access
    // included, so the family goes on and may ask for the whole grant again.
    let rt2 = narrow["refresh_token"].as_str().unwrap();
    let full = refresh(rt2, Some("openid email offline_access"));
    assert_eq!(full["scope"], "openid email offline_access", "{full}");
    assert!(full["refresh_token"].is_string());
    // Asking at refresh for a scope the member never granted is refused, and spends nothing.
    let rt3 = full["refresh_token"].as_str().unwrap();
    let wider = refresh_as_rp(&idp, &p, rt3, Some("openid email roles"));
    assert_eq!((wider.0, &wider.1["error"]), (400, &json!("invalid_scope")));
    assert!(wider.1.get("access_token").is_none());
    assert_eq!(refresh(rt3, None)["scope"], "openid email offline_access");
}

#[test]
fn a_4096_bit_current_key_signs_id_tokens_that_verify() {
    let p = setup();
    let der = include_bytes!("../testdata/test-rsa4096.pk8.der");
    let key = rsa::RsaPrivateKey::from_pkcs8_der(der).unwrap();
    assert_eq!(key.size() * 8, 4096);
    let jwk = json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
                     "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be())});
    let stored = json!({"schema_version": 1,
                        "current": {"kid": "big", "alg": "RS256", "public_jwk": jwk,
                                    "private_key": sealed("acme", &STANDARD.encode(der))}})
    .to_string();
    // keys::parse opens it as the signing key.
    let master = crate::seal::MasterKey::from_base64(MASTER_KEY_B64).unwrap();
    let opened = super::keys::parse("acme", stored.as_bytes(), Some(&master)).unwrap();
    assert_eq!(opened.current.as_ref().unwrap().kid, "big");
    assert!(opened.current.as_ref().unwrap().pkcs8.is_some());
    p.put_kv("tenant:acme:keys", &stored);
    let idp = Idp::new();
    let (_, published, _) = send(&idp, &p, HttpMethod::Get, "/.well-known/jwks.json", &[], "");
    let n = published["keys"][0]["n"].as_str().unwrap();
    assert_eq!(
        URL_SAFE_NO_PAD.decode(n).unwrap().len(),
        512,
        "a 4096-bit modulus in JWKS"
    );
    put_code(&p, "code-4096", "rp", "https://rp.example/cb", None);
    let (status, body) = redeem(&idp, &p, "code-4096", None);
    assert_eq!(status, 200, "{body}");
    let token = body["id_token"].as_str().unwrap();
    let jws = Unverified::parse(token).unwrap();
    assert_eq!(jws.alg(), "RS256");
    let sig = URL_SAFE_NO_PAD
        .decode(token.rsplit('.').next().unwrap())
        .unwrap();
    assert_eq!(sig.len(), 512, "an RSA-4096 signature");
    // A relying party with only the public key verifies it.
    let public = super::keys::parse(
        "acme",
        json!({"schema_version": 1, "next": {"kid": "big", "alg": "RS256", "public_jwk": jwk}})
            .to_string()
            .as_bytes(),
        None,
    )
    .unwrap();
    let claims = jws.clone().verify_keys(&public).unwrap();
    assert_eq!(claims["aud"], "rp");
    assert_eq!(claims["sub"], "CK-1");
    // ...and the 2048-bit test key does not.
    let other =
        rsa::RsaPrivateKey::from_pkcs8_der(include_bytes!("../testdata/test-rsa2048.pk8.der"))
            .unwrap();
    let other_jwk =
        json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(other.n().to_bytes_be()), "e": "AQAB"});
    let wrong = super::keys::parse(
        "acme",
        json!({"schema_version": 1, "next": {"kid": "big", "alg": "RS256", "public_jwk": other_jwk}})
            .to_string()
            .as_bytes(),
        None,
    )
    .unwrap();
    assert!(jws.verify_keys(&wrong).is_none());
}

#[test]
fn hs512_id_tokens_use_the_client_key_and_client_secret_post() {
    let p = setup();
    let idp = Idp::new();
    put_code(&p, "code-hs", "hs", "https://hs.example/cb", None);
    let (status, body, _) = send(
        &idp,
        &p,
        HttpMethod::Post,
        "/oidc/token",
        &[],
        &encode_form(&[
            ("grant_type", "authorization_code"),
            ("code", "code-hs"),
            ("redirect_uri", "https://hs.example/cb"),
            ("client_id", "hs"),
            ("client_secret", "hs-secret"),
        ]),
    );
    assert_eq!(status, 200, "{body}");
    let jws = Unverified::parse(body["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(jws.alg(), "HS512");
    assert!(
        jws.clone().verify_hmac("HS256", b"hs-key").is_none(),
        "algorithm is pinned"
    );
    assert!(jws.clone().verify_hmac("HS512", b"other").is_none());
    let claims = jws.verify_hmac("HS512", b"hs-key").unwrap();
    assert_eq!(claims["aud"], "hs");
    assert!(
        body.get("refresh_token").is_none(),
        "not allowed to refresh"
    );
}

#[test]
fn authorize_refuses_bad_clients_with_a_page_and_the_rest_with_a_redirect() {
    let p = setup();
    let idp = Idp::new();
    let (status, _, resp) = send(&idp, &p, HttpMethod::Get, "/oidc/authorize?client_id=rp&redirect_uri=https%3A%2F%2Fevil.example%2F&response_type=code&scope=openid", &[], "");
    assert_eq!(status, 400);
    assert!(resp.header("location").is_none());
    let (status, _, resp) = send(&idp, &p, HttpMethod::Get, "/oidc/authorize?client_id=nope&redirect_uri=https%3A%2F%2Frp.example%2Fcb&response_type=code&scope=openid", &[], "");
    assert_eq!(status, 400);
    assert!(resp.header("location").is_none());
    let (status, _, resp) = send(&idp, &p, HttpMethod::Get, "/oidc/authorize?client_id=rp&redirect_uri=https%3A%2F%2Frp.example%2Fcb&response_type=code&scope=openid&prompt=none&state=s1", &[], "");
    assert_eq!(status, 303);
    let loc = resp.header("location").unwrap();
    assert!(
        loc.starts_with("https://rp.example/cb?error=login_required"),
        "{loc}"
    );
    assert!(loc.contains("state=s1") && loc.contains("iss=https%3A%2F%2Facme.localhost%3A8787"));
    let (status, _, resp) = send(&idp, &p, HttpMethod::Get, "/oidc/authorize?client_id=rp&redirect_uri=https%3A%2F%2Frp.example%2Fcb&response_type=code&scope=openid", &[], "");
    assert_eq!(status, 303);
    assert!(
        resp.header("location")
            .unwrap()
            .starts_with("http://127.0.0.1:1/acme/sso/"),
        "sign-in at iMIS"
    );
}

#[test]
fn claims_follow_scopes_and_nest_dotted_aliases() {
    assert_eq!(
        claims::granted_scopes("email openid foo", true).as_deref(),
        Some("openid email")
    );
    assert_eq!(claims::granted_scopes("profile", true), None);
    assert_eq!(
        claims::granted_scopes("openid offline_access", true).as_deref(),
        Some("openid offline_access")
    );
    assert_eq!(
        claims::granted_scopes("openid offline_access", false).as_deref(),
        Some("openid"),
        "a client without the refresh_token grant is not granted offline_access"
    );
    let user = SessionUser {
        username: "jsmith".into(),
        imis_id: "101".into(),
        contact_key: None,
        first_name: Some("Jane".into()),
        last_name: None,
        email: Some("j@x.org".into()),
        member_type: None,
    };
    let profile = Profile {
        columns: vec![
            ("address.locality".into(), json!("Springfield")),
            ("sub".into(), json!("evil")),
            ("Dues".into(), json!(1.5)),
        ],
        roles: vec!["Member".into()],
    };
    let c = claims::for_scopes("openid profile roles", &user, &profile);
    assert_eq!(c["address"]["locality"], "Springfield");
    assert!(
        !c.contains_key("sub"),
        "reserved claims are not overwritten"
    );
    assert!(!c.contains_key("email"));
    assert_eq!(c["roles"], json!(["Member"]));
    assert_eq!(c["given_name"], "Jane");
}

/// Not a check (ignored, and no timing is asserted): prints the native CPU time of our own code
/// for one code -> token exchange (client authentication, the code taken once, the used-code
/// counter, claims, an id_token and a signed access token) with the fake platform's signing
/// stubbed out. Run with `cargo test --release -p edge-idp --lib native_cost -- --ignored --nocapture`.
#[test]
#[ignore]
fn native_cost_of_a_code_exchange() {
    use std::time::Instant;
    let p = setup();
    let idp = Idp::new();
    put_code(&p, "warm", "rp", "https://rp.example/cb", None);
    assert_eq!(redeem(&idp, &p, "warm", None).0, 200);
    p.stub_sign.set(true);
    let n = 2000;
    for i in 0..n {
        put_code(
            &p,
            &format!("code-{i}"),
            "rp",
            "https://rp.example/cb",
            None,
        );
    }
    let t0 = Instant::now();
    for i in 0..n {
        assert_eq!(redeem(&idp, &p, &format!("code-{i}"), None).0, 200);
    }
    println!(
        "native: code -> token exchange (2 signatures stubbed) {:.3} ms of our code per exchange",
        t0.elapsed().as_secs_f64() * 1000.0 / f64::from(n)
    );
}

#[test]
fn the_token_preflight_echoes_only_a_well_formed_origin() {
    let p = setup();
    let idp = Idp::new();
    let preflight = |origin: &str| {
        let (status, _, resp) = send(
            &idp,
            &p,
            HttpMethod::Options,
            "/oidc/token",
            &[("origin", origin)],
            "",
        );
        (
            status,
            resp.header("access-control-allow-origin")
                .map(str::to_string),
        )
    };
    assert_eq!(
        preflight("https://spa.example"),
        (204, Some("https://spa.example".into()))
    );
    assert_eq!(
        preflight("http://127.0.0.1:8080"),
        (204, Some("http://127.0.0.1:8080".into()))
    );
    // Found by fuzzing: a NUL (or CR, LF) in Origin went back out in a header.
    for origin in [
        "\0",
        "https://spa.example\0",
        "https://spa.example\r\nx: y",
        "null",
        "https://spa.example/path",
        "HTTPS://SPA.example",
        "https://user@spa.example",
        "*",
    ] {
        assert_eq!(preflight(origin), (204, None), "{origin:?}");
    }
}

#[test]
fn a_client_id_no_client_can_have_is_refused_as_an_unknown_client() {
    let p = setup();
    let idp = Idp::new();
    let long = "a".repeat(129);
    for bad in ["bad%3Aid", "a%2Fb", "rp%0A", "", long.as_str()] {
        let (status, _, resp) = send(&idp, &p, HttpMethod::Get, &format!("/oidc/authorize?client_id={bad}&redirect_uri=https%3A%2F%2Frp.example%2Fcb&response_type=code&scope=openid"), &[], "");
        assert_eq!(status, 400, "{bad}");
        assert!(resp.header("location").is_none(), "{bad}: never redirected");
        let form = format!("grant_type=authorization_code&code=x&redirect_uri=https%3A%2F%2Frp.example%2Fcb&client_id={bad}&client_secret=s3cret");
        let (status, json, _) = send(&idp, &p, HttpMethod::Post, "/oidc/token", &[], &form);
        assert_eq!(status, 401, "{bad}: {json}");
        assert_eq!(json["error"], "invalid_client", "{bad}");
    }
}
