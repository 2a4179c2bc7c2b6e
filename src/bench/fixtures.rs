//! The tenant an in-runtime measurement runs against, and iMIS's answers to it: one tenant with
//! two SAML apps (one signature per Response, or Response and Assertion), an RS256 and an ES256
//! OIDC client, and a token-bridge app; iMIS answers with the emulator's recorded IQA results.
//! The keys are the test keys of the repository, never a deployment's.

use std::collections::HashMap;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::kv_key;
use crate::platform::{OutboundRequest, OutboundResponse};
use crate::seal::{seal_secret, MasterKey};

/// The master key the fixtures are sealed with (the tests' key; the route never sees a real one).
pub(super) const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
pub(super) const HOST: &str = "acme.localhost";
pub(super) const IMIS_ORIGIN: &str = "https://imis.bench.invalid";
const TENANT: &str = "acme";
const IMIS: &str = "https://imis.bench.invalid/acme";
pub(super) const SP_ENTITY_ID: &str = "https://sp.example/metadata";
const ACS: &str = "https://sp.example/acs";
pub(super) const RP_REDIRECT: &str = "https://rp.example/cb";
pub(super) const CLIENT_SECRET: &str = "bench-client-secret";
pub(super) const VENDOR_SECRET: &str = "bench-vendor-secret-0123456789";

const IDP_CERT: &str = include_str!("../../tests/saml/keys/idp.crt.b64");
const IDP_PK8: &str = include_str!("../../tests/saml/keys/idp.pk8.b64");
const SP_CERT: &str = include_str!("../../tests/saml/keys/sp.crt.b64");
/// The SP's key, which signs the AuthnRequests.
pub(super) const SP_PK8: &str = include_str!("../../tests/saml/keys/sp.pk8.b64");
/// A bare RSA-2048 key and its id, for the signature-only operations.
pub(super) const RSA_PK8: &[u8] = include_bytes!("../testdata/test-rsa2048.pk8.der");
pub(super) const RSA_SPKI: &[u8] = include_bytes!("../testdata/test-rsa2048.spki.der");
const PROFILE: &str = include_str!("../../tools/imis-emulator/recorded/iqa_profile.json");
const ROLES: &str = include_str!("../../tools/imis-emulator/recorded/iqa_roles.json");

/// The RS256 signature of `msg` by the key in `pkcs8` (e.g. [`RSA_PK8`]), made by the `rsa`
/// crate: not by the signer under measurement, and the same on every build target.
pub(super) fn rsa_signature(pkcs8: &[u8], msg: &[u8]) -> Result<Vec<u8>, String> {
    use rsa::signature::{SignatureEncoding, Signer};
    let key = rsa::RsaPrivateKey::from_pkcs8_der(pkcs8).map_err(|e| e.to_string())?;
    let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(key);
    let signature = signer.try_sign(msg).map_err(|e| e.to_string())?;
    Ok(signature.to_vec())
}

/// A P-256 key: PKCS#8 DER and the public point's coordinates.
pub(super) struct EcKey {
    pub(super) pkcs8: Vec<u8>,
    x: Vec<u8>,
    y: Vec<u8>,
}

/// The P-256 key of the ES256 operations.
pub(super) fn ec_key() -> Result<EcKey, String> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let secret = p256::SecretKey::from_slice(&[7u8; 32]).map_err(|e| e.to_string())?;
    let der = secret.to_pkcs8_der().map_err(|e| e.to_string())?;
    let point = secret.public_key().to_encoded_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Err("the P-256 public point has no coordinates".into());
    };
    Ok(EcKey {
        pkcs8: der.as_bytes().to_vec(),
        x: x.to_vec(),
        y: y.to_vec(),
    })
}

fn sealed(master: &MasterKey, plaintext: &str) -> String {
    seal_secret(master, TENANT, [7u8; 12], plaintext)
}

fn secret_hash(secret: &str) -> String {
    format!(
        "sha256:{}",
        URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
    )
}

fn tenant(master: &MasterKey) -> Value {
    let page = |name: &str, secret: &str| {
        json!({"page_url": format!("{IMIS}/sso/{name}"), "client_id": name,
               "client_secret": sealed(master, secret)})
    };
    json!({
        "schema_version": 1, "id": TENANT, "config_version": 1, "name": "Bench association",
        "hostnames": [HOST], "branding": {"primary_color": "#112233"},
        "identity_mode": "imis_cloud",
        "imis": {
            "base_url": IMIS, "timeout_ms": 2000,
            "background_account": {"username": "edgeidp-service", "password": sealed(master, "Service-Passw0rd")},
            "sso": {"oidc": page("EdgeIdP-OIDC", "oidc-secret"), "saml": page("EdgeIdP-SAML", "saml-secret")}
        }
    })
}

fn saml_app(master: &MasterKey, id: &str, sign_assertion: bool) -> Value {
    json!({
        "schema_version": 1, "id": id, "name": "Bench SP",
        "profile_iqa": "$/EdgeIdP/Profile", "role_iqa": "$/EdgeIdP/Roles",
        "sp": {"entity_id": SP_ENTITY_ID, "acs": [{"url": ACS, "binding": "post", "index": 0}],
               "certificates": [SP_CERT.trim()]},
        "name_id_format": "username", "sign_response": true, "sign_assertion": sign_assertion,
        "idp": {"current": {"certificate": IDP_CERT.trim(), "private_key": sealed(master, IDP_PK8.trim())}}
    })
}

fn oidc_client(id: &str, alg: &str) -> Value {
    json!({
        "schema_version": 1, "id": id, "name": id, "type": "confidential",
        "token_endpoint_auth_method": "client_secret_basic",
        "client_secret_hash": secret_hash(CLIENT_SECRET),
        "redirect_uris": [RP_REDIRECT], "grant_types": ["authorization_code"],
        "id_token_signed_response_alg": alg
    })
}

fn oidc_keys(master: &MasterKey) -> Result<Value, String> {
    let rsa = rsa::RsaPrivateKey::from_pkcs8_der(RSA_PK8).map_err(|e| e.to_string())?;
    let EcKey {
        pkcs8: ec_der,
        x,
        y,
    } = ec_key()?;
    Ok(json!({
        "schema_version": 1,
        "current": {"kid": "bench-rs", "alg": "RS256",
                    "public_jwk": {"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(rsa.n().to_bytes_be()),
                                   "e": URL_SAFE_NO_PAD.encode(rsa.e().to_bytes_be())},
                    "private_key": sealed(master, &STANDARD.encode(RSA_PK8))},
        "ec": {"kid": "bench-ec", "alg": "ES256",
               "public_jwk": {"kty": "EC", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode(x),
                              "y": URL_SAFE_NO_PAD.encode(y)},
               "private_key": sealed(master, &STANDARD.encode(ec_der))}
    }))
}

fn bridge_app() -> Value {
    json!({
        "schema_version": 1, "id": "vendor", "name": "Vendor Portal",
        "deliveries": ["query"],
        "callback_url": "https://vendor.example/sso/token",
        "home_url": "https://vendor.example/",
        "return_domains": ["vendor.example"],
        "secret_sha256": hex::encode(Sha256::digest(VENDOR_SECRET.as_bytes())),
        "profile_iqa": "$/EdgeIdP/Profile"
    })
}

/// The KV values of the bench tenant.
pub(super) fn store() -> Result<HashMap<String, Vec<u8>>, String> {
    let master = MasterKey::from_base64(MASTER_KEY).map_err(|e| e.to_string())?;
    let values = [
        (
            kv_key::host(HOST),
            json!({"schema_version": 1, "tenant": TENANT}),
        ),
        (kv_key::tenant(TENANT), tenant(&master)),
        (
            kv_key::saml_app(TENANT, "one-sig"),
            saml_app(&master, "one-sig", false),
        ),
        (
            kv_key::saml_app(TENANT, "two-sig"),
            saml_app(&master, "two-sig", true),
        ),
        (kv_key::oidc_keys(TENANT), oidc_keys(&master)?),
        (
            kv_key::oidc_client(TENANT, "rp"),
            oidc_client("rp", "RS256"),
        ),
        (
            kv_key::oidc_client(TENANT, "es"),
            oidc_client("es", "ES256"),
        ),
        (kv_key::bridge_app(TENANT, "vendor"), bridge_app()),
    ];
    Ok(values
        .into_iter()
        .map(|(k, v)| (k, v.to_string().into_bytes()))
        .collect())
}

fn json_answer(body: &str) -> OutboundResponse {
    OutboundResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    }
}

/// What iMIS answers (the recorded IQA results; `jsmith` signs in with refresh token `rt-jsmith`).
pub(super) fn imis_answer(req: &OutboundRequest) -> OutboundResponse {
    let url = req.url.as_str();
    if url.ends_with("/token") {
        let user = if req.body.starts_with(b"grant_type=refresh_token") {
            "jsmith"
        } else {
            "edgeidp-service"
        };
        return json_answer(
            &json!({"access_token": "bench-token", "expires_in": 1199, "userName": user})
                .to_string(),
        );
    }
    if url.contains("/api/User?UserName=") {
        return json_answer(r#"{"Items":{"$values":[{"UserId":"101","UserName":"jsmith"}]}}"#);
    }
    if url.contains("QueryName=%24%2FEdgeIdP%2FProfile") {
        return json_answer(PROFILE);
    }
    if url.contains("QueryName=%24%2FEdgeIdP%2FRoles") {
        return json_answer(ROLES);
    }
    json_answer(
        r#"{"PersonName":{"FirstName":"Jane","LastName":"Smith"},"UniformId":"87EAD15E-B188-42E8-AE48-E9B8C2B24C94","Emails":{"$values":[{"Address":"jane@example.org","IsPrimary":true}]}}"#,
    )
}
