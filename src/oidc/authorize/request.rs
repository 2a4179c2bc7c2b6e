//! The parameters of an authorization request, read and checked.

use super::{param, MAX_PARAM_LEN};
use crate::oidc::claims;
use crate::oidc::client::{Client, ClientType};
use crate::oidc::error::ErrorCode;
use crate::oidc::PendingAuthorize;

/// What an authorization request asks of the member's session.
pub(super) struct Asked {
    /// `prompt=login`: sign in again even with a session.
    pub(super) prompt_login: bool,
    /// `max_age`: the oldest sign-in, in seconds, that may be used.
    pub(super) max_age: Option<u64>,
}

/// Reads and checks the request's parameters into `p`; the error code and message of the first
/// one that is wrong.
pub(super) fn checked(
    client: &Client,
    all: &[(String, String)],
    p: &mut PendingAuthorize,
) -> Result<Asked, (ErrorCode, String)> {
    let invalid = |msg: &str| (ErrorCode::InvalidRequest, msg.to_string());
    for name in [
        "response_type",
        "scope",
        "nonce",
        "prompt",
        "max_age",
        "code_challenge",
        "code_challenge_method",
        "state",
        "response_mode",
        "login_hint",
    ] {
        param(all, name).map_err(|e| (ErrorCode::InvalidRequest, e))?;
    }
    let get = |name: &str| param(all, name).ok().flatten();
    if get("request").is_some() {
        return Err((
            ErrorCode::RequestNotSupported,
            "request objects are not supported".into(),
        ));
    }
    if get("request_uri").is_some() {
        return Err((
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported".into(),
        ));
    }
    match get("response_type").as_deref() {
        Some("code") => {}
        None => return Err(invalid("response_type is missing")),
        Some(_) => {
            return Err((
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported".into(),
            ))
        }
    }
    if !client.grant_types.iter().any(|g| g == "authorization_code") {
        return Err((
            ErrorCode::UnauthorizedClient,
            "the client may not use the authorization code flow".into(),
        ));
    }
    let Some(scope) =
        get("scope").and_then(|s| claims::granted_scopes(&s, client.allows_refresh()))
    else {
        return Err((ErrorCode::InvalidScope, "scope must include openid".into()));
    };
    p.scope = scope;
    let nonce = get("nonce");
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_PARAM_LEN) {
        return Err(invalid("nonce is too long"));
    }
    p.nonce = nonce;
    let challenge = get("code_challenge");
    if let Some(c) =
        pkce(client, challenge, get("code_challenge_method").as_deref()).map_err(invalid)?
    {
        p.code_challenge = Some(c);
    }
    let prompts = prompts(get("prompt")).map_err(invalid)?;
    let prompt_login = prompts.iter().any(|x| x == "login");
    p.prompt_consent = prompts.iter().any(|x| x == "consent");
    p.prompt_none = prompts.iter().any(|x| x == "none");
    let max_age = match get("max_age") {
        None => None,
        Some(m) => match m.parse::<u64>() {
            Ok(v) => Some(v),
            Err(_) => return Err(invalid("max_age must be a whole number of seconds")),
        },
    };
    Ok(Asked {
        prompt_login,
        max_age,
    })
}

/// The PKCE challenge of a request (S256 only; public clients must use it), or why it is
/// refused.
fn pkce(
    client: &Client,
    challenge: Option<String>,
    method: Option<&str>,
) -> Result<Option<String>, &'static str> {
    match (challenge, method) {
        (Some(c), Some("S256")) => {
            let ok = c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err("code_challenge must be a base64url SHA-256 (43 characters)");
            }
            Ok(Some(c))
        }
        (Some(_), _) => Err("code_challenge_method must be S256"),
        (None, Some(_)) => Err("code_challenge is missing"),
        (None, None) if client.client_type == ClientType::Public => {
            Err("public clients must use PKCE (code_challenge with S256)")
        }
        (None, None) => Ok(None),
    }
}

/// The values of `prompt`, or why they are refused.
fn prompts(prompt: Option<String>) -> Result<Vec<String>, &'static str> {
    let prompts: Vec<String> = prompt
        .map(|s| {
            s.split(' ')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if prompts
        .iter()
        .any(|x| !matches!(x.as_str(), "none" | "login" | "consent" | "select_account"))
    {
        return Err("unknown prompt value");
    }
    if prompts.iter().any(|x| x == "none") && prompts.len() > 1 {
        return Err("prompt=none cannot be combined with other values");
    }
    Ok(prompts)
}
