//! Small request and response types the adapters convert to and from, plus the parsing helpers
//! every endpoint needs: query and form decoding, cookies, headers.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::platform::HttpMethod;

/// An incoming request, as the adapter hands it to the core.
#[derive(Debug, Clone)]
pub struct Request {
    /// Method.
    pub method: HttpMethod,
    /// The host the client asked for, without a port, lowercase (from the URL authority or
    /// the `Host` header).
    pub host: String,
    /// The port the client used, if the authority carried one.
    pub port: Option<u16>,
    /// Path, percent-encoded as received, starting with `/`.
    pub path: String,
    /// Raw query string without the `?` (empty when absent).
    pub query: String,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
    /// The client's address, when the runtime vouches for it (Cloudflare's `cf-connecting-ip`);
    /// never taken from a header a client can set.
    pub client_ip: Option<String>,
}

impl Request {
    /// A bodiless request; used by tests and adapters.
    pub fn new(method: HttpMethod, host: &str, path_and_query: &str) -> Self {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (path_and_query.to_string(), String::new()),
        };
        let (host, port) = split_authority(host);
        Self {
            method,
            host,
            port,
            path,
            query,
            headers: Vec::new(),
            body: Vec::new(),
            client_ip: None,
        }
    }

    /// The form fields of an `application/x-www-form-urlencoded` body. The body is made text
    /// before it is decoded (not handed to the decoder as bytes) so that a stray raw byte stays
    /// U+FFFD on its own rather than joining the escaped bytes after it into some other character.
    pub(crate) fn form(&self) -> Vec<(String, String)> {
        parse_urlencoded(&String::from_utf8_lossy(&self.body))
    }

    /// The first value of a form field.
    pub fn form_field(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The value of a cookie.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The origin of the page that sent this request: its `Origin` header or, when a browser
    /// sends none, the origin of its `Referer`. `Origin: null` (sandboxed frames, requests
    /// whose referrer is withheld) names no page, so it gives `None` rather than the Referer.
    pub(crate) fn source_origin(&self) -> Option<String> {
        match self.header("origin") {
            Some(o) if o.trim() == "null" => None,
            Some(o) => origin_of(o),
            None => self.header("referer").and_then(origin_of),
        }
    }

    /// The first value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        parse_urlencoded(&self.query)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// Whether `target` is a path on this host: no scheme, no `//host`, no backslash (browsers
/// read `/\\host` as `//host`), no encoded backslash, no control characters.
pub fn is_local_path(target: &str) -> bool {
    target.starts_with('/')
        && !target.starts_with("//")
        && !target.contains('\\')
        && !target.to_ascii_lowercase().contains("%5c")
        && !target.bytes().any(|b| b.is_ascii_control())
        && target.len() <= 1024
}

/// The web origin (`scheme://host[:port]`, lowercase, default port omitted) of an absolute
/// `http`/`https` URL, as browsers serialize it in `Origin`. `None` for anything else, including
/// URLs with credentials, so the result is safe in a CSP source list or a header.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') || authority.contains('\\') {
        return None;
    }
    let (host, port) = split_authority(authority);
    let host_char =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'[' | b']' | b':');
    if host.is_empty() || !host.bytes().all(host_char) {
        return None;
    }
    Some(match port {
        Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// Splits `host[:port]` into a lowercase host and a port. IPv6 literals keep their brackets.
pub fn split_authority(authority: &str) -> (String, Option<u16>) {
    let authority = authority.trim();
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, tail)) => (
                format!("[{h}]"),
                tail.strip_prefix(':').and_then(|p| p.parse().ok()),
            ),
            None => (authority.to_string(), None),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().ok()),
            None => (authority.to_string(), None),
        }
    };
    // One trailing dot names the same host (a fully qualified name); two do not.
    let host = host.strip_suffix('.').unwrap_or(&host);
    (host.to_ascii_lowercase(), port)
}

/// The largest request body the IdP reads. A SAML POST-binding message is the largest thing a
/// browser or client sends: at most [`crate::saml::xml::MAX_XML_BYTES`] of XML, base64 and
/// form-encoded (about 1.4 times larger), plus RelayState. Adapters stop reading one byte past
/// this (so an endless body costs no memory) and the core answers 413 to any longer body.
pub(crate) const MAX_BODY_BYTES: usize = 256 * 1024;

/// Reads a request body from the runtime's chunk stream only until it is longer than
/// [`MAX_BODY_BYTES`] (the core refuses it then), so an endless body costs no more memory than
/// that. A body that breaks off reads as empty. Both runtime adapters read bodies through this.
pub async fn read_body_capped<S, E>(stream: S) -> Vec<u8>
where
    S: futures_util::Stream<Item = Result<Vec<u8>, E>>,
{
    use futures_util::StreamExt;
    let mut stream = std::pin::pin!(stream);
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return Vec::new();
        };
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY_BYTES {
            break;
        }
    }
    body
}

/// An outgoing response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header names and values (a name may repeat, e.g. `set-cookie`).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with a status and no body.
    pub(crate) fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A JSON response.
    pub(crate) fn json(status: u16, value: &serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
        }
    }

    /// An HTML response.
    pub(crate) fn html(status: u16, body: String) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
            body: body.into_bytes(),
        }
    }

    /// A 303 See Other to `target`: after a form post the browser follows it with a GET.
    pub(crate) fn redirect(target: &str) -> Self {
        Self::empty(303).with_header("location", target)
    }

    /// Adds a header.
    pub(crate) fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Sets a header unless one with that name is present already.
    pub(crate) fn set_default_header(&mut self, name: &str, value: &str) {
        if self.header(name).is_none() {
            self.headers.push((name.to_string(), value.to_string()));
        }
    }
}

/// Decodes `application/x-www-form-urlencoded` text (query strings and form bodies) into pairs,
/// in order. Malformed escapes are kept literally and invalid UTF-8 becomes U+FFFD, rather than
/// failing: a request is judged by the fields it needs, not by a stray byte elsewhere.
pub fn parse_urlencoded(input: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(input.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Percent-decodes text, keeping malformed escapes and replacing invalid UTF-8 as
/// [`parse_urlencoded`] does; with `plus_as_space`, `+` becomes a space first (form encoding),
/// so an escaped `%2B` stays a plus. For the pieces of a query read raw, e.g. to check a
/// signature over the bytes as sent before decoding them.
pub fn percent_decode(input: &str, plus_as_space: bool) -> String {
    let spaced;
    let input = if plus_as_space && input.contains('+') {
        spaced = input.replace('+', " ");
        spaced.as_str()
    } else {
        input
    };
    percent_decode_str(input).decode_utf8_lossy().into_owned()
}

/// The bytes [`percent_encode`] escapes: all but RFC 3986's unreserved characters. More than a
/// form serializer escapes (it leaves `*` and writes a space as `+`, a literal plus in a path or
/// to a plain query decoder), so that one encoding reads the same in a path segment, a query and
/// a form body.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes text for a path segment, query component or form value, with upper-case
/// escapes.
pub fn percent_encode(input: &str) -> String {
    utf8_percent_encode(input, ESCAPED).to_string()
}

/// Encodes pairs as `application/x-www-form-urlencoded`, with [`percent_encode`] rather than
/// `form_urlencoded::Serializer`: these pairs also end up in redirect queries that a relying
/// party may read with a plain percent-decoder, where a `+` would stay a plus.
pub fn encode_form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The entity of each byte that HTML escaping replaces: what is left is safe in element content
/// and in quoted attribute values.
pub(crate) fn html_entity(b: u8) -> Option<&'static str> {
    match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        b'"' => Some("&quot;"),
        b'\'' => Some("&#39;"),
        _ => None,
    }
}

/// Escapes text for HTML element content and attribute values; the page templates escape every
/// value the same way.
pub fn html_escape(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    escape_into(input, &mut out, html_entity);
    out
}

/// Hands `input` to `emit` in pieces: each ASCII byte that `replace` names as its entity, and the
/// runs in between whole (a page's base64 SAMLResponse is mostly one run), not character by
/// character. The HTML pages and the XML writer escape through this, each with its own entities.
pub(crate) fn escape_pieces<'a, E>(
    input: &'a str,
    replace: impl Fn(u8) -> Option<&'static str>,
    mut emit: impl FnMut(&'a str) -> Result<(), E>,
) -> Result<(), E> {
    let mut start = 0;
    for (i, b) in input.bytes().enumerate() {
        // Only ASCII bytes are replaced, and an ASCII byte is always a character boundary.
        if !b.is_ascii() {
            continue;
        }
        if let Some(entity) = replace(b) {
            emit(input.get(start..i).unwrap_or_default())?;
            emit(entity)?;
            start = i + 1;
        }
    }
    emit(input.get(start..).unwrap_or_default())
}

/// [`escape_pieces`] appended to a string.
pub(crate) fn escape_into(
    input: &str,
    out: &mut String,
    replace: impl Fn(u8) -> Option<&'static str>,
) {
    let Ok(()) = escape_pieces(input, replace, |piece| {
        out.push_str(piece);
        Ok::<(), core::convert::Infallible>(())
    });
}

#[cfg(test)]
mod tests;
