//! SAML 2.0 identity provider: per-app metadata, SSO (Redirect and POST bindings, SP-
//! and IdP-initiated), signed Responses and Assertions, Single Logout.
//!
//! One file per message kind: [`metadata`], [`authn_request`], [`response`], [`assertion`],
//! [`logout`]; the endpoints of SSO in [`sso`]; the bindings in [`binding`]; XML in [`xml`]
//! (canonical writer, hardened reader); every signature in [`dsig`]; the app's stored settings
//! in [`config`].
//!
//! | path | what |
//! |---|---|
//! | `/saml/{app}/metadata` | IdP metadata (`?download=1`: as a file) |
//! | `/saml/{app}/sso` | AuthnRequest, HTTP-Redirect (GET) and HTTP-POST |
//! | `/saml/{app}/login` | IdP-initiated login (optional `RelayState`) |
//! | `/saml/{app}/slo` | LogoutRequest / LogoutResponse, both bindings |
//! | `/saml/{app}/slo/done` | end of an SP-initiated logout: the LogoutResponse |

pub(crate) mod assertion;
pub mod authn_request;
pub mod binding;
pub mod config;
pub mod dsig;
pub(crate) mod encrypt;
pub mod logout;
pub mod metadata;
pub(crate) mod response;
pub(crate) mod sso;
pub mod time;
pub mod xml;

use std::sync::Arc;

pub(crate) use logout::logout_step;
pub(crate) use sso::{resume, PendingSso};

use crate::audit::Outcome;
use crate::http::Response;
use crate::platform::{HttpMethod, Platform, PlatformError};
use crate::signin::Reply;
use crate::text::{ErrorMessage, ErrorTitle};
use crate::Ctx;
use config::{AppId, LoadedApp};

/// A SAML endpoint of an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Metadata,
    Sso,
    Login,
    Slo,
    SloDone,
}

impl Endpoint {
    /// The endpoint a path's last part and a method ask for.
    fn of(path: &str, method: HttpMethod) -> Option<Self> {
        let get = matches!(method, HttpMethod::Get | HttpMethod::Head);
        let post = method == HttpMethod::Post;
        match (path, get, post) {
            ("metadata", true, _) => Some(Self::Metadata),
            ("sso", true, _) | ("sso", _, true) => Some(Self::Sso),
            ("login", true, _) => Some(Self::Login),
            ("slo", true, _) | ("slo", _, true) => Some(Self::Slo),
            ("slo/done", true, _) => Some(Self::SloDone),
            _ => None,
        }
    }

    /// What the endpoint answers for an id no app can have: what an unknown app gets, and at
    /// `slo/done` what a request without a valid token for the app gets.
    fn unknown_app<P: Platform>(self, ctx: &Ctx<'_, P>, app: &str) -> Response {
        match self {
            Self::SloDone => logout::no_done_token(),
            _ => unknown_app(ctx, app),
        }
    }
}

/// Answers `/saml/{app}/…`; `None` when the path is not a SAML endpoint.
pub(crate) async fn route<P: Platform>(ctx: &Ctx<'_, P>) -> Option<Reply> {
    let rest = ctx.req.path.strip_prefix("/saml/")?;
    let (app, endpoint) = rest.split_once('/')?;
    let endpoint = Endpoint::of(endpoint, ctx.req.method)?;
    // An id no app can have is answered as an app this tenant does not have.
    let Some(app) = AppId::parse(app) else {
        return Some(endpoint.unknown_app(ctx, app).into());
    };
    Some(match endpoint {
        Endpoint::Metadata => metadata_endpoint(ctx, &app).await.into(),
        Endpoint::Sso => sso::sso(ctx, &app).await.into(),
        Endpoint::Login => sso::login(ctx, &app).await.into(),
        Endpoint::Slo => logout::slo(ctx, &app).await,
        Endpoint::SloDone => logout::done(ctx, &app).await.into(),
    })
}

/// The IdP's identity and endpoints for an app, on the host of this request.
#[derive(Debug, Clone)]
pub struct Saml {
    /// Entity ID: configured, or `https://{first hostname}/saml/{app}/metadata`.
    pub entity_id: String,
    /// SSO service URL on this host.
    pub sso: String,
    /// SLO service URL on this host.
    pub slo: String,
}

/// The URLs of `app` as seen from this request's host.
fn urls<P: Platform>(ctx: &Ctx<'_, P>, app: &LoadedApp) -> Saml {
    let primary = ctx
        .tenant
        .hostnames
        .first()
        .map_or(ctx.req.host.as_str(), String::as_str);
    app_urls(&app.cfg, &ctx.req.host, ctx.req.port, primary)
}

/// The URLs of `app` served at `host` and `port`, for a tenant whose first hostname is `primary`
/// (it names the default entity ID, so the entity ID is the same on every hostname). Port 443 is
/// left out, as browsers do. The CLI prints these for vendors; the IdP serves them.
pub fn app_urls(app: &config::SamlApp, host: &str, port: Option<u16>, primary: &str) -> Saml {
    let port = match port {
        Some(p) if p != 443 => format!(":{p}"),
        _ => String::new(),
    };
    let base = format!("https://{host}{port}/saml/{}", app.id);
    Saml {
        entity_id: app.idp.entity_id.as_ref().map_or_else(
            || format!("https://{primary}{port}/saml/{}/metadata", app.id),
            ToString::to_string,
        ),
        sso: format!("{base}/sso"),
        slo: format!("{base}/slo"),
    }
}

/// How long a message ID an SP sent is remembered: longer than the accepted clock skew on both
/// sides of now, so a message cannot be replayed while its IssueInstant is still accepted.
const REPLAY_WINDOW_SECS: u32 = 900;

/// Records the ID of a message an app's SP sent (`what`: its kind); `Ok(true)` the first time
/// within [`REPLAY_WINDOW_SECS`], `Ok(false)` for a replay.
async fn first_sighting<P: Platform>(
    ctx: &Ctx<'_, P>,
    what: &str,
    app_id: &AppId,
    message_id: &str,
) -> Result<bool, crate::platform::PlatformError> {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(message_id.as_bytes());
    let key = crate::kv_key::saml_message(
        what,
        ctx.tenant.id.as_str(),
        app_id,
        &hex::encode(digest.get(..16).unwrap_or_default()),
    );
    Ok(ctx.platform.count(&key, REPLAY_WINDOW_SECS, 1).await? == 1)
}

/// A fresh message ID (`_` + 32 random alphanumerics: an NCName).
fn new_id(platform: &impl Platform) -> String {
    format!("_{}", assertion::random_alnum(platform, 32))
}

/// Loads a usable app, or the page to show instead.
async fn app_or_page<P: Platform>(
    ctx: &Ctx<'_, P>,
    app: &AppId,
) -> Result<Arc<LoadedApp>, Response> {
    match config::load(ctx, app).await {
        Ok(Some(loaded)) => match loaded.as_ref() {
            Ok(app) => Ok(app.clone()),
            Err(e) => {
                ctx.audit(
                    "saml.app_invalid",
                    Outcome::Failure,
                    Some(app),
                    Some(e.to_string()),
                );
                Err(ctx.error_page(
                    503,
                    ErrorTitle::AppUnavailable,
                    ErrorMessage::AppMisconfigured,
                    None,
                ))
            }
        },
        Ok(None) => Err(unknown_app(ctx, app)),
        Err(e) => {
            ctx.audit(
                "saml.config_unavailable",
                Outcome::Failure,
                Some(app),
                Some(e.to_string()),
            );
            Err(ctx
                .error_page(
                    503,
                    ErrorTitle::SignInTemporarilyUnavailable,
                    ErrorMessage::SettingsNotLoaded,
                    None,
                )
                .with_header("retry-after", "5"))
        }
    }
}

/// The page for an app id this tenant has no app for (`app`: as the request gave it).
fn unknown_app<P: Platform>(ctx: &Ctx<'_, P>, app: &str) -> Response {
    ctx.audit(
        "saml.unknown_app",
        Outcome::Refused,
        None,
        Some(format!("app {}", app.chars().take(64).collect::<String>())),
    );
    ctx.error_page(404, ErrorTitle::UnknownApp, ErrorMessage::NoAppHere, None)
}

/// The page when the app's key cannot sign (no master key, a key that does not open).
fn unavailable<P: Platform>(ctx: &Ctx<'_, P>, app: &LoadedApp) -> Response {
    let reason = app.signing.as_ref().err().cloned();
    ctx.audit(
        "saml.key_unavailable",
        Outcome::Failure,
        Some(&app.cfg.id),
        reason,
    );
    ctx.error_page(
        503,
        ErrorTitle::AppUnavailable,
        ErrorMessage::AppUnavailable,
        None,
    )
}

/// The page when signing failed at the platform.
fn sign_failed<P: Platform>(ctx: &Ctx<'_, P>, e: &PlatformError) -> Response {
    ctx.audit(
        "saml.sign_failed",
        Outcome::Failure,
        None,
        Some(e.to_string()),
    );
    ctx.error_page(
        503,
        ErrorTitle::SignInTemporarilyUnavailable,
        ErrorMessage::SignFailed,
        None,
    )
}

async fn metadata_endpoint<P: Platform>(ctx: &Ctx<'_, P>, app_id: &AppId) -> Response {
    let app = match app_or_page(ctx, app_id).await {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    let body = metadata::idp_metadata(&app, &{
        let s = urls(ctx, &app);
        metadata::IdpUrls {
            entity_id: s.entity_id,
            sso: s.sso,
            slo: s.slo,
        }
    });
    let download = ctx.req.query_param("download").as_deref() == Some("1");
    let mut resp = Response {
        status: 200,
        headers: vec![(
            "content-type".into(),
            if download {
                "application/samlmetadata+xml".into()
            } else {
                "text/xml; charset=utf-8".into()
            },
        )],
        body: body.into_bytes(),
    }
    .with_header("cache-control", "public, max-age=300");
    if download {
        resp = resp.with_header(
            "content-disposition",
            format!("attachment; filename=\"{}-idp-metadata.xml\"", app.cfg.id),
        );
    }
    resp
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_differential;
#[cfg(test)]
mod tests_remembered;
