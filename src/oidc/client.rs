//! OIDC clients, stored as `tenant:{id}:oidc:{client_id}` (kv-schema/oidc-client.schema.json),
//! read through the per-isolate cache, and client authentication at the token endpoint.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::keys::Verifier;
use crate::platform::{Platform, PlatformError, UnixTime};
use crate::seal::SecretMatch;
use crate::Ctx;

pub use crate::ids::ClientId;

/// Confidential (holds a secret or key) or public (a browser or native app, PKCE required).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ClientType {
    /// Can keep a secret.
    Confidential,
    /// Cannot keep a secret.
    Public,
}

/// `token_endpoint_auth_method` (OpenID Connect Core §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AuthMethod {
    /// HTTP Basic with the client id and secret.
    ClientSecretBasic,
    /// Client id and secret in the form body.
    ClientSecretPost,
    /// A JWT signed with a key of the client's registered JWKS.
    PrivateKeyJwt,
    /// No authentication (public clients).
    None,
}

impl AuthMethod {
    /// The wire name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }
}

/// The JWS algorithm of the client's id_tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub(crate) enum IdTokenAlg {
    /// RSA with the tenant's keys (default).
    #[default]
    RS256,
    /// ECDSA P-256 with the tenant's EC key.
    ES256,
    /// HMAC-SHA256 with the client's own JWT signing key.
    HS256,
    /// HMAC-SHA512 with the client's own JWT signing key.
    HS512,
}

impl IdTokenAlg {
    /// The JWS `alg` name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
            Self::HS256 => "HS256",
            Self::HS512 => "HS512",
        }
    }
}

/// Which member identifier becomes `sub`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SubjectSource {
    /// The contact key GUID (default).
    #[default]
    ContactKey,
    /// The iMIS ID.
    ImisId,
}

/// Token lifetimes in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Lifetimes {
    /// Authorization code.
    #[serde(default = "default_code")]
    pub(crate) code: u32,
    /// Access token.
    #[serde(default = "default_access")]
    pub(crate) access_token: u32,
    /// id_token.
    #[serde(default = "default_access")]
    pub(crate) id_token: u32,
    /// Refresh token (each rotation starts a new one).
    #[serde(default = "default_refresh")]
    pub(crate) refresh_token: u32,
}

fn default_code() -> u32 {
    60
}
fn default_access() -> u32 {
    600
}
fn default_refresh() -> u32 {
    30 * 86400
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            code: default_code(),
            access_token: default_access(),
            id_token: default_access(),
            refresh_token: default_refresh(),
        }
    }
}

/// Consent settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct Consent {
    /// Ask the member before the first sign-in.
    #[serde(default)]
    pub(crate) required: bool,
    /// Days a consent is remembered.
    #[serde(default)]
    pub(crate) grace_days: u32,
}

/// A redirect URI the client registered: the only place an authorization response goes. Made by
/// [`Client::registered_redirect`], or read back from the pending-request cookie, which the IdP
/// sealed itself after that check (and which is checked again against the client when the
/// request resumes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct RegisteredRedirect(String);

impl std::ops::Deref for RegisteredRedirect {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// `tenant:{id}:oidc:{client_id}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    /// Schema version (1).
    schema_version: u32,
    /// client_id.
    pub(crate) id: ClientId,
    /// Name shown on pages.
    pub(crate) name: String,
    /// Confidential or public.
    #[serde(rename = "type")]
    pub(crate) client_type: ClientType,
    /// How it authenticates at the token endpoint.
    pub(crate) token_endpoint_auth_method: AuthMethod,
    /// `sha256:` + base64url of the SHA-256 of the client secret.
    #[serde(default)]
    client_secret_hash: Option<String>,
    /// The secret being replaced, accepted until its `valid_until` (`oidc rotate-secret`).
    #[serde(default)]
    previous_client_secret: Option<PreviousClientSecret>,
    /// Registered JWKS for `private_key_jwt`.
    #[serde(default)]
    jwks: Option<serde_json::Value>,
    /// The keys of [`Client::jwks`], parsed once when the client value is loaded.
    #[serde(skip)]
    pub(crate) assertion_keys: Vec<AssertionKey>,
    /// Redirect URIs, matched exactly.
    redirect_uris: Vec<String>,
    /// Post-logout redirect URIs, matched exactly.
    #[serde(default)]
    pub(crate) post_logout_redirect_uris: Vec<String>,
    /// Front-channel logout URI.
    #[serde(default)]
    pub(crate) frontchannel_logout_uri: Option<String>,
    /// Back-channel logout URI: a logout token is POSTed here when the member's session ends.
    #[serde(default)]
    pub(crate) backchannel_logout_uri: Option<String>,
    /// Whether the client needs `sid` in logout tokens (it is always sent).
    // Never read, since `sid` is always sent; kept so that `deny_unknown_fields` accepts it.
    #[serde(default)]
    #[allow(dead_code)]
    backchannel_logout_session_required: bool,
    /// id_token algorithm.
    #[serde(default)]
    pub(crate) id_token_signed_response_alg: IdTokenAlg,
    /// The client's JWT signing key for HS256/HS512 (sealed).
    #[serde(default)]
    pub(crate) jwt_signing_key: Option<String>,
    /// Which identifier is `sub`.
    #[serde(default)]
    pub(crate) subject: SubjectSource,
    /// Grant types the client may use.
    #[serde(default = "default_grants")]
    pub(crate) grant_types: Vec<String>,
    /// Scopes a `client_credentials` access token may carry: the organisation's own API scopes,
    /// never a member scope (such a token stands for the client, not for a member).
    #[serde(default)]
    pub(crate) api_scopes: Vec<String>,
    /// Profile IQA (its column aliases become claims; `a.b` nests).
    #[serde(default)]
    pub(crate) profile_iqa: Option<String>,
    /// Role IQA (the `roles` claim).
    #[serde(default)]
    pub(crate) role_iqa: Option<String>,
    /// No Access Mapping, as for SAML apps.
    #[serde(default)]
    pub(crate) no_access_mapping: Option<String>,
    /// Consent.
    #[serde(default)]
    pub(crate) consent: Consent,
    /// Lifetimes.
    #[serde(default)]
    pub(crate) lifetimes: Lifetimes,
}

/// A client secret that is being replaced, and until when it still works.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PreviousClientSecret {
    /// Its hash, as [`Client::client_secret_hash`].
    client_secret_hash: String,
    /// Seconds since the epoch after which it no longer works.
    valid_until: u64,
}

/// A public key of a client's registered JWKS that may sign its `private_key_jwt` assertions.
#[derive(Debug, Clone)]
pub(crate) struct AssertionKey {
    /// The JWK's `kid`, if it has one.
    pub(crate) kid: Option<String>,
    /// The JWS `alg` the key signs with (RS256 or ES256).
    pub(crate) alg: &'static str,
    /// Checks signatures.
    pub(crate) verifier: Verifier,
}

/// The algorithms a client assertion may use (advertised in discovery).
pub(crate) const ASSERTION_ALGS: [&str; 2] = ["RS256", "ES256"];

/// Parses a registered JWK Set. Every key must be usable: a JWKS that the provider would
/// partly ignore is a configuration error, not something to find out at sign-in.
fn assertion_keys(jwks: &serde_json::Value) -> Result<Vec<AssertionKey>, String> {
    let keys = jwks
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or("jwks has no \"keys\" array")?;
    if keys.is_empty() || keys.len() > 10 {
        return Err("jwks must hold 1 to 10 keys".into());
    }
    keys.iter()
        .enumerate()
        .map(|(i, jwk)| {
            let jwk = jwk
                .as_object()
                .ok_or_else(|| format!("jwks.keys[{i}] is not an object"))?;
            let field = |n: &str| jwk.get(n).and_then(serde_json::Value::as_str);
            if field("d").is_some() || jwk.contains_key("p") {
                return Err(format!(
                    "jwks.keys[{i}] holds a private key: register public keys only"
                ));
            }
            if field("use").is_some_and(|u| u != "sig") {
                return Err(format!("jwks.keys[{i}]: use must be sig"));
            }
            let alg = match (field("kty"), field("crv"), field("alg")) {
                (Some("RSA"), _, None | Some("RS256")) => "RS256",
                (Some("EC"), Some("P-256"), None | Some("ES256")) => "ES256",
                _ => {
                    return Err(format!(
                    "jwks.keys[{i}]: only RSA keys (RS256) and EC P-256 keys (ES256) are accepted"
                ))
                }
            };
            let verifier =
                Verifier::from_jwk(alg, jwk).map_err(|e| format!("jwks.keys[{i}]: {e}"))?;
            if let Verifier::Rsa(k) = &verifier {
                use rsa::traits::PublicKeyParts as _;
                if k.as_ref().as_ref().size() < 256 {
                    return Err(format!("jwks.keys[{i}]: RSA keys need at least 2048 bits"));
                }
            }
            Ok(AssertionKey {
                kid: field("kid").map(str::to_string),
                alg,
                verifier,
            })
        })
        .collect()
}

fn default_grants() -> Vec<String> {
    vec!["authorization_code".into()]
}

impl Client {
    /// `uri` as a redirect target, if it is one of the registered redirect URIs (exact string
    /// comparison).
    pub(crate) fn registered_redirect(&self, uri: &str) -> Option<RegisteredRedirect> {
        self.has_redirect_uri(uri)
            .then(|| RegisteredRedirect(uri.to_owned()))
    }

    /// Whether `uri` is one of the registered redirect URIs (exact string comparison).
    pub(crate) fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|u| u == uri)
    }

    /// Whether the client may use refresh tokens.
    pub(crate) fn allows_refresh(&self) -> bool {
        self.grant_types.iter().any(|g| g == "refresh_token")
    }

    /// Whether the client may get access tokens for itself (`client_credentials`).
    pub(crate) fn allows_client_credentials(&self) -> bool {
        self.grant_types.iter().any(|g| g == "client_credentials")
    }

    /// Which of the client's secrets `secret` is at `now`: the current one, or the previous one
    /// during a rotation's overlap (hashes compared in constant time).
    pub(crate) fn secret_match(&self, secret: &str, now: UnixTime) -> SecretMatch {
        let Some(stored) = self.client_secret_hash.as_deref() else {
            return SecretMatch::No;
        };
        let previous = self
            .previous_client_secret
            .as_ref()
            .map(|p| (p.client_secret_hash.as_bytes(), now.secs() < p.valid_until));
        SecretMatch::of(secret_hash(secret).as_bytes(), stored.as_bytes(), previous)
    }

    /// Origins of the redirect URIs (CORS for public clients).
    pub(crate) fn origins(&self) -> Vec<String> {
        self.redirect_uris
            .iter()
            .filter_map(|u| crate::http::origin_of(u))
            .collect()
    }
}

/// The stored form of a client secret: `sha256:` + base64url(SHA-256(secret)). Secrets are
/// random (256 bits, made by the CLI), so a fast hash is enough.
pub fn secret_hash(secret: &str) -> String {
    format!(
        "sha256:{}",
        URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
    )
}

/// Whether `scope` is a scope token (RFC 6749 §3.3) that is not one of the member scopes.
fn is_api_scope(scope: &str) -> bool {
    !scope.is_empty()
        && scope.len() <= 128
        && scope
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
        && !super::claims::SCOPES.contains(&scope)
}

/// Why a client value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// KV failed.
    #[error("client configuration unavailable: {0}")]
    Unavailable(PlatformError),
    /// The value does not parse or breaks a rule.
    #[error("client {client}: configuration invalid: {reason}")]
    Invalid {
        /// Client id.
        client: String,
        /// What is wrong.
        reason: String,
    },
}

/// Loads a client of this request's tenant; `Ok(None)` when there is no such client.
pub(crate) async fn load<P: Platform>(
    ctx: &Ctx<'_, P>,
    client_id: &ClientId,
) -> Result<Option<Arc<Client>>, ClientError> {
    let key = crate::kv_key::oidc_client(ctx.tenant.id.as_str(), client_id);
    let loaded = ctx
        .idp
        .configs
        .load(ctx.platform, &key, |bytes| {
            parse(client_id, bytes).map(Arc::new)
        })
        .await
        .map_err(ClientError::Unavailable)?;
    match loaded.as_deref() {
        None => Ok(None),
        Some(Ok(client)) => Ok(Some(client.clone())),
        Some(Err(e)) => Err(e.clone()),
    }
}

/// The client a request names by `id`, as it gave it; `Ok(None)` when this tenant has no such
/// client, as for an id no client can have.
pub(crate) async fn load_named<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &str,
) -> Result<Option<Arc<Client>>, ClientError> {
    match ClientId::parse(id) {
        Some(id) => load(ctx, &id).await,
        None => Ok(None),
    }
}

/// Parses and checks a client value.
pub fn parse(client_id: &str, bytes: &[u8]) -> Result<Client, ClientError> {
    let invalid = |reason: String| ClientError::Invalid {
        client: client_id.to_string(),
        reason,
    };
    let mut c: Client = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
    if c.schema_version != 1 {
        return Err(invalid("schema_version must be 1".into()));
    }
    if *c.id != *client_id {
        return Err(invalid("id must equal the client id of its key".into()));
    }
    match (c.client_type, c.token_endpoint_auth_method) {
        (ClientType::Public, AuthMethod::None) => {}
        (ClientType::Public, _) | (ClientType::Confidential, AuthMethod::None) => {
            return Err(invalid(
                "public clients use token_endpoint_auth_method none, confidential ones never"
                    .into(),
            ))
        }
        (_, AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost)
            if c.client_secret_hash.is_none() =>
        {
            return Err(invalid("client_secret_hash is required".into()))
        }
        (_, AuthMethod::PrivateKeyJwt) => {
            let jwks = c
                .jwks
                .as_ref()
                .ok_or_else(|| invalid("private_key_jwt needs the client's jwks".into()))?;
            c.assertion_keys = assertion_keys(jwks).map_err(invalid)?;
        }
        _ => {}
    }
    if matches!(
        c.id_token_signed_response_alg,
        IdTokenAlg::HS256 | IdTokenAlg::HS512
    ) && c.jwt_signing_key.is_none()
    {
        return Err(invalid("HS256/HS512 need a jwt_signing_key".into()));
    }
    let signs_members_in = c.grant_types.iter().any(|g| g != "client_credentials");
    if signs_members_in && c.redirect_uris.is_empty() {
        return Err(invalid("at least one redirect URI is required".into()));
    }
    if c.previous_client_secret.is_some() && c.client_secret_hash.is_none() {
        return Err(invalid(
            "previous_client_secret needs a current client_secret_hash".into(),
        ));
    }
    if c.allows_client_credentials() && c.client_type == ClientType::Public {
        return Err(invalid(
            "client_credentials is for confidential clients only".into(),
        ));
    }
    if let Some(bad) = c.api_scopes.iter().find(|s| !is_api_scope(s)) {
        return Err(invalid(format!(
            "api_scopes: {bad:?} is not a scope a client's own token may carry (a scope token, \
             not one of the member scopes {})",
            super::claims::SCOPES.join(", ")
        )));
    }
    let settings = crate::access::AccessSettings {
        profile_iqa: c.profile_iqa.as_deref(),
        role_iqa: c.role_iqa.as_deref(),
        no_access_mapping: c.no_access_mapping.as_deref(),
    };
    if let Err(e) = settings.check() {
        return Err(invalid(format!("no_access_mapping: {e}")));
    }
    Ok(c)
}
