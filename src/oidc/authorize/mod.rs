//! `/oidc/authorize` (OpenID Connect Core §3.1.2): response_type `code`, PKCE S256 (required for
//! public clients), `state`, `nonce`, scopes, `prompt` (none, login, consent), `max_age`,
//! `login_hint`, response_mode `query` and `form_post`.
//!
//! An unknown client or an unregistered redirect URI gets an error page, never a redirect; every
//! other error goes back to the verified redirect URI in the specification's vocabulary.
//!
//! The request's parameters are checked in `request.rs`; the code a signed-in member's request
//! ends with is issued in `code.rs`.

mod code;
mod request;

pub(crate) use self::code::finish;
use self::request::checked;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::client::{self, Client, ClientId, RegisteredRedirect};
use super::error::{ErrorCode, OidcError};
use super::{issuer, PendingAuthorize};
use crate::audit::Outcome;
use crate::http::{encode_form, Response};
use crate::platform::{HttpMethod, Platform};
use crate::signin::{self, Family, Session, SignInOptions};
use crate::text::{ErrorMessage, ErrorTitle};
use crate::Ctx;

/// Longest `state` / `nonce` accepted (they travel in the pending cookie).
const MAX_PARAM_LEN: usize = 512;

/// What an authorization code stands for, kept in the take-once store until redeemed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CodeRecord {
    /// The client it was issued to.
    pub(crate) client_id: ClientId,
    /// The redirect URI of the authorization request.
    pub(crate) redirect_uri: String,
    /// PKCE S256 challenge.
    #[serde(default)]
    pub(crate) code_challenge: Option<String>,
    /// What the tokens will carry.
    pub(crate) grant: Grant,
    /// Expiry (seconds since the epoch).
    pub(crate) exp: u64,
}

/// What a member granted a client: enough to issue tokens without the session cookie.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Grant {
    /// Granted scopes.
    pub(crate) scope: String,
    /// `sub`.
    pub(crate) sub: String,
    /// When the member signed in.
    pub(crate) auth_time: u64,
    /// IdP session id.
    pub(crate) sid: String,
    /// `nonce` of the authorization request.
    #[serde(default)]
    pub(crate) nonce: Option<String>,
    /// How the member signed in (`amr`).
    #[serde(default)]
    pub(crate) amr: Option<String>,
    /// Userinfo claims (without `sub`) for the granted scopes.
    pub(crate) claims: Map<String, Value>,
}

/// The take-once key of an authorization code or refresh token.
pub(crate) fn store_key(tenant: &str, kind: &str, token: &str) -> String {
    crate::kv_key::oidc_token(kind, tenant, &token_hash(token))
}

/// base64url(SHA-256(token)): what we store instead of a token.
pub(crate) fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

fn params<P: Platform>(ctx: &Ctx<'_, P>) -> Vec<(String, String)> {
    if ctx.req.method == HttpMethod::Post {
        ctx.req.form()
    } else {
        crate::http::parse_urlencoded(&ctx.req.query)
    }
}

/// A parameter; a repeated one is an error (RFC 6749 §3.1).
fn param(all: &[(String, String)], name: &str) -> Result<Option<String>, String> {
    let mut values = all.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
    let first = values.next().cloned();
    if values.next().is_some() {
        return Err(format!("{name} is repeated"));
    }
    Ok(first.filter(|v| !v.is_empty()))
}

fn error_page<P: Platform>(ctx: &Ctx<'_, P>, client: Option<&str>, reason: &str) -> Response {
    ctx.audit(
        "oidc.authorize_refused",
        Outcome::Refused,
        client,
        Some(reason.to_string()),
    );
    ctx.error_page(
        400,
        ErrorTitle::InvalidSignInLink,
        ErrorMessage::InvalidRequest.with(reason),
        None,
    )
}

/// The error or success response to the verified redirect URI (query or form_post), with
/// `state` and `iss` (RFC 9207).
fn to_client<P: Platform>(
    ctx: &Ctx<'_, P>,
    redirect_uri: &RegisteredRedirect,
    form_post: bool,
    state: Option<&str>,
    mut fields: Vec<(&str, String)>,
) -> Response {
    if let Some(s) = state {
        fields.push(("state", s.to_string()));
    }
    fields.push(("iss", issuer(ctx)));
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if form_post {
        crate::pages::auto_post(ctx.brand(), redirect_uri, &pairs, &ctx.nonce)
    } else {
        let sep = if redirect_uri.contains('?') { '&' } else { '?' };
        let target: &str = redirect_uri;
        Response::redirect(&format!("{target}{sep}{}", encode_form(&pairs)))
    }
}

pub(crate) fn error_to_client<P: Platform>(
    ctx: &Ctx<'_, P>,
    p: &PendingAuthorize,
    err: OidcError,
) -> Response {
    ctx.audit(
        "oidc.authorize_error",
        Outcome::Refused,
        Some(&p.client_id),
        Some(err.to_string()),
    );
    to_client(
        ctx,
        &p.redirect_uri,
        p.form_post,
        p.state.as_deref(),
        vec![
            ("error", err.code.as_str().to_string()),
            ("error_description", err.description),
        ],
    )
}

/// `GET|POST /oidc/authorize`.
pub(crate) async fn handle<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    let all = params(ctx);
    let get = |name: &str| param(&all, name);
    // 1. The client and its redirect URI: until both are verified, errors are pages.
    let client_id = match get("client_id") {
        Ok(Some(c)) => c,
        Ok(None) => return error_page(ctx, None, "client_id is missing"),
        Err(e) => return error_page(ctx, None, &e),
    };
    let client = match client::load_named(ctx, &client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return error_page(ctx, None, "the client is not registered"),
        Err(e) => {
            ctx.audit(
                "oidc.client_unavailable",
                Outcome::Failure,
                Some(&client_id),
                Some(e.to_string()),
            );
            return ctx.error_page(
                503,
                ErrorTitle::SignInUnavailable,
                ErrorMessage::AppUnavailable,
                None,
            );
        }
    };
    let redirect_uri = match get("redirect_uri") {
        Ok(Some(r)) => match client.registered_redirect(&r) {
            Some(registered) => registered,
            None => {
                return error_page(
                    ctx,
                    Some(&client.id),
                    "the redirect_uri is not registered for this client",
                )
            }
        },
        Ok(None) => return error_page(ctx, Some(&client.id), "redirect_uri is missing"),
        Err(e) => return error_page(ctx, Some(&client.id), &e),
    };
    // 2. From here on, errors go back to the client.
    let state = get("state")
        .ok()
        .flatten()
        .filter(|s| s.len() <= MAX_PARAM_LEN);
    let form_post = match get("response_mode") {
        Ok(None) => false,
        Ok(Some(m)) if m == "query" => false,
        Ok(Some(m)) if m == "form_post" => true,
        _ => {
            let p = pending_stub(&client, &redirect_uri, state.clone(), false);
            return error_to_client(
                ctx,
                &p,
                OidcError::new(
                    ErrorCode::InvalidRequest,
                    "response_mode must be query or form_post",
                ),
            );
        }
    };
    let stub = pending_stub(&client, &redirect_uri, state.clone(), form_post);
    match validate(ctx, &client, &all, stub).await {
        Ok(v) => v,
        Err(refusal) => {
            let (p, e) = *refusal;
            error_to_client(ctx, &p, e)
        }
    }
}

fn pending_stub(
    client: &Client,
    redirect_uri: &RegisteredRedirect,
    state: Option<String>,
    form_post: bool,
) -> PendingAuthorize {
    PendingAuthorize {
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.clone(),
        scope: String::new(),
        state,
        nonce: None,
        code_challenge: None,
        form_post,
        prompt_consent: false,
        prompt_none: false,
        consented: false,
    }
}

type Refusal = Box<(PendingAuthorize, OidcError)>;

async fn validate<P: Platform>(
    ctx: &Ctx<'_, P>,
    client: &Client,
    all: &[(String, String)],
    mut p: PendingAuthorize,
) -> Result<Response, Refusal> {
    // A refusal carries the pending request as far as it was read, as it goes back to the client.
    let asked = match checked(client, all, &mut p) {
        Ok(asked) => asked,
        Err((code, msg)) => return Err(Box::new((p, OidcError::new(code, msg)))),
    };
    let now = ctx.platform.now().secs();
    let session = signin::current(ctx).await;
    let too_old = |s: &Session| {
        asked
            .max_age
            .is_some_and(|m| now.saturating_sub(s.auth_time) > m)
    };
    match session {
        Some(mut s) if !asked.prompt_login && !too_old(&s) => {
            let resp = finish(ctx, p, &mut s).await;
            Ok(signin::with_session(ctx, &mut s, resp))
        }
        _ if p.prompt_none => Err(Box::new((
            p.clone(),
            OidcError::new(ErrorCode::LoginRequired, "the member is not signed in"),
        ))),
        _ => {
            // Active re-authentication when asked for: prompt=login, or a max_age that no
            // session of ours satisfies (iMIS's own session may be older, and its age is not
            // known). Otherwise an iMIS session may sign the member in without a prompt.
            let force = asked.prompt_login || asked.max_age.is_some();
            Ok(signin::begin(
                ctx,
                Family::Oidc,
                &p,
                SignInOptions {
                    force,
                    app_name: Some(client.name.clone()),
                },
            )
            .await)
        }
    }
}
