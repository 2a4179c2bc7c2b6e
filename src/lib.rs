//! # edge-idp — the host-agnostic core of an edge identity provider for iMIS
//!
//! This crate holds every protocol, the sign-in journey and tenancy. It performs **no I/O of its
//! own**: no network, no key-value store, no clock and no randomness except through the
//! [`platform::Platform`] port that each runtime adapter (Cloudflare Workers, Fermyon Spin)
//! implements. That keeps the protocol logic testable natively with a fake platform, and identical
//! on every runtime.
//!
//! An adapter keeps one [`Idp`] per isolate (it holds the per-isolate caches) and calls
//! [`Idp::handle`] for each request.

// Untrusted text is never sliced by byte index and nothing is indexed without a bounds check:
// either can panic, and a panic before authentication is a denial of service.
#![cfg_attr(not(test), deny(clippy::string_slice, clippy::indexing_slicing))]

pub mod access;
pub mod audit;
#[cfg(any(test, feature = "bench"))]
pub mod bench;
pub mod bridge;
pub(crate) mod cache;
pub mod cookie;
pub mod crypto;
pub mod healthz;
pub mod http;
pub mod ids;
pub mod imis;
mod journey;
pub mod kv_key;
pub mod oidc;
pub(crate) mod pages;
pub mod platform;
pub mod saml;
pub mod seal;
pub mod signin;
pub mod tenant;
pub(crate) mod text;

#[cfg(test)]
mod testing;

use std::sync::Arc;

use base64::Engine;

use audit::{AuditEvent, Outcome};
use http::{Request, Response};
use pages::Brand;
use platform::{HttpMethod, Platform};
use tenant::{TenantConfig, TenantError, TenantResolver};
use text::{ErrorMessage, ErrorTitle, Explanation};

/// The identity provider: per-isolate state plus the request router.
#[derive(Debug, Default)]
pub struct Idp {
    tenants: TenantResolver,
    imis_tokens: imis::TokenCache,
    oidc: oidc::OidcCache,
    /// Protocol configuration read from KV (SAML apps, …), parsed once per isolate.
    configs: cache::KvCache,
}

/// Everything one request's handlers need.
pub struct Ctx<'a, P: Platform> {
    /// The runtime.
    platform: &'a P,
    /// Per-isolate state.
    idp: &'a Idp,
    /// The request.
    req: &'a Request,
    /// The tenant serving the request's host.
    tenant: Arc<TenantConfig>,
    /// Random id of this request, in logs and on error pages.
    request_id: String,
    /// Fresh nonce for this response's Content-Security-Policy.
    nonce: String,
    /// The language of this response's pages: the member's choice, else the tenant's.
    lang: text::Lang,
    /// Cookies a handler set on the side (e.g. the remembered IQA answers), added to whatever
    /// response the request ends with.
    cookies: std::cell::RefCell<Vec<String>>,
}

impl<'a, P: Platform> Ctx<'a, P> {
    /// What one request's handlers need.
    pub fn new(
        platform: &'a P,
        idp: &'a Idp,
        req: &'a Request,
        tenant: Arc<TenantConfig>,
        request_id: String,
        nonce: String,
    ) -> Self {
        let lang = text::Lang::negotiate(req.header("accept-language"), tenant.pages.language);
        Self {
            platform,
            idp,
            req,
            tenant,
            request_id,
            nonce,
            lang,
            cookies: std::cell::RefCell::default(),
        }
    }

    /// Adds `Set-Cookie: cookie` to this request's response, whichever it turns out to be.
    fn set_cookie(&self, cookie: String) {
        self.cookies.borrow_mut().push(cookie);
    }

    /// `resp` with the cookies set on the side.
    fn with_side_cookies(&self, mut resp: Response) -> Response {
        for cookie in self.cookies.take() {
            resp = resp.with_header("set-cookie", cookie);
        }
        resp
    }
}

impl<P: Platform> Ctx<'_, P> {
    /// The tenant's brand for pages.
    fn brand(&self) -> Brand<'_> {
        Brand {
            name: &self.tenant.name,
            branding: Some(&self.tenant.branding),
            links: Some(&self.tenant.imis.links),
            lang: self.lang,
            texts: Some(&self.tenant.pages.texts),
        }
    }

    /// A text of this response's pages, in its language.
    pub(crate) fn t(&self, text: text::Text) -> &str {
        text.in_lang(self.lang, Some(&self.tenant.pages.texts))
    }

    /// An iMIS client for this tenant.
    fn imis(&self) -> imis::ImisClient<'_, P> {
        imis::ImisClient::new(self.platform, &self.tenant)
    }

    /// The per-isolate background-token cache.
    fn imis_tokens(&self) -> &imis::TokenCache {
        &self.idp.imis_tokens
    }

    /// Writes an audit event for this request and tenant.
    fn audit(
        &self,
        event: &'static str,
        outcome: Outcome,
        app: Option<&str>,
        reason: Option<String>,
    ) {
        log_event(
            self.platform,
            event,
            outcome,
            Some(self.tenant.id.as_str()),
            app,
            &self.request_id,
            reason,
        );
    }

    /// A branded page of this tenant. Its forms may lead to the tenant's iMIS as well (sign-out
    /// redirects there after the form is sent).
    fn page(&self, status: u16, title: &str, body_html: &str) -> Response {
        pages::page_response_with_form_target(
            status,
            self.brand(),
            title,
            body_html,
            &self.nonce,
            Some(&self.tenant.imis.base_url),
        )
    }

    /// Audits a refused request (`reason` is for operators, in English) and answers with a
    /// branded error page.
    fn refuse<'m>(
        &self,
        event: &'static str,
        reason: &str,
        status: u16,
        title: ErrorTitle,
        message: impl Into<Explanation<'m>>,
        retry: Option<&str>,
    ) -> Response {
        self.audit(event, Outcome::Refused, None, Some(reason.to_string()));
        self.error_page(status, title, message, retry)
    }

    /// A branded error page in this response's language.
    fn error_page<'m>(
        &self,
        status: u16,
        title: ErrorTitle,
        message: impl Into<Explanation<'m>>,
        retry: Option<&str>,
    ) -> Response {
        pages::error_page(
            status,
            self.brand(),
            title,
            message,
            retry,
            &self.request_id,
            &self.nonce,
        )
    }
}

fn log_event(
    platform: &impl Platform,
    event: &'static str,
    outcome: Outcome,
    tenant: Option<&str>,
    app: Option<&str>,
    request_id: &str,
    reason: Option<String>,
) {
    platform.log(&AuditEvent {
        kind: "audit",
        event,
        outcome,
        tenant: tenant.map(str::to_string),
        app: app.map(str::to_string),
        user: None,
        request_id: request_id.to_string(),
        reason,
        ts: platform.now().millis,
    });
}

fn random_text(platform: &impl Platform, len: usize) -> String {
    let mut buf = vec![0u8; len];
    platform.random(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

impl Idp {
    /// Fresh per-isolate state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Handles one request. Never panics; every failure becomes a clear response.
    pub async fn handle(&self, req: Request, platform: &impl Platform) -> Response {
        let request_id = random_text(platform, 9);
        let nonce = random_text(platform, 18);
        let mut resp = self.route(&req, platform, &request_id, &nonce).await;
        resp.set_default_header("x-request-id", &request_id);
        resp.set_default_header("x-content-type-options", "nosniff");
        resp.set_default_header("referrer-policy", "no-referrer");
        resp.set_default_header("cache-control", "no-store");
        if req.method == HttpMethod::Head {
            resp.body.clear();
        }
        resp
    }

    async fn route(
        &self,
        req: &Request,
        platform: &impl Platform,
        request_id: &str,
        nonce: &str,
    ) -> Response {
        let tenant = match self.tenants.resolve(&req.host, platform).await {
            Ok(tenant) => tenant,
            Err(err) => return tenant_failure(&err, req, platform, request_id, nonce),
        };
        let ctx = Ctx::new(
            platform,
            self,
            req,
            tenant,
            request_id.to_string(),
            nonce.to_string(),
        );
        if ctx.tenant.disabled {
            return disabled_tenant(&ctx);
        }
        if req.body.len() > http::MAX_BODY_BYTES {
            ctx.audit(
                "request.refused",
                Outcome::Refused,
                None,
                Some(format!("body over {} bytes", http::MAX_BODY_BYTES)),
            );
            return ctx.error_page(
                413,
                ErrorTitle::RequestTooLarge,
                ErrorMessage::TooLarge,
                Some("/"),
            );
        }
        let reply = self.dispatch(&ctx).await;
        let resp = journey::render(&ctx, reply).await;
        ctx.with_side_cookies(resp)
    }

    /// The handler of this request's method and path, and its decision.
    async fn dispatch<P: Platform>(&self, ctx: &Ctx<'_, P>) -> signin::Reply {
        let req = ctx.req;
        let get = matches!(req.method, HttpMethod::Get | HttpMethod::Head);
        let post = req.method == HttpMethod::Post;
        match (get, post, req.path.as_str()) {
            (true, _, "/healthz") => healthz::handle(ctx).await.into(),
            (true, _, "/") => home(ctx).await.into(),
            (true, _, "/signin") => signin::signin_get(ctx).await,
            (_, true, "/signin") => signin::legacy_submit(ctx).await,
            (_, true, "/imis/callback") => signin::callback(ctx, signin::Family::Oidc).await,
            (_, true, "/saml/imis/callback") => signin::callback(ctx, signin::Family::Saml).await,
            (true, _, "/signout") => signin::signout(ctx, false).await,
            (_, true, "/signout") => signin::signout(ctx, true).await,
            (true, _, "/signed-out") => match signin::signed_out_continuation(ctx) {
                Some(next) => Response::redirect(&next).into(),
                None => signin::pages::signed_out(ctx).into(),
            },
            (true, _, signin::logout::CONTINUE_PATH) => journey::continue_logout(ctx).await.into(),
            (true, _, "/no-access") => pages::no_access(
                ctx.brand(),
                ctx.tenant.pages.no_access_title.as_deref(),
                ctx.tenant.pages.no_access_message.as_deref(),
                None,
                &ctx.nonce,
            )
            .into(),
            _ => {
                let protocol = match req.path.as_str() {
                    p if p.starts_with("/saml/") => saml::route(ctx).await,
                    p if p.starts_with("/oidc/")
                        || p.starts_with("/.well-known/")
                        || p == "/openid/userinfo" =>
                    {
                        oidc::route(ctx).await
                    }
                    p if p.starts_with("/bridge/") => bridge::route(ctx).await,
                    _ => None,
                };
                if let Some(reply) = protocol {
                    return reply;
                }
                ctx.audit(
                    "request.refused",
                    Outcome::Refused,
                    None,
                    Some(format!("no route for {}", req.method.as_str())),
                );
                ctx.error_page(
                    404,
                    ErrorTitle::PageNotFound,
                    ErrorMessage::NoPageHere,
                    Some("/"),
                )
                .into()
            }
        }
    }
}

/// Every answer of a disabled tenant: a branded page, no link onward, nothing looked up. The
/// health check still says which tenant it is, so operators can see the host is routed.
fn disabled_tenant<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    if ctx.req.path == "/healthz" {
        return Response::json(
            503,
            &serde_json::json!({"status": "disabled", "tenant": ctx.tenant.id.as_str()}),
        );
    }
    ctx.error_page(
        503,
        ErrorTitle::SignInUnavailable,
        ErrorMessage::TenantDisabled,
        None,
    )
}

fn tenant_failure(
    err: &TenantError,
    req: &Request,
    platform: &impl Platform,
    request_id: &str,
    nonce: &str,
) -> Response {
    // No tenant, so no tenant default: the member's language, else English.
    let brand = Brand {
        lang: text::Lang::negotiate(req.header("accept-language"), text::Lang::En),
        ..Brand::NEUTRAL
    };
    match err {
        TenantError::UnknownHost => pages::error_page(
            404,
            brand,
            ErrorTitle::SiteNotFound,
            ErrorMessage::UnknownSite,
            None,
            request_id,
            nonce,
        ),
        TenantError::Invalid { tenant, error } => {
            log_event(
                platform,
                "tenant.config_invalid",
                Outcome::Failure,
                Some(tenant),
                None,
                request_id,
                Some(error.to_string()),
            );
            pages::error_page(
                503,
                brand,
                ErrorTitle::SignInTemporarilyUnavailable,
                ErrorMessage::BeingConfigured,
                Some(req.path.as_str()),
                request_id,
                nonce,
            )
        }
        TenantError::Unavailable(e) => {
            log_event(
                platform,
                "tenant.config_unavailable",
                Outcome::Failure,
                None,
                None,
                request_id,
                Some(e.to_string()),
            );
            pages::error_page(
                503,
                brand,
                ErrorTitle::SignInTemporarilyUnavailable,
                ErrorMessage::SettingsNotLoaded,
                None,
                request_id,
                nonce,
            )
            .with_header("retry-after", "5")
        }
    }
}

async fn home<P: Platform>(ctx: &Ctx<'_, P>) -> Response {
    match signin::current(ctx).await {
        Some(mut session) => {
            let token = signin::signout_token(ctx, &session);
            let page = signin::pages::home(ctx, Some((&session, token)));
            signin::touch(ctx, &mut session, page)
        }
        None => signin::pages::home(ctx, None),
    }
}

#[cfg(test)]
mod tests;
