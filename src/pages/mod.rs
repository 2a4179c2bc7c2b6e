//! Branded HTML pages. Every page is self-contained (no third-party assets), works without
//! JavaScript, and is served with a strict Content-Security-Policy whose style nonce is fresh per
//! response; `frame-ancestors 'none'` keeps pages out of frames.

use crate::http::{html_escape, Response};
use crate::tenant::config::{Branding, ImisLinks};
use crate::text::{ErrorTitle, Explanation, Lang, Overrides, Text};

/// What a page is branded with: the tenant's name, branding and account links, or nothing
/// (unknown host).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Brand<'a> {
    /// Organisation name.
    pub(crate) name: &'a str,
    /// Branding settings.
    pub(crate) branding: Option<&'a Branding>,
    /// The tenant's iMIS account pages, linked from every page with sign-out.
    pub(crate) links: Option<&'a ImisLinks>,
    /// The language of the page.
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

impl Brand<'_> {
    /// A text of the page in its language.
    fn t(&self, text: Text) -> &str {
        text.in_lang(self.lang, self.texts)
    }
}

/// `text` HTML-escaped, with each `{name}` replaced by its value, which is already HTML.
pub(crate) fn fill(text: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(html_escape(text), |out, (name, value)| {
        out.replace(&format!("{{{name}}}"), value)
    })
}

/// The member's account links, the same on every page of a tenant so that creating an account,
/// recovering a password or username and signing out are always one click away: the tenant's
/// own iMIS pages (those it configured) and our sign-out, which asks before it acts.
fn account_links(brand: &Brand<'_>, links: &ImisLinks) -> String {
    fn web(href: &Option<String>) -> Option<&str> {
        href.as_deref()
            .filter(|h| h.starts_with("https://") || h.starts_with("http://"))
    }
    let items: String = [
        (web(&links.create_account_url), Text::CreateAccount),
        (web(&links.forgot_password_url), Text::ForgotPassword),
        (web(&links.forgot_username_url), Text::ForgotUsername),
        (Some("/signout"), Text::SignOut),
    ]
    .into_iter()
    .filter_map(|(href, text)| {
        href.map(|h| {
            format!(
                "<li><a href=\"{}\">{}</a></li>",
                html_escape(h),
                html_escape(brand.t(text))
            )
        })
    })
    .collect();
    format!(
        "<nav class=\"account\" aria-label=\"{}\"><ul>{items}</ul></nav>",
        html_escape(brand.t(Text::AccountNav))
    )
}

fn colour(value: Option<&String>, fallback: &'static str) -> String {
    match value {
        Some(c)
            if c.len() == 7
                && c.strip_prefix('#')
                    .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit())) =>
        {
            c.clone()
        }
        _ => fallback.to_string(),
    }
}

/// Renders a full page: `body_html` must already be escaped.
fn render(brand: Brand<'_>, title: &str, body_html: &str, nonce: &str) -> String {
    let primary = colour(
        brand.branding.and_then(|b| b.primary_color.as_ref()),
        "#1f4e79",
    );
    let accent = colour(
        brand.branding.and_then(|b| b.accent_color.as_ref()),
        "#e8eef5",
    );
    let logo = brand
        .branding
        .and_then(|b| b.logo_url.as_deref())
        .filter(|u| u.starts_with("https://"))
        .map(|u| {
            format!(
                "<img class=\"logo\" src=\"{}\" alt=\"{} logo\">",
                html_escape(u),
                html_escape(brand.name)
            )
        })
        .unwrap_or_default();
    let support = brand
        .branding
        .and_then(|b| b.support_email.as_deref())
        .map(|e| {
            format!(
                "<p class=\"support\">{} <a href=\"mailto:{1}\">{1}</a></p>",
                html_escape(brand.t(Text::NeedHelp)),
                html_escape(e)
            )
        })
        .unwrap_or_default();
    let account = brand
        .links
        .map(|links| account_links(&brand, links))
        .unwrap_or_default();
    format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} · {name}</title><style nonce=\"{nonce}\">\
body{{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;margin:0;background:{accent};color:#1a1a1a}}\
header{{background:{primary};color:#fff;padding:1rem 1.5rem;display:flex;align-items:center;gap:1rem}}\
header .org{{font-size:1.25rem;font-weight:600}}.logo{{max-height:48px}}\
main{{max-width:32rem;margin:2rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15)}}\
h1{{font-size:1.5rem;margin-top:0}}a{{color:{primary}}}\
.button,button{{display:inline-block;background:{primary};color:#fff;border:0;border-radius:4px;padding:.6rem 1.2rem;font-size:1rem;text-decoration:none;cursor:pointer}}\
.muted{{color:#555;font-size:.9rem}}\
input:not([type=hidden]){{box-sizing:border-box;width:100%;min-height:2.75rem;padding:.5rem .6rem;font-size:1rem;border:1px solid #767676;border-radius:4px}}\
.button,button{{min-height:2.75rem}}:focus-visible{{outline:3px solid {primary};outline-offset:2px}}\
@media (max-width:40rem){{main{{margin:0;border-radius:0;box-shadow:none;padding:1.25rem}}}}\
.account ul{{list-style:none;padding:0;margin:1.5rem 0 0;display:flex;flex-wrap:wrap;gap:.75rem 1.25rem;font-size:.95rem}}\
.account a{{display:inline-block;padding:.25rem 0}}.error{{color:#b00020}}code{{background:#f3f3f3;padding:0 .2rem}}\
</style></head><body><header>{logo}<span class=\"org\">{name}</span></header>\
<main id=\"main\">{body_html}{account}{support}</main></body></html>\n",
        title = html_escape(title),
        name = html_escape(brand.name),
        lang = brand.lang.code(),
    )
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
    let value = html_escape(value.unwrap_or_default());
    let values: Vec<(&str, &str)> = message
        .placeholder()
        .map(|name| (name, value.as_str()))
        .into_iter()
        .collect();
    let explanation = fill(brand.t(message.into()), &values);
    let title = brand.t(title.into());
    // Only ever a link within this host: an error page must not become an open redirect.
    let retry = retry
        .filter(|href| crate::http::is_local_path(href))
        .map(|href| {
            format!(
                "<p><a class=\"button\" href=\"{}\">{}</a></p>",
                html_escape(href),
                html_escape(brand.t(Text::TryAgain))
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>{}</h1><p>{explanation}</p>{retry}<p class=\"muted\">{} <code>{}</code></p>",
        html_escape(title),
        html_escape(brand.t(Text::Reference)),
        html_escape(request_id),
    );
    page_response(status, brand, title, &body, nonce)
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
    let message = message.unwrap_or(brand.t(Text::NoAccessText));
    let app = app_name
        .map(|a| {
            format!(
                "<p class=\"muted\">{} {}</p>",
                html_escape(brand.t(Text::Service)),
                html_escape(a)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>{}</h1><p>{}</p>{app}<p><a href=\"/\">{}</a></p>",
        html_escape(title),
        html_escape(message),
        html_escape(brand.t(Text::Home))
    );
    page_response(403, brand, title, &body, nonce)
}

/// `fields` as hidden form inputs, escaped.
pub(crate) fn hidden_inputs(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                html_escape(k),
                html_escape(v)
            )
        })
        .collect()
}

/// A page that POSTs `fields` to `action` at once (SAML HTTP-POST binding, the token bridge).
/// Without JavaScript the member presses Continue.
pub(crate) fn auto_post(
    brand: Brand<'_>,
    action: &str,
    fields: &[(&str, &str)],
    nonce: &str,
) -> Response {
    let inputs = hidden_inputs(fields);
    let body = format!(
        "<h1>{}</h1><form id=\"auto-post\" method=\"post\" action=\"{}\">{inputs}\
<noscript><p>{}</p></noscript><button type=\"submit\">{}</button></form>\
<script nonce=\"{nonce}\">document.getElementById('auto-post').submit();</script>",
        html_escape(brand.t(Text::SigningIn)),
        html_escape(action),
        html_escape(brand.t(Text::PressContinue)),
        html_escape(brand.t(Text::Continue)),
    );
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
    fn a_tenant_text_is_escaped_and_only_its_placeholders_are_filled() {
        let hostile = "<img src=x onerror=alert(1)> {org} {app}";
        let html = fill(hostile, &[("org", "<b>Acme</b>")]);
        assert_eq!(html, "&lt;img src=x onerror=alert(1)&gt; <b>Acme</b> {app}");
    }

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
