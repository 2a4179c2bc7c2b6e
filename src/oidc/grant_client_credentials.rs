//! `grant_type=client_credentials` (RFC 6749 §4.4): a confidential client that enables it gets
//! an access token for itself, to call the organisation's own APIs. The token's `sub` is the
//! client id and its scopes come from the client's `api_scopes`; it stands for no member, so
//! there is no id_token and no refresh token, and userinfo refuses it.

use serde_json::Value;

use super::client::Client;
use super::error::{ErrorCode, OidcError};
use super::token;
use crate::audit::Outcome;
use crate::platform::Platform;
use crate::Ctx;

/// Issues the client its own access token.
pub(crate) async fn handle<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    form: &[(String, String)],
) -> Result<Value, OidcError> {
    if !client.allows_client_credentials() {
        return Err(OidcError::new(
            ErrorCode::UnauthorizedClient,
            "the client may not use client_credentials",
        ));
    }
    let scope = match form.iter().find(|(k, _)| k == "scope").map(|(_, v)| v) {
        Some(requested) => granted(client, requested)?,
        None => client.api_scopes.join(" "),
    };
    let body = token::issue_client_token(ctx, client, &scope).await?;
    ctx.audit(
        "oidc.tokens_issued",
        Outcome::Success,
        Some(&client.id),
        Some("client_credentials".into()),
    );
    Ok(body)
}

/// The requested scopes, each of which must be one of the client's `api_scopes`.
fn granted(client: &Client, requested: &str) -> Result<String, OidcError> {
    let scopes: Vec<&str> = requested.split(' ').filter(|s| !s.is_empty()).collect();
    match scopes
        .iter()
        .find(|s| !client.api_scopes.iter().any(|a| a == *s))
    {
        Some(other) => Err(OidcError::new(
            ErrorCode::InvalidScope,
            format!("{other:?} is not one of the client's api_scopes"),
        )),
        None => Ok(scopes.join(" ")),
    }
}
