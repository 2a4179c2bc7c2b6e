//! `/oidc/userinfo` and `/openid/userinfo` (OpenID Connect Core §5.3): GET or POST with a bearer
//! access token (RFC 6750 header, or the form body for POST); the claims the token's scopes allow.

use serde_json::{json, Value};

use super::error::{ErrorCode, OidcError};
use super::token::{is_revoked, open_claims};
use super::{issuer, jwt, keys, member_audience};
use crate::http::Response;
use crate::platform::{HttpMethod, Platform};
use crate::Ctx;

fn invalid(msg: &str) -> OidcError {
    OidcError::new(ErrorCode::InvalidToken, msg)
}

/// Checks an access token of this issuer (a member's or a client's own); its claims.
pub(crate) async fn verify_access_token<P: Platform>(
    ctx: &Ctx<'_, P>,
    token: &str,
) -> Result<Value, OidcError> {
    let jws =
        jwt::Unverified::parse(token).ok_or_else(|| invalid("the access token is malformed"))?;
    if jws.header.get("typ").and_then(Value::as_str) != Some("at+jwt") {
        return Err(invalid("not an access token"));
    }
    let keyset = keys::load(ctx)
        .await
        .map_err(|_| OidcError::new(ErrorCode::ServerError, "keys unavailable"))?;
    let claims = jws
        .verify_keys(&keyset)
        .ok_or_else(|| invalid("the access token signature is not valid"))?;
    let iss = issuer(ctx);
    // A member's token names userinfo; a client's own token (client_credentials) the issuer.
    let audience_ok = claims
        .get("aud")
        .and_then(Value::as_str)
        .is_some_and(|aud| aud == member_audience(&iss) || aud == iss);
    if claims.get("iss") != Some(&json!(iss)) || !audience_ok {
        return Err(invalid(
            "the access token is for another issuer or audience",
        ));
    }
    let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
    if ctx.platform.now().secs() >= exp {
        return Err(invalid("the access token has expired"));
    }
    if let Some(fam) = claims.get("fam").and_then(Value::as_str) {
        if is_revoked(ctx, fam).await? {
            return Err(invalid("the access token has been revoked"));
        }
    }
    Ok(claims)
}

/// `GET|POST /oidc/userinfo`.
pub(crate) async fn handle<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    let header = ctx.req.header("authorization").and_then(|h| {
        h.strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
            .map(|t| t.trim().to_string())
    });
    let body = (ctx.req.method == HttpMethod::Post
        && ctx
            .req
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")))
    .then(|| ctx.req.form_field("access_token"))
    .flatten();
    let token = match (header, body) {
        (Some(_), Some(_)) => {
            return OidcError::new(ErrorCode::InvalidRequest, "send the access token once")
                .bearer_response()
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => {
            // RFC 6750 §3.1: no error code when the request carries no token at all.
            return Response::json(
                401,
                &json!({"error": "invalid_token", "error_description": "no access token"}),
            )
            .with_header("www-authenticate", "Bearer")
            .with_header("access-control-allow-origin", "*");
        }
    };
    let claims = match verify_access_token(ctx, &token).await {
        Ok(c) => c,
        Err(e) => return e.bearer_response(),
    };
    if claims.get("aud").and_then(Value::as_str) != Some(&member_audience(&issuer(ctx))) {
        return invalid("the access token stands for a client, not a member").bearer_response();
    }
    let mut out = claims
        .get("ext")
        .and_then(Value::as_str)
        .and_then(|ext| open_claims(ctx, ext))
        .unwrap_or_default();
    out.insert(
        "sub".into(),
        claims.get("sub").cloned().unwrap_or(Value::Null),
    );
    Response::json(200, &Value::Object(out))
        .with_header("cache-control", "no-store")
        .with_header("access-control-allow-origin", "*")
}
