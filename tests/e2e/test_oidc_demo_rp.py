"""The demo relying party that `scripts/dev` starts (scripts/demo_rp.py, authlib, client demo-rp):
what a new user does right after `scripts/dev` — sign in, see the claims, refresh, sign out — on
each runtime, following every redirect like a browser."""
from __future__ import annotations

import re
import time

import pytest
import requests

from test_foundation import audit_events
from test_signin import browser, emulator, imis_hand_off  # noqa: F401

JSMITH_CONTACT_KEY = "87EAD15E-B188-42E8-AE48-E9B8C2B24C94"


@pytest.fixture
def demo_rp(stack) -> str:
    stack.start_demo_rp()
    return stack.rp_origin


def open_page(s, url):
    return s.get(url, timeout=30, verify=False)  # follows redirects across the three origins


def test_demo_rp_sign_in_refresh_and_sign_out(stack, emulator, demo_rp):
    s = browser()
    assert "Not signed in" in open_page(s, demo_rp + "/").text
    # Sign in: the RP's authorization request ends at the emulated RiSE page.
    r = open_page(s, demo_rp + "/login")
    assert r.url.startswith(stack.imis_origin), r.url
    action, token = imis_hand_off(s, r.url, "jsmith")
    r = s.post(action, data={"refresh_token": token}, headers={"Origin": stack.imis_origin}, timeout=30, verify=False)
    assert r.status_code == 200 and r.url == demo_rp + "/", (r.url, r.text[:500])
    assert re.search(r"Signed in as <strong id='name'>Jane Smith</strong>", r.text), r.text[:800]
    assert f"<code id='sub'>{JSMITH_CONTACT_KEY}</code>" in r.text
    assert "&quot;jsmith&quot;" in r.text, "userinfo's preferred_username is shown"
    # Refresh: the page still shows the member (the RP checked the new id_token).
    r = open_page(s, demo_rp + "/refresh")
    assert r.url == demo_rp + "/" and "Jane Smith" in r.text, r.text[:500]
    # Sign out: IdP session, iMIS session (acme signs out of iMIS), back to the RP.
    r = open_page(s, demo_rp + "/logout")
    assert r.url.startswith(demo_rp + "/signed-out?state="), r.url
    assert "You are signed out" in r.text
    assert "Not signed in" in open_page(s, demo_rp + "/").text
    # prompt=none now answers login_required to the RP …
    r = open_page(s, demo_rp + "/login?prompt=none")
    assert r.status_code == 400 and "login_required" in r.text, r.text[:500]
    # … and iMIS asks for the password again (its session ended too).
    r = open_page(s, demo_rp + "/login")
    assert r.url.startswith(stack.imis_origin) and 'name="password"' in r.text, r.url


def signed_in_at_demo_rp(stack, demo_rp):
    """A browser signed in to the demo RP as jsmith, and the IdP's signed-in id_token claims."""
    s = browser()
    r = open_page(s, demo_rp + "/login")
    action, token = imis_hand_off(s, r.url, "jsmith")
    r = s.post(action, data={"refresh_token": token}, headers={"Origin": stack.imis_origin}, timeout=30, verify=False)
    assert r.status_code == 200 and "Signed in as" in r.text, (r.url, r.text[:500])
    sid = re.search(r"<td>sid</td><td>&quot;([^&]+)&quot;</td>", r.text)
    assert sid, r.text[:2000]
    return s, sid.group(1)


def test_signing_out_at_the_idp_ends_the_demo_rp_session_over_the_back_channel(stack, emulator, demo_rp):
    """OpenID Connect Back-Channel Logout: the member signs out at the IdP's own page and never
    loads the front-channel frame, yet the RP's session ends — the IdP POSTed a logout token that
    the RP (authlib) verified against the JWKS and matched to the id_token's sid."""
    s, sid = signed_in_at_demo_rp(stack, demo_rp)
    page = s.get(stack.url("acme.localhost", "/signout"), timeout=30, verify=False)
    token = re.search(r'name="t" value="([^"]+)"', page.text).group(1)
    r = s.post(stack.url("acme.localhost", "/signout"), data={"t": token}, timeout=30, verify=False,
               allow_redirects=False)
    assert r.status_code in (200, 303), r.text[:500]
    home = open_page(s, demo_rp + "/").text
    assert "Not signed in" in home, home[:800]
    assert f"ended IdP session <code>{sid}</code> (1 local session(s) ended" in home, home[:800]
    told = [e for e in audit_events(stack) if e["event"] == "oidc.backchannel_logout" and e.get("app") == "demo-rp"]
    assert told and told[-1]["outcome"] == "success", told[-3:]


def test_discovery_advertises_back_channel_logout(stack):
    meta = requests.get(stack.url("acme.localhost", "/.well-known/openid-configuration"), timeout=30,
                        verify=False).json()
    assert meta["backchannel_logout_supported"] is True
    assert meta["backchannel_logout_session_supported"] is True


def test_a_forged_logout_token_ends_nothing(stack, emulator, demo_rp):
    """The RP end of the contract, against what anyone who can reach it posts: a logout token for
    the member's real sid, signed with a guessed key, ends nothing."""
    s, sid = signed_in_at_demo_rp(stack, demo_rp)
    endpoint = f"{stack.rp_backchannel_origin}/backchannel-logout"
    forged = jwt_hs256({"iss": stack.url("acme.localhost", ""), "aud": "demo-rp", "sid": sid, "jti": "x",
                        "iat": int(time.time()), "exp": int(time.time()) + 60,
                        "events": {"http://schemas.openid.net/event/backchannel-logout": {}}})
    r = requests.post(endpoint, data={"logout_token": forged}, timeout=10)
    assert r.status_code == 400, r.text
    assert "Signed in as" in open_page(s, demo_rp + "/").text


def jwt_hs256(claims: dict) -> str:
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "logout+jwt"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(b"guessed", f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"
