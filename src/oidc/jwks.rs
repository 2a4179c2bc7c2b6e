//! `/.well-known/jwks.json`: the tenant's public keys — current, next (published before it
//! signs), previous (until its tokens expire) and the ES256 key.

use serde_json::json;

use super::keys;
use crate::audit::Outcome;
use crate::http::Response;
use crate::platform::Platform;
use crate::Ctx;

/// `GET /.well-known/jwks.json`.
pub(crate) async fn handle<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    match keys::load(ctx).await {
        Ok(set) => {
            let keys: Vec<_> = set.published().map(|k| k.jwk.clone()).collect();
            Response::json(200, &json!({ "keys": keys }))
                .with_header("access-control-allow-origin", "*")
                .with_header("cache-control", "public, max-age=300")
        }
        Err(e) => {
            ctx.audit(
                "oidc.keys_unavailable",
                Outcome::Failure,
                None,
                Some(e.to_string()),
            );
            Response::json(503, &json!({"error": "temporarily_unavailable", "error_description": "signing keys are unavailable"}))
                .with_header("access-control-allow-origin", "*")
        }
    }
}
