"""OIDC front-channel logout in a real browser (headless Chromium through selenium), on each
runtime: the frame on the IdP's last logout page really loads the participant's front-channel
logout URI, here a local HTTPS listener registered as an OIDC client of acme.

Needs what tests/e2e/test_browser.py needs (Chromium, chromedriver, selenium); skipped without.
"""
from __future__ import annotations

import base64
import hashlib
import http.server
import json
import secrets
import ssl
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from test_browser import CHROMEDRIVER, CHROMIUM, PASSWORD, browser  # noqa: E402,F401

import stack as stack_mod  # noqa: E402  (scripts/, put on sys.path by conftest)

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="needs /usr/bin/chromium and /usr/bin/chromedriver",
)

HOST = "acme.localhost"
CLIENT = "t-frontchannel"
SECRET = "t-frontchannel-secret"


class Listener:
    """A local HTTPS site (the stack's self-signed certificate) that records every request."""

    def __init__(self, stack):
        self.seen: list[tuple[str, dict]] = []
        seen = self.seen

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 — http.server's naming
                u = urlsplit(self.path)
                seen.append((u.path, {k: v[0] for k, v in parse_qs(u.query).items()}))
                body = b"<!doctype html><title>rp</title><p>ok</p>"
                self.send_response(200)
                self.send_header("content-type", "text/html")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        cert, key = stack_mod.local_certificate(stack.state)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.origin = f"https://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def requests_to(self, path: str) -> list[dict]:
        return [q for p, q in list(self.seen) if p == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def relying_party(stack):
    """The listener, registered in acme as a confidential OIDC client whose redirect and
    front-channel logout URIs are on it (written to the rendered folder and pushed)."""
    site = Listener(stack)
    digest = base64.urlsafe_b64encode(hashlib.sha256(SECRET.encode()).digest()).rstrip(b"=").decode()
    client = {
        "schema_version": 1, "id": CLIENT, "name": "Front-channel test RP", "type": "confidential",
        "token_endpoint_auth_method": "client_secret_basic", "client_secret_hash": f"sha256:{digest}",
        "redirect_uris": [f"{site.origin}/callback"],
        "frontchannel_logout_uri": f"{site.origin}/frontchannel-logout?rp=1",
        "id_token_signed_response_alg": "RS256", "no_access_mapping": "S",
        "profile_iqa": "$/EdgeIdP/Profile",
    }
    folder = stack.tenant_folder("acme")
    (folder / "oidc" / f"{CLIENT}.json").write_text(json.dumps(client, indent=2))
    stack.push(folder)
    yield site
    site.close()


def test_frontchannel_logout_frame_reaches_the_participant(stack, browser, relying_party):
    b, d, site = browser, browser.driver, relying_party
    # Sign in to the test RP in Chromium (through the emulator's RiSE page).
    state = "st-" + secrets.token_hex(4)
    d.get(stack.url(HOST, "/oidc/authorize?" + urlencode({
        "response_type": "code", "client_id": CLIENT, "redirect_uri": f"{site.origin}/callback",
        "scope": "openid", "state": state, "nonce": "n-" + secrets.token_hex(4)})))
    b.wait_emulator_form("imis-signin-form")
    b.fill_and_submit("jsmith", PASSWORD)
    b.wait_for("the RP's callback", lambda _: site.requests_to("/callback"))
    callback = site.requests_to("/callback")[0]
    assert callback["state"] == state and callback["code"], callback
    token = requests.post(stack.url(HOST, "/oidc/token"), auth=(CLIENT, SECRET), verify=False, timeout=30, data={
        "grant_type": "authorization_code", "code": callback["code"], "redirect_uri": f"{site.origin}/callback"})
    assert token.status_code == 200, token.text
    payload = token.json()["id_token"].split(".")[1]
    sid = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sid"]
    assert sid and not site.requests_to("/frontchannel-logout")

    # Another client (demo-spa, client_id only) starts RP-initiated logout; the member confirms.
    d.get(stack.url(HOST, "/oidc/logout?" + urlencode({
        "client_id": "demo-spa", "post_logout_redirect_uri": "https://demo-spa.localhost/", "state": "bye"})))
    button = b.wait_page("the sign-out confirmation", b.idp_host(HOST), "/oidc/logout",
                         "form#oidc-logout button[type=submit]")
    b.shot("confirm")
    button.click()
    # The last page's hidden frame loads the RP's front-channel logout URI in the browser.
    b.wait_for("the front-channel logout request at the RP",
               lambda _: site.requests_to("/frontchannel-logout"))
    hits = site.requests_to("/frontchannel-logout")
    assert hits == [{"rp": "1", "iss": stack.url(HOST, "").rstrip("/"), "sid": sid}], hits
    assert not [e for e in b.severe_logs() if "frame-src" in e["message"] or "Content Security" in e["message"]]
    # The session is over: prompt=none in the same browser now answers login_required.
    d.get(stack.url(HOST, "/oidc/authorize?" + urlencode({
        "response_type": "code", "client_id": CLIENT, "redirect_uri": f"{site.origin}/callback", "scope": "openid",
        "state": "after", "prompt": "none"})))
    b.wait_for("the RP's error callback", lambda _: len(site.requests_to("/callback")) == 2)
    after = site.requests_to("/callback")[1]
    assert after["error"] == "login_required" and after["state"] == "after", after


def test_demo_rp_sign_in_and_out_in_a_browser(browser):
    """What a new user does after `scripts/dev`: the demo relying party (scripts/demo_rp.py)
    signs in through the IdP and the emulated iMIS page, shows the claims, and signs out of the
    RP, the IdP and iMIS (RP-initiated logout) — every page and redirect in a real browser."""
    b, d = browser, browser.driver
    b.stack.start_demo_rp()
    rp_host = urlsplit(b.stack.rp_origin).netloc
    d.get(b.stack.rp_origin + "/")
    link = b.wait_page("the demo RP, signed out", rp_host, "/", "a[href='/login']")
    link.click()
    b.wait_emulator_form("demo-rp-imis-signin")
    b.fill_and_submit("jsmith", PASSWORD)
    name = b.wait_page("the demo RP, signed in", rp_host, "/", "#name")
    b.shot("demo-rp-signed-in")
    assert name.text == "Jane Smith"
    assert "preferred_username" in b.page_text() and "Member" in b.page_text(), b.page_text()[:800]
    d.find_element(By.CSS_SELECTOR, "a[href='/logout']").click()
    b.wait_page("the demo RP's signed-out page", rp_host, "/signed-out", "h1")
    b.shot("demo-rp-signed-out")
    assert "signed out" in b.page_text()
    assert not [e for e in b.severe_logs() if "security policy" in e["message"].lower()], b.severe_logs()
    # Both sessions ended: signing in again asks iMIS for the password.
    d.get(b.stack.rp_origin + "/login")
    b.wait_emulator_form("demo-rp-imis-signin-again")
