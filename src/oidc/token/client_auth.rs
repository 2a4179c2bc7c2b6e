//! Client authentication at the token endpoint (RFC 6749 §2.3, OpenID Connect Core §9):
//! client_secret_basic, client_secret_post, private_key_jwt or none, exactly one of them.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::audit::Outcome;
use crate::http::percent_decode;
use crate::oidc::client::{self, AuthMethod, Client, ClientType};
use crate::oidc::client_assertion;
use crate::oidc::error::{ErrorCode, OidcError};
use crate::platform::Platform;
use crate::seal::SecretMatch;
use crate::Ctx;

/// The authenticated client of a token request, and whether it used HTTP Basic.
pub(crate) struct Authenticated {
    pub(crate) client: Arc<Client>,
    /// HTTP Basic was used (a 401 then carries a Basic challenge).
    pub(crate) basic: bool,
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
pub(crate) async fn authenticate<P: Platform>(
    ctx: &Ctx<'_, P>,
    form: &[(String, String)],
) -> Result<Authenticated, (OidcError, bool)> {
    let field = |n: &str| form.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let basic = ctx.req.header("authorization").and_then(basic_credentials);
    let used_basic = basic.is_some();
    let bad = |msg: &str| (OidcError::new(ErrorCode::InvalidClient, msg), used_basic);
    let (claimed_id, credential, method) = presented(
        basic,
        field("client_secret"),
        field("client_assertion"),
        field("client_assertion_type"),
    )
    .map_err(|msg| bad(&msg))?;
    let client_id = match (claimed_id, field("client_id")) {
        (Some(claimed), Some(form_id)) if claimed != form_id => {
            return Err(bad("client_id does not match the authenticated client"))
        }
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => return Err(bad("client_id is missing")),
    };
    let client = match client::load_named(ctx, &client_id).await {
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
    let refusal = why_refused(ctx, &client, credential)
        .await
        .map_err(|e| (e, used_basic))?;
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

/// What the request presents: the client id its credential names (Basic and assertions name
/// one), the credential, and so the method used; or why the request is refused.
fn presented(
    basic: Option<(String, String)>,
    secret: Option<String>,
    assertion: Option<String>,
    assertion_type: Option<String>,
) -> Result<(Option<String>, Credential, AuthMethod), String> {
    let assertion = match (assertion, assertion_type) {
        (Some(a), Some(t)) if t == client_assertion::ASSERTION_TYPE => Some(a),
        (Some(_), _) => {
            return Err(format!(
                "client_assertion_type must be {}",
                client_assertion::ASSERTION_TYPE
            ))
        }
        (None, _) => None,
    };
    Ok(match (basic, secret, assertion) {
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
        _ => return Err("use one client authentication method, not two".to_string()),
    })
}

/// Why `credential` does not authenticate `client` (`None`: it does), or the error when that
/// cannot be told (the token store is down).
async fn why_refused<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    credential: Credential,
) -> Result<Option<String>, OidcError> {
    Ok(match (client.client_type, credential) {
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
            match client_assertion::verify(ctx, client, &jwt).await {
                Ok(()) => None,
                Err(client_assertion::AssertionError::Refused(why)) => Some(why),
                Err(client_assertion::AssertionError::Unavailable) => {
                    return Err(OidcError::new(
                        ErrorCode::TemporarilyUnavailable,
                        "the token store is unavailable",
                    ))
                }
            }
        }
        _ => Some("client authentication does not fit the client type".to_string()),
    })
}
