//! `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3): everything a relying
//! party needs, consistent with what the endpoints do.

use serde_json::json;

use super::claims::SCOPES;
use super::client::ASSERTION_ALGS;
use super::issuer;
use crate::http::Response;
use crate::platform::Platform;
use crate::Ctx;

/// The provider metadata of this request's issuer.
fn metadata(iss: &str) -> serde_json::Value {
    json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oidc/authorize"),
        "token_endpoint": format!("{iss}/oidc/token"),
        "userinfo_endpoint": format!("{iss}/oidc/userinfo"),
        "jwks_uri": format!("{iss}/.well-known/jwks.json"),
        "end_session_endpoint": format!("{iss}/oidc/logout"),
        "revocation_endpoint": format!("{iss}/oidc/revoke"),
        "introspection_endpoint": format!("{iss}/oidc/introspect"),
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "HS256", "HS512"],
        "userinfo_signing_alg_values_supported": [],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "revocation_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "introspection_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "amr", "azp",
            "name", "given_name", "family_name", "preferred_username", "email", "roles"
        ],
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": true,
        "frontchannel_logout_session_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    })
}

/// `GET /.well-known/openid-configuration`.
pub(crate) fn handle<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    Response::json(200, &metadata(&issuer(ctx)))
        .with_header("access-control-allow-origin", "*")
        .with_header("cache-control", "public, max-age=300")
}
