//! The tokens the endpoint hands out: id_tokens, access tokens (signed JWTs, RFC 9068, with the
//! member's userinfo claims sealed inside) and refresh tokens.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::audit::Outcome;
use crate::oidc::authorize::{store_key, Grant};
use crate::oidc::claims::{has_scope, OFFLINE_ACCESS};
use crate::oidc::client::{Client, IdTokenAlg};
use crate::oidc::error::{ErrorCode, OidcError};
use crate::oidc::jwt::{self, Signer};
use crate::oidc::keys::{self, KeySet};
use crate::oidc::{grant_refresh_token, issuer, member_audience};
use crate::platform::{Platform, MASTER_KEY_SECRET};
use crate::seal::{MasterKey, Purpose, SealKey};
use crate::Ctx;

/// 256 random bits, base64url: token ids (`jti`) and refresh tokens.
pub(crate) fn random_token<P: Platform>(ctx: &Ctx<'_, P>) -> String {
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
const CLAIMS_AAD: &[u8] = b"oidc-access-token-claims";

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
pub(crate) fn open_claims<P: Platform>(
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
pub(crate) fn client_hmac_key<P: Platform>(ctx: &Ctx<'_, P>, client: &Client) -> Option<Vec<u8>> {
    let sealed = client.jwt_signing_key.as_deref()?;
    crate::seal::open_secret(&master(ctx)?, ctx.tenant.id.as_str(), sealed)
        .ok()
        .map(String::into_bytes)
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
pub(crate) async fn issue_client_token<P: Platform>(
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

/// Issues the token response for `grant`: an access token, an id_token, and a refresh token
/// standing for `refresh` when there is one (see [`refresh_grant`]).
pub(crate) async fn issue<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    grant: &Grant,
    family: &str,
    refresh: Option<&Grant>,
) -> Result<Value, OidcError> {
    let unavailable = |msg: String| signing_unavailable(ctx, client, msg);
    let keyset: Arc<KeySet> = keys::load(ctx)
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    // Without a current RSA key nothing is issued, whichever key would sign this client's tokens.
    if keyset.current.is_none() {
        return Err(unavailable("no current key".into()));
    }
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
    let id_token = sign_id_token(ctx, client, &keyset, grant, &iss, now, &access_token).await?;
    body.insert("id_token".into(), json!(id_token));
    if let Some(refresh) = refresh {
        let token = store_refresh_token(ctx, client, refresh, family).await?;
        body.insert("refresh_token".into(), json!(token));
    }
    Ok(Value::Object(body))
}

/// What a refresh token issued with a code's tokens stands for, if one is issued. A refresh
/// token is a stored credential that outlives the sign-in: only a client that may refresh gets
/// one, and only when its request asked for one (`offline_access`), so an RP that never
/// refreshes leaves nothing behind in the store.
pub(crate) fn refresh_grant<'a>(client: &Client, grant: &'a Grant) -> Option<&'a Grant> {
    (client.allows_refresh() && has_scope(&grant.scope, OFFLINE_ACCESS)).then_some(grant)
}

/// The signer of `client`'s id_tokens (and logout tokens), by its `id_token_signed_response_alg`:
/// a tenant key, or for HS256/HS512 `client_key`, the client's own key as [`client_hmac_key`]
/// opened it (`None`: it has none, or it did not open).
pub(crate) fn id_token_signer<'a>(
    client: &Client,
    keyset: &'a KeySet,
    client_key: Option<&'a [u8]>,
) -> Result<Signer<'a>, String> {
    let tenant_key = |key: Option<&'a keys::Key>, missing: &str| {
        key.map(Signer::Key).ok_or_else(|| missing.to_string())
    };
    let client_key =
        || client_key.ok_or_else(|| "the client's JWT signing key does not open".to_string());
    match client.id_token_signed_response_alg {
        IdTokenAlg::RS256 => tenant_key(keyset.current.as_ref(), "no current key"),
        IdTokenAlg::ES256 => tenant_key(keyset.ec.as_ref(), "no ES256 key"),
        IdTokenAlg::HS256 => client_key().map(Signer::Hs256),
        IdTokenAlg::HS512 => client_key().map(Signer::Hs512),
    }
}

/// Signs the id_token that comes with `access_token`, with the client's chosen algorithm.
async fn sign_id_token<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    keyset: &KeySet,
    grant: &Grant,
    iss: &str,
    now: u64,
    access_token: &str,
) -> Result<String, OidcError> {
    let unavailable = |msg: String| signing_unavailable(ctx, client, msg);
    let client_key = client_hmac_key(ctx, client);
    let signer = id_token_signer(client, keyset, client_key.as_deref()).map_err(unavailable)?;
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
        json!(jwt::half_hash(signer.alg(), access_token)),
    );
    if let Some(n) = &grant.nonce {
        claims.insert("nonce".into(), json!(n));
    }
    if let Some(amr) = &grant.amr {
        claims.insert("amr".into(), json!([amr]));
    }
    jwt::sign(ctx.platform, signer, "JWT", &Value::Object(claims))
        .await
        .map_err(|e| unavailable(e.to_string()))
}

/// A new refresh token of `family` for `grant`, kept in the take-once store.
async fn store_refresh_token<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    grant: &Grant,
    family: &str,
) -> Result<String, OidcError> {
    let token = format!("{family}.{}", random_token(ctx));
    let record = grant_refresh_token::RefreshRecord {
        client_id: client.id.clone(),
        grant: grant.clone(),
        exp: Some(ctx.platform.now().secs() + u64::from(client.lifetimes.refresh_token)),
    };
    let value =
        serde_json::to_vec(&record).map_err(|e| signing_unavailable(ctx, client, e.to_string()))?;
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
    Ok(token)
}
