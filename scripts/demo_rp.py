#!/usr/bin/env python3
"""The demo OpenID Connect relying party that scripts/dev starts beside the IdP, so that a new user
can try OIDC at once: open https://127.0.0.1:8793/ and sign in through acme's client `demo-rp`.

It is an ordinary confidential web client built on authlib, configured from the IdP's discovery
document: authorization code + PKCE (S256) with state and nonce, client_secret_basic, the id_token
checked against the published JWKS, userinfo, refresh, and RP-initiated logout.

    /            who is signed in here: the id_token's claims and the userinfo answer
    /login       starts the authorization request (?prompt=login|consent|none to try those)
    /callback    the redirect URI: exchanges the code, checks the id_token
    /refresh     a refresh_token grant (the refresh token rotates)
    /logout      RP-initiated logout (id_token_hint, post_logout_redirect_uri, state)
    /signed-out  where the IdP sends the browser after logout
    /frontchannel-logout  the IdP's front-channel logout call (ends the local session)

and, on a second, plain-HTTP listener on 127.0.0.1 (the edge runtimes would not trust this demo's
self-signed certificate for a server-to-server call):

    POST /backchannel-logout  the IdP's back-channel logout: checks the logout token (signature
                              against the JWKS, iss, aud, iat/exp, the event, no nonce, each jti
                              once) and ends the local sessions of its sid
"""
from __future__ import annotations

import argparse
import html
import json
import secrets
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oauth2.rfc7636 import create_s256_code_challenge

COOKIE = "demo_rp"
SESSIONS: dict[str, dict] = {}   # session id → {"tokens", "claims", "userinfo", "sid"}
PENDING: dict[str, dict] = {}    # state → {"nonce", "verifier", "created"}
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_JTIS: set[str] = set()    # logout tokens already used
LAST_LOGOUT: dict = {}           # the last back-channel logout: {"sid", "ended", "at"}


def page(title: str, body: str) -> bytes:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:system-ui;max-width:48rem;margin:2rem auto}td{padding:.2rem .6rem;"
            "border-bottom:1px solid #ddd;vertical-align:top}pre{background:#f4f4f4;padding:.6rem;"
            "overflow-x:auto}</style></head>"
            f"<body><h1>{html.escape(title)}</h1>{body}</body></html>").encode()


def table(claims: dict) -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(json.dumps(v))}</td></tr>"
                   for k, v in sorted(claims.items()))
    return f"<table>{rows}</table>"


class Handler(BaseHTTPRequestHandler):
    issuer = ""
    origin = ""
    client_id = ""
    client_secret = ""
    _meta: dict | None = None

    def log_message(self, fmt, *args):  # one line per request on stderr
        sys.stderr.write("demo-rp: " + (fmt % args) + "\n")

    # -- the provider ------------------------------------------------------------------------
    @classmethod
    def meta(cls) -> dict:
        if cls._meta is None:
            r = requests.get(f"{cls.issuer}/.well-known/openid-configuration", verify=False, timeout=10)
            r.raise_for_status()
            cls._meta = r.json()
        return cls._meta

    @classmethod
    def oauth(cls, **kw) -> OAuth2Session:
        sess = OAuth2Session(cls.client_id, cls.client_secret, token_endpoint_auth_method="client_secret_basic",
                             redirect_uri=f"{cls.origin}/callback", **kw)
        sess.verify = False  # the local IdP's certificate is self-signed
        return sess

    @classmethod
    def check_id_token(cls, id_token: str, nonce: str | None) -> dict:
        keys = JsonWebKey.import_key_set(requests.get(cls.meta()["jwks_uri"], verify=False, timeout=10).json())
        options = {"iss": {"essential": True, "value": cls.meta()["issuer"]},
                   "aud": {"essential": True, "value": cls.client_id}}
        if nonce is not None:
            options["nonce"] = {"essential": True, "value": nonce}
        claims = jwt.decode(id_token, keys, claims_options=options)
        claims.validate(leeway=60)
        return dict(claims)

    @classmethod
    def check_logout_token(cls, token: str) -> dict:
        """A logout token as Back-Channel Logout 1.0 §2.6 says an RP must check it."""
        keys = JsonWebKey.import_key_set(requests.get(cls.meta()["jwks_uri"], verify=False, timeout=10).json())
        claims = jwt.decode(token, keys, claims_options={
            "iss": {"essential": True, "value": cls.meta()["issuer"]},
            "aud": {"essential": True, "value": cls.client_id},
            "iat": {"essential": True}, "exp": {"essential": True}, "jti": {"essential": True}})
        claims.validate(leeway=60)
        if claims.header.get("typ") != "logout+jwt":
            raise ValueError(f"typ is {claims.header.get('typ')!r}, not logout+jwt")
        if BACKCHANNEL_EVENT not in (claims.get("events") or {}):
            raise ValueError("no back-channel logout event")
        if "nonce" in claims:
            raise ValueError("a logout token carries no nonce")
        if not claims.get("sid") and not claims.get("sub"):
            raise ValueError("neither sid nor sub")
        if claims["jti"] in LOGOUT_JTIS:
            raise ValueError("this logout token was used already")
        LOGOUT_JTIS.add(claims["jti"])
        return dict(claims)

    # -- plumbing ----------------------------------------------------------------------------
    def send(self, status: int, body: bytes = b"", headers: dict | None = None):
        self.send_response(status)
        for k, v in (headers or {"content-type": "text/html; charset=utf-8"}).items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        self.send_header("cache-control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str, cookie: str | None = None):
        headers = {"location": location}
        if cookie is not None:
            headers["set-cookie"] = cookie
        self.send(303, b"", headers)

    def session_id(self) -> str | None:
        for part in self.headers.get("cookie", "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == COOKIE and v in SESSIONS:
                return v
        return None

    def refused(self, what: str, detail: str):
        self.send(400, page(what, f"<p>{html.escape(detail)}</p><p><a href='/'>Back</a></p>"))

    # -- routes ------------------------------------------------------------------------------
    def do_GET(self):
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        route = {"/": self.home, "/login": self.login, "/callback": self.callback, "/refresh": self.refresh,
                 "/logout": self.logout, "/signed-out": self.signed_out,
                 "/frontchannel-logout": self.frontchannel_logout,
                 "/health": lambda _q: self.send(200, b"ok", {"content-type": "text/plain"})}.get(url.path)
        if route is None:
            return self.send(404, page("Not found", ""))
        try:
            return route(q)
        except Exception as e:  # noqa: BLE001 — shown to the person trying it
            return self.refused("The relying party failed", f"{type(e).__name__}: {e}")

    def home(self, _q):
        sid = self.session_id()
        if sid is None:
            last = (f"<p id='backchannel'>The IdP's back channel last ended IdP session "
                    f"<code>{html.escape(LAST_LOGOUT['sid'])}</code> ({LAST_LOGOUT['ended']} local session(s) "
                    f"ended, {time.strftime('%H:%M:%S', time.localtime(LAST_LOGOUT['at']))}).</p>"
                    if LAST_LOGOUT else "")
            body = (f"{last}<p>Not signed in.</p><p><a href='/login'>Sign in with Acme</a> · "
                    "<a href='/login?prompt=login'>… asking for a fresh sign-in</a> · "
                    "<a href='/login?prompt=none'>… silently (prompt=none)</a></p>")
            return self.send(200, page("Demo relying party", body))
        s = SESSIONS[sid]
        body = (f"<p>Signed in as <strong id='name'>{html.escape(str(s['claims'].get('name', s['claims']['sub'])))}"
                f"</strong> (sub <code id='sub'>{html.escape(s['claims']['sub'])}</code>).</p>"
                f"<h2>id_token claims</h2>{table(s['claims'])}"
                f"<h2>userinfo</h2>{table(s['userinfo'])}"
                "<p><a href='/refresh'>Refresh the tokens</a> · <a href='/logout'>Sign out</a></p>")
        return self.send(200, page("Demo relying party", body))

    def login(self, q):
        state, nonce, verifier = generate_token(24), generate_token(24), generate_token(48)
        PENDING[state] = {"nonce": nonce, "verifier": verifier, "created": time.time()}
        params = {"nonce": nonce, "code_challenge": create_s256_code_challenge(verifier),
                  "code_challenge_method": "S256"}
        if q.get("prompt") in ("login", "consent", "none"):
            params["prompt"] = q["prompt"]
        url, _ = self.oauth(scope="openid profile email roles offline_access").create_authorization_url(
            self.meta()["authorization_endpoint"], state=state, **params)
        return self.redirect(url)

    def callback(self, q):
        pending = PENDING.pop(q.get("state", ""), None)
        if pending is None or time.time() - pending["created"] > 600:
            return self.refused("Sign-in refused", "unknown or expired state")
        if q.get("iss") and q["iss"] != self.meta()["issuer"]:
            return self.refused("Sign-in refused", "the response names another issuer")
        if "error" in q:
            return self.refused(f"The provider answered {q['error']}", q.get("error_description", ""))
        tokens = self.oauth().fetch_token(self.meta()["token_endpoint"], code=q.get("code", ""),
                                          code_verifier=pending["verifier"], verify=False)
        claims = self.check_id_token(tokens["id_token"], pending["nonce"])
        userinfo = requests.get(self.meta()["userinfo_endpoint"], verify=False, timeout=10,
                                headers={"authorization": f"Bearer {tokens['access_token']}"}).json()
        if userinfo.get("sub") != claims["sub"]:
            return self.refused("Sign-in refused", "userinfo is about someone else")
        sid = secrets.token_urlsafe(16)
        SESSIONS[sid] = {"tokens": tokens, "claims": claims, "userinfo": userinfo}
        return self.redirect("/", f"{COOKIE}={sid}; Path=/; Secure; HttpOnly; SameSite=Lax")

    def refresh(self, _q):
        sid = self.session_id()
        if sid is None or "refresh_token" not in SESSIONS[sid]["tokens"]:
            return self.redirect("/")
        s = SESSIONS[sid]
        tokens = self.oauth().refresh_token(self.meta()["token_endpoint"], s["tokens"]["refresh_token"],
                                            verify=False)
        if "id_token" in tokens:
            claims = self.check_id_token(tokens["id_token"], None)
            if claims["sub"] != s["claims"]["sub"]:
                return self.refused("Refresh refused", "the new id_token is about someone else")
            s["claims"] = claims
        s["tokens"] = {**s["tokens"], **tokens}
        return self.redirect("/")

    def logout(self, _q):
        sid = self.session_id()
        s = SESSIONS.pop(sid, None) if sid else None
        state = generate_token(16)
        params = {"post_logout_redirect_uri": f"{self.origin}/signed-out", "state": state,
                  "client_id": self.client_id}
        if s:
            params["id_token_hint"] = s["tokens"]["id_token"]
        return self.redirect(f"{self.meta()['end_session_endpoint']}?{urlencode(params)}",
                             f"{COOKIE}=; Path=/; Secure; HttpOnly; Max-Age=0")

    def signed_out(self, _q):
        return self.send(200, page("Signed out", "<p>You are signed out of the demo relying party and of "
                                                 "the IdP.</p><p><a href='/'>Home</a></p>"))

    def frontchannel_logout(self, q):
        # The IdP ended the session elsewhere: drop every local session of that IdP session.
        if q.get("iss") == self.meta()["issuer"]:
            for sid in [k for k, v in SESSIONS.items() if v["claims"].get("sid") == q.get("sid")]:
                SESSIONS.pop(sid, None)
        return self.send(200, b"", {"content-type": "text/plain"})


class BackChannel(BaseHTTPRequestHandler):
    """The back-channel logout endpoint, server to server (plain HTTP on loopback)."""

    def log_message(self, fmt, *args):
        sys.stderr.write("demo-rp back channel: " + (fmt % args) + "\n")

    def answer(self, status: int, body: dict | None = None):
        data = json.dumps(body).encode() if body else b""
        self.send_response(status)
        self.send_header("cache-control", "no-store")
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # noqa: N802 — http.server's naming
        if urlsplit(self.path).path != "/backchannel-logout":
            return self.answer(404)
        length = int(self.headers.get("content-length") or 0)
        form = parse_qs(self.rfile.read(min(length, 65536)).decode("utf-8", "replace"))
        try:
            claims = Handler.check_logout_token(form.get("logout_token", [""])[0])
        except Exception as e:  # noqa: BLE001 — answered, and logged here
            reason = f"{type(e).__name__}: {e}"
            sys.stderr.write(f"demo-rp back channel: logout token refused: {reason}\n")
            return self.answer(400, {"error": "invalid_request", "error_description": reason})
        ended = [k for k, v in SESSIONS.items() if v["claims"].get("sid") == claims.get("sid")]
        for sid in ended:
            SESSIONS.pop(sid, None)
        LAST_LOGOUT.update(sid=claims.get("sid", ""), ended=len(ended), at=time.time())
        return self.answer(200)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=8793)
    ap.add_argument("--issuer", required=True, help="the tenant's issuer, e.g. https://acme.localhost:8787")
    ap.add_argument("--client-id", default="demo-rp")
    ap.add_argument("--client-secret", default="demo-rp-secret")
    ap.add_argument("--tls-cert", required=True)
    ap.add_argument("--tls-key", required=True)
    ap.add_argument("--backchannel-port", type=int, default=8794,
                    help="plain-HTTP loopback port of the back-channel logout endpoint")
    args = ap.parse_args()
    requests.packages.urllib3.disable_warnings()
    Handler.issuer = args.issuer.rstrip("/")
    Handler.origin = f"https://127.0.0.1:{args.port}"
    Handler.client_id, Handler.client_secret = args.client_id, args.client_secret
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.tls_cert, args.tls_key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    back = ThreadingHTTPServer(("127.0.0.1", args.backchannel_port), BackChannel)
    threading.Thread(target=back.serve_forever, daemon=True).start()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
