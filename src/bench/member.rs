//! The bench's member: a browser that keeps the IdP's cookies and signs in through the iMIS
//! callback, as a real member's browser would.

use super::fixtures::{HOST, IMIS_ORIGIN};
use super::platform::MemPlatform;
use crate::http::{Request, Response};
use crate::platform::{HttpMethod, Platform};
use crate::signin::session::SESSION_COOKIE;
use crate::Idp;

/// A member's browser: the IdP's cookies, kept from one answer to the next.
#[derive(Default)]
pub(super) struct Member {
    pub(super) cookies: Vec<(String, String)>,
}

impl Member {
    fn request(&self, method: HttpMethod, path: &str) -> Request {
        let mut req = Request::new(method, HOST, path);
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req.headers.push(("cookie".into(), jar.join("; ")));
        }
        req
    }

    pub(super) fn get(&self, path: &str) -> Request {
        self.request(HttpMethod::Get, path)
    }

    pub(super) fn post(&self, path: &str, form: &str) -> Request {
        let mut req = self.request(HttpMethod::Post, path);
        req.body = form.as_bytes().to_vec();
        req.headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        req
    }

    async fn send<P: Platform>(
        &mut self,
        idp: &Idp,
        p: &MemPlatform<'_, P>,
        req: Request,
    ) -> Response {
        let resp = idp.handle(req, p).await;
        let set = resp.headers.iter().filter(|(k, _)| k == "set-cookie");
        for value in set.map(|(_, v)| v) {
            let pair = value.split(';').next().unwrap_or_default();
            let Some((k, v)) = pair.split_once('=') else {
                continue;
            };
            self.cookies.retain(|(old, _)| old != k);
            if !value.contains("Max-Age=0") {
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
        resp
    }

    /// Starts at `path`, signs in at iMIS (its Single Sign On page hands back a refresh token)
    /// and answers where the IdP then sends the member.
    pub(super) async fn sign_in<P: Platform>(
        &mut self,
        idp: &Idp,
        p: &MemPlatform<'_, P>,
        path: &str,
    ) -> Result<String, String> {
        let first = self.send(idp, p, self.get(path)).await;
        if first.status != 303 {
            return Err(format!(
                "{path}: {} instead of a redirect to iMIS",
                first.status
            ));
        }
        let callback = if path.starts_with("/saml/") {
            "/saml/imis/callback"
        } else {
            "/imis/callback"
        };
        let mut req = self.post(callback, "refresh_token=rt-jsmith");
        req.headers.push(("origin".into(), IMIS_ORIGIN.into()));
        let back = self.send(idp, p, req).await;
        if !self.cookies.iter().any(|(k, _)| k == SESSION_COOKIE) {
            return Err(format!(
                "{path}: no session after the iMIS sign-in ({})",
                back.status
            ));
        }
        Ok(back.header("location").unwrap_or_default().to_string())
    }
}
