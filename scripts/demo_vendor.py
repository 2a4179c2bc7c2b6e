#!/usr/bin/env python3
"""A tiny vendor site for the token bridge: the demo that scripts/dev serves, and the
vendor site the end-to-end tests drive (tests/e2e/test_bridge*.py). Standard library only.

It integrates the way an iMIS vendor without SAML or OIDC does:

  /login?mode=post|query|cookie  sends the member to the IdP's /bridge/{app}/signin?ReturnURL=…
  POST /sso/token                the IdP POSTs the one-time token here (ISG style)
  /welcome?token=… or cookie     the token on the ReturnURL (gatekeeper) or in the shared cookie
  (each redeems the token server to server: GET /bridge/{app}/user with the vendor secret)
  /                              home page; pings the IdP (JSONP and CORS) to show "Welcome …"
  /api/welcome?token=…           the page's backend: redeems a ping token
  /me                            the vendor session as JSON (for tests)
  /logout                        ends the vendor session and signs out at the IdP
  /frontchannel-logout           the IdP's hidden frame when the member signs out elsewhere

The vendor secret comes from the DEMO_VENDOR_SECRET environment variable, never the command line.
Local demo only: it trusts the IdP's self-signed certificate.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import secrets
import ssl
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SESSION_COOKIE = "vendor_sid"
TOKEN_COOKIE = "bridge_token"


class Vendor:
    def __init__(self, origin: str, idp: str, app: str, secret: str):
        self.origin = origin.rstrip("/")
        self.idp = idp.rstrip("/")
        self.app = app
        self.secret = secret
        self.sessions: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.tls = ssl.create_default_context()
        self.tls.check_hostname = False
        self.tls.verify_mode = ssl.CERT_NONE  # the local stack's self-signed certificate

    def bridge(self, endpoint: str, **query: str) -> str:
        q = urllib.parse.urlencode(query)
        return f"{self.idp}/bridge/{self.app}/{endpoint}" + (f"?{q}" if q else "")

    def redeem(self, token: str) -> tuple[int, dict]:
        """Server to server: the user service, authenticated with the vendor secret."""
        req = urllib.request.Request(self.bridge("user", token=token),
                                     headers={"Authorization": f"Bearer {self.secret}"})
        try:
            with urllib.request.urlopen(req, timeout=15, context=self.tls) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            try:
                return e.code, json.loads(e.read())
            except ValueError:
                return e.code, {"error": "not json"}

    def new_session(self, user: dict) -> str:
        sid = secrets.token_urlsafe(24)
        with self.lock:
            self.sessions[sid] = user
        return sid


HOME = """<!doctype html><html><head><meta charset="utf-8"><title>Demo Vendor</title>
<style>body{{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto}}code{{background:#eee}}</style>
</head><body><h1>Demo Vendor</h1>
<p id="vendor-session">{session}</p>
<ul>
<li><a id="login-post" href="/login?mode=post">Sign in (token POSTed to us)</a></li>
<li><a id="login-query" href="/login?mode=query">Sign in (token on the return URL)</a></li>
<li><a id="login-cookie" href="/login?mode=cookie">Sign in (token in a shared cookie)</a></li>
<li><a id="logout" href="/logout">Sign out (here and at the association)</a></li>
</ul>
<h2>Is the member signed in at the association?</h2>
<p>JSONP ping: <span id="jsonp-status">…</span></p>
<p>CORS ping: <span id="cors-status">…</span></p>
<p id="welcome"></p>
<script>
var PING = {ping};
function welcome(token) {{
  fetch('/api/welcome?token=' + encodeURIComponent(token)).then(function (r) {{ return r.json(); }})
    .then(function (u) {{
      document.getElementById('welcome').textContent =
        u.first_name ? 'Welcome ' + u.first_name + '!' : 'No welcome: ' + (u.error || 'unknown');
    }});
}}
function onPing(answer) {{
  document.getElementById('jsonp-status').textContent = answer.signed_in ? 'signed in' : 'not signed in';
  if (answer.signed_in) welcome(answer.token);
}}
var s = document.createElement('script');
s.src = PING + '?callback=onPing';
s.onerror = function () {{ document.getElementById('jsonp-status').textContent = 'error'; }};
document.head.appendChild(s);
fetch(PING, {{credentials: 'include'}}).then(function (r) {{ return r.json(); }})
  .then(function (a) {{
    document.getElementById('cors-status').textContent =
      (a.signed_in ? 'signed in' : 'not signed in') + (a.token ? ' (token received)' : '');
  }})
  .catch(function (e) {{ document.getElementById('cors-status').textContent = 'error: ' + e; }});
</script></body></html>
"""


def make_handler(vendor: Vendor):
    class Handler(BaseHTTPRequestHandler):
        server_version = "DemoVendor/1"

        def log_message(self, fmt, *args):  # keep tokens out of the log: paths only
            sys.stderr.write("%s %s\n" % (self.command, self.path.split("?")[0]))

        # helpers
        def cookies(self) -> dict[str, str]:
            out = {}
            for part in (self.headers.get("Cookie") or "").split(";"):
                if "=" in part:
                    k, v = part.strip().split("=", 1)
                    out[k] = v
            return out

        def query(self) -> dict[str, str]:
            return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))

        def send(self, status: int, body: str, ctype: str = "text/html; charset=utf-8",
                 headers: list[tuple[str, str]] | None = None) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            for k, v in headers or []:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def redirect(self, location: str, headers: list[tuple[str, str]] | None = None) -> None:
            self.send(303, "", headers=[("Location", location), *(headers or [])])

        def session(self) -> dict | None:
            return vendor.sessions.get(self.cookies().get(SESSION_COOKIE, ""))

        def signed_in(self, token: str, clear_token_cookie: bool = False) -> None:
            status, user = vendor.redeem(token)
            if status != 200:
                self.send(401, f"<h1>Sign-in failed</h1><p id='error'>{html.escape(user.get('error', '?'))}</p>")
                return
            sid = vendor.new_session(user)
            headers = [("Set-Cookie", f"{SESSION_COOKIE}={sid}; Path=/; Secure; HttpOnly; SameSite=Lax")]
            if clear_token_cookie:
                host = urllib.parse.urlsplit(vendor.origin).hostname
                headers.append(("Set-Cookie", f"{TOKEN_COOKIE}=; Domain={host}; Path=/; Max-Age=0; Secure"))
            self.redirect("/", headers)

        # routes
        def do_GET(self):  # noqa: N802 — http.server's naming
            path = urllib.parse.urlsplit(self.path).path
            q = self.query()
            if path == "/health":
                self.send(200, "ok", "text/plain")
            elif path == "/":
                user = self.session()
                who = (f"Signed in here as <strong id='vendor-user'>{html.escape(user.get('first_name') or '')} "
                       f"{html.escape(user.get('last_name') or '')}</strong> (iMIS ID {html.escape(user.get('imis_id', ''))})"
                       if user else "Not signed in here.")
                self.send(200, HOME.format(session=who, ping=json.dumps(vendor.bridge("ping"))))
            elif path == "/login":
                mode = q.get("mode", "post")
                self.redirect(vendor.bridge("signin", ReturnURL=f"{vendor.origin}/welcome", delivery=mode))
            elif path == "/welcome":
                token = q.get("token") or self.cookies().get(TOKEN_COOKIE)
                if token:
                    self.signed_in(token, clear_token_cookie="token" not in q)
                else:
                    self.redirect("/")
            elif path == "/api/welcome":
                status, user = vendor.redeem(q.get("token", ""))
                body = {"first_name": user.get("first_name")} if status == 200 else {"error": user.get("error")}
                self.send(status, json.dumps(body), "application/json")
            elif path == "/me":
                user = self.session()
                self.send(200 if user else 401, json.dumps(user or {"error": "not signed in"}), "application/json")
            elif path == "/logout":
                sid = self.cookies().get(SESSION_COOKIE, "")
                with vendor.lock:
                    vendor.sessions.pop(sid, None)
                self.redirect(vendor.bridge("signout", ReturnURL=f"{vendor.origin}/bye"),
                              [("Set-Cookie", f"{SESSION_COOKIE}=; Path=/; Max-Age=0; Secure")])
            elif path == "/frontchannel-logout":  # the IdP's hidden frame when the session ends there
                sid = self.cookies().get(SESSION_COOKIE, "")
                with vendor.lock:
                    vendor.sessions.pop(sid, None)
                self.send(200, "<p>Signed out.</p>", headers=[("Set-Cookie", f"{SESSION_COOKIE}=; Path=/; Max-Age=0; Secure")])
            elif path == "/bye":
                self.send(200, "<h1 id='bye'>Signed out</h1><p><a href='/'>Home</a></p>")
            else:
                self.send(404, "<h1>Not found</h1>")

        def do_POST(self):  # noqa: N802
            path = urllib.parse.urlsplit(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            if path == "/sso/token" and form.get("token"):
                self.signed_in(form["token"])
            else:
                self.send(400, "<h1>Bad request</h1>")

    return Handler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--origin", required=True, help="this site's public origin, e.g. https://acme.localhost:8791")
    parser.add_argument("--idp", required=True, help="the IdP's origin, e.g. https://acme.localhost:8787")
    parser.add_argument("--app", default="demo-vendor")
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    secret = os.environ.get("DEMO_VENDOR_SECRET", "")
    if not secret:
        print("error: set DEMO_VENDOR_SECRET", file=sys.stderr)
        return 2
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(Vendor(args.origin, args.idp, args.app, secret)))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(args.cert, args.key)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
