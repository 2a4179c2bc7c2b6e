//! A minimal HTTP/1.1 server on `std::net`: one thread per connection, keep-alive,
//! `Content-Length` and chunked request bodies, `Expect: 100-continue`.
//!
//! Written by hand (instead of a server crate) so that a "hanging" request can watch
//! its own socket and give up when the client goes away.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::json::J;
use crate::util;

const MAX_LINE: u64 = 16 * 1024;
const MAX_HEADERS: usize = 100;
const MAX_BODY: usize = 2 * 1024 * 1024;
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// A parsed request.
#[derive(Debug)]
pub struct Request {
    /// Method, as sent (`GET`, `POST`, ...).
    pub method: String,
    /// Percent-decoded path (no query).
    pub path: String,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Headers in order (names as sent).
    pub headers: Vec<(String, String)>,
    /// Raw body.
    pub body: Vec<u8>,
    http10: bool,
}

impl Request {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All query values for a key (case-insensitive), in order.
    pub fn query_all(&self, key: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// First query value for a key (case-insensitive).
    pub fn query_first(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// Value of a cookie sent by the browser.
    pub fn cookie(&self, name: &str) -> Option<String> {
        for (k, v) in &self.headers {
            if !k.eq_ignore_ascii_case("cookie") {
                continue;
            }
            for part in v.split(';') {
                if let Some((n, val)) = part.trim().split_once('=') {
                    if n.trim() == name {
                        return Some(val.trim().to_string());
                    }
                }
            }
        }
        None
    }

    /// Whether the body is declared as `application/x-www-form-urlencoded`.
    pub fn is_form(&self) -> bool {
        self.header("content-type")
            .map(|ct| {
                ct.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
            .unwrap_or(false)
    }

    /// The body parsed as form pairs (in order).
    pub fn form(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(&self.body).into_owned().collect()
    }

    fn wants_close(&self) -> bool {
        let conn = self.header("connection").unwrap_or("").to_ascii_lowercase();
        if self.http10 {
            !conn.contains("keep-alive")
        } else {
            conn.contains("close")
        }
    }
}

/// First form value for a key (case-insensitive).
pub fn form_get<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// A response to write.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers (Content-Length is added when writing).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with a content type and body.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// `application/json; charset=utf-8` (ASP.NET Web API's default).
    pub fn json(status: u16, body: &J) -> Response {
        Response::new(status, "application/json; charset=utf-8", body.render())
    }

    /// JSON from a serde_json value (control API).
    pub fn value(status: u16, body: &serde_json::Value) -> Response {
        Response::json(status, &J::Val(body.clone()))
    }

    /// `text/plain`.
    pub fn text(status: u16, body: impl Into<String>) -> Response {
        Response::new(status, "text/plain; charset=utf-8", body.into())
    }

    /// `text/html`.
    pub fn html(status: u16, body: impl Into<String>) -> Response {
        Response::new(status, "text/html; charset=utf-8", body.into())
            .with_header("Cache-Control", "no-cache, no-store")
    }

    /// 302 redirect.
    pub fn redirect(location: &str) -> Response {
        let body = format!(
            "<html><head><title>Object moved</title></head><body><h2>Object moved to <a href=\"{0}\">here</a>.</h2></body></html>",
            util::html_escape(location)
        );
        Response::new(302, "text/html; charset=utf-8", body).with_header("Location", location)
    }

    /// Add a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// Something that answers requests.  `None` = close the connection without answering.
pub trait Handler: Send + Sync + 'static {
    /// Answer one request; `conn` lets a deliberately hanging request watch its socket.
    fn handle(&self, req: &Request, conn: &TcpStream) -> Option<Response>;
}

/// Accept connections forever, one thread per connection.
pub fn serve<H: Handler>(listener: TcpListener, handler: Arc<H>) {
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => {
                let h = Arc::clone(&handler);
                let spawned = thread::Builder::new()
                    .name("imis-emulator-conn".into())
                    .spawn(move || connection(stream, h));
                if let Err(e) = spawned {
                    eprintln!("imis-emulator: cannot spawn connection thread: {e}");
                }
            }
            Err(e) => {
                eprintln!("imis-emulator: accept failed: {e}");
                thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

enum ReadError {
    Io,
    Bad(u16, String),
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> Self {
        ReadError::Io
    }
}

fn connection<H: Handler>(stream: TcpStream, handler: Arc<H>) {
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    loop {
        let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
        let req = match read_request(&mut reader, &stream) {
            Ok(Some(r)) => r,
            Ok(None) | Err(ReadError::Io) => return,
            Err(ReadError::Bad(status, msg)) => {
                let _ = write_response(&stream, &Response::text(status, msg), true);
                return;
            }
        };
        let close = req.wants_close();
        let Some(resp) = handler.handle(&req, &stream) else {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        };
        if write_response(&stream, &resp, close).is_err() || close {
            let _ = stream.shutdown(Shutdown::Write);
            return;
        }
    }
}

fn read_line<R: BufRead>(reader: &mut R) -> Result<Option<String>, ReadError> {
    let mut buf = Vec::new();
    let n = reader.by_ref().take(MAX_LINE).read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    if !buf.ends_with(b"\n") {
        if n as u64 >= MAX_LINE {
            return Err(ReadError::Bad(431, "header line too long".into()));
        }
        return Err(ReadError::Io);
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

/// The method, target and whether the client speaks HTTP/1.0, or `None` at a clean end of stream.
fn read_request_line<R: BufRead>(
    reader: &mut R,
) -> Result<Option<(String, String, bool)>, ReadError> {
    // Tolerate leading empty lines, RFC 9112 §2.2.
    let line = loop {
        match read_line(reader)? {
            None => return Ok(None),
            Some(l) if l.is_empty() => continue,
            Some(l) => break l,
        }
    };
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad(400, "malformed request line".into()));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::Bad(505, "HTTP version not supported".into()));
    }
    Ok(Some((
        method.to_string(),
        target.to_string(),
        version == "HTTP/1.0",
    )))
}

/// The header block up to its empty line, bounded so a client cannot grow it without end.
fn read_headers<R: BufRead>(reader: &mut R) -> Result<Vec<(String, String)>, ReadError> {
    let mut headers = Vec::new();
    loop {
        let Some(h) = read_line(reader)? else {
            return Err(ReadError::Io);
        };
        if h.is_empty() {
            return Ok(headers);
        }
        if headers.len() >= MAX_HEADERS {
            return Err(ReadError::Bad(431, "too many headers".into()));
        }
        let Some((name, value)) = h.split_once(':') else {
            return Err(ReadError::Bad(400, "malformed header".into()));
        };
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
}

/// The raw path and query of a target, an absolute-form one stripped down to origin-form and any
/// fragment dropped, so routing sees the same path whichever form the client sent.
fn split_target(target: &str) -> (&str, &str) {
    let mut target = target;
    for scheme in ["http://", "https://"] {
        if target.len() > scheme.len() && target[..scheme.len()].eq_ignore_ascii_case(scheme) {
            let rest = &target[scheme.len()..];
            target = rest.find('/').map(|i| &rest[i..]).unwrap_or("/");
        }
    }
    let (raw_path, raw_query) = target.split_once('?').unwrap_or((target, ""));
    let raw_path = raw_path.split('#').next().unwrap_or("");
    let raw_query = raw_query.split('#').next().unwrap_or("");
    (raw_path, raw_query)
}

/// The body the headers announce (chunked or Content-Length), after the `100 Continue` a client
/// waiting on `Expect` needs before it sends it.
fn read_body<R: BufRead>(
    reader: &mut R,
    stream: &TcpStream,
    req: &Request,
) -> Result<Vec<u8>, ReadError> {
    let chunked = req
        .header("transfer-encoding")
        .map(|v| v.to_ascii_lowercase().contains("chunked"))
        .unwrap_or(false);
    let length = match req.header("content-length") {
        Some(v) => Some(
            v.parse::<usize>()
                .map_err(|_| ReadError::Bad(400, "bad Content-Length".into()))?,
        ),
        None => None,
    };
    let expects_body = chunked || length.is_some_and(|n| n > 0);
    if expects_body
        && req
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        let mut w = stream;
        w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        w.flush()?;
    }
    if chunked {
        return read_chunked(reader);
    }
    let Some(n) = length else {
        return Ok(Vec::new());
    };
    if n > MAX_BODY {
        return Err(ReadError::Bad(413, "request body too large".into()));
    }
    let mut body = vec![0u8; n];
    reader.read_exact(&mut body)?;
    Ok(body)
}

fn read_request<R: BufRead>(
    reader: &mut R,
    stream: &TcpStream,
) -> Result<Option<Request>, ReadError> {
    let Some((method, target, http10)) = read_request_line(reader)? else {
        return Ok(None);
    };
    let headers = read_headers(reader)?;
    let (raw_path, raw_query) = split_target(&target);
    let mut req = Request {
        method,
        path: util::percent_decode_path(raw_path),
        query: form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect(),
        headers,
        body: Vec::new(),
        http10,
    };
    req.body = read_body(reader, stream, &req)?;
    Ok(Some(req))
}

fn read_chunked<R: BufRead>(reader: &mut R) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        let Some(size_line) = read_line(reader)? else {
            return Err(ReadError::Io);
        };
        let size_hex = size_line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| ReadError::Bad(400, "bad chunk size".into()))?;
        if size == 0 {
            // Trailers until the empty line.
            loop {
                match read_line(reader)? {
                    None => return Err(ReadError::Io),
                    Some(l) if l.is_empty() => return Ok(body),
                    Some(_) => {}
                }
            }
        }
        if body.len() + size > MAX_BODY {
            return Err(ReadError::Bad(413, "request body too large".into()));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    }
}

fn write_response(stream: &TcpStream, resp: &Response, close: bool) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (k, v) in &resp.headers {
        // Never let a header value break the framing.
        let v: String = v.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Date: {}\r\n",
        util::http_date(std::time::SystemTime::now())
    ));
    let no_body = resp.status == 204 || resp.status == 304 || resp.status < 200;
    if !no_body {
        head.push_str(&format!("Content-Length: {}\r\n", resp.body.len()));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    if !no_body {
        out.extend_from_slice(&resp.body);
    }
    let mut w = stream;
    w.write_all(&out)?;
    w.flush()
}
