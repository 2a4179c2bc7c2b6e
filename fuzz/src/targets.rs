//! The harness of every fuzz target: one function per target, taking the raw fuzz input. The
//! libFuzzer binaries (`fuzz_targets/*.rs`) and the corpus regression test both call these.
//!
//! Every target checks that nothing panics (a panic at a listed known bug's location is skipped:
//! see [`crate::known`]) plus the invariants written next to each call.

use std::cell::OnceCell;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use edge_idp::cookie;
use edge_idp::http::{self, Request};
use edge_idp::imis::forms_ticket::{FormsCompatibility, FormsValidation, MachineKey, Ticket};
use edge_idp::platform::{HttpMethod, PlatformError};
use edge_idp::saml::config::{Binding, LoadedApp, SamlApp};
use edge_idp::saml::{authn_request, binding, dsig, logout, time, xml};
use edge_idp::seal::{self, MasterKey, Purpose, SealKey};
use edge_idp::signin::logout::LogoutState;
use edge_idp::signin::pending::PendingList;
use edge_idp::signin::Session;
use edge_idp::tenant::{TenantConfig, TenantResolver};
use edge_idp::{Ctx, Idp};

use crate::known::guard;
use crate::platform::{block_on, MASTER_KEY_B64};
use crate::request::{self, Focus};
use crate::world::World;

thread_local! {
    static WORLD: OnceCell<&'static World> = const { OnceCell::new() };
}

/// The seeded world (built once per process, leaked: it lives as long as the fuzzer).
pub fn world() -> &'static World {
    WORLD.with(|w| *w.get_or_init(|| Box::leak(Box::new(World::new()))))
}

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// The simple input layout of the parser targets (easy to seed by hand, friendly to dictionary
/// mutations): a first byte of flags, then fields separated by NUL bytes, the last one taking
/// the rest.
struct Fields<'a> {
    flags: u8,
    parts: std::collections::VecDeque<&'a [u8]>,
}

impl<'a> Fields<'a> {
    fn new(data: &'a [u8], n: usize) -> Self {
        let (flags, rest) = match data.split_first() {
            Some((f, rest)) => (*f, rest),
            None => (0, data),
        };
        Self {
            flags,
            parts: rest.splitn(n, |b| *b == 0).collect(),
        }
    }

    fn bytes(&mut self) -> &'a [u8] {
        self.parts.pop_front().unwrap_or_default()
    }

    fn text(&mut self) -> String {
        text(self.bytes())
    }
}

fn tenant(w: &World, id: &str) -> Arc<TenantConfig> {
    let bytes = w
        .platform
        .kv
        .borrow()
        .get(&format!("tenant:{id}"))
        .cloned()
        .unwrap_or_default();
    #[allow(clippy::expect_used)]
    Arc::new(TenantConfig::parse(&bytes).expect("the demo tenant parses"))
}

fn saml_app(w: &World, id: &str) -> LoadedApp {
    let bytes = w
        .platform
        .kv
        .borrow()
        .get(&format!("tenant:acme:saml:{id}"))
        .cloned()
        .unwrap_or_default();
    #[allow(clippy::expect_used)]
    let cfg = SamlApp::parse(&bytes).expect("the demo SAML app parses");
    let sp_keys = cfg
        .sp
        .certificates
        .iter()
        .filter_map(|c| edge_idp::saml::config::decode_certificate(c).map(|(_, k)| k))
        .collect();
    LoadedApp {
        cfg,
        sp_keys,
        published: Vec::new(),
        encrypt_to: None,
        signing: Err("not used".into()),
    }
}

fn sp_keys() -> Vec<Vec<u8>> {
    dsig::spki_of_certificate(&crate::world::sp_certificate_der())
        .into_iter()
        .collect()
}

fn with_ctx<R>(req: &Request, f: impl FnOnce(&Ctx<'_, crate::platform::FakePlatform>) -> R) -> R {
    let w = world();
    w.platform.reset();
    let idp = Idp::new();
    let ctx = Ctx::new(
        &w.platform,
        &idp,
        req,
        tenant(w, "acme"),
        "fuzz".into(),
        "fuzz-nonce".into(),
    );
    f(&ctx)
}

// ------------------------------------------------------------------------------- SAML parsers

/// `saml::time::parse` (and `format`): an IssueInstant.
pub fn saml_time(data: &[u8]) {
    let s = text(data);
    let Some(parsed) = guard(|| time::parse(&s)) else {
        return;
    };
    if let Some(t) = parsed.filter(|t| *t < 253_402_300_800) {
        // Years 0000-9999 only: a parsed time formats and parses back to itself.
        let formatted = time::format(t);
        assert_eq!(
            time::parse(&formatted),
            Some(t),
            "{s:?} parsed to {t}, formatted as {formatted:?}"
        );
    }
}

/// `saml::xml::parse`: the hardened XML reader.
pub fn saml_xml(data: &[u8]) {
    let Some(result) = guard(|| xml::parse(data)) else {
        return;
    };
    if let Ok(root) = result {
        assert!(data.len() <= xml::MAX_XML_BYTES);
        fn walk(e: &xml::Element, depth: usize, count: &mut usize) {
            assert!(depth <= 24, "element nested deeper than the limit");
            *count += 1;
            for c in &e.children {
                walk(c, depth + 1, count);
            }
        }
        let mut count = 0;
        walk(&root, 1, &mut count);
        assert!(count <= 2000, "more elements than the limit");
    }
}

/// SAML HTTP-Redirect / HTTP-POST decoding (`saml::binding::read`: base64, inflate with its
/// limit, UTF-8), then the AuthnRequest and logout parsers on what it yields.
pub fn saml_binding(data: &[u8]) {
    // flags: 1 POST, 2 SAMLResponse, 4 both kinds, 8 deflate, 16 base64, 32 RelayState;
    // fields: message, RelayState, raw query tail.
    let mut f = Fields::new(data, 3);
    let bit = |b: u8| f.flags & b != 0;
    let (post, response, both, deflate, encode, has_relay) =
        (bit(1), bit(2), bit(4), bit(8), bit(16), bit(32));
    let message = f.bytes().to_vec();
    let relay_state = f.text();
    let query_tail = f.text();
    let kind = if response {
        "SAMLResponse"
    } else {
        "SAMLRequest"
    };
    let value = match (encode, deflate) {
        (false, _) => text(&message),
        (true, false) => STANDARD.encode(&message),
        (true, true) => STANDARD.encode(miniz_oxide::deflate::compress_to_vec(&message, 1)),
    };
    let mut pairs = vec![(kind, value)];
    if both {
        pairs.push(("SAMLResponse", "PD94".into()));
    }
    if has_relay {
        pairs.push(("RelayState", relay_state));
    }
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut encoded = http::encode_form(&refs);
    encoded.push_str(&query_tail);
    let mut req = Request::new(
        if post {
            HttpMethod::Post
        } else {
            HttpMethod::Get
        },
        "acme.localhost",
        "/saml/demo-sp/sso",
    );
    if post {
        req.body = encoded.into_bytes();
    } else {
        req.query = encoded;
    }
    let Some(read) = with_ctx(&req, |ctx| guard(|| binding::read(ctx))) else {
        return;
    };
    if let Ok(incoming) = read {
        assert!(incoming.xml.len() <= xml::MAX_XML_BYTES);
        assert!(incoming
            .relay_state
            .as_ref()
            .is_none_or(|r| r.len() <= binding::MAX_RELAY_STATE));
        assert_eq!(
            incoming.binding,
            if post {
                Binding::Post
            } else {
                Binding::Redirect
            }
        );
        guard(|| {
            let _ = authn_request::parse(&incoming.xml);
            let _ = logout::parse(&incoming.xml);
        });
    }
}

/// `AuthnRequest` and `LogoutRequest`/`LogoutResponse` parsing, then the checks of a parsed
/// request against a demo app (`authn_request::verify` and `check`).
pub fn saml_request(data: &[u8]) {
    // flags: app (bits 0-1), 4 POST, bits 3-7 clock skew; fields: XML, raw query.
    let mut f = Fields::new(data, 2);
    let (app_index, post) = (f.flags & 3, f.flags & 4 != 0);
    let now_offset = (i64::from(f.flags >> 3) - 16) * 40;
    let xml_text = f.text();
    let raw_query = f.text();
    let w = world();
    guard(|| {
        if let Ok(m) = logout::parse(&xml_text) {
            if let logout::LogoutMessage::Request { id, .. } = &m {
                assert!(authn_request::is_ncname(id));
            }
        }
        let Ok(req) = authn_request::parse(&xml_text) else {
            return;
        };
        assert!(authn_request::is_ncname(&req.id));
        let app = saml_app(
            w,
            ["demo-sp", "signed-sp", "moodle", "demo-sp"][app_index as usize],
        );
        // The query's protocol parameters, read as the Redirect binding reads them (the
        // message itself is the XML field).
        let query_signature = binding::read_encoded(Binding::Redirect, &raw_query)
            .ok()
            .and_then(|i| i.query_signature);
        let incoming = binding::Incoming {
            binding: if post {
                Binding::Post
            } else {
                Binding::Redirect
            },
            kind: "SAMLRequest",
            xml: xml_text.clone(),
            relay_state: None,
            query_signature,
        };
        if let Ok(v) = block_on(authn_request::verify(&w.platform, &app, req, &incoming)) {
            // Only a registered ACS is ever answered.
            assert!(v.acs < app.cfg.sp.acs.len());
            let now = (crate::platform::NOW_MS / 1000).saturating_add_signed(now_offset);
            let _ = authn_request::check(
                &v,
                &app,
                now,
                &["https://acme.localhost/saml/demo-sp/sso".to_string()],
            );
        }
    });
}

/// The XML-DSig facade: the XML verifier's `verify_post` with the demo SP's key and the reader
/// of its requests, `verify_redirect`, and the certificate reader behind `decode_certificate`.
pub fn saml_dsig(data: &[u8]) {
    // flags % 4: 0 POST-binding XML, 1 a request to the XML verifier, 2 Redirect query (bit 4:
    // SAMLResponse), 3 certificate.
    let mut f = Fields::new(data, 1);
    let flags = f.flags;
    let body = f.bytes();
    let keys = sp_keys();
    guard(|| match flags % 4 {
        0 => {
            let _ = edge_idp_xml_verify::verify_post(&text(body), &keys);
        }
        1 => {
            let (status, answer) = edge_idp_xml_verify::answer(body);
            // Only a well-formed request gets a verdict, and a verdict is never "verified"
            // without a key that verifies.
            let verdict = edge_idp_xml_verify::read_verdict(answer.as_bytes());
            assert_eq!(status == 200, verdict.is_some());
            let _ = edge_idp_xml_verify::read_verdict(body);
        }
        2 => {
            let query = text(body);
            let wants_response = flags & 4 != 0;
            if let Ok(incoming) = binding::read_encoded(Binding::Redirect, &query) {
                assert_eq!(
                    incoming.kind == "SAMLResponse",
                    wants_response || !query.contains("SAMLRequest=")
                );
                if let Some(sig) = &incoming.query_signature {
                    let r = block_on(dsig::verify_redirect(&world().platform, sig, &keys));
                    // What is verified starts with the message the reader read.
                    if r.is_ok() {
                        assert!(sig.signed.starts_with(incoming.kind));
                    }
                }
            }
        }
        _ => {
            if let Some(spki) = dsig::spki_of_certificate(body) {
                assert!(spki.len() <= body.len());
            }
            let _ = edge_idp::saml::config::decode_certificate(&STANDARD.encode(body));
        }
    });
}

// ------------------------------------------------------------------------------- OIDC parsers

/// JWT parsing: `jwt::Unverified::parse`, the `id_token_hint` checks (`verify_keys` with the demo
/// tenant's keys, `verify_hmac`), client-assertion parsing (`claimed_client`, and `verify` for the
/// `private_key_jwt` demo client), and `Verifier::from_jwk`.
pub fn oidc_jwt(data: &[u8]) {
    // flags % 3: which check (0 tenant keys, 1 HMAC — bit 3: HS512 —, 2 client assertion);
    // fields: token, HMAC key, a JWK (JSON).
    let mut f = Fields::new(data, 3);
    let which = f.flags;
    let token = f.text();
    let hmac_key = f.bytes().to_vec();
    let jwk = f.text();
    let w = world();
    guard(|| {
        use edge_idp::oidc::{client, client_assertion, jwt, keys};
        let jws = jwt::Unverified::parse(&token);
        let _ = client_assertion::claimed_client(&token);
        if let Some(jws) = jws {
            assert!(jws.header.is_object() && jws.unverified_claims().is_object());
            match which % 3 {
                0 => {
                    let bytes = w.platform.kv.borrow().get("tenant:acme:keys").cloned();
                    let master = MasterKey::from_base64(MASTER_KEY_B64).ok();
                    if let Some(set) =
                        bytes.and_then(|b| keys::parse("acme", &b, master.as_ref()).ok())
                    {
                        assert!(jws.verify_keys(&set).is_none(), "a fuzz token verified");
                    }
                }
                1 => {
                    let alg = if which & 8 == 0 { "HS256" } else { "HS512" };
                    let _ = jws.verify_hmac(alg, &hmac_key);
                }
                _ => {
                    let bytes = w
                        .platform
                        .kv
                        .borrow()
                        .get("tenant:acme:oidc:demo-pkjwt")
                        .cloned();
                    if let Some(c) = bytes.and_then(|b| client::parse("demo-pkjwt", &b).ok()) {
                        let req = Request::new(HttpMethod::Post, "acme.localhost", "/oidc/token");
                        let r = with_ctx(&req, |ctx| {
                            block_on(client_assertion::verify(ctx, &c, &token))
                        });
                        assert!(r.is_err(), "a fuzz client assertion verified");
                    }
                }
            }
        }
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&jwk) {
            for alg in ["RS256", "ES256", "HS256"] {
                let _ = keys::Verifier::from_jwk(alg, &map);
            }
        }
    });
}

/// OIDC endpoints as whole requests (their parameter parsing is private): authorize, token,
/// userinfo, logout, consent, discovery — see [`request`].
pub fn oidc_request(data: &[u8]) {
    request::run(world(), data, Focus::Oidc);
}

// ------------------------------------------------------------------------------- cookies, http

fn open_as(key: &SealKey, which: u8, text: &str) {
    match which % 3 {
        0 => {
            let _: Option<Session> =
                cookie::open(key, edge_idp::signin::session::SESSION_COOKIE, text);
        }
        1 => {
            let _: Option<PendingList> =
                cookie::open(key, edge_idp::signin::pending::PENDING_COOKIE, text);
        }
        _ => {
            let _: Option<LogoutState> =
                cookie::open(key, edge_idp::signin::logout::LOGOUT_COOKIE, text);
        }
    }
}

/// Sealed cookies (`cookie::open` into the session, pending and logout types) and
/// sealed secrets (`seal::open_secret`, `MasterKey::from_base64`).
pub fn seal_cookie(data: &[u8]) {
    // flags % 4: 0 a cookie value as a browser sends it, 1 a plaintext sealed with the right key
    // then opened as the cookie's type, 2 a KV secret, 3 a master key; (flags >> 2) % 3: which
    // cookie (session, pending, logout). One field: the value.
    let mut f = Fields::new(data, 1);
    let which = f.flags >> 2;
    let mode = f.flags % 4;
    let body = f.bytes();
    #[allow(clippy::expect_used)]
    let master = MasterKey::from_base64(MASTER_KEY_B64).expect("valid");
    let key = SealKey::derive(&master, "acme", Purpose::Cookies);
    guard(|| match mode {
        0 => open_as(&key, which, &text(body)),
        1 => {
            let plaintext = body.to_vec();
            use base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let name = [
                edge_idp::signin::session::SESSION_COOKIE,
                edge_idp::signin::pending::PENDING_COOKIE,
                edge_idp::signin::logout::LOGOUT_COOKIE,
            ][which as usize % 3];
            let sealed = URL_SAFE_NO_PAD.encode(key.seal([3u8; 12], name.as_bytes(), &plaintext));
            open_as(&key, which, &sealed);
            // Opening what was sealed gives the plaintext back, for any plaintext.
            let raw = URL_SAFE_NO_PAD.decode(&sealed).unwrap_or_default();
            assert_eq!(key.open(name.as_bytes(), &raw).ok(), Some(plaintext));
        }
        2 => {
            let value = text(body);
            let _ = seal::is_sealed(&value);
            if seal::open_secret(&master, "acme", &value).is_ok() {
                assert!(value.starts_with(seal::SECRET_PREFIX));
            }
        }
        _ => {
            let _ = MasterKey::from_base64(&text(body));
        }
    });
}

/// iMIS's forms-authentication cookie: `MachineKey::open` on any cookie value under every mode
/// and validation algorithm, and `Ticket::parse` on any decrypted payload (a fuzzer cannot forge
/// the MAC that guards it in a cookie).
pub fn forms_ticket(data: &[u8]) {
    // flags bit 0: Framework20SP2 (else Framework45); bits 1-2: the validation algorithm; bit 3:
    // the body is a decrypted ticket rather than a cookie value. One field: the body.
    let mut f = Fields::new(data, 1);
    let flags = f.flags;
    let body = f.bytes();
    guard(|| {
        if flags & 8 != 0 {
            if let Ok(t) = Ticket::parse(body) {
                assert!(!t.name.is_empty(), "a ticket without a name parsed");
            }
            return;
        }
        let compatibility = if flags & 1 == 0 {
            FormsCompatibility::Framework45
        } else {
            FormsCompatibility::Framework20Sp2
        };
        let validation = [
            FormsValidation::HmacSha1,
            FormsValidation::HmacSha256,
            FormsValidation::HmacSha384,
            FormsValidation::HmacSha512,
        ][usize::from(flags >> 1) % 4];
        #[allow(clippy::expect_used)]
        let key = MachineKey::from_hex(
            compatibility,
            validation,
            &"6F1C".repeat(32),
            &"A37B".repeat(16),
        )
        .expect("valid demo keys");
        let _ = key.open(&text(body));
    });
}

/// `http::parse_urlencoded`, `percent_decode`, `percent_encode`, `split_authority`, cookies,
/// headers and form fields of a request, `html_escape`, `HttpMethod::parse`.
pub fn http_parse(data: &[u8]) {
    // flags bit 0: `+` as space; fields: text, a name.
    let mut f = Fields::new(data, 2);
    let plus = f.flags & 1 != 0;
    let owned = f.text();
    let name = f.text();
    guard(|| {
        let s = &owned;
        let pairs = http::parse_urlencoded(s);
        assert!(pairs.len() <= s.split('&').count());
        let decoded = http::percent_decode(s, plus);
        assert!(decoded.len() <= s.len() * 3, "decoding grew the text");
        // Encoding round-trips (documented in http.rs's tests).
        assert_eq!(&http::percent_decode(&http::percent_encode(s), true), s);
        assert_eq!(&http::percent_decode(&http::percent_encode(s), false), s);
        let escaped = http::html_escape(s);
        assert!(
            !escaped.contains(['<', '>', '"', '\'']),
            "html_escape left markup"
        );
        let (host, port) = http::split_authority(s);
        assert_eq!(host, host.to_ascii_lowercase());
        let _ = port;
        let _ = HttpMethod::parse(&name);
        let mut req = Request::new(HttpMethod::Post, s, &name);
        req.headers.push(("cookie".into(), s.clone()));
        req.headers.push(("Cookie".into(), name.clone()));
        req.body = s.as_bytes().to_vec();
        let _ = req.cookie(&name);
        let _ = req.cookie("__Host-idp-session");
        let _ = req.form_field(&name);
        let _ = req.query_param(&name);
        let _ = req.header(&name);
        let form = edge_idp::http::encode_form(&[(name.as_str(), s.as_str())]);
        assert_eq!(
            http::parse_urlencoded(&form),
            if name.is_empty() && s.is_empty() {
                vec![(String::new(), String::new())]
            } else {
                vec![(name.clone(), s.clone())]
            }
        );
    });
}

// ------------------------------------------------------------------------------- bridge

/// `bridge::return_url::check`, JSONP callback names (`bridge::ping::is_callback_name`), and the
/// other small checks of the bridge and sign-in (`cookie_domain_fits`, `is_token_shape`,
/// `is_app_id`, `http::is_local_path`, `http::origin_of`).
pub fn bridge_return_url(data: &[u8]) {
    // flags bit 0: subdomains allowed; fields: URL, a name (callback, path, id), extra
    // registered domains (one per line).
    let mut f = Fields::new(data, 3);
    let subdomains = f.flags & 1 != 0;
    let url = f.text();
    let name = f.text();
    let mut domains: Vec<String> = f.text().lines().take(4).map(str::to_string).collect();
    domains.push("vendor.example".into());
    guard(|| {
        use edge_idp::bridge::{app, ping, return_url, signin, token};
        if return_url::check(&domains, subdomains, &url).is_ok() {
            let lower = url.to_ascii_lowercase();
            assert!(
                lower.starts_with("https://"),
                "accepted a non-https ReturnURL"
            );
            assert!(
                url.bytes().all(|b| b.is_ascii_graphic() && b != b'\\'),
                "accepted a ReturnURL with whitespace, controls or backslashes"
            );
            let host = crate::world::url_host(&url).unwrap_or_default();
            assert!(
                domains.iter().any(|d| {
                    let d = d.to_ascii_lowercase();
                    host == d || (subdomains && host.ends_with(&format!(".{d}")))
                }),
                "accepted ReturnURL host {host:?} of {:?}",
                url
            );
            assert!(!url[8..]
                .split(['/', '?', '#'])
                .next()
                .unwrap_or("")
                .contains('@'));
        }
        if ping::is_callback_name(&name) {
            assert!(name.len() <= 128);
            assert!(name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.')));
        }
        if edge_idp::http::is_local_path(&name) {
            assert!(name.starts_with('/') && !name.starts_with("//"));
            assert!(!name.contains('\\'));
        }
        let _ = signin::cookie_domain_fits(&name, &url);
        let _ = token::is_token_shape(&name);
        let _ = app::is_app_id(&name);
        let _ = app::Delivery::parse(&name);
        let _ = edge_idp::http::origin_of(&url);
        let _ = edge_idp::saml::config::is_app_id(&name);
        let _ = edge_idp::saml::config::is_https_url(&url);
        let _ = edge_idp::tenant::config::is_service_url(&url);
        let _ = edge_idp::ids::is_client_id(&name);
        let _ = edge_idp::oidc::claims::granted_scopes(&name, true);
        let _ = edge_idp::access::parse_mapping(&url);
    });
}

/// The bridge endpoints as whole requests (`/bridge/{app}/signin|user|ping|signout`).
pub fn bridge_request(data: &[u8]) {
    request::run(world(), data, Focus::Bridge);
}

// ------------------------------------------------------------------------------- tenancy, iMIS

/// Host → tenant: `split_authority` then `TenantResolver::resolve` against the seeded KV, and
/// the parsers of the two values it reads.
pub fn tenant_host(data: &[u8]) {
    // flags % 3: 0 a request's Host (authority), 1 a `host:` record, 2 a `tenant:` value.
    let mut f = Fields::new(data, 1);
    let mode = f.flags % 3;
    let bytes = f.bytes();
    let w = world();
    w.platform.reset();
    guard(|| match mode {
        0 => {
            let authority = text(bytes);
            let (host, _) = http::split_authority(&authority);
            let resolver = TenantResolver::default();
            if let Ok(cfg) = block_on(resolver.resolve(&host, &w.platform)) {
                assert!(
                    cfg.hostnames.iter().any(|h| *h == host),
                    "tenant does not list {host:?}"
                );
            }
        }
        1 => {
            let _ = edge_idp::tenant::config::HostRecord::parse(bytes);
        }
        _ => {
            if let Ok(cfg) = TenantConfig::parse(bytes) {
                assert!(!cfg.hostnames.is_empty());
                assert!(cfg.check().is_ok());
            }
        }
    });
}

/// The iMIS wire types: the tolerant JSON readers of `imis::wire` on fuzz JSON, and the iMIS
/// client (`/token` grants, `find_member`, IQA paging) reading fuzz answers.
pub fn imis_wire(data: &[u8]) {
    // flags % 4: the client call (0 grants, 1 find_member, 2 IQA, 3 GET as the service account),
    // (flags >> 2) % 4: 1 timeout, 2 unreachable; fields: JSON for the wire readers, a username,
    // then up to four iMIS answers `K STATUS BODY` (K: t=token u=user p=person q=IQA).
    let mut f = Fields::new(data, 7);
    let call = f.flags % 4;
    let fail = (f.flags >> 2) % 4;
    let json = f.text();
    let username = f.text();
    let mut answers = Vec::new();
    for _ in 0..4 {
        let a = f.text();
        let mut it = a.splitn(3, ' ');
        let kind = match it.next().unwrap_or("") {
            "t" => "token",
            "u" => "user",
            "p" => "person",
            _ => "iqa",
        };
        let status: u16 = it.next().and_then(|s| s.parse().ok()).unwrap_or(200);
        answers.push((kind, status, it.next().unwrap_or("").to_string()));
    }
    let w = world();
    w.platform.reset();
    guard(|| {
        use edge_idp::imis::{wire, ImisClient, TokenCache};
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&json) {
            let _ = wire::values(Some(&v));
            let _ = wire::values(v.get("Items"));
            let _ = wire::unwrap_typed(&v);
            let _ = wire::as_text(&v);
            let _ = wire::field_text(&v, "UserName");
            let _ = wire::generic_entity_row(&v);
            let _ = wire::paging(&v);
            for item in wire::values(v.get("Items")) {
                let _ = wire::generic_entity_row(item);
            }
            let _ = edge_idp::access::value_text(&v);
        }
        {
            let mut imis = w.platform.imis.borrow_mut();
            match fail {
                1 => imis.fail = Some(PlatformError::Timeout(2000)),
                2 => imis.fail = Some(PlatformError::Fetch("refused".into())),
                _ => {}
            }
            for (kind, status, body) in answers.iter().filter(|a| !a.2.is_empty()) {
                imis.overrides
                    .insert(kind, (*status % 600, body.clone().into_bytes()));
            }
        }
        let t = tenant(w, "acme");
        let client = ImisClient::new(&w.platform, &t);
        let cache = TokenCache::default();
        match call {
            0 => {
                let _ = block_on(client.password_grant(&username, "Member-Passw0rd"));
                let _ = block_on(client.refresh_grant("EdgeIdP-OIDC", "s", &username));
            }
            1 => {
                if let Ok(Some(m)) = block_on(client.find_member(&cache, &username)) {
                    assert!(!m.imis_id.is_empty());
                }
            }
            2 => {
                if let Ok(rows) = block_on(client.iqa(&cache, "$/EdgeIdP/Profile", &[&username])) {
                    assert!(rows.len() <= 20 * 100_000);
                }
            }
            _ => {
                let _ = block_on(client.get_json_as_service(&cache, &username));
            }
        }
    });
}

// ------------------------------------------------------------------------------- whole requests

/// Any request through `Idp::handle` (every route).
pub fn http_request(data: &[u8]) {
    request::run(world(), data, Focus::All);
}

/// SAML endpoints as whole requests (`/saml/{app}/sso|login|slo|metadata`), with built
/// AuthnRequests and logout messages in both bindings.
pub fn saml_sso_request(data: &[u8]) {
    request::run(world(), data, Focus::Saml);
}
