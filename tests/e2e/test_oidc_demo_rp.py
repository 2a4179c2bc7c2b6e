"""The demo relying party that `scripts/dev` starts (scripts/demo_rp.py, authlib, client demo-rp):
what a new user does right after `scripts/dev` — sign in, see the claims, refresh, sign out — on
each runtime, following every redirect like a browser."""
from __future__ import annotations

import re

import pytest

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
