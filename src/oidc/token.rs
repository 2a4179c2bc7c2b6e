//! `/oidc/token` (RFC 6749 §3.2, OpenID Connect Core §3.1.3): client authentication, the grant
//! dispatcher, and the issuing of id_tokens, access tokens (signed JWTs, RFC 9068) and refresh
//! tokens. Every answer carries `Cache-Control: no-store`.

use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

use super::authorize::{store_key, Grant};
use super::client::{self, AuthMethod, Client, ClientType, IdTokenAlg};
use super::error::{ErrorCode, OidcError};
use super::jwt::{self, Signer};
use super::keys::{self, KeySet};
use super::{
    client_assertion, grant_authorization_code, grant_client_credentials, grant_refresh_token,
    issuer, member_audience,
};
use crate::audit::Outcome;
use crate::http::{percent_decode, Response};
use crate::platform::{Platform, PlatformError, MASTER_KEY_SECRET};
use crate::seal::{MasterKey, Purpose, SealKey, SecretMatch};
use crate::Ctx;

/// How long a revocation flag of a token family is kept (the longest refresh token lifetime).
pub const REVOCATION_TTL_SECS: u32 = 90 * 86400;

/// The authenticated client of a token request, and whether it used HTTP Basic.
pub struct Authenticated {
    /// The client.
    pub client: Arc<Client>,
    /// HTTP Basic was used (a 401 then carries a Basic challenge).
    pub basic: bool,
}

fn basic_credentials(header: &str) -> Option<(String, String)> {
    let b64 = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))?;
    let text = String::from_utf8(STANDARD.decode(b64.trim()).ok()?).ok()?;
    let (id, secret) = text.split_once(':')?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    Some((percent_decode(id, true), percent_decode(secret, true)))
}

/// What a token request presents to authenticate its client.
enum Credential {
    /// A client secret (HTTP Basic or form).
    Secret(String),
    /// A `private_key_jwt` assertion.
    Assertion(String),
    /// Nothing (public clients).
    None,
}

/// Authenticates the client of a token request (client_secret_basic, client_secret_post,
/// private_key_jwt, none). Exactly one method may be used.
pub async fn authenticate<P: Platform>(
    ctx: &Ctx<'_, P>,
    form: &[(String, String)],
) -> Result<Authenticated, (OidcError, bool)> {
    let field = |n: &str| form.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let basic = ctx.req.header("authorization").and_then(basic_credentials);
    let used_basic = basic.is_some();
    let bad = |msg: &str| (OidcError::new(ErrorCode::InvalidClient, msg), used_basic);
    let assertion = match (field("client_assertion"), field("client_assertion_type")) {
        (Some(a), Some(t)) if t == client_assertion::ASSERTION_TYPE => Some(a),
        (Some(_), _) => {
            return Err(bad(&format!(
                "client_assertion_type must be {}",
                client_assertion::ASSERTION_TYPE
            )))
        }
        (None, _) => None,
    };
    let (claimed_id, credential, method) = match (basic, field("client_secret"), assertion) {
        (Some((id, secret)), None, None) => (
            Some(id),
            Credential::Secret(secret),
            AuthMethod::ClientSecretBasic,
        ),
        (None, Some(secret), None) => (
            None,
            Credential::Secret(secret),
            AuthMethod::ClientSecretPost,
        ),
        (None, None, Some(jwt)) => (
            client_assertion::claimed_client(&jwt),
            Credential::Assertion(jwt),
            AuthMethod::PrivateKeyJwt,
        ),
        (None, None, None) => (None, Credential::None, AuthMethod::None),
        _ => return Err(bad("use one client authentication method, not two")),
    };
    let client_id = match (claimed_id, field("client_id")) {
        (Some(claimed), Some(form_id)) if claimed != form_id => {
            return Err(bad("client_id does not match the authenticated client"))
        }
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => return Err(bad("client_id is missing")),
    };
    let client = match client::load(ctx, &client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return Err(bad("unknown client")),
        Err(e) => {
            ctx.audit(
                "oidc.client_unavailable",
                Outcome::Failure,
                Some(&client_id),
                Some(e.to_string()),
            );
            return Err((
                OidcError::new(ErrorCode::ServerError, "client configuration unavailable"),
                used_basic,
            ));
        }
    };
    if client.token_endpoint_auth_method != method {
        return Err(bad(&format!(
            "this client authenticates with {}",
            client.token_endpoint_auth_method.as_str()
        )));
    }
    let refusal = match (client.client_type, credential) {
        (ClientType::Public, Credential::None) => None,
        (ClientType::Confidential, Credential::Secret(s)) => {
            match client.secret_match(&s, ctx.platform.now()) {
                SecretMatch::Current => None,
                SecretMatch::Previous => {
                    ctx.audit(
                        "oidc.previous_secret_used",
                        Outcome::Success,
                        Some(&client.id),
                        Some("the client still uses the secret being replaced".into()),
                    );
                    None
                }
                SecretMatch::No => Some("client secret does not match".to_string()),
            }
        }
        (ClientType::Confidential, Credential::Assertion(jwt)) => {
            match client_assertion::verify(ctx, &client, &jwt).await {
                Ok(()) => None,
                Err(client_assertion::AssertionError::Refused(why)) => Some(why),
                Err(client_assertion::AssertionError::Unavailable) => {
                    return Err((
                        OidcError::new(
                            ErrorCode::TemporarilyUnavailable,
                            "the token store is unavailable",
                        ),
                        used_basic,
                    ))
                }
            }
        }
        _ => Some("client authentication does not fit the client type".to_string()),
    };
    if let Some(why) = refusal {
        ctx.audit(
            "oidc.client_auth_failed",
            Outcome::Refused,
            Some(&client.id),
            Some(why.clone()),
        );
        // An assertion's reason helps its developer and reveals nothing; a secret's does not.
        return Err(match method {
            AuthMethod::PrivateKeyJwt => bad(&why),
            _ => bad("client authentication failed"),
        });
    }
    Ok(Authenticated {
        client,
        basic: used_basic,
    })
}

/// The CORS header for a public client calling from one of its redirect URIs' origins.
fn cors(ctx_origin: Option<&str>, client: Option<&Client>) -> Option<String> {
    let origin = ctx_origin?;
    let client = client?;
    (client.client_type == ClientType::Public && client.origins().iter().any(|o| o == origin))
        .then(|| origin.to_string())
}

/// `OPTIONS /oidc/token`: browsers ask before a public client's cross-origin POST. A preflight
/// names no client, so any well-formed origin (`scheme://host[:port]`, exactly as
/// [`crate::http::origin_of`] writes it) gets a yes, and the POST itself is checked per client;
/// anything else is not echoed back into a header.
pub async fn preflight<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    match ctx.req.header("origin") {
        Some(origin) if crate::http::origin_of(origin).as_deref() == Some(origin) => {
            super::cors_preflight(origin, "POST")
        }
        _ => Response::empty(204),
    }
}

/// `POST /oidc/token`.
pub async fn handle<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    let form = ctx.req.form();
    let origin = ctx.req.header("origin").map(str::to_string);
    let auth = match authenticate(ctx, &form).await {
        Ok(a) => a,
        Err((e, basic)) => return e.token_response(basic),
    };
    let field = |n: &str| form.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let result = match field("grant_type") {
        Some("authorization_code") => {
            grant_authorization_code::handle(ctx, &auth.client, &form).await
        }
        Some("refresh_token") => grant_refresh_token::handle(ctx, &auth.client, &form).await,
        Some("client_credentials") => {
            grant_client_credentials::handle(ctx, &auth.client, &form).await
        }
        Some(_) => Err(OidcError::new(
            ErrorCode::UnsupportedGrantType,
            "grant_type must be authorization_code, refresh_token or client_credentials",
        )),
        None => Err(OidcError::new(
            ErrorCode::InvalidRequest,
            "grant_type is missing",
        )),
    };
    let resp = match result {
        Ok(body) => Response::json(200, &body)
            .with_header("cache-control", "no-store")
            .with_header("pragma", "no-cache"),
        Err(e) => {
            ctx.audit(
                "oidc.token_refused",
                Outcome::Refused,
                Some(&auth.client.id),
                Some(e.to_string()),
            );
            e.token_response(auth.basic)
        }
    };
    match cors(origin.as_deref(), Some(&auth.client)) {
        Some(o) => resp
            .with_header("access-control-allow-origin", o)
            .with_header("vary", "origin"),
        None => resp,
    }
}

fn random_token<P: Platform>(ctx: &Ctx<'_, P>) -> String {
    let mut raw = [0u8; 32];
    ctx.platform.random(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

fn master<P: Platform>(ctx: &Ctx<'_, P>) -> Option<MasterKey> {
    MasterKey::from_base64(&ctx.platform.secret(MASTER_KEY_SECRET)?).ok()
}

/// The key that seals userinfo claims inside access tokens (the RS reading them is us).
fn claims_key<P: Platform>(ctx: &Ctx<'_, P>) -> Option<SealKey> {
    Some(SealKey::derive(
        &master(ctx)?,
        ctx.tenant.id.as_str(),
        Purpose::Tokens,
    ))
}

/// AAD of the sealed claims inside an access token.
pub const CLAIMS_AAD: &[u8] = b"oidc-access-token-claims";

/// Seals the userinfo claims for the access token's `ext` claim.
fn seal_claims<P: Platform>(
    ctx: &Ctx<'_, P>,
    claims: &serde_json::Map<String, Value>,
) -> Option<String> {
    let key = claims_key(ctx)?;
    let mut nonce = [0u8; 12];
    ctx.platform.random(&mut nonce);
    let plain = serde_json::to_vec(claims).ok()?;
    Some(URL_SAFE_NO_PAD.encode(key.seal(nonce, CLAIMS_AAD, &plain)))
}

/// Opens the `ext` claim of an access token.
pub fn open_claims<P: Platform>(
    ctx: &Ctx<'_, P>,
    ext: &str,
) -> Option<serde_json::Map<String, Value>> {
    let key = claims_key(ctx)?;
    let plain = key
        .open(CLAIMS_AAD, &URL_SAFE_NO_PAD.decode(ext).ok()?)
        .ok()?;
    serde_json::from_slice(&plain).ok()
}

/// The client's HMAC key (HS256/HS512), opened from its sealed value.
pub fn client_hmac_key<P: Platform>(ctx: &Ctx<'_, P>, client: &Client) -> Option<Vec<u8>> {
    let sealed = client.jwt_signing_key.as_deref()?;
    crate::seal::open_secret(&master(ctx)?, ctx.tenant.id.as_str(), sealed)
        .ok()
        .map(String::into_bytes)
}

/// A single-use credential presented at the token endpoint: an authorization code or a
/// refresh token, kept in the take-once store under `kind` with a "used" marker under
/// `used_kind` so that a second presentation can be told from a wrong one.
pub struct SingleUse<'a> {
    /// What it is called in errors ("authorization code", "refresh token").
    pub name: &'static str,
    /// Store kind of the credential's record.
    pub kind: &'static str,
    /// Store kind of its "used" marker.
    pub used_kind: &'static str,
    /// How long the "used" marker is kept.
    pub used_ttl_secs: u32,
    /// The presented value.
    pub value: &'a str,
    /// The token family it belongs to (revoked together on reuse).
    pub family: &'a str,
    /// Audit event of a reuse.
    pub reuse_event: &'static str,
}

/// Redeems a single-use credential: takes its record (exactly one taker wins) and runs `check`
/// on it (the client, redirect URI, PKCE…). A record that fails `check` is put back unspent, until
/// `expires(record)` (seconds): whoever merely holds a leaked code or refresh token must not be
/// able to burn it, and so revoke the real client's tokens. A credential that was already
/// redeemed revokes its whole family (RFC 6749 §4.1.2, OAuth 2.0 Security BCP §4.14).
pub async fn redeem_single_use<P: Platform, R: serde::de::DeserializeOwned + serde::Serialize>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    c: SingleUse<'_>,
    check: impl FnOnce(&R) -> Result<(), OidcError>,
    expires: impl FnOnce(&R) -> u64,
) -> Result<R, OidcError> {
    let tenant = ctx.tenant.id.as_str();
    let unavailable = |_| {
        OidcError::new(
            ErrorCode::TemporarilyUnavailable,
            "the token store is unavailable",
        )
    };
    let used_key = store_key(tenant, c.used_kind, c.value);
    let record_key = store_key(tenant, c.kind, c.value);
    let taken = ctx
        .platform
        .take_once(&record_key)
        .await
        .map_err(unavailable)?;
    let Some(bytes) = taken else {
        let used = ctx
            .platform
            .count(&used_key, c.used_ttl_secs, 0)
            .await
            .map_err(unavailable)?;
        if used == 0 {
            return Err(OidcError::new(
                ErrorCode::InvalidGrant,
                format!("the {} is not valid or has expired", c.name),
            ));
        }
        // The reused token is refused either way; the audit line says whether its family ended.
        let (outcome, detail) = match revoke(ctx, c.family).await {
            Ok(()) => (Outcome::Refused, "token family revoked".to_string()),
            Err(e) => (
                Outcome::Failure,
                format!("the token family could not be revoked: {e}"),
            ),
        };
        ctx.audit(c.reuse_event, outcome, Some(&client.id), Some(detail));
        return Err(OidcError::new(
            ErrorCode::InvalidGrant,
            format!(
                "the {} was already used; the tokens issued with it are revoked",
                c.name
            ),
        ));
    };
    let record: R = serde_json::from_slice(&bytes).map_err(|_| {
        OidcError::new(
            ErrorCode::InvalidGrant,
            format!("the {} is not valid", c.name),
        )
    })?;
    if let Err(e) = check(&record) {
        put_back(ctx, &record_key, &bytes, expires(&record)).await?;
        return Err(e);
    }
    ctx.platform
        .count(&used_key, c.used_ttl_secs, 1)
        .await
        .map_err(unavailable)?;
    Ok(record)
}

/// Puts a taken record back into the take-once store until `expires` (seconds since the epoch);
/// one already expired stays gone.
pub(crate) async fn put_back<P: Platform>(
    ctx: &Ctx<'_, P>,
    key: &str,
    bytes: &[u8],
    expires: u64,
) -> Result<(), OidcError> {
    let left = expires.saturating_sub(ctx.platform.now().secs());
    if left == 0 {
        return Ok(());
    }
    ctx.platform
        .put_once(key, bytes, u32::try_from(left).unwrap_or(u32::MAX))
        .await
        .map_err(|_| {
            OidcError::new(
                ErrorCode::TemporarilyUnavailable,
                "the token store is unavailable",
            )
        })
}

/// The revocation flag of a token family (set when a code or refresh token is used twice).
pub fn revocation_key(tenant: &str, family: &str) -> String {
    format!("oidc:revoked:{tenant}:{family}")
}

/// Whether a token family has been revoked.
pub async fn is_revoked<P: Platform>(ctx: &Ctx<'_, P>, family: &str) -> Result<bool, OidcError> {
    ctx.platform
        .count(
            &revocation_key(ctx.tenant.id.as_str(), family),
            REVOCATION_TTL_SECS,
            0,
        )
        .await
        .map(|n| n > 0)
        .map_err(|_| {
            OidcError::new(
                ErrorCode::TemporarilyUnavailable,
                "the token store is unavailable",
            )
        })
}

/// Revokes a token family (every token issued from one authorization).
pub async fn revoke<P: Platform>(ctx: &Ctx<'_, P>, family: &str) -> Result<(), PlatformError> {
    ctx.platform
        .count(
            &revocation_key(ctx.tenant.id.as_str(), family),
            REVOCATION_TTL_SECS,
            1,
        )
        .await
        .map(|_| ())
}

/// Audits a signing failure; the error the client gets.
fn signing_unavailable<P: Platform>(ctx: &Ctx<'_, P>, client: &Client, msg: String) -> OidcError {
    ctx.audit(
        "oidc.signing_failed",
        Outcome::Failure,
        Some(&client.id),
        Some(msg),
    );
    OidcError::new(ErrorCode::ServerError, "tokens cannot be signed right now")
}

/// Signs an access token (a JWT of type `at+jwt`, RFC 9068). A client that takes ES256
/// id_tokens gets ES256 access tokens too: far cheaper to sign than RSA, and whoever reads them
/// finds the EC key in the JWKS.
async fn sign_access_token<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    keyset: &KeySet,
    claims: &Value,
) -> Result<String, OidcError> {
    let key = match (client.id_token_signed_response_alg, &keyset.ec) {
        (IdTokenAlg::ES256, Some(ec)) => ec,
        _ => keyset
            .current
            .as_ref()
            .ok_or_else(|| signing_unavailable(ctx, client, "no current key".into()))?,
    };
    jwt::sign(ctx.platform, Signer::Key(key), "at+jwt", claims)
        .await
        .map_err(|e| signing_unavailable(ctx, client, e.to_string()))
}

/// Issues an access token that stands for `client` itself (`client_credentials`): `sub` is the
/// client id, no member, so no id_token and no refresh token. It has a family of its own, so it
/// can be revoked.
pub async fn issue_client_token<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    scope: &str,
) -> Result<Value, OidcError> {
    let keyset: Arc<KeySet> = keys::load(ctx)
        .await
        .map_err(|e| signing_unavailable(ctx, client, e.to_string()))?;
    let now = ctx.platform.now().secs();
    let iss = issuer(ctx);
    let claims = json!({
        "iss": iss,
        "sub": client.id,
        // The issuer, not userinfo: this token stands for no member.
        "aud": iss,
        "client_id": client.id,
        "scope": scope,
        "iat": now,
        "exp": now + u64::from(client.lifetimes.access_token),
        "jti": random_token(ctx),
        "fam": random_token(ctx),
        "gty": "client_credentials",
    });
    let access_token = sign_access_token(ctx, client, &keyset, &claims).await?;
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": client.lifetimes.access_token,
    });
    if let (false, Some(map)) = (scope.is_empty(), body.as_object_mut()) {
        map.insert("scope".into(), json!(scope));
    }
    Ok(body)
}

/// Issues the token response for `grant` (id_token only when `with_id_token`).
pub async fn issue<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    grant: &Grant,
    family: &str,
    with_id_token: bool,
) -> Result<Value, OidcError> {
    let unavailable = |msg: String| signing_unavailable(ctx, client, msg);
    let keyset: Arc<KeySet> = keys::load(ctx)
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let rsa_key = keyset
        .current
        .as_ref()
        .ok_or_else(|| unavailable("no current key".into()))?;
    let now = ctx.platform.now().secs();
    let iss = issuer(ctx);
    let access_exp = now + u64::from(client.lifetimes.access_token);
    let ext = seal_claims(ctx, &grant.claims)
        .ok_or_else(|| unavailable("claims cannot be sealed".into()))?;
    let at_claims = json!({
        "iss": iss,
        "sub": grant.sub,
        "aud": member_audience(&iss),
        "client_id": client.id,
        "scope": grant.scope,
        "iat": now,
        "exp": access_exp,
        "jti": random_token(ctx),
        "sid": grant.sid,
        "fam": family,
        "ext": ext,
    });
    let access_token = sign_access_token(ctx, client, &keyset, &at_claims).await?;
    let mut body = serde_json::Map::new();
    body.insert("access_token".into(), json!(access_token));
    body.insert("token_type".into(), json!("Bearer"));
    body.insert("expires_in".into(), json!(client.lifetimes.access_token));
    body.insert("scope".into(), json!(grant.scope));
    if with_id_token {
        let hmac_key;
        let signer = match client.id_token_signed_response_alg {
            IdTokenAlg::RS256 => Signer::Key(rsa_key),
            IdTokenAlg::ES256 => Signer::Key(
                keyset
                    .ec
                    .as_ref()
                    .ok_or_else(|| unavailable("no ES256 key".into()))?,
            ),
            alg @ (IdTokenAlg::HS256 | IdTokenAlg::HS512) => {
                hmac_key = client_hmac_key(ctx, client).ok_or_else(|| {
                    unavailable("the client's JWT signing key does not open".into())
                })?;
                if alg == IdTokenAlg::HS256 {
                    Signer::Hs256(&hmac_key)
                } else {
                    Signer::Hs512(&hmac_key)
                }
            }
        };
        let mut claims = grant.claims.clone();
        claims.insert("iss".into(), json!(iss));
        claims.insert("sub".into(), json!(grant.sub));
        claims.insert("aud".into(), json!(client.id));
        claims.insert("azp".into(), json!(client.id));
        claims.insert("iat".into(), json!(now));
        claims.insert(
            "exp".into(),
            json!(now + u64::from(client.lifetimes.id_token)),
        );
        claims.insert("auth_time".into(), json!(grant.auth_time));
        claims.insert("sid".into(), json!(grant.sid));
        claims.insert(
            "at_hash".into(),
            json!(jwt::half_hash(signer.alg(), &access_token)),
        );
        if let Some(n) = &grant.nonce {
            claims.insert("nonce".into(), json!(n));
        }
        if let Some(amr) = &grant.amr {
            claims.insert("amr".into(), json!([amr]));
        }
        let id_token = jwt::sign(ctx.platform, signer, "JWT", &Value::Object(claims))
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        body.insert("id_token".into(), json!(id_token));
    }
    if client.allows_refresh() {
        let token = format!("{family}.{}", random_token(ctx));
        let record = grant_refresh_token::RefreshRecord {
            client_id: client.id.clone(),
            grant: grant.clone(),
            exp: Some(ctx.platform.now().secs() + u64::from(client.lifetimes.refresh_token)),
        };
        let value = serde_json::to_vec(&record).map_err(|e| unavailable(e.to_string()))?;
        ctx.platform
            .put_once(
                &store_key(ctx.tenant.id.as_str(), "rt", &token),
                &value,
                client.lifetimes.refresh_token,
            )
            .await
            .map_err(|_| {
                OidcError::new(
                    ErrorCode::TemporarilyUnavailable,
                    "the token store is unavailable",
                )
            })?;
        body.insert("refresh_token".into(), json!(token));
    }
    Ok(Value::Object(body))
}
