#!/usr/bin/env python3
"""The demo SAML service provider (pysaml2) that scripts/dev starts beside the IdP, so that a new
user can try SAML at once: open https://127.0.0.1:8792/ and sign in through acme's app `demo-sp`.

    /            who is signed in here, with links to sign in (SP- or IdP-initiated) and out
    /login       SP-initiated sign-in (AuthnRequest by HTTP-Redirect)
    /acs         Assertion Consumer Service (HTTP-POST); /acs/redirect (HTTP-Redirect)
    /logout      SP-initiated Single Logout;  /slo  our Single Logout service
    /metadata    this SP's metadata (try `edge-idp saml import https://127.0.0.1:8792/metadata …`)
"""
from __future__ import annotations

import argparse
import html
import secrets
import ssl
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT  # noqa: E402
from saml2.metadata import create_metadata_string  # noqa: E402

from sp import TestSP  # noqa: E402

SESSIONS: dict[str, dict] = {}


def page(title: str, body: str) -> bytes:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:system-ui;max-width:44rem;margin:2rem auto}td{padding:.2rem .6rem;"
            "border-bottom:1px solid #ddd}</style></head>"
            f"<body><h1>{html.escape(title)}</h1>{body}</body></html>").encode()


class Handler(BaseHTTPRequestHandler):
    sp: TestSP | None = None
    idp: str = ""
    app: str = ""

    def log_message(self, fmt, *args):  # quiet
        sys.stderr.write("demo-sp: " + (fmt % args) + "\n")

    def get_sp(self) -> TestSP:
        if Handler.sp is None:
            ctx = ssl._create_unverified_context()  # the local IdP's certificate is self-signed
            with urllib.request.urlopen(f"{Handler.idp}/saml/{Handler.app}/metadata", context=ctx) as r:
                md = r.read().decode()
            origin = f"https://127.0.0.1:{self.server.server_address[1]}"
            Handler.sp = TestSP(origin, md)
        return Handler.sp

    def send(self, status: int, body: bytes = b"", headers: dict | None = None):
        self.send_response(status)
        for k, v in (headers or {"content-type": "text/html; charset=utf-8"}).items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def session(self) -> dict | None:
        for part in self.headers.get("cookie", "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == "demo_sp" and v in SESSIONS:
                return SESSIONS[v]
        return None

    def do_GET(self):
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/health":
            return self.send(200, b"ok", {"content-type": "text/plain"})
        sp = self.get_sp()
        if url.path == "/":
            s = self.session()
            if s:
                rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(', '.join(v))}</td></tr>"
                               for k, v in sorted(s["attributes"].items()))
                body = (f"<p>Signed in as <strong id='name-id'>{html.escape(s['name_id'].text)}</strong> "
                        f"({html.escape(s['name_id'].format or '')}).</p><table>{rows}</table>"
                        "<p><a href='/logout'>Sign out everywhere (Single Logout)</a></p>")
            else:
                body = ("<p>Not signed in.</p><p><a href='/login'>Sign in (SP-initiated)</a> · "
                        f"<a href='{html.escape(Handler.idp)}/saml/{Handler.app}/login?RelayState=/'>"
                        "Sign in from the IdP (IdP-initiated)</a></p>")
            return self.send(200, page("Demo service provider", body))
        if url.path == "/login":
            _, (_, location, _) = sp.login(relay_state="/")
            return self.send(303, b"", {"location": location})
        if url.path == "/acs/redirect":
            return self.finish_sign_in(q.get("SAMLResponse", ""), BINDING_HTTP_REDIRECT)
        if url.path == "/logout":
            s = self.session()
            if not s:
                return self.send(303, b"", {"location": "/"})
            _, location = sp.logout_request(s["name_id"], s["session_index"])
            return self.send(303, b"", {"location": location})
        if url.path == "/slo":
            if "SAMLRequest" in q:  # the IdP signs us out (another app or the IdP started it)
                SESSIONS.clear()
                return self.send(303, b"", {"location": sp.answer_logout(self.path)})
            SESSIONS.clear()
            return self.send(200, page("Signed out", "<p>You are signed out.</p><p><a href='/'>Home</a></p>"))
        if url.path == "/metadata":
            return self.send(200, create_metadata_string(None, sp.client.config, sign=False),
                             {"content-type": "application/samlmetadata+xml"})
        return self.send(404, page("Not found", ""))

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if urlsplit(self.path).path == "/acs":
            return self.finish_sign_in(form.get("SAMLResponse", ""), BINDING_HTTP_POST)
        return self.send(404, page("Not found", ""))

    def finish_sign_in(self, saml_response: str, binding: str):
        try:
            resp = self.get_sp().accept(saml_response, binding)
        except Exception as e:  # noqa: BLE001 — shown to the person trying it
            return self.send(400, page("Sign-in refused", f"<p>pysaml2 refused the response: "
                                                          f"{html.escape(str(e))}</p>"))
        sid = secrets.token_urlsafe(16)
        SESSIONS[sid] = {"name_id": resp.name_id, "attributes": resp.ava,
                         "session_index": resp.assertion.authn_statement[0].session_index}
        return self.send(303, b"", {"location": "/",
                                    "set-cookie": f"demo_sp={sid}; Path=/; Secure; HttpOnly; SameSite=None"})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=8792)
    ap.add_argument("--idp", required=True, help="the tenant's IdP origin, e.g. https://acme.localhost:8787")
    ap.add_argument("--app", default="demo-sp")
    ap.add_argument("--tls-cert", required=True)
    ap.add_argument("--tls-key", required=True)
    args = ap.parse_args()
    Handler.idp, Handler.app = args.idp.rstrip("/"), args.app
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.tls_cert, args.tls_key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
