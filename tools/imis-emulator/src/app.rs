//! Request routing, fault injection and request logging.

use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::fixtures::Model;
use crate::http::{form_get, Handler, Request, Response};
use crate::json::J;
use crate::state::{LogEntry, State};
use crate::{api, control, token, web};

const HANG_LIMIT: Duration = Duration::from_secs(600);

/// The emulator.
pub struct App {
    /// Fixtures.
    pub model: Model,
    state: Mutex<State>,
    /// Bumped by reset / clearing faults: releases hung requests.
    pub epoch: AtomicU64,
}

/// Where a path leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `{api}/token`
    Token,
    /// `{api}/api/...` (the rest after `/api/`)
    Api(String),
    /// `{web}/sso/{clientId}`
    Sso(String),
    /// `{web}/SignIn` or forms-auth Login.aspx
    SignIn,
    /// forms-auth logout.aspx
    Logout,
    /// `{web}` or `{web}/`
    Home,
    /// Nothing here.
    NotFound,
}

const FORMS_AUTH: &str = "/asicommon/controls/shared/formsauthentication/";

/// `path` minus `prefix` (case-insensitive, on a segment boundary).
fn strip_prefix_ci<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    if path.len() < prefix.len() || !path.is_char_boundary(prefix.len()) {
        return None;
    }
    let (head, rest) = path.split_at(prefix.len());
    if head.eq_ignore_ascii_case(prefix) && (rest.is_empty() || rest.starts_with('/')) {
        Some(rest)
    } else {
        None
    }
}

impl App {
    /// Build the app around loaded fixtures.
    pub fn new(model: Model) -> App {
        App {
            model,
            state: Mutex::new(State::default()),
            epoch: AtomicU64::new(0),
        }
    }

    /// Lock the state (recovering from a poisoned lock).
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Map a decoded path to (site, route).
    pub fn resolve(&self, path: &str) -> (Option<usize>, Route) {
        for (i, s) in self.model.sites.iter().enumerate() {
            if let Some(rest) = strip_prefix_ci(path, &s.api_prefix) {
                if rest.eq_ignore_ascii_case("/token") {
                    return (Some(i), Route::Token);
                }
                if rest.eq_ignore_ascii_case("/api") {
                    return (Some(i), Route::Api(String::new()));
                }
                if rest
                    .get(..5)
                    .is_some_and(|h| h.eq_ignore_ascii_case("/api/"))
                {
                    return (Some(i), Route::Api(rest[5..].to_string()));
                }
            }
        }
        let mut guess = None;
        for (i, s) in self.model.sites.iter().enumerate() {
            let Some(rest) = strip_prefix_ci(path, &s.web_prefix) else {
                if strip_prefix_ci(path, &s.api_prefix).is_some() && guess.is_none() {
                    guess = Some(i);
                }
                continue;
            };
            let lower = rest.to_ascii_lowercase();
            let route = if lower.is_empty() || lower == "/" || lower == "/default.aspx" {
                Route::Home
            } else if lower == "/signin"
                || lower == "/signin/"
                || lower == format!("{FORMS_AUTH}login.aspx")
            {
                Route::SignIn
            } else if lower == format!("{FORMS_AUTH}logout.aspx") {
                Route::Logout
            } else if lower.starts_with("/sso/") {
                let id = rest[5..].trim_end_matches('/');
                if id.is_empty() || id.contains('/') {
                    Route::NotFound
                } else {
                    Route::Sso(id.to_string())
                }
            } else {
                Route::NotFound
            };
            if route != Route::NotFound {
                return (Some(i), route);
            }
            // Prefer the site with the longest matching prefix for the log.
            let better = match guess {
                None => true,
                Some(g) => self.model.sites[g].web_prefix.len() < s.web_prefix.len(),
            };
            if better {
                guess = Some(i);
            }
        }
        (guess, Route::NotFound)
    }

    fn dispatch(&self, req: &Request, site: Option<usize>, route: &Route) -> Response {
        match (route, site) {
            (Route::Token, Some(s)) => token::handle(self, s, req),
            (Route::Api(rest), Some(s)) => api::handle(self, s, req, rest),
            (Route::Sso(client), Some(s)) => web::sso(self, s, req, client),
            (Route::SignIn, Some(s)) => web::signin(self, s, req),
            (Route::Logout, Some(s)) => web::logout(self, s, req),
            (Route::Home, Some(s)) => web::home(self, s, req),
            _ => not_found(),
        }
    }

    /// Wait until the client closes the connection, the epoch changes, or 10 minutes pass.
    fn hang(&self, conn: &TcpStream) {
        let epoch = self.epoch.load(Ordering::SeqCst);
        let deadline = Instant::now() + HANG_LIMIT;
        let _ = conn.set_read_timeout(Some(Duration::from_millis(100)));
        let mut buf = [0u8; 1];
        while Instant::now() < deadline && self.epoch.load(Ordering::SeqCst) == epoch {
            match conn.peek(&mut buf) {
                Ok(0) => return,
                Ok(_) => thread::sleep(Duration::from_millis(100)),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return,
            }
        }
    }
}

/// IIS-style 404 page.
pub fn not_found() -> Response {
    Response::html(
        404,
        "<!DOCTYPE html><html><head><title>The resource cannot be found.</title></head><body><h1>Server Error in '/' Application.</h1><h2>The resource cannot be found.</h2><p>HTTP 404.</p></body></html>",
    )
}

impl App {
    /// The request-log entry of a request to `site` and `route`, before it is answered.
    fn log_entry(&self, req: &Request, site: Option<usize>, route: &Route) -> LogEntry {
        let mut entry = LogEntry {
            seq: 0,
            method: req.method.clone(),
            path: req.path.clone(),
            query_keys: req.query.iter().map(|(k, _)| k.clone()).collect(),
            site: site.map(|s| self.model.sites[s].name.clone()),
            endpoint: None,
            entity: None,
            grant_type: None,
            query_name: None,
            status: 0,
            millis: 0,
            fault: None,
        };
        match route {
            Route::Token => {
                entry.endpoint = Some("token".into());
                if req.is_form() {
                    entry.grant_type = form_get(&req.form(), "grant_type").map(str::to_string);
                }
            }
            Route::Api(rest) => {
                entry.endpoint = Some("api".into());
                let entity = rest.split('/').next().unwrap_or("").to_string();
                if entity.eq_ignore_ascii_case("iqa") {
                    entry.query_name = req
                        .query_first("QueryName")
                        .or_else(|| req.query_first("QueryPath"))
                        .map(str::to_string);
                }
                entry.entity = Some(entity);
            }
            Route::Sso(_) => entry.endpoint = Some("sso".into()),
            Route::SignIn => entry.endpoint = Some("signin".into()),
            Route::Logout => entry.endpoint = Some("logout".into()),
            Route::Home => entry.endpoint = Some("home".into()),
            Route::NotFound => {}
        }
        entry
    }
}

fn garbage_body() -> &'static str {
    "<!DOCTYPE html>\r\n<html><head><title>Runtime Error</title></head><body><h1>Server Error in '/' Application.</h1><h2><i>Runtime Error</i></h2><p>An application error occurred on the server.</p></body></html>"
}

impl Handler for App {
    fn handle(&self, req: &Request, conn: &TcpStream) -> Option<Response> {
        let started = Instant::now();
        if strip_prefix_ci(&req.path, "/__emulator").is_some() {
            let resp = control::handle(self, req);
            eprintln!(
                "imis-emulator: {} {} -> {} ({} ms)",
                req.method,
                req.path,
                resp.status,
                started.elapsed().as_millis()
            );
            return Some(resp);
        }

        let (site, route) = self.resolve(&req.path);
        let mut entry = self.log_entry(req, site, &route);

        let mut target = req.path.clone();
        if !req.query.is_empty() {
            target.push('?');
            let pairs: Vec<String> = req.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            target.push_str(&pairs.join("&"));
        }
        let fault = self.state().take_fault(&target);

        let mut resp = None;
        if let Some(f) = &fault {
            entry.fault = Some(f.id);
            if f.spec.latency_ms > 0 {
                thread::sleep(Duration::from_millis(f.spec.latency_ms));
            }
            if f.spec.hang {
                self.hang(conn);
                entry.millis = started.elapsed().as_millis() as u64;
                eprintln!(
                    "imis-emulator: {} {} -> (hung, no answer) ({} ms)",
                    req.method, req.path, entry.millis
                );
                self.state().record(entry);
                return None;
            }
            if f.spec.garbage {
                resp = Some(Response::new(
                    f.spec.status.unwrap_or(200),
                    "text/html; charset=utf-8",
                    garbage_body(),
                ));
            } else if let Some(status) = f.spec.status {
                resp = Some(Response::text(
                    status,
                    format!("Injected fault: HTTP {status} from the iMIS emulator."),
                ));
            }
        }
        let resp = match resp {
            Some(r) => r,
            None => self.dispatch(req, site, &route),
        };
        entry.status = resp.status;
        entry.millis = started.elapsed().as_millis() as u64;
        eprintln!(
            "imis-emulator: {} {} -> {} ({} ms)",
            req.method, req.path, resp.status, entry.millis
        );
        self.state().record(entry);
        Some(resp)
    }
}

/// `{"Message": ...}` as ASP.NET Web API writes errors.
pub fn message(status: u16, text: &str) -> Response {
    Response::json(status, &J::obj(vec![("Message", J::s(text))]))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    fn app() -> App {
        let vars: HashMap<String, String> = [("IDP_PORT".to_string(), "1".to_string())].into();
        App::new(crate::fixtures::load(include_str!("../fixtures/demo.json"), &vars).unwrap())
    }

    #[test]
    fn routes() {
        let a = app();
        assert_eq!(a.resolve("/acme/token"), (Some(0), Route::Token));
        assert_eq!(a.resolve("/ACME/Token"), (Some(0), Route::Token));
        assert_eq!(
            a.resolve("/acme/api/IQA"),
            (Some(0), Route::Api("IQA".into()))
        );
        assert_eq!(
            a.resolve("/globex/asi.scheduler_imis/TOKEN"),
            (Some(1), Route::Token)
        );
        assert_eq!(a.resolve("/globex/token"), (Some(1), Route::NotFound));
        assert_eq!(
            a.resolve("/globex/Asi.Scheduler_iMIS/api/User"),
            (Some(1), Route::Api("User".into()))
        );
        assert_eq!(
            a.resolve("/acme/sso/EdgeIdP-OIDC"),
            (Some(0), Route::Sso("EdgeIdP-OIDC".into()))
        );
        assert_eq!(
            a.resolve("/Globex/AsiCommon/Controls/Shared/FormsAuthentication/Logout.aspx"),
            (Some(1), Route::Logout)
        );
        assert_eq!(a.resolve("/acmex/token"), (None, Route::NotFound));
        assert_eq!(a.resolve("/"), (None, Route::NotFound));
    }
}
