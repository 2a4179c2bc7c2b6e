//! Shared helpers: start the emulator binary on a free port, a tiny raw HTTP/1.1 client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Demo fixtures shipped with the crate.
pub fn demo_fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo.json")
}

/// The IDP_PORT the tests pass to the demo fixtures.
pub const IDP_PORT: &str = "8443";

/// A running emulator process (killed on drop).
pub struct Emu {
    child: Child,
    /// `127.0.0.1:PORT`
    pub addr: String,
    /// Where its stderr goes.
    pub stderr_path: PathBuf,
}

impl Emu {
    /// Start with the demo fixtures.
    pub fn start() -> Emu {
        Emu::start_with(&demo_fixtures(), &[("IDP_PORT", IDP_PORT)])
    }

    /// Start with a fixture file and `--var`s.
    pub fn start_with(fixtures: &std::path::Path, vars: &[(&str, &str)]) -> Emu {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let stderr_path =
            std::env::temp_dir().join(format!("imis-emulator-test-{}-{n}.log", std::process::id()));
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_imis-emulator"));
        cmd.arg("--addr")
            .arg("127.0.0.1:0")
            .arg("--fixtures")
            .arg(fixtures);
        for (k, v) in vars {
            cmd.arg("--var").arg(format!("{k}={v}"));
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let prefix = "imis-emulator listening on http://";
        assert!(
            line.starts_with(prefix),
            "unexpected first line {line:?}; stderr: {}",
            std::fs::read_to_string(&stderr_path).unwrap_or_default()
        );
        let addr = line[prefix.len()..].trim().to_string();
        Emu {
            child,
            addr,
            stderr_path,
        }
    }

    /// Raw request.
    pub fn req(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Resp {
        request(
            &self.addr,
            method,
            path,
            headers,
            body,
            Duration::from_secs(15),
        )
        .unwrap()
    }

    /// GET.
    pub fn get(&self, path: &str) -> Resp {
        self.req("GET", path, &[], None)
    }

    /// GET with a bearer token.
    pub fn get_auth(&self, path: &str, token: &str) -> Resp {
        let h = format!("Bearer {token}");
        self.req("GET", path, &[("Authorization", &h)], None)
    }

    /// POST a form (pairs are urlencoded here).
    pub fn post_form(&self, path: &str, pairs: &[(&str, &str)], headers: &[(&str, &str)]) -> Resp {
        let body = form(pairs);
        let mut h = vec![("Content-Type", "application/x-www-form-urlencoded")];
        h.extend_from_slice(headers);
        self.req("POST", path, &h, Some(body.as_bytes()))
    }

    /// POST JSON (control API).
    pub fn post_json(&self, path: &str, body: &Value) -> Resp {
        let text = body.to_string();
        self.req(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            Some(text.as_bytes()),
        )
    }

    /// DELETE.
    pub fn delete(&self, path: &str) -> Resp {
        self.req("DELETE", path, &[], None)
    }

    /// Password grant; returns the access token (panics on failure).
    pub fn password_token(&self, token_path: &str, user: &str, password: &str) -> String {
        let r = self.post_form(
            token_path,
            &[
                ("grant_type", "password"),
                ("username", user),
                ("password", password),
            ],
            &[],
        );
        assert_eq!(r.status, 200, "token failed: {}", r.body);
        r.json()["access_token"].as_str().unwrap().to_string()
    }

    /// Background-account token for acme.
    pub fn acme_service_token(&self) -> String {
        self.password_token("/acme/token", "edgeidp-service", "Service-Passw0rd")
    }

    /// Background-account token for globex.
    pub fn globex_service_token(&self) -> String {
        self.password_token(
            "/globex/Asi.Scheduler_iMIS/token",
            "edgeidp-service",
            "Service-Passw0rd",
        )
    }

    /// Stderr written so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stderr_path);
    }
}

/// URL-encode form pairs.
pub fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A response.
#[derive(Debug)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// Body as text.
    pub body: String,
}

impl Resp {
    /// First header (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Body as JSON (panics if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): status {} body {:?}",
                self.status, self.body
            )
        })
    }

    /// `name=value` of the `Login` cookie set by this response, if any.
    pub fn login_cookie(&self) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.split(';').next().unwrap_or("").trim().to_string())
            .find(|c| c.starts_with("Login="))
    }
}

/// One request on a fresh connection (`Connection: close`), reading to EOF.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    timeout: Duration,
) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(timeout))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        head.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    if let Some(b) = body {
        s.write_all(b)?;
    }
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_response(&raw)
}

/// Parse one complete response.
pub fn parse_response(raw: &[u8]) -> std::io::Result<Resp> {
    let text = String::from_utf8_lossy(raw).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Err(std::io::Error::other(format!("no header end in {text:?}")));
    };
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Resp {
        status,
        headers,
        body: body.to_string(),
    })
}

/// Value of an HTML attribute in the first tag that contains `marker`.
pub fn attr_after(html: &str, marker: &str, attr: &str) -> Option<String> {
    let start = html.find(marker)?;
    let tag_start = html[..start].rfind('<')?;
    let tag_end = start + html[start..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let key = format!("{attr}=\"");
    let i = tag.find(&key)? + key.len();
    let j = tag[i..].find('"')?;
    Some(tag[i..i + j].replace("&amp;", "&"))
}

/// The hand-off form of an SSO page: (action, refresh_token).
pub fn handoff(html: &str) -> Option<(String, String)> {
    let action = attr_after(html, "id=\"sso-handoff\"", "action")?;
    let token = attr_after(html, "name=\"refresh_token\"", "value")?;
    Some((action, token))
}

/// Sign in on an SSO page and return (cookie, refresh_token).
pub fn sso_sign_in(
    emu: &Emu,
    web: &str,
    client: &str,
    user: &str,
    password: &str,
) -> (String, String) {
    let r = emu.post_form(
        &format!("{web}/sso/{client}"),
        &[("username", user), ("password", password)],
        &[],
    );
    assert_eq!(r.status, 200);
    let cookie = r.login_cookie().expect("Login cookie");
    let (_, token) = handoff(&r.body).expect("hand-off form");
    (cookie, token)
}

/// `Properties.$values` of an IQA / generic entity item as (Name, Option<Value>).
pub fn props(item: &Value) -> Vec<(String, Option<Value>)> {
    item["Properties"]["$values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["Name"].as_str().unwrap().to_string(),
                p.get("Value").cloned(),
            )
        })
        .collect()
}

/// The value of one property of an item.
pub fn prop(item: &Value, name: &str) -> Option<Value> {
    props(item)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no property {name} in {item}"))
        .1
}

/// `Items.$values` of an envelope.
pub fn items(v: &Value) -> Vec<Value> {
    v["Items"]["$values"].as_array().unwrap().clone()
}
