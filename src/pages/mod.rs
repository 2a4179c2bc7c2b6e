//! Branded HTML pages. Every page is self-contained (no third-party assets), works without
//! JavaScript, and is served with a strict Content-Security-Policy whose style nonce is fresh per
//! response; `frame-ancestors 'none'` keeps pages out of frames.

pub(crate) mod html;

use askama::Template;

use crate::http::Response;
use crate::tenant::config::{Branding, ImisLinks};
use crate::text::{ErrorTitle, Explanation, Lang, Overrides, Text};
pub(crate) use html::fill;

/// What a page is branded with: the tenant's name, branding and account links, or nothing
/// (unknown host).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Brand<'a> {
    pub(crate) name: &'a str,
    pub(crate) branding: Option<&'a Branding>,
    /// The tenant's iMIS account pages, linked from every page with sign-out.
    pub(crate) links: Option<&'a ImisLinks>,
    pub(crate) lang: Lang,
    /// The tenant's replacements of the built-in texts.
    pub(crate) texts: Option<&'a Overrides>,
}

impl Brand<'static> {
    /// The neutral brand used when no tenant is known.
    pub(crate) const NEUTRAL: Brand<'static> = Brand {
        name: "Sign-in service",
        branding: None,
        links: None,
        lang: Lang::En,
        texts: None,
    };
}

impl<'a> Brand<'a> {
    /// A text of the page in its language.
    pub(crate) fn t(&self, text: Text) -> &'a str {
        text.in_lang(self.lang, self.texts)
    }
}

/// A template's HTML. Rendering into a string fails only if a value's own formatting fails,
/// which none of ours does; should it ever, the page says so rather than show half a form.
pub(crate) fn render_template(template: &impl Template) -> String {
    template
        .render()
        .unwrap_or_else(|_| String::from("<p>This page could not be shown.</p>"))
}

/// The member's account links, the same on every page of a tenant so that creating an account,
/// recovering a password or username and signing out are always one click away: the tenant's
/// own iMIS pages (those it configured, and only web addresses) and our sign-out, which asks
/// before it acts.
fn account_links<'a>(brand: &Brand<'a>, links: &'a ImisLinks) -> Vec<(&'a str, &'a str)> {
    fn web(href: &Option<String>) -> Option<&str> {
        href.as_deref()
            .filter(|h| h.starts_with("https://") || h.starts_with("http://"))
    }
    [
        (web(&links.create_account_url), Text::CreateAccount),
        (web(&links.forgot_password_url), Text::ForgotPassword),
        (web(&links.forgot_username_url), Text::ForgotUsername),
        (Some("/signout"), Text::SignOut),
    ]
    .into_iter()
    .filter_map(|(href, text)| Some((href?, brand.t(text))))
    .collect()
}

/// A colour the page's style may carry: `#rrggbb` only, since it lands inside CSS.
fn colour<'a>(value: Option<&'a String>, fallback: &'static str) -> &'a str {
    match value {
        Some(c)
            if c.len() == 7
                && c.strip_prefix('#')
                    .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit())) =>
        {
            c
        }
        _ => fallback,
    }
}

#[derive(Template)]
#[template(path = "page.html")]
struct Page<'a> {
    brand: Brand<'a>,
    lang: &'a str,
    title: &'a str,
    nonce: &'a str,
    primary: &'a str,
    accent: &'a str,
    logo: Option<&'a str>,
    support: Option<&'a str>,
    account: Option<Vec<(&'a str, &'a str)>>,
    body: &'a str,
}

/// Renders a full page around `body_html`, which must already be HTML.
fn render(brand: Brand<'_>, title: &str, body_html: &str, nonce: &str) -> String {
    let branding = brand.branding;
    render_template(&Page {
        brand,
        lang: brand.lang.code(),
        title,
        nonce,
        primary: colour(branding.and_then(|b| b.primary_color.as_ref()), "#1f4e79"),
        accent: colour(branding.and_then(|b| b.accent_color.as_ref()), "#e8eef5"),
        logo: branding
            .and_then(|b| b.logo_url.as_deref())
            .filter(|u| u.starts_with("https://")),
        support: branding.and_then(|b| b.support_email.as_deref()),
        account: brand.links.map(|links| account_links(&brand, links)),
        body: body_html,
    })
}

/// The Content-Security-Policy for a page with this style nonce.
fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; img-src https: data:; \
form-action 'self' https:; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// A page response whose forms may also lead (directly or through a redirect after submission,
/// which `form-action` covers too) to `extra_origin`, e.g. the tenant's iMIS for sign-out.
pub(crate) fn page_response_with_form_target(
    status: u16,
    brand: Brand<'_>,
    title: &str,
    body_html: &str,
    nonce: &str,
    extra_origin: Option<&str>,
) -> Response {
    let mut csp = content_security_policy(nonce);
    if let Some(origin) = extra_origin.and_then(crate::http::origin_of) {
        csp = csp.replace(
            "form-action 'self' https:",
            &format!("form-action 'self' https: {origin}"),
        );
    }
    Response::html(status, render(brand, title, body_html, nonce))
        .with_header("content-security-policy", csp)
        .with_header("cache-control", "no-store")
}

/// A complete HTML response with the page security headers.
fn page_response(
    status: u16,
    brand: Brand<'_>,
    title: &str,
    body_html: &str,
    nonce: &str,
) -> Response {
    Response::html(status, render(brand, title, body_html, nonce))
        .with_header("content-security-policy", content_security_policy(nonce))
        .with_header("cache-control", "no-store")
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorBody<'a> {
    brand: Brand<'a>,
    title: &'a str,
    explanation: &'a str,
    retry: Option<&'a str>,
    request_id: &'a str,
}

/// An error page: a title, an explanation and an optional retry link, in the page's language.
pub(crate) fn error_page<'m>(
    status: u16,
    brand: Brand<'_>,
    title: ErrorTitle,
    message: impl Into<Explanation<'m>>,
    retry: Option<&str>,
    request_id: &str,
    nonce: &str,
) -> Response {
    let Explanation { message, value } = message.into();
    // A placeholder without its value shows empty rather than as `{reason}`.
    let value = crate::http::html_escape(value.unwrap_or_default());
    let values: Vec<(&str, &str)> = message
        .placeholder()
        .map(|name| (name, value.as_str()))
        .into_iter()
        .collect();
    let explanation = fill(brand.t(message.into()), &values);
    let title = brand.t(title.into());
    let body = render_template(&ErrorBody {
        brand,
        title,
        explanation: &explanation,
        // Only ever a link within this host: an error page must not become an open redirect.
        retry: retry.filter(|href| crate::http::is_local_path(href)),
        request_id,
    });
    page_response(status, brand, title, &body, nonce)
}

#[derive(Template)]
#[template(path = "no_access.html")]
struct NoAccess<'a> {
    brand: Brand<'a>,
    title: &'a str,
    message: &'a str,
    app_name: Option<&'a str>,
}

/// The No Access page: the tenant's customisable text.
pub(crate) fn no_access(
    brand: Brand<'_>,
    title: Option<&str>,
    message: Option<&str>,
    app_name: Option<&str>,
    nonce: &str,
) -> Response {
    let title = title.unwrap_or(brand.t(Text::NoAccessTitle));
    let body = render_template(&NoAccess {
        brand,
        title,
        message: message.unwrap_or(brand.t(Text::NoAccessText)),
        app_name,
    });
    page_response(403, brand, title, &body, nonce)
}

#[derive(Template)]
#[template(path = "auto_post.html")]
struct AutoPost<'a> {
    brand: Brand<'a>,
    action: &'a str,
    fields: &'a [(&'a str, &'a str)],
    nonce: &'a str,
}

/// A page that POSTs `fields` to `action` at once (SAML HTTP-POST binding, the token bridge).
/// Without JavaScript the member presses Continue.
pub(crate) fn auto_post(
    brand: Brand<'_>,
    action: &str,
    fields: &[(&str, &str)],
    nonce: &str,
) -> Response {
    let body = render_template(&AutoPost {
        brand,
        action,
        fields,
        nonce,
    });
    // The form posts to another site: allow exactly that target in form-action.
    let origin = action.split('/').take(3).collect::<Vec<_>>().join("/");
    let csp = content_security_policy(nonce).replace(
        "form-action 'self' https:",
        &format!("form-action {origin}"),
    );
    let title = brand.t(Text::SigningIn).trim_end_matches('…');
    Response::html(200, render(brand, title, &body, nonce))
        .with_header("content-security-policy", csp)
        .with_header("cache-control", "no-store")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_brands() {
        let branding = Branding {
            logo_url: Some("javascript:alert(1)".into()),
            primary_color: Some("#123456".into()),
            accent_color: Some("red;}</style><script>".into()),
            support_email: None,
        };
        let links = ImisLinks {
            create_account_url: Some("javascript:alert(2)".into()),
            forgot_password_url: Some("https://imis.example/Forgot?a=1&b=\"2".into()),
            forgot_username_url: None,
        };
        let brand = Brand {
            name: "A <b>&",
            branding: Some(&branding),
            links: Some(&links),
            lang: Lang::En,
            texts: None,
        };
        let html = render(brand, "T", "<p>x</p>", "n0nce");
        assert!(html.contains(
            "<li><a href=\"https://imis.example/Forgot?a=1&amp;b=&quot;2\">Forgot your password?</a></li>"
        ));
        assert!(html.contains("<li><a href=\"/signout\">Sign out</a></li>"));
        assert!(!html.contains("Create an account") && !html.contains("Forgot your username"));
        assert!(html.contains("A &lt;b&gt;&amp;"));
        assert!(html.contains("#123456"));
        assert!(!html.contains("javascript:"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("nonce=\"n0nce\""));
    }

    #[test]
    fn the_auto_post_form_escapes_its_target_and_fields() {
        let r = auto_post(
            Brand::NEUTRAL,
            "https://sp.example/acs?a=1&b=\"x",
            &[
                ("SAMLResponse", "PHN+/="),
                ("RelayState", "\"><script>alert(1)</script>"),
            ],
            "n1",
        );
        let html = String::from_utf8_lossy(&r.body);
        assert!(html.contains("action=\"https://sp.example/acs?a=1&amp;b=&quot;x\""));
        assert!(html.contains("name=\"SAMLResponse\" value=\"PHN+/=\""));
        assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""));
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("<script nonce=\"n1\">"));
    }

    #[test]
    fn the_no_access_page_escapes_the_tenant_s_text_and_the_app_name() {
        let r = no_access(
            Brand::NEUTRAL,
            Some("<i>No</i>"),
            None,
            Some("<b>LMS</b>"),
            "n1",
        );
        assert_eq!(r.status, 403);
        let html = String::from_utf8_lossy(&r.body);
        assert!(html.contains("<h1>&lt;i&gt;No&lt;/i&gt;</h1>"));
        assert!(html.contains("&lt;b&gt;LMS&lt;/b&gt;"));
        assert!(!html.contains("<b>LMS"));
    }

    #[test]
    fn error_page_has_security_headers() {
        let r = error_page(
            503,
            Brand::NEUTRAL,
            ErrorTitle::SignInUnavailable,
            crate::text::ErrorMessage::InvalidRequest.with("<x>"),
            Some("/retry"),
            "req1",
            "abc",
        );
        assert_eq!(r.status, 503);
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("'nonce-abc'"));
        let body = String::from_utf8_lossy(&r.body);
        assert!(
            body.contains("&lt;x&gt;") && body.contains("href=\"/retry\"") && body.contains("req1")
        );
    }
}
