"""The token bridge in a real browser (headless Chromium), on each runtime: the demo vendor's page
signs the member in through the IdP and iMIS, then pings the IdP from the page with JSONP (a
script tag) and CORS (fetch with credentials) and shows "Welcome Jane!" from the ping's token; the
vendor's sign-out goes through the IdP and iMIS back to the vendor, after which both pings say
"not signed in". Skipped without Chromium, like tests/e2e/test_browser.py."""
from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_browser import browser  # noqa: E402,F401 — the fixture (skips without Chromium)

By = pytest.importorskip("selenium.webdriver.common.by").By


def text_of(b, css: str) -> str:
    found = b.driver.find_elements(By.CSS_SELECTOR, css)
    return found[0].text if found else ""


def wait_text(b, what: str, css: str, expected: str) -> None:
    b.wait_for(what, lambda d: text_of(b, css) == expected)


def test_vendor_page_signs_in_pings_and_signs_out(browser):  # noqa: F811 — the fixture
    b = browser
    vendor = b.stack.vendor_origin
    vendor_host = urlsplit(vendor).netloc
    b.driver.get(f"{vendor}/")
    b.wait_page("the vendor home page", vendor_host, "/", "#login-query")
    wait_text(b, "the JSONP ping (signed out)", "#jsonp-status", "not signed in")
    wait_text(b, "the CORS ping (signed out)", "#cors-status", "not signed in")
    b.shot("vendor-signed-out")
    b.driver.find_element(By.CSS_SELECTOR, "#login-query").click()
    b.wait_emulator_form("imis-signin-form")
    b.fill_and_submit("jsmith", "Member-Passw0rd")
    b.wait_page("the vendor home page, signed in", vendor_host, "/", "#vendor-user")
    assert text_of(b, "#vendor-user") == "Jane Smith"
    wait_text(b, "the JSONP ping (signed in)", "#jsonp-status", "signed in")
    wait_text(b, "the CORS ping (signed in)", "#cors-status", "signed in (token received)")
    wait_text(b, "the welcome from the ping token", "#welcome", "Welcome Jane!")
    b.shot("vendor-signed-in")
    b.driver.find_element(By.CSS_SELECTOR, "#logout").click()
    # The IdP asks the member to confirm the sign-out (a GET alone ends nothing).
    confirm = b.wait_page("the IdP's sign-out confirmation", b.idp_host("acme.localhost"), "/bridge/demo-vendor/signout",
                          "form[method=post] [type=submit]")
    b.shot("vendor-signout-confirm")
    confirm.click()
    b.wait_page("the vendor's signed-out page", vendor_host, "/bye", "#bye")
    b.shot("vendor-bye")
    b.driver.get(f"{vendor}/")
    b.wait_page("the vendor home page again", vendor_host, "/", "#login-query")
    wait_text(b, "the JSONP ping after sign-out", "#jsonp-status", "not signed in")
    wait_text(b, "the CORS ping after sign-out", "#cors-status", "not signed in")
    assert not [e for e in b.severe_logs() if "bridge" in e.get("message", "")], b.severe_logs()
