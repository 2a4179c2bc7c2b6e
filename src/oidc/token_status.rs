//! What a client may ask about the tokens it was issued: revocation (`POST /oidc/revoke`,
//! RFC 7009) and introspection (`POST /oidc/introspect`, RFC 7662).
//!
//! Both authenticate the client as the token endpoint does, and both answer only about the
//! client's own tokens: another client's token is refused at revocation and inactive at
//! introspection. Revoking any token ends its whole family (every access and refresh token
//! issued from one authorization), the same flag a reused code or refresh token sets.

use serde_json::{json, Map, Value};

use super::client::Client;
use super::error::{ErrorCode, OidcError};
use super::grant_refresh_token::RefreshRecord;
use super::token::{self, authenticate};
use super::{authorize::store_key, issuer, userinfo};
use crate::audit::Outcome;
use crate::http::Response;
use crate::platform::Platform;
use crate::Ctx;

/// The longest token either endpoint reads (access tokens are JWTs of a few hundred bytes).
const MAX_TOKEN_LEN: usize = 8192;

/// A presented token, identified.
enum Presented {
    /// A valid access token of this issuer: its claims.
    Access(Value),
    /// A refresh token that is still there to be used: its family and record.
    Refresh(String, RefreshRecord),
    /// Not a token of this issuer, expired, revoked or used up.
    Unknown,
}

impl Presented {
    fn client_id(&self) -> Option<&str> {
        match self {
            Self::Access(claims) => claims.get("client_id").and_then(Value::as_str),
            Self::Refresh(_, record) => Some(&record.client_id),
            Self::Unknown => None,
        }
    }

    fn family(&self) -> Option<&str> {
        match self {
            Self::Access(claims) => claims.get("fam").and_then(Value::as_str),
            Self::Refresh(family, _) => Some(family),
            Self::Unknown => None,
        }
    }
}

/// A refresh token reads `{family}.{random}`; an access token is a JWT (three dot-separated
/// parts). The hint is not needed to tell them apart, so it is not trusted.
async fn identify<P: Platform>(ctx: &Ctx<'_, P>, token: &str) -> Result<Presented, OidcError> {
    if token.split('.').count() == 3 {
        return Ok(match userinfo::verify_access_token(ctx, token).await {
            Ok(claims) => Presented::Access(claims),
            Err(e) if e.code == ErrorCode::InvalidToken => Presented::Unknown,
            Err(e) => return Err(e),
        });
    }
    let Some((family, _)) = token
        .split_once('.')
        .filter(|(f, r)| !f.is_empty() && !r.is_empty())
    else {
        return Ok(Presented::Unknown);
    };
    if token::is_revoked(ctx, family).await? {
        return Ok(Presented::Unknown);
    }
    let record = peek_refresh_record(ctx, token).await?;
    Ok(record.map_or(Presented::Unknown, |r| {
        Presented::Refresh(family.to_string(), r)
    }))
}

/// Reads a refresh token's record without spending it: the store only takes, so the record is
/// taken and put back for the rest of its life. A refresh of the same token in that instant
/// finds nothing and gets `invalid_grant` (not a reuse: nothing was marked used), and retries.
async fn peek_refresh_record<P: Platform>(
    ctx: &Ctx<'_, P>,
    token: &str,
) -> Result<Option<RefreshRecord>, OidcError> {
    let unavailable = |_| {
        OidcError::new(
            ErrorCode::TemporarilyUnavailable,
            "the token store is unavailable",
        )
    };
    let key = store_key(ctx.tenant.id.as_str(), "rt", token);
    let Some(bytes) = ctx.platform.take_once(&key).await.map_err(unavailable)? else {
        return Ok(None);
    };
    let Ok(record) = serde_json::from_slice::<RefreshRecord>(&bytes) else {
        return Ok(None);
    };
    let now = ctx.platform.now().secs();
    let expires = record
        .exp
        .unwrap_or(now + u64::from(token::REVOCATION_TTL_SECS));
    if expires <= now {
        return Ok(None);
    }
    token::put_back(ctx, &key, &bytes, expires).await?;
    Ok(Some(record))
}

/// The authenticated client of a revocation or introspection request, and its `token`
/// identified.
async fn read_request<P: Platform>(
    ctx: &Ctx<'_, P>,
) -> Result<(std::sync::Arc<Client>, Presented), Response> {
    let (client, token) = authenticated_token(ctx).await?;
    let presented = identify(ctx, &token)
        .await
        .map_err(|e| e.token_response(false))?;
    Ok((client, presented))
}

/// The authenticated client and the one `token` parameter.
async fn authenticated_token<P: Platform>(
    ctx: &Ctx<'_, P>,
) -> Result<(std::sync::Arc<Client>, String), Response> {
    let form = ctx.req.form();
    let auth = authenticate(ctx, &form)
        .await
        .map_err(|(e, basic)| e.token_response(basic))?;
    let tokens: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "token")
        .map(|(_, v)| v.as_str())
        .collect();
    match tokens.as_slice() {
        [t] if !t.is_empty() && t.len() <= MAX_TOKEN_LEN => Ok((auth.client, (*t).to_string())),
        [] | [""] => Err(
            OidcError::new(ErrorCode::InvalidRequest, "token is missing")
                .token_response(auth.basic),
        ),
        _ => {
            Err(OidcError::new(ErrorCode::InvalidRequest, "send one token")
                .token_response(auth.basic))
        }
    }
}

fn no_store(resp: Response) -> Response {
    resp.with_header("cache-control", "no-store")
        .with_header("pragma", "no-cache")
}

/// `POST /oidc/revoke`: 200 for a revoked token and for one that is not valid anyway (RFC 7009
/// §2.2); another client's token is refused and left alone.
pub(crate) async fn revoke<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    let (client, presented) = match read_request(ctx).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    match (presented.client_id(), presented.family()) {
        (Some(owner), Some(family)) if owner == client.id.as_str() => {
            if let Err(e) = token::revoke(ctx, family).await {
                // RFC 7009 §2.2.1: 503 says the token was not revoked; 200 would be a lie.
                ctx.audit(
                    "oidc.token_revoked",
                    Outcome::Failure,
                    Some(&client.id),
                    Some(format!("the store did not record it: {e}")),
                );
                return OidcError::new(
                    ErrorCode::TemporarilyUnavailable,
                    "the token could not be revoked; try again",
                )
                .token_response(false);
            }
            ctx.audit(
                "oidc.token_revoked",
                Outcome::Success,
                Some(&client.id),
                Some("at the client's request".into()),
            );
        }
        (Some(_), _) => {
            ctx.audit(
                "oidc.token_revoked",
                Outcome::Refused,
                Some(&client.id),
                Some("the token was issued to another client".into()),
            );
            return OidcError::new(
                ErrorCode::InvalidRequest,
                "the token was issued to another client",
            )
            .token_response(false);
        }
        (None, _) => {}
    }
    no_store(Response::empty(200))
}

/// `POST /oidc/introspect`: the state of one of the client's own tokens (RFC 7662 §2.2).
pub(crate) async fn introspect<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    let (client, presented) = match read_request(ctx).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let mine = presented.client_id() == Some(client.id.as_str());
    let body = match presented {
        Presented::Access(claims) if mine => {
            let mut out = Map::new();
            out.insert("active".into(), json!(true));
            out.insert("token_type".into(), json!("Bearer"));
            for name in [
                "scope",
                "client_id",
                "sub",
                "exp",
                "iat",
                "iss",
                "aud",
                "jti",
                "sid",
            ] {
                if let Some(v) = claims.get(name) {
                    out.insert(name.into(), v.clone());
                }
            }
            Value::Object(out)
        }
        Presented::Refresh(_, record) if mine => {
            let mut out = json!({
                "active": true,
                "token_type": "refresh_token",
                "scope": record.grant.scope,
                "client_id": record.client_id,
                "sub": record.grant.sub,
                "iss": issuer(ctx),
            });
            if let (Some(exp), Some(map)) = (record.exp, out.as_object_mut()) {
                map.insert("exp".into(), json!(exp));
            }
            out
        }
        _ => json!({"active": false}),
    };
    no_store(Response::json(200, &body))
}
