//! Whole requests through [`edge_idp::Idp::handle`]: a short browser session (up to four
//! requests sharing a cookie jar) built from structured fuzz input, against the seeded
//! [`World`], with the response invariants checked after every request.
//!
//! Values are drawn from a dictionary of what the demo configuration knows (client ids,
//! redirect URIs, secrets, app ids, SAML URIs…), from what earlier responses handed out (codes,
//! tokens, form fields, pending ids: "carried" values), or are raw fuzz text. SAML messages are
//! built as XML from fuzz parts and encoded for their binding (DEFLATE + base64 in a query, or
//! base64 in a form), so the fuzzer reaches past the decoding into the checks.

use arbitrary::{Arbitrary, Unstructured};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use edge_idp::http::{percent_encode, Request, Response};
use edge_idp::platform::{HttpMethod, PlatformError};
use edge_idp::cookie;
use edge_idp::signin::{session, Participant, Session, SessionUser};
use edge_idp::ids::{AppId, ClientId, SessionIndex};
use edge_idp::Idp;

use crate::platform::{block_on, FakePlatform, NOW_MS};
use crate::world::{url_host, World, RP_ORIGIN, SP_ORIGIN, VENDOR_ORIGIN};

/// Strings the demo configuration knows. Index with [`Text::Known`].
pub const DICTIONARY: &[&str] = &[
    // OIDC clients, redirect URIs, secrets
    "demo-rp",
    "demo-spa",
    "demo-hs",
    "demo-es",
    "demo-consent",
    "demo-pkjwt",
    "community-portal",
    "https://demo-rp.localhost/callback",
    "https://rp.demo.test/callback",
    "https://demo-spa.localhost/callback",
    "https://demo-hs.localhost/callback",
    "https://demo-es.localhost/callback",
    "https://demo-consent.localhost/callback",
    "https://demo-rp.localhost/signed-out",
    "https://demo-spa.localhost/",
    "https://demo-es.localhost/signed-out",
    "demo-rp-secret",
    "openid",
    "openid profile email",
    "openid profile email roles offline_access",
    "code",
    "id_token",
    "code id_token",
    "query",
    "form_post",
    "fragment",
    "none",
    "login",
    "consent",
    "S256",
    "plain",
    "authorization_code",
    "refresh_token",
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    "0",
    "60",
    "n-0S6_WzA2Mj",
    "af0ifjsldkj",
    // SAML
    "demo-sp",
    "signed-sp",
    "moodle",
    "https://sp.demo.test/metadata",
    "https://sp.demo.test/acs",
    "https://sp.demo.test/acs/redirect",
    "https://acme.localhost/saml/demo-sp/sso",
    "https://acme.localhost/saml/demo-sp/slo",
    "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
    "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
    "urn:oasis:names:tc:SAML:2.0:bindings:SOAP",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
    "urn:oasis:names:tc:SAML:2.0:status:Success",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "true",
    "false",
    "1",
    "_4fd3c2a1b0",
    "2026-09-21T14:13:20Z",
    "2026-09-21T14:13:20.123+00:00",
    // bridge
    "demo-vendor",
    "events",
    "https://acme.localhost/page",
    "https://sub.acme.localhost/x",
    "https://events.acme.example/a?b=c#d",
    "https://evil.example/",
    "post",
    "cookie",
    "cb",
    "jQuery_123.done",
    "demo-vendor-secret-local-only-0123456789",
    "https://vendor.demo.test",
    // sign-in
    "jsmith",
    "bwayne",
    "disabled",
    "hsimpson",
    "ghost",
    "Member-Passw0rd",
    "refresh-1",
    "bad-refresh",
    "/",
    "/no-access",
    "//evil.example/",
    "/\\evil.example",
    "1",
    "",
];

/// Paths; `{app}` is replaced by the step's app.
pub const PATHS: &[&str] = &[
    "/",
    "/healthz",
    "/signin",
    "/imis/callback",
    "/saml/imis/callback",
    "/signout",
    "/signed-out",
    "/signout/continue",
    "/no-access",
    "/.well-known/openid-configuration",
    "/.well-known/jwks.json",
    "/oidc/authorize",
    "/oidc/token",
    "/oidc/userinfo",
    "/openid/userinfo",
    "/oidc/logout",
    "/oidc/consent",
    "/saml/{app}/metadata",
    "/saml/{app}/sso",
    "/saml/{app}/login",
    "/saml/{app}/slo",
    "/saml/{app}/slo/done",
    "/bridge/{app}/signin",
    "/bridge/{app}/user",
    "/bridge/{app}/ping",
    "/bridge/{app}/signout",
    "/bridge/{app}/signed-out",
    "/oidc/revoke",
    "/oidc/introspect",
];

const RP_CB: &str = "https%3A%2F%2Fdemo-rp.localhost%2Fcallback";
const PKCE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const PKCE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Valid requests of the demo configuration: (method, host, path, query, form, authorization).
/// `{name}` is the newest value named `name` that an earlier response handed out; `{saml:…}`
/// a fresh SAML message (`authn`, `logout`) encoded for the binding; `{basic}` the demo-rp
/// client's Basic credentials.
pub const TEMPLATES: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("GET", "acme", "/oidc/authorize", "client_id=demo-rp&redirect_uri={RP_CB}&response_type=code&scope=openid%20profile%20email%20offline_access&state=st&nonce=n0&code_challenge={PKCE_CHALLENGE}&code_challenge_method=S256", "", ""),
    ("POST", "acme", "/oidc/token", "", "grant_type=authorization_code&code={code}&redirect_uri={RP_CB}&code_verifier={PKCE_VERIFIER}", "{basic}"),
    ("POST", "acme", "/oidc/token", "", "grant_type=refresh_token&refresh_token={refresh_token}", "{basic}"),
    ("GET", "acme", "/oidc/userinfo", "", "", "Bearer {access_token}"),
    ("GET", "acme", "/oidc/logout", "id_token_hint={id_token}&post_logout_redirect_uri=https%3A%2F%2Fdemo-rp.localhost%2Fsigned-out&state=s1", "", ""),
    ("GET", "acme", "/oidc/authorize", "client_id=demo-spa&redirect_uri=https%3A%2F%2Fdemo-spa.localhost%2Fcallback&response_type=code&scope=openid&response_mode=form_post&code_challenge={PKCE_CHALLENGE}&code_challenge_method=S256", "", ""),
    ("POST", "acme", "/oidc/token", "", "grant_type=authorization_code&client_id=demo-spa&code={code}&redirect_uri=https%3A%2F%2Fdemo-spa.localhost%2Fcallback&code_verifier={PKCE_VERIFIER}", ""),
    ("GET", "acme", "/oidc/authorize", "client_id=demo-consent&redirect_uri=https%3A%2F%2Fdemo-consent.localhost%2Fcallback&response_type=code&scope=openid%20profile&code_challenge={PKCE_CHALLENGE}&code_challenge_method=S256&prompt=consent", "", ""),
    ("POST", "acme", "/oidc/consent", "", "c={c}&decision=allow&remember=1", ""),
    ("GET", "acme", "/oidc/authorize", "client_id=demo-hs&redirect_uri=https%3A%2F%2Fdemo-hs.localhost%2Fcallback&response_type=code&scope=openid%20email&nonce=n1", "", ""),
    ("POST", "acme", "/oidc/token", "", "grant_type=authorization_code&client_id=demo-hs&client_secret=demo-hs-secret&code={code}&redirect_uri=https%3A%2F%2Fdemo-hs.localhost%2Fcallback", ""),
    ("GET", "acme", "/oidc/authorize", "client_id=demo-es&redirect_uri=https%3A%2F%2Fdemo-es.localhost%2Fcallback&response_type=code&scope=openid&prompt=none", "", ""),
    ("GET", "acme", "/saml/demo-sp/sso", "SAMLRequest={saml:authn}&RelayState=rs-1", "", ""),
    ("POST", "acme", "/saml/demo-sp/sso", "", "SAMLRequest={saml:authn}&RelayState=rs-2", ""),
    ("GET", "acme", "/saml/demo-sp/login", "RelayState=%2Fhome", "", ""),
    ("GET", "acme", "/saml/demo-sp/slo", "SAMLRequest={saml:logout}&RelayState=rs-3", "", ""),
    ("GET", "acme", "/saml/demo-sp/slo", "SAMLResponse={saml:logout_response}", "", ""),
    ("GET", "acme", "/saml/demo-sp/slo/done", "t={t}", "", ""),
    ("GET", "acme", "/saml/signed-sp/sso", "SAMLRequest={saml:authn}", "", ""),
    ("GET", "acme", "/bridge/demo-vendor/signin", "ReturnURL=https%3A%2F%2Facme.localhost%2Fpage&delivery=query", "", ""),
    ("GET", "acme", "/bridge/demo-vendor/signin", "ReturnURL=https%3A%2F%2Facme.localhost%2Fpage%23frag&delivery=cookie", "", ""),
    ("GET", "acme", "/bridge/demo-vendor/signin", "", "", ""),
    ("GET", "acme", "/bridge/demo-vendor/user", "token={token}", "", "Bearer demo-vendor-secret-local-only-0123456789"),
    ("GET", "acme", "/bridge/demo-vendor/ping", "callback=jQuery_1.cb", "", ""),
    ("GET", "acme", "/bridge/demo-vendor/signout", "ReturnURL=https%3A%2F%2Facme.localhost%2Fbye", "", ""),
    ("POST", "acme", "/imis/callback", "", "refresh_token=refresh-1", ""),
    ("POST", "acme", "/saml/imis/callback", "", "refresh_token=refresh-2", ""),
    ("GET", "acme", "/signin", "return=%2Fx", "", ""),
    ("GET", "acme", "/signout", "", "", ""),
    ("POST", "acme", "/signout", "", "t={t}", ""),
    ("GET", "acme", "/signout/continue", "", "", ""),
    ("GET", "acme", "/signed-out", "next={next}&exp={exp}&mac={mac}", "", ""),
    ("GET", "globex", "/signin", "p={p}", "", ""),
    ("POST", "globex", "/signin", "", "p={p}&username=jsmith&password=Member-Passw0rd", ""),
    ("GET", "globex", "/bridge/demo-vendor/signin", "ReturnURL=https%3A%2F%2Fglobex.localhost%2F", "", ""),
    ("GET", "acme", "/healthz", "deep=1", "", ""),
    ("POST", "acme", "/oidc/introspect", "", "token={access_token}", "{basic}"),
    ("POST", "acme", "/oidc/introspect", "", "token={refresh_token}&token_type_hint=refresh_token", "{basic}"),
    ("POST", "acme", "/oidc/revoke", "", "token={refresh_token}", "{basic}"),
];

/// Parameter and field names.
pub const NAMES: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "prompt",
    "max_age",
    "id_token_hint",
    "post_logout_redirect_uri",
    "grant_type",
    "code",
    "code_verifier",
    "refresh_token",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "access_token",
    "SAMLRequest",
    "SAMLResponse",
    "RelayState",
    "SigAlg",
    "Signature",
    "ReturnURL",
    "returnurl",
    "delivery",
    "token",
    "callback",
    "deep",
    "download",
    "return",
    "p",
    "username",
    "password",
    "t",
    "c",
    "next",
    "exp",
    "mac",
    "decision",
    "remember",
    "token_type_hint",
];

/// Which part of the router a target aims at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// Every path.
    All,
    /// `/saml/…` and the SAML callback.
    Saml,
    /// OIDC endpoints.
    Oidc,
    /// `/bridge/…`.
    Bridge,
}

/// A text value.
#[derive(Debug, Clone, Arbitrary)]
pub enum Text {
    /// From [`DICTIONARY`].
    Known(u8),
    /// Something an earlier response of this session handed out.
    Carry(u8),
    /// Raw fuzz text.
    Raw(String),
}

/// A parameter value.
#[derive(Debug, Clone, Arbitrary)]
pub enum Value {
    /// Text.
    Text(Text),
    /// A SAML message, encoded for the binding of the request (query: Redirect, form: POST).
    Saml(Box<SamlMsg>),
    /// The PKCE S256 challenge of a verifier.
    S256(Text),
    /// HTTP Basic credentials as `client_id:secret`, base64 (for the header).
    Joined(Text, Text),
}

/// When a message was issued.
#[derive(Debug, Clone, Arbitrary)]
pub enum Instant {
    /// The fake clock.
    Now,
    /// The clock plus seconds.
    Offset(i32),
    /// Any text.
    Raw(Text),
}

/// The root of a SAML message.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum SamlRoot {
    /// `samlp:AuthnRequest`.
    AuthnRequest,
    /// `samlp:LogoutRequest`.
    LogoutRequest,
    /// `samlp:LogoutResponse`.
    LogoutResponse,
    /// `samlp:Response` (not accepted anywhere).
    Response,
}

/// A SAML message built from parts.
#[derive(Debug, Clone, Arbitrary)]
pub struct SamlMsg {
    /// Root element (ignored with `raw`).
    pub root: SamlRoot,
    /// Raw XML instead of the built message.
    pub raw: Option<String>,
    /// `ID`.
    pub id: Option<Text>,
    /// `Version="2.0"` (else a fuzz value).
    pub version: Option<Text>,
    /// `IssueInstant`.
    pub instant: Option<Instant>,
    /// `saml:Issuer`.
    pub issuer: Option<Text>,
    /// `Destination`.
    pub destination: Option<Text>,
    /// `AssertionConsumerServiceURL`.
    pub acs_url: Option<Text>,
    /// `AssertionConsumerServiceIndex`.
    pub acs_index: Option<Text>,
    /// `ProtocolBinding`.
    pub binding: Option<Text>,
    /// `ForceAuthn`.
    pub force: Option<Text>,
    /// `IsPassive`.
    pub passive: Option<Text>,
    /// `NameIDPolicy/@Format`.
    pub name_id_format: Option<Text>,
    /// `saml:NameID` (logout) text.
    pub name_id: Option<Text>,
    /// `InResponseTo`.
    pub in_response_to: Option<Text>,
    /// `StatusCode/@Value`.
    pub status: Option<Text>,
    /// An empty `ds:Signature` child.
    pub signature: bool,
    /// Raw XML inside the root.
    pub extra: Option<String>,
    /// Redirect binding: add `SigAlg` and `Signature` (a value that does not verify).
    pub redirect_sig: Option<(Text, Text)>,
    /// Skip DEFLATE in the Redirect binding (or skip base64 with `raw`).
    pub no_deflate: bool,
}

/// A request method.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// HEAD
    Head,
    /// OPTIONS
    Options,
    /// PUT
    Put,
    /// Anything else
    Other,
}

/// The request's host.
#[derive(Debug, Clone, Arbitrary)]
pub enum Host {
    /// `acme.localhost`
    Acme,
    /// `acme.localhost:{port}`
    AcmePort(u16),
    /// `globex.localhost` (iMIS legacy mode)
    Globex,
    /// `ACME.LOCALHOST.` (case and trailing dot)
    AcmeOdd,
    /// A host whose records are broken or missing.
    Broken(u8),
    /// Raw authority.
    Raw(String),
}

/// A path.
#[derive(Debug, Clone, Arbitrary)]
pub enum Path {
    /// From [`PATHS`], with an app id.
    Known(u8, Text),
    /// Raw path.
    Raw(String),
}

/// The body.
#[derive(Debug, Clone, Arbitrary)]
pub enum Body {
    /// None.
    Empty,
    /// A form.
    Form(Vec<(Name, Value)>),
    /// Raw bytes (with a form content type).
    Raw(Vec<u8>),
}

/// A parameter name.
#[derive(Debug, Clone, Arbitrary)]
pub enum Name {
    /// From [`NAMES`].
    Known(u8),
    /// Raw.
    Raw(String),
}

/// The IdP session cookie of a request.
#[derive(Debug, Clone, Arbitrary)]
pub enum SessionCookie {
    /// Whatever the jar holds.
    Jar,
    /// A valid session of a demo member (minted with the fake's key), with participants.
    Valid {
        /// Member: jsmith, bwayne, hsimpson, or a fuzz username.
        user: u8,
        /// Participants of the session.
        participants: Vec<ParticipantChoice>,
        /// Seconds since sign-in.
        age: u16,
    },
    /// A raw cookie value.
    Raw(String),
    /// No session cookie even if the jar has one.
    Drop,
}

/// A session participant.
#[derive(Debug, Clone, Arbitrary)]
pub enum ParticipantChoice {
    /// A SAML app.
    Saml(Text, Text),
    /// An OIDC client.
    Oidc(Text),
    /// A bridge app.
    Bridge(Text),
}

/// The iMIS the session talks to.
#[derive(Debug, Clone, Arbitrary)]
pub enum ImisChoice {
    /// The canned demo iMIS.
    Canned,
    /// Every call times out.
    Timeout,
    /// Every call fails to connect.
    Unreachable,
    /// Some endpoints answer fuzz bodies.
    Fuzzed(Vec<(u8, u16, String)>),
}

/// One request.
#[derive(Debug, Clone, Arbitrary)]
pub struct Step {
    /// A valid request of the demo configuration ([`TEMPLATES`]) to start from: its method,
    /// host, path, query and form, with the fuzz parameters appended (`None`: all from fuzz).
    pub template: Option<u8>,
    /// Method.
    pub method: Method,
    /// Host.
    pub host: Host,
    /// Path.
    pub path: Path,
    /// Query parameters.
    pub query: Vec<(Name, Value)>,
    /// A raw query appended.
    pub raw_query: Option<String>,
    /// Body.
    pub body: Body,
    /// Extra headers (name from a short list or raw).
    pub headers: Vec<(u8, Text)>,
    /// The IdP session cookie.
    pub session: SessionCookie,
    /// Extra raw cookie header.
    pub raw_cookie: Option<String>,
    /// `Authorization: Basic` (client id, secret) or `Bearer`.
    pub auth: Option<Auth>,
    /// Seconds the clock moves before this request.
    pub wait: u16,
}

/// An Authorization header.
#[derive(Debug, Clone, Arbitrary)]
pub enum Auth {
    /// Basic, `id:secret` base64.
    Basic(Text, Text),
    /// Bearer.
    Bearer(Text),
    /// Raw.
    Raw(Text),
}

/// A browser session: up to four requests.
#[derive(Debug, Clone, Arbitrary)]
pub struct Scenario {
    /// iMIS behaviour.
    pub imis: ImisChoice,
    /// A runtime without long-lived instances (Spin).
    pub spin: bool,
    /// 255: the runtime has no master key.
    pub no_master_key: u8,
    /// The requests.
    pub steps: Vec<Step>,
}

const HEADER_NAMES: &[&str] = &[
    "origin",
    "content-type",
    "referer",
    "accept",
    "x-forwarded-for",
    "dpop",
    "cookie",
    "authorization",
];

/// The state of one scenario run.
struct Browser<'w> {
    world: &'w World,
    idp: Idp,
    jar: Vec<(String, String)>,
    /// (name, value) of what earlier responses handed out.
    carry: Vec<(String, String)>,
}

impl Browser<'_> {
    fn p(&self) -> &FakePlatform {
        &self.world.platform
    }

    fn text(&self, t: &Text) -> String {
        match t {
            Text::Known(i) => DICTIONARY[*i as usize % DICTIONARY.len()].to_string(),
            Text::Carry(i) if !self.carry.is_empty() => {
                self.carry[*i as usize % self.carry.len()].1.clone()
            }
            Text::Carry(_) => String::new(),
            Text::Raw(s) => s.clone(),
        }
    }

    fn name(&self, n: &Name) -> String {
        match n {
            Name::Known(i) => NAMES[*i as usize % NAMES.len()].to_string(),
            Name::Raw(s) => s.clone(),
        }
    }

    fn value(&self, v: &Value, post: bool) -> String {
        match v {
            Value::Text(t) => self.text(t),
            Value::Saml(m) => self.saml(m, post).0,
            Value::S256(t) => {
                use sha2::Digest;
                URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(self.text(t).as_bytes()))
            }
            Value::Joined(a, b) => STANDARD.encode(format!("{}:{}", self.text(a), self.text(b))),
        }
    }

    /// The encoded message and, for the Redirect binding, the signature parameters.
    fn saml(&self, m: &SamlMsg, post: bool) -> (String, String) {
        let xml = match &m.raw {
            Some(raw) => raw.clone(),
            None => self.saml_xml(m),
        };
        let encoded = if m.raw.is_some() && m.no_deflate {
            xml
        } else if post {
            STANDARD.encode(xml.as_bytes())
        } else if m.no_deflate {
            STANDARD.encode(xml.as_bytes())
        } else {
            STANDARD.encode(miniz_oxide::deflate::compress_to_vec(xml.as_bytes(), 1))
        };
        let sig = match &m.redirect_sig {
            Some((alg, sig)) if !post => format!(
                "&SigAlg={}&Signature={}",
                percent_encode(&self.text(alg)),
                percent_encode(&self.text(sig))
            ),
            _ => String::new(),
        };
        (encoded, sig)
    }

    fn saml_xml(&self, m: &SamlMsg) -> String {
        let esc = |s: String| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('"', "&quot;")
        };
        let attr = |name: &str, v: &Option<Text>| match v {
            Some(t) => format!(" {name}=\"{}\"", esc(self.text(t))),
            None => String::new(),
        };
        let root = match m.root {
            SamlRoot::AuthnRequest => "AuthnRequest",
            SamlRoot::LogoutRequest => "LogoutRequest",
            SamlRoot::LogoutResponse => "LogoutResponse",
            SamlRoot::Response => "Response",
        };
        let id =
            m.id.as_ref()
                .map_or_else(|| "_4fd3c2a1b0".to_string(), |t| self.text(t));
        let version = m
            .version
            .as_ref()
            .map_or_else(|| "2.0".into(), |t| self.text(t));
        let now_secs = self.p().now.get() / 1000;
        let instant = match &m.instant {
            None | Some(Instant::Now) => edge_idp::saml::time::format(now_secs),
            Some(Instant::Offset(d)) => {
                edge_idp::saml::time::format(now_secs.saturating_add_signed(i64::from(*d)))
            }
            Some(Instant::Raw(t)) => self.text(t),
        };
        let issuer = m
            .issuer
            .as_ref()
            .map_or_else(|| format!("{SP_ORIGIN}/metadata"), |t| self.text(t));
        let mut xml = format!(
            "<samlp:{root} xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{}\" Version=\"{}\" IssueInstant=\"{}\"",
            esc(id),
            esc(version),
            esc(instant)
        );
        xml.push_str(&attr("Destination", &m.destination));
        xml.push_str(&attr("AssertionConsumerServiceURL", &m.acs_url));
        xml.push_str(&attr("AssertionConsumerServiceIndex", &m.acs_index));
        xml.push_str(&attr("ProtocolBinding", &m.binding));
        xml.push_str(&attr("ForceAuthn", &m.force));
        xml.push_str(&attr("IsPassive", &m.passive));
        xml.push_str(&attr("InResponseTo", &m.in_response_to));
        xml.push('>');
        xml.push_str(&format!("<saml:Issuer>{}</saml:Issuer>", esc(issuer)));
        if m.signature {
            xml.push_str(
                "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"></ds:Signature>",
            );
        }
        if let Some(f) = &m.name_id_format {
            xml.push_str(&format!(
                "<samlp:NameIDPolicy Format=\"{}\" AllowCreate=\"true\"/>",
                esc(self.text(f))
            ));
        }
        if let Some(n) = &m.name_id {
            xml.push_str(&format!("<saml:NameID>{}</saml:NameID>", esc(self.text(n))));
        }
        if let Some(s) = &m.status {
            xml.push_str(&format!(
                "<samlp:Status><samlp:StatusCode Value=\"{}\"/></samlp:Status>",
                esc(self.text(s))
            ));
        }
        if let Some(extra) = &m.extra {
            xml.push_str(extra);
        }
        xml.push_str(&format!("</samlp:{root}>"));
        xml
    }

    fn session_cookie(
        &self,
        user: u8,
        participants: &[ParticipantChoice],
        age: u16,
    ) -> Option<String> {
        let p = self.p();
        let key = cookie::cookie_key(p, "acme")?;
        let (username, imis_id) = match user % 4 {
            0 => ("jsmith", "101"),
            1 => ("bwayne", "102"),
            2 => ("hsimpson", "201"),
            _ => ("ghost", "999"),
        };
        let now = p.now.get() / 1000;
        let auth_time = now.saturating_sub(u64::from(age));
        let session = Session {
            v: 1,
            sid: "sid-fuzz-0123456789".into(),
            user: SessionUser {
                username: username.into(),
                imis_id: imis_id.into(),
                contact_key: Some("87EAD15E-B188-42E8-AE48-E9B8C2B24101".into()),
                first_name: Some("Jane".into()),
                last_name: Some("Smith".into()),
                email: Some("jane@example.org".into()),
                member_type: Some("M".into()),
            },
            auth_time,
            expires: auth_time + 8 * 3600,
            last_seen: auth_time,
            via: "imis_cloud".into(),
            participants: participants
                .iter()
                .take(12)
                // Only ids an app can have: the session type holds no other.
                .filter_map(|c| match c {
                    ParticipantChoice::Saml(app, name_id) => Some(Participant::Saml {
                        app: AppId::parse(&self.text(app))?,
                        name_id: self.text(name_id),
                        name_id_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
                            .into(),
                        session_index: SessionIndex::parse("_idx")?,
                    }),
                    ParticipantChoice::Oidc(c) => Some(Participant::Oidc {
                        client: ClientId::parse(&self.text(c))?,
                    }),
                    ParticipantChoice::Bridge(a) => Some(Participant::Bridge {
                        app: AppId::parse(&self.text(a))?,
                    }),
                })
                .collect(),
        };
        cookie::seal(p, &key, session::SESSION_COOKIE, &session)
    }

    /// Fills a template's `{…}` placeholders.
    fn fill(&self, text: &str, post: bool) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find('{') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let end = after.find('}').unwrap_or(after.len());
            let name = &after[..end];
            let value = match name {
                "RP_CB" => RP_CB.to_string(),
                "PKCE_VERIFIER" => PKCE_VERIFIER.to_string(),
                "PKCE_CHALLENGE" => PKCE_CHALLENGE.to_string(),
                "basic" => format!("Basic {}", STANDARD.encode("demo-rp:demo-rp-secret")),
                saml if saml.starts_with("saml:") => {
                    let root = match &saml[5..] {
                        "logout" => SamlRoot::LogoutRequest,
                        "logout_response" => SamlRoot::LogoutResponse,
                        _ => SamlRoot::AuthnRequest,
                    };
                    let msg = SamlMsg {
                        root,
                        raw: None,
                        id: None,
                        version: None,
                        instant: None,
                        issuer: None,
                        destination: None,
                        acs_url: None,
                        acs_index: None,
                        binding: None,
                        force: None,
                        passive: None,
                        name_id_format: None,
                        name_id: Some(Text::Raw("jsmith".into())),
                        in_response_to: None,
                        status: Some(Text::Raw(
                            "urn:oasis:names:tc:SAML:2.0:status:Success".into(),
                        )),
                        signature: false,
                        extra: None,
                        redirect_sig: None,
                        no_deflate: false,
                    };
                    percent_encode(&self.saml(&msg, post).0)
                }
                carried => self
                    .carry
                    .iter()
                    .rev()
                    .find(|(n, _)| n == carried)
                    .map(|(_, v)| percent_encode(v))
                    .unwrap_or_default(),
            };
            out.push_str(&value);
            rest = after.get(end + 1..).unwrap_or("");
        }
        out.push_str(rest);
        out
    }

    fn build(&self, step: &Step, focus: Focus) -> Request {
        let mut req = self.build_fuzzed(step, focus);
        let Some(i) = step.template else {
            return req;
        };
        let (method, host, path, query, form, auth) = TEMPLATES[i as usize % TEMPLATES.len()];
        req.method = HttpMethod::parse(method);
        req.host = format!("{host}.localhost");
        req.port = None;
        req.path = path.to_string();
        let query = self.fill(query, false);
        req.query = match (query.is_empty(), req.query.is_empty()) {
            (_, true) => query,
            (true, false) => req.query.clone(),
            (false, false) => format!("{query}&{}", req.query),
        };
        if !form.is_empty() {
            let form = self.fill(form, true);
            let mut body = form.into_bytes();
            if !req.body.is_empty() {
                body.push(b'&');
                body.extend_from_slice(&req.body);
            }
            req.body = body;
            if req.header("content-type").is_none() {
                req.headers.push((
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
            }
        }
        if !auth.is_empty() && req.header("authorization").is_none() {
            let auth = self.fill(auth, false);
            // Bearer values are filled percent-encoded: undo that for a header.
            req.headers.push((
                "authorization".into(),
                edge_idp::http::percent_decode(&auth, false),
            ));
        }
        req
    }

    fn build_fuzzed(&self, step: &Step, focus: Focus) -> Request {
        let method = match step.method {
            Method::Get => HttpMethod::Get,
            Method::Post => HttpMethod::Post,
            Method::Head => HttpMethod::Head,
            Method::Options => HttpMethod::Options,
            Method::Put => HttpMethod::Put,
            Method::Other => HttpMethod::Other,
        };
        let host = match &step.host {
            Host::Acme => "acme.localhost".to_string(),
            Host::AcmePort(p) => format!("acme.localhost:{p}"),
            Host::Globex => "globex.localhost".to_string(),
            Host::AcmeOdd => "ACME.LOCALHOST.".to_string(),
            Host::Broken(i) => [
                "evil.localhost",
                "bad.localhost",
                "broken.localhost",
                "nobody.localhost",
                "",
            ][*i as usize % 5]
                .to_string(),
            Host::Raw(s) => s.clone(),
        };
        let path = match &step.path {
            Path::Known(i, app) => {
                let paths: Vec<&str> = PATHS
                    .iter()
                    .copied()
                    .filter(|p| match focus {
                        Focus::All => true,
                        Focus::Saml => p.starts_with("/saml/") || *p == "/signout/continue",
                        Focus::Oidc => {
                            p.contains("oidc")
                                || p.starts_with("/.well-known")
                                || p.contains("userinfo")
                                || *p == "/imis/callback"
                        }
                        Focus::Bridge => p.starts_with("/bridge/") || *p == "/imis/callback",
                    })
                    .collect();
                let template = paths[*i as usize % paths.len()];
                let app = match app {
                    Text::Known(k) => match focus {
                        Focus::Saml => {
                            ["demo-sp", "signed-sp", "moodle", "nope"][*k as usize % 4].to_string()
                        }
                        Focus::Bridge => {
                            ["demo-vendor", "events", "nope"][*k as usize % 3].to_string()
                        }
                        _ => [
                            "demo-sp",
                            "signed-sp",
                            "moodle",
                            "demo-vendor",
                            "events",
                            "nope",
                        ][*k as usize % 6]
                            .to_string(),
                    },
                    other => self.text(other),
                };
                template.replace("{app}", &app)
            }
            Path::Raw(s) => s.clone(),
        };
        let mut query_parts: Vec<String> = Vec::new();
        for (name, value) in step.query.iter().take(12) {
            let name = self.name(name);
            match value {
                Value::Saml(m) => {
                    let (encoded, sig) = self.saml(m, false);
                    query_parts.push(format!(
                        "{}={}{}",
                        percent_encode(&name),
                        percent_encode(&encoded),
                        sig
                    ));
                }
                v => query_parts.push(format!(
                    "{}={}",
                    percent_encode(&name),
                    percent_encode(&self.value(v, false))
                )),
            }
        }
        if let Some(raw) = &step.raw_query {
            query_parts.push(raw.clone());
        }
        let mut req = Request::new(method, &host, &path);
        if req.query.is_empty() {
            req.query = query_parts.join("&");
        } else if !query_parts.is_empty() {
            req.query = format!("{}&{}", req.query, query_parts.join("&"));
        }
        match &step.body {
            Body::Empty => {}
            Body::Form(fields) => {
                let form: Vec<String> = fields
                    .iter()
                    .take(12)
                    .map(|(n, v)| {
                        format!(
                            "{}={}",
                            percent_encode(&self.name(n)),
                            percent_encode(&self.value(v, true))
                        )
                    })
                    .collect();
                req.body = form.join("&").into_bytes();
                req.headers.push((
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
            }
            Body::Raw(bytes) => {
                req.body = bytes.clone();
                req.headers.push((
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
            }
        }
        for (i, v) in step.headers.iter().take(6) {
            let name = HEADER_NAMES[*i as usize % HEADER_NAMES.len()];
            let value = match (name, v) {
                ("origin", Text::Known(k)) => [
                    VENDOR_ORIGIN,
                    RP_ORIGIN,
                    "https://demo-spa.localhost",
                    "https://evil.example",
                    "null",
                ][*k as usize % 5]
                    .to_string(),
                _ => self.text(v),
            };
            req.headers.push((name.to_string(), value));
        }
        match &step.auth {
            None => {}
            Some(Auth::Basic(id, secret)) => req.headers.push((
                "authorization".into(),
                format!(
                    "Basic {}",
                    STANDARD.encode(format!(
                        "{}:{}",
                        percent_encode(&self.text(id)),
                        percent_encode(&self.text(secret))
                    ))
                ),
            )),
            Some(Auth::Bearer(t)) => req
                .headers
                .push(("authorization".into(), format!("Bearer {}", self.text(t)))),
            Some(Auth::Raw(t)) => req.headers.push(("authorization".into(), self.text(t))),
        }
        let mut cookies: Vec<String> = Vec::new();
        let session_value = match &step.session {
            SessionCookie::Jar => None,
            SessionCookie::Drop => Some(None),
            SessionCookie::Raw(s) => Some(Some(s.clone())),
            SessionCookie::Valid {
                user,
                participants,
                age,
            } => Some(self.session_cookie(*user, participants, *age)),
        };
        for (k, v) in &self.jar {
            if k == session::SESSION_COOKIE && session_value.is_some() {
                continue;
            }
            cookies.push(format!("{k}={v}"));
        }
        if let Some(Some(v)) = session_value {
            cookies.push(format!("{}={v}", session::SESSION_COOKIE));
        }
        if let Some(raw) = &step.raw_cookie {
            cookies.push(raw.clone());
        }
        if !cookies.is_empty() {
            req.headers.push(("cookie".into(), cookies.join("; ")));
        }
        req
    }

    /// Keeps cookies and remembers the values a response hands out.
    fn absorb(&mut self, resp: &Response) {
        for (k, v) in &resp.headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
                if let Some((name, value)) = pair.split_once('=') {
                    self.jar.retain(|(n, _)| n != name);
                    if !attrs.contains("Max-Age=0") && name.starts_with("__Host-") {
                        self.jar.push((name.to_string(), value.to_string()));
                    }
                }
            }
            if k.eq_ignore_ascii_case("location") {
                let query = v.split_once('?').map_or("", |(_, q)| q);
                let query = query.split('#').next().unwrap_or("");
                for pair in edge_idp::http::parse_urlencoded(query) {
                    self.carry.push(pair);
                }
            }
        }
        let body = String::from_utf8_lossy(&resp.body);
        if body.starts_with('{') {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) {
                if let Some(map) = v.as_object() {
                    for (name, value) in map {
                        if let Some(s) = value.as_str() {
                            self.carry.push((name.clone(), s.to_string()));
                        }
                    }
                }
            }
        } else {
            let mut rest = body.as_ref();
            while let Some(i) = rest.find(" value=\"") {
                let name = rest[..i]
                    .rsplit("name=\"")
                    .next()
                    .and_then(|n| n.split('"').next())
                    .unwrap_or("")
                    .to_string();
                let after = &rest[i + 8..];
                let end = after.find('"').unwrap_or(after.len());
                self.carry.push((name, html_unescape(&after[..end])));
                rest = &after[end..];
            }
            // The sign-in form's pending id and the sign-out form's token travel in links too.
            for key in ["?p=", "&p="] {
                if let Some(i) = body.find(key) {
                    let v: String = body[i + 3..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '%'))
                        .collect();
                    self.carry
                        .push(("p".into(), edge_idp::http::percent_decode(&v, true)));
                }
            }
        }
        if self.carry.len() > 64 {
            let drop = self.carry.len() - 64;
            self.carry.drain(..drop);
        }
    }
}

/// Undoes [`edge_idp::http::html_escape`].
pub fn html_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Whether a browser following `target` (a Location or a form action) stays on an allowed host.
pub fn target_allowed(world: &World, target: &str) -> bool {
    // Browsers drop tabs and newlines inside URLs and read `\` as `/`.
    let t: String = target
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let t = t.trim_start_matches([' ', '\u{0}']);
    let slashed = t.replace('\\', "/");
    if slashed.starts_with("//") {
        return false; // scheme-relative: another host
    }
    if slashed.starts_with('/') {
        return true;
    }
    let before_path = slashed.split(['/', '?', '#']).next().unwrap_or("");
    if !before_path.contains(':') {
        return true; // a relative reference: this host
    }
    let lower = slashed.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return false; // javascript:, data:, …
    }
    let authority_end = slashed.find("://").map(|i| i + 3).unwrap_or(0);
    let rest = &slashed[authority_end..];
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    if authority.contains('@') {
        return false; // userinfo: confusing at best
    }
    match url_host(&format!("https://{host_port}")) {
        Some(h) => world.allowed_host(h.trim_end_matches('.')),
        None => false,
    }
}

/// The invariants every response keeps.
pub fn check_response(world: &World, req: &Request, resp: &Response) {
    let status = resp.status;
    assert!(
        (100..=599).contains(&status),
        "status {status} is not an HTTP status"
    );
    if status == 500 {
        let body = String::from_utf8_lossy(&resp.body);
        assert!(
            body.contains("\"server_error\""),
            "500 without the documented OAuth server_error body: {body}"
        );
    }
    for (k, v) in &resp.headers {
        assert!(
            !k.bytes()
                .chain(v.bytes())
                .any(|b| matches!(b, b'\r' | b'\n' | 0)),
            "header {k:?} carries CR, LF or NUL: {v:?}"
        );
        if k.eq_ignore_ascii_case("location") {
            assert!(
                target_allowed(world, v),
                "Location leaves the allowed hosts: {v:?} (request {} {}?{})",
                req.method.as_str(),
                req.path,
                req.query
            );
        }
        if k.eq_ignore_ascii_case("set-cookie") {
            assert!(
                v.contains("; Secure") && (v.starts_with("__Host-") || v.contains("; Domain=")),
                "cookie without Secure or __Host- prefix: {v:?}"
            );
            if v.starts_with("__Host-") {
                assert!(
                    v.contains("; Path=/") && !v.contains("; Domain="),
                    "__Host- cookie with a Domain or without Path=/: {v:?}"
                );
            }
        }
    }
    if req.method == HttpMethod::Head {
        assert!(resp.body.is_empty(), "HEAD answered with a body");
    }
    let content_type = resp.header("content-type").unwrap_or("");
    let body = String::from_utf8_lossy(&resp.body);
    if content_type.starts_with("application/javascript") && !resp.body.is_empty() {
        let name = body
            .strip_prefix("/**/")
            .and_then(|b| b.split_once('('))
            .map(|(n, _)| n)
            .unwrap_or("");
        assert!(
            edge_idp::bridge::ping::is_callback_name(name),
            "JSONP answer with an unchecked callback: {body}"
        );
    }
    if content_type.starts_with("text/html") {
        let mut rest = body.as_ref();
        while let Some(i) = rest.find("<form id=\"auto-post\" method=\"post\" action=\"") {
            let after = &rest[i + 43..];
            let end = after.find('"').unwrap_or(after.len());
            let action = html_unescape(&after[..end]);
            assert!(
                target_allowed(world, &action),
                "auto-post form to a host that is not allowed: {action:?} (request {} {}?{})",
                req.method.as_str(),
                req.path,
                req.query
            );
            rest = &after[end..];
        }
        assert!(
            resp.header("content-security-policy").is_some(),
            "HTML page without a Content-Security-Policy"
        );
    }
    assert!(resp.header("x-request-id").is_some(), "no x-request-id");
}

/// Runs a scenario against `world`.
pub fn run(world: &World, data: &[u8], focus: Focus) {
    let mut u = Unstructured::new(data);
    let Ok(scenario) = Scenario::arbitrary(&mut u) else {
        return;
    };
    run_scenario(world, &scenario, focus);
}

/// Runs a scenario against `world`; the responses (for tests and debugging).
pub fn run_scenario(world: &World, scenario: &Scenario, focus: Focus) -> Vec<Response> {
    let mut responses = Vec::new();
    let p = &world.platform;
    p.reset();
    p.shared_cache.set(scenario.spin);
    p.has_master_key.set(scenario.no_master_key != 0xff);
    {
        let mut imis = p.imis.borrow_mut();
        match &scenario.imis {
            ImisChoice::Canned => {}
            ImisChoice::Timeout => imis.fail = Some(PlatformError::Timeout(2000)),
            ImisChoice::Unreachable => {
                imis.fail = Some(PlatformError::Fetch("connection refused".into()))
            }
            ImisChoice::Fuzzed(list) => {
                for (kind, status, body) in list.iter().take(4) {
                    let kind = ["token", "user", "person", "iqa"][*kind as usize % 4];
                    imis.overrides
                        .insert(kind, (*status % 600, body.clone().into_bytes()));
                }
            }
        }
    }
    let mut browser = Browser {
        world,
        idp: Idp::new(),
        jar: Vec::new(),
        carry: Vec::new(),
    };
    for step in scenario.steps.iter().take(4) {
        p.now.set(p.now.get() + u64::from(step.wait) * 1000);
        let req = browser.build(step, focus);
        let Some(resp) = crate::known::guard(|| block_on(browser.idp.handle(req.clone(), p)))
        else {
            return responses;
        };
        if std::env::var_os("EDGE_IDP_FUZZ_DEBUG").is_some() {
            eprintln!(
                "> {} {} {}?{} cookies={:?}\n< {} {:?} {}",
                req.method.as_str(),
                req.host,
                req.path,
                req.query,
                req.header("cookie").map(|c| c.len()),
                resp.status,
                resp.header("location"),
                String::from_utf8_lossy(&resp.body)
                    .chars()
                    .take(160)
                    .collect::<String>()
            );
        }
        check_response(world, &req, &resp);
        browser.absorb(&resp);
        responses.push(resp);
    }
    // The clock never runs backwards and starts at NOW_MS.
    debug_assert!(p.now.get() >= NOW_MS);
    responses
}
