//! The iMIS REST client, over [`Platform::fetch`] (docs/imis-contract.md is the contract).
//!
//! - `/token` grants: `password` (legacy sign-in, background account) and `refresh_token`
//!   (the RiSE Single Sign On hand-off).
//! - IQA queries with paging and typed values.
//! - Member lookup: username → iMIS ID, contact key, name, primary email, member type.
//! - The background account's token is cached per isolate until shortly before it expires, and
//!   dropped and fetched again once if iMIS answers 401 (iMIS is reported to do that spuriously).
//!
//! The client is tolerant of what iMIS versions differ in; every call has a timeout, and every
//! failure is an [`ImisError`] — never a panic.

pub mod forms_ticket;
pub mod wire;

use serde_json::Value;

use crate::cache::TtlCache;
use crate::http::{encode_form, percent_encode};
use crate::platform::{HttpMethod, OutboundRequest, Platform, PlatformError, UnixTime};
use crate::seal::{self, MasterKey, Purpose, SealKey};
use crate::tenant::TenantConfig;
pub(crate) use wire::Row;

/// Page size asked of `/api/IQA` (the iMIS maximum).
const IQA_PAGE_SIZE: u32 = 500;
/// Pages read at most from one query (10,000 rows).
const IQA_MAX_PAGES: u32 = 20;
/// A cached background token is renewed this many seconds before iMIS says it expires.
const TOKEN_RENEW_MARGIN_SECS: u64 = 60;

/// What went wrong talking to iMIS. Messages never include a secret or a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImisError {
    /// iMIS did not answer in time.
    #[error("iMIS did not answer within {0} ms")]
    Timeout(u32),
    /// iMIS could not be reached.
    #[error("iMIS is unreachable: {0}")]
    Unreachable(String),
    /// iMIS answered with a server error.
    #[error("iMIS answered HTTP {0}")]
    Status(u16),
    /// iMIS answered something that is not what the contract describes.
    #[error("iMIS answered something unexpected: {0}")]
    Unexpected(String),
    /// `/token` refused the credentials or the refresh token (`invalid_grant`).
    #[error("iMIS refused the grant")]
    InvalidGrant,
    /// `/token` refused the client application (`invalid_client`).
    #[error("iMIS refused the client application credentials")]
    InvalidClient,
    /// `/token` refused the request for another reason.
    #[error("iMIS token endpoint error: {0}")]
    TokenError(String),
    /// `/api` refused the bearer token.
    #[error("iMIS refused the access token")]
    Unauthorized,
    /// The entity does not exist.
    #[error("not found in iMIS")]
    NotFound,
    /// The API refused the request (HTTP 4xx other than 401, 403 and 404).
    #[error("iMIS refused the request: HTTP {0}")]
    Refused(u16),
    /// An IQA query was refused (unknown, not available via REST, wrong parameters).
    #[error("iMIS refused IQA query {query}: HTTP {status}")]
    QueryRefused {
        /// Query path.
        query: String,
        /// HTTP status.
        status: u16,
    },
    /// A sealed secret in the tenant config could not be opened.
    #[error("a sealed iMIS secret cannot be opened: {0}")]
    Secret(String),
    /// An IQA answered, but not in the shape the app's setting needs (rows, columns): the
    /// query is set up wrong in iMIS, not down.
    #[error("{0}")]
    QueryShape(String),
}

impl ImisError {
    /// Whether iMIS is down or slow (as opposed to refusing or being set up wrong): then a
    /// remembered answer may stand in for a fresh one.
    pub(crate) fn is_outage(&self) -> bool {
        matches!(
            self,
            Self::Timeout(_) | Self::Unreachable(_) | Self::Status(_) | Self::Unexpected(_)
        )
    }

    /// The audit event of a failure to read a member's data: a query set up wrong is told apart
    /// from iMIS being unavailable, so the admin knows what to fix.
    pub(crate) fn audit_event(&self) -> &'static str {
        match self {
            Self::QueryShape(_) | Self::QueryRefused { .. } => "imis.query_invalid",
            _ => "imis.unavailable",
        }
    }
}

impl From<PlatformError> for ImisError {
    fn from(e: PlatformError) -> Self {
        match e {
            PlatformError::Timeout(ms) => Self::Timeout(ms),
            other => Self::Unreachable(other.to_string()),
        }
    }
}

/// A successful `/token` answer.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// Bearer token for `/api`.
    access_token: String,
    /// The iMIS username the token belongs to, when iMIS says.
    pub(crate) user_name: Option<String>,
    /// Lifetime of the access token in seconds.
    expires_in: u64,
}

impl std::fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenGrant")
            .field("access_token", &"[redacted]")
            .field("user_name", &self.user_name)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// A member as the IdP needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// iMIS login name.
    pub(crate) username: String,
    /// iMIS ID (`UserId` / `PartyId`).
    pub imis_id: String,
    /// Contact key GUID (`UniformId`), when iMIS gives one.
    pub(crate) contact_key: Option<String>,
    pub(crate) first_name: Option<String>,
    pub(crate) last_name: Option<String>,
    /// Primary email.
    pub(crate) email: Option<String>,
    /// Member type code (`CustomerTypeCode` / `MemberType`).
    pub(crate) member_type: Option<String>,
    /// Whether the login is disabled (`IsDisable`).
    pub(crate) disabled: bool,
}

/// Per-isolate cache of background-account tokens, keyed by tenant and config version.
pub type TokenCache = TtlCache<String>;

/// Associated data of the background token sealed in the runtime's shared cache.
const SHARED_TOKEN_AAD: &[u8] = b"imis-background-token";

/// The background token as sealed in the runtime's shared cache.
#[derive(serde::Serialize, serde::Deserialize)]
struct SharedToken {
    token: String,
    until_ms: u64,
}

/// A client for one tenant's iMIS.
pub struct ImisClient<'a, P: Platform> {
    platform: &'a P,
    tenant: &'a TenantConfig,
}

impl<'a, P: Platform> ImisClient<'a, P> {
    /// A client for `tenant`'s iMIS.
    pub fn new(platform: &'a P, tenant: &'a TenantConfig) -> Self {
        Self { platform, tenant }
    }

    fn api(&self, path: &str) -> String {
        format!("{}{}", self.tenant.imis.api_base(), path)
    }

    /// Opens a sealed secret of this tenant with the runtime's master key.
    pub(crate) fn open_secret(&self, sealed: &str) -> Result<String, ImisError> {
        let master = self
            .platform
            .secret(crate::platform::MASTER_KEY_SECRET)
            .ok_or_else(|| ImisError::Secret("the runtime has no master key".into()))?;
        let master =
            MasterKey::from_base64(&master).map_err(|e| ImisError::Secret(e.to_string()))?;
        seal::open_secret(&master, self.tenant.id.as_str(), sealed)
            .map_err(|e| ImisError::Secret(e.to_string()))
    }

    /// `grant_type=password`: checks a username and password.
    pub async fn password_grant(
        &self,
        username: &str,
        password: &str,
    ) -> Result<TokenGrant, ImisError> {
        self.token(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ])
        .await
    }

    /// `grant_type=refresh_token`: redeems the refresh token the Single Sign On page posted.
    pub async fn refresh_grant(
        &self,
        client_id: &str,
        client_secret: &str,
        refresh_token: &str,
    ) -> Result<TokenGrant, ImisError> {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("refresh_token", refresh_token),
        ])
        .await
    }

    async fn token(&self, form: &[(&str, &str)]) -> Result<TokenGrant, ImisError> {
        let resp = self
            .platform
            .fetch(OutboundRequest {
                method: HttpMethod::Post,
                url: self.api("/token"),
                headers: vec![
                    (
                        "content-type".into(),
                        "application/x-www-form-urlencoded".into(),
                    ),
                    ("accept".into(), "application/json".into()),
                ],
                body: encode_form(form).into_bytes(),
                timeout_ms: self.tenant.imis.timeout_ms(),
            })
            .await?;
        let body: Option<Value> = serde_json::from_slice(&resp.body).ok();
        match (resp.status, body) {
            (200, Some(json)) => {
                let access_token = wire::field_text(&json, "access_token").ok_or_else(|| {
                    ImisError::Unexpected("token answer without access_token".into())
                })?;
                Ok(TokenGrant {
                    access_token,
                    user_name: wire::field_text(&json, "userName"),
                    expires_in: json
                        .get("expires_in")
                        .and_then(|v| wire::as_text(v)?.parse().ok())
                        .unwrap_or(1199),
                })
            }
            (400..=499, Some(json)) if json.get("error").is_some() => {
                match json.get("error").and_then(Value::as_str).unwrap_or("") {
                    "invalid_grant" => Err(ImisError::InvalidGrant),
                    "invalid_client" | "unauthorized_client" => Err(ImisError::InvalidClient),
                    other => Err(ImisError::TokenError(other.chars().take(64).collect())),
                }
            }
            (500..=599, _) => Err(ImisError::Status(resp.status)),
            (status, Some(_)) => Err(ImisError::Unexpected(format!(
                "token endpoint answered HTTP {status}"
            ))),
            (status, None) => Err(ImisError::Unexpected(format!(
                "token endpoint answered HTTP {status} without JSON"
            ))),
        }
    }

    /// `GET {api}/api/{path_and_query}` with a bearer token; the JSON body.
    async fn get_json(&self, path_and_query: &str, token: &str) -> Result<Value, ImisError> {
        let resp = self
            .platform
            .fetch(OutboundRequest {
                method: HttpMethod::Get,
                url: self.api(&format!("/api/{path_and_query}")),
                headers: vec![
                    ("authorization".into(), format!("Bearer {token}")),
                    ("accept".into(), "application/json".into()),
                ],
                body: Vec::new(),
                timeout_ms: self.tenant.imis.timeout_ms(),
            })
            .await?;
        match resp.status {
            200 => serde_json::from_slice(&resp.body)
                .map_err(|_| ImisError::Unexpected("API answer is not JSON".into())),
            401 | 403 => Err(ImisError::Unauthorized),
            404 => Err(ImisError::NotFound),
            s @ 400..=499 => Err(ImisError::Refused(s)),
            s @ 500..=599 => Err(ImisError::Status(s)),
            s => Err(ImisError::Unexpected(format!("API answered HTTP {s}"))),
        }
    }

    /// The background account's access token: from this instance's cache, else from the
    /// runtime's cache shared between instances (sealed), else a fresh password grant.
    pub(crate) async fn background_token(&self, cache: &TokenCache) -> Result<String, ImisError> {
        let key = self.token_cache_key();
        let now = self.platform.now();
        if let Some(token) = cache.get(&key, now) {
            return Ok(token);
        }
        if let Some((token, until)) = self.shared_token(&key).await {
            cache.put(&key, token.clone(), until, now);
            return Ok(token);
        }
        self.new_background_token(cache).await
    }

    /// A fresh background token (password grant), put into both caches.
    async fn new_background_token(&self, cache: &TokenCache) -> Result<String, ImisError> {
        let key = self.token_cache_key();
        let account = &self.tenant.imis.background_account;
        let password = self.open_secret(&account.password)?;
        let grant = self.password_grant(&account.username, &password).await?;
        let now = self.platform.now();
        let lifetime = grant
            .expires_in
            .saturating_sub(TOKEN_RENEW_MARGIN_SECS)
            .max(30);
        let until = now.plus_secs(lifetime);
        cache.put(&key, grant.access_token.clone(), until, now);
        self.share_token(&key, &grant.access_token, until).await;
        Ok(grant.access_token)
    }

    /// The key that seals the background token in the shared cache.
    fn shared_token_key(&self) -> Option<SealKey> {
        let master = self.platform.secret(crate::platform::MASTER_KEY_SECRET)?;
        let master = MasterKey::from_base64(&master).ok()?;
        Some(SealKey::derive(
            &master,
            self.tenant.id.as_str(),
            Purpose::Tokens,
        ))
    }

    /// The background token from the shared cache, if it is there, opens, and has time left.
    async fn shared_token(&self, key: &str) -> Option<(String, UnixTime)> {
        let sealed = self
            .platform
            .shared_get(&crate::kv_key::imis_token(key))
            .await?;
        let plain = self
            .shared_token_key()?
            .open(SHARED_TOKEN_AAD, &sealed)
            .ok()?;
        let cached: SharedToken = serde_json::from_slice(&plain).ok()?;
        let until = UnixTime::from_millis(cached.until_ms);
        (self.platform.now() < until).then_some((cached.token, until))
    }

    /// Seals the background token into the shared cache (best effort).
    async fn share_token(&self, key: &str, token: &str, until: UnixTime) {
        let Some(seal_key) = self.shared_token_key() else {
            return;
        };
        let Ok(plain) = serde_json::to_vec(&SharedToken {
            token: token.to_string(),
            until_ms: until.millis,
        }) else {
            return;
        };
        let mut nonce = [0u8; crate::seal::NONCE_LEN];
        self.platform.random(&mut nonce);
        let sealed = seal_key.seal(nonce, SHARED_TOKEN_AAD, &plain);
        self.platform
            .shared_put(&crate::kv_key::imis_token(key), &sealed)
            .await;
    }

    fn token_cache_key(&self) -> String {
        format!("{}:{}", self.tenant.id.as_str(), self.tenant.config_version)
    }

    /// Like [`Self::get_json`] with the background token; on 401 the token is renewed once.
    pub async fn get_json_as_service(
        &self,
        cache: &TokenCache,
        path_and_query: &str,
    ) -> Result<Value, ImisError> {
        let token = self.background_token(cache).await?;
        match self.get_json(path_and_query, &token).await {
            Err(ImisError::Unauthorized) => {
                cache.remove(&self.token_cache_key());
                let token = self.new_background_token(cache).await?;
                self.get_json(path_and_query, &token).await
            }
            other => other,
        }
    }

    /// Runs an IQA query with the background account, reading every page.
    pub async fn iqa(
        &self,
        cache: &TokenCache,
        query: &str,
        parameters: &[&str],
    ) -> Result<Vec<Row>, ImisError> {
        let mut rows = Vec::new();
        let mut offset = 0u64;
        for _ in 0..IQA_MAX_PAGES {
            let mut pq = format!("IQA?QueryName={}", percent_encode(query));
            for p in parameters {
                pq.push_str("&Parameter=");
                pq.push_str(&percent_encode(p));
            }
            pq.push_str(&format!("&Limit={IQA_PAGE_SIZE}&Offset={offset}"));
            let page = match self.get_json_as_service(cache, &pq).await {
                Err(ImisError::Refused(status)) => {
                    return Err(ImisError::QueryRefused {
                        query: query.to_string(),
                        status,
                    })
                }
                Err(ImisError::NotFound) => {
                    return Err(ImisError::QueryRefused {
                        query: query.to_string(),
                        status: 404,
                    })
                }
                other => other?,
            };
            let items = wire::values(page.get("Items"));
            rows.extend(items.iter().map(wire::generic_entity_row));
            let paging = wire::paging(&page);
            if items.is_empty() || !paging.has_next || paging.next_offset <= offset {
                return Ok(rows);
            }
            offset = paging.next_offset;
        }
        Ok(rows)
    }

    /// Looks a member up by iMIS username: `/api/User` then `/api/Person/{id}`.
    /// `Ok(None)` when no login has that name.
    pub async fn find_member(
        &self,
        cache: &TokenCache,
        username: &str,
    ) -> Result<Option<Member>, ImisError> {
        let users = self
            .get_json_as_service(
                cache,
                &format!("User?UserName={}", percent_encode(username)),
            )
            .await?;
        let Some(user) = wire::values(users.get("Items")).iter().find(|u| {
            wire::field_text(u, "UserName").is_some_and(|n| n.eq_ignore_ascii_case(username))
        }) else {
            return Ok(None);
        };
        let party = user.get("Party");
        let imis_id = wire::field_text(user, "UserId")
            .or_else(|| party.and_then(|p| wire::field_text(p, "Id")))
            .ok_or_else(|| ImisError::Unexpected("user without UserId".into()))?;
        let disabled = user
            .get("IsDisable")
            .map(wire::unwrap_typed)
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let person = self
            .get_json_as_service(cache, &format!("Person/{}", percent_encode(&imis_id)))
            .await?;
        let name = person.get("PersonName");
        let emails = wire::values(person.get("Emails"));
        let primary = emails
            .iter()
            .find(|e| e.get("IsPrimary").map(wire::unwrap_typed) == Some(Value::Bool(true)))
            .or_else(|| emails.first());
        let member_type = wire::values(person.get("AdditionalAttributes"))
            .iter()
            .find(|a| a.get("Name").and_then(Value::as_str) == Some("CustomerTypeCode"))
            .and_then(|a| wire::field_text(a, "Value"));
        Ok(Some(Member {
            username: wire::field_text(user, "UserName").unwrap_or_else(|| username.to_string()),
            imis_id,
            contact_key: wire::field_text(&person, "UniformId")
                .or_else(|| party.and_then(|p| wire::field_text(p, "UniformId"))),
            first_name: name.and_then(|n| wire::field_text(n, "FirstName")),
            last_name: name.and_then(|n| wire::field_text(n, "LastName")),
            email: primary
                .and_then(|e| wire::field_text(e, "Address"))
                .or_else(|| wire::field_text(&person, "Email")),
            member_type,
            disabled,
        }))
    }
}

#[cfg(test)]
mod tests;
