"""The sign-in journey in a real browser (headless Chromium through selenium), on each runtime:
iMIS Cloud mode through the emulator's RiSE Single Sign On page, silent sign-in, sign-out through
iMIS's logout.aspx, the legacy sign-in form, the pages' Content-Security-Policy, and two tabs
signing in at once.

Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian packages) and the PyPI `selenium`
package; the tests are skipped when any of them is missing. Screenshots go to
tests/artifacts/screenshots/{runtime}-{test}-{step}.png.
"""
from __future__ import annotations

import contextlib
import http.server
import json
import shutil
import tempfile
import threading
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import urllib3

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests/artifacts/screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PASSWORD = "Member-Passw0rd"
WAIT_SECONDS = 20

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="needs /usr/bin/chromium and /usr/bin/chromedriver",
)

CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--ignore-certificate-errors", "--window-size=1100,900",
]


# -- fixtures and helpers ---------------------------------------------------------------------

class Browser:
    """One Chromium with a fresh profile, plus the stack it tests and screenshot naming."""

    def __init__(self, driver, stack, test_name: str):
        self.driver = driver
        self.stack = stack
        self.test_name = test_name

    # URLs
    def idp(self, host: str, path: str = "/") -> str:
        return self.stack.url(host, path)

    @property
    def imis_host(self) -> str:
        return urlsplit(self.stack.imis_origin).netloc

    def where(self) -> tuple[str, str]:
        """(host:port, path) of the current page."""
        u = urlsplit(self.driver.current_url)
        return u.netloc, u.path

    # evidence
    def shot(self, step: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.stack.runtime}-{self.test_name}-{step}.png"
        self.driver.save_screenshot(str(path))
        return path

    def page_text(self) -> str:
        try:
            return self.driver.find_element(By.TAG_NAME, "body").text
        except Exception:  # noqa: BLE001 — only for messages
            return "<no body>"

    # waiting
    def wait_for(self, what: str, condition, seconds: float = WAIT_SECONDS):
        """Waits until `condition(driver)` is truthy; on time-out fails with where the browser is."""
        try:
            return WebDriverWait(self.driver, seconds, poll_frequency=0.1).until(condition)
        except TimeoutException:
            self.shot(f"timeout-{what.replace(' ', '-')[:40]}")
            try:
                logs = [e["message"] for e in self.driver.get_log("browser") if e.get("level") == "SEVERE"]
            except Exception:  # noqa: BLE001 — only for messages
                logs = []
            raise AssertionError(
                f"timed out waiting for {what}; the browser is at {self.driver.current_url}\n"
                f"page text: {self.page_text()[:800]}\nbrowser errors: {logs}"
            ) from None

    def wait_page(self, what: str, host: str, path: str | None, css: str | None = None,
                  seconds: float = WAIT_SECONDS):
        """Waits until the browser shows `host` (host:port) at `path` (None = any) with a loaded
        document, and `css` present (returns that element)."""

        def ready(d):
            netloc, p = self.where()
            if netloc != host or (path is not None and p != path):
                return False
            try:
                if d.execute_script("return document.readyState") != "complete":
                    return False
                if css is None:
                    return True
                found = d.find_elements(By.CSS_SELECTOR, css)
                return found[0] if found else False
            except Exception:  # noqa: BLE001 — the page changed under us: keep polling
                return False

        return self.wait_for(what, ready, seconds)

    def idp_host(self, host: str) -> str:
        return f"{host}:{self.stack.idp_port}"

    # the emulator
    def emulator_requests(self) -> list[dict]:
        r = requests.get(f"{self.stack.imis_origin}/__emulator/requests", timeout=10)
        r.raise_for_status()
        return r.json()

    def wait_emulator_form(self, step: str):
        """The emulator's RiSE Single Sign On page, showing its sign-in form."""
        self.wait_page(f"the emulator sign-in form ({step})", self.imis_host, "/acme/sso/EdgeIdP-OIDC",
                       "form#signin-form input[name=username]")
        self.shot(step)

    def fill_and_submit(self, username: str, password: str) -> None:
        d = self.driver
        user = d.find_element(By.CSS_SELECTOR, "form#signin-form input[name=username]")
        user.clear()
        user.send_keys(username)
        pw = d.find_element(By.CSS_SELECTOR, "form#signin-form input[name=password]")
        pw.clear()
        pw.send_keys(password)
        d.find_element(By.CSS_SELECTOR, "form#signin-form button[type=submit]").click()

    def sign_in_acme(self, username: str = "jsmith", password: str = PASSWORD) -> None:
        """From the acme home page (not signed in) through the emulator back to the home page."""
        d = self.driver
        d.get(self.idp("acme.localhost", "/"))
        link = self.wait_page("the acme home page with a sign-in link", self.idp_host("acme.localhost"), "/",
                              "#signin-link")
        self.shot("home-signed-out")
        link.click()
        self.wait_emulator_form("imis-signin-form")
        self.fill_and_submit(username, password)
        self.wait_page("the acme home page, signed in", self.idp_host("acme.localhost"), "/", "#signed-in")
        self.shot("home-signed-in")

    def severe_logs(self) -> list[dict]:
        return [e for e in self.driver.get_log("browser") if e.get("level") == "SEVERE"]


def _new_driver(profile: str):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit chromedriver: selenium-manager never runs, so nothing is downloaded.
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


@pytest.fixture
def browser(stack, request):
    r = requests.post(f"{stack.imis_origin}/__emulator/reset", timeout=10)
    assert r.status_code in (200, 204), f"emulator reset failed: {r.status_code} {r.text}"
    name = request.node.originalname.removeprefix("test_")
    for old in SCREENSHOTS.glob(f"{stack.runtime}-{name}-*.png"):
        old.unlink()  # no stale evidence from an earlier run
    profile = tempfile.mkdtemp(prefix="edge-idp-chromium-")
    driver = _new_driver(profile)
    driver.set_page_load_timeout(30)
    try:
        yield Browser(driver, stack, name)
    finally:
        try:
            driver.quit()
        finally:
            shutil.rmtree(profile, ignore_errors=True)


def sso_requests(log: list[dict]) -> list[dict]:
    return [e for e in log if e.get("endpoint") == "sso" or "/sso/" in e.get("path", "").lower()]


# -- tests ------------------------------------------------------------------------------------

def test_imis_cloud_signin_then_silent_signin(browser):
    b, d = browser, browser.driver
    b.sign_in_acme()
    signed_in = d.find_element(By.ID, "signed-in").text
    assert "Jane Smith" in signed_in, signed_in
    assert "jsmith" in signed_in and "101" in signed_in, signed_in
    seen = b.emulator_requests()
    assert sso_requests(seen), f"the sign-in went through the emulator's SSO page: {seen}"
    assert any(e.get("endpoint") == "token" and e.get("grant_type") == "refresh_token" for e in seen), \
        "the IdP redeemed the hand-off refresh token"
    last_seq = max(e["seq"] for e in seen)

    # Silent sign-in: a valid IdP session sends the browser straight back.
    d.get(b.idp("acme.localhost", "/signin"))
    b.wait_page("the acme home page after a silent sign-in", b.idp_host("acme.localhost"), "/", "#signed-in")
    b.shot("silent-signin")
    assert "Jane Smith" in d.find_element(By.ID, "signed-in").text
    new = [e for e in b.emulator_requests() if e["seq"] > last_seq]
    assert not sso_requests(new), f"a silent sign-in must not visit iMIS again: {new}"

    # Also with a return path.
    d.get(b.idp("acme.localhost", "/signin?return=/healthz"))
    b.wait_page("/healthz after a silent sign-in", b.idp_host("acme.localhost"), "/healthz")
    assert json.loads(b.page_text())["tenant"] == "acme"
    new = [e for e in b.emulator_requests() if e["seq"] > last_seq]
    assert not sso_requests(new), f"a silent sign-in must not visit iMIS again: {new}"


def test_signout_goes_through_imis_logout(browser):
    b, d = browser, browser.driver
    b.sign_in_acme()
    last_seq = max(e["seq"] for e in b.emulator_requests())

    d.find_element(By.CSS_SELECTOR, "form[action='/signout'] button[type=submit]").click()
    # Either the signed-out page, or (fail fast) the browser refusing the form's redirect chain.
    refused: list[str] = []

    def signed_out_or_refused(_):
        refused.extend(e["message"] for e in b.severe_logs() if "form-action" in e["message"])
        return bool(refused) or (b.where() == (b.idp_host("acme.localhost"), "/signed-out")
                                 and d.find_elements(By.CSS_SELECTOR, "h1"))

    b.wait_for("the signed-out page", signed_out_or_refused)
    b.shot("after-signout-click")
    assert not refused, (
        "the browser blocked the sign-out: POST /signout answers 303 to iMIS's logout.aspx, and the "
        f"page's CSP form-action does not allow that origin: {refused}")
    heading = b.wait_page("the signed-out page", b.idp_host("acme.localhost"), "/signed-out", "h1")
    assert "You are signed out" in heading.text, b.page_text()
    new = [e for e in b.emulator_requests() if e["seq"] > last_seq]
    assert any(e.get("endpoint") == "logout" for e in new), \
        f"the browser went through iMIS's logout.aspx: {new}"

    d.get(b.idp("acme.localhost", "/"))
    link = b.wait_page("the acme home page, signed out", b.idp_host("acme.localhost"), "/", "#signin-link")
    b.shot("home-after-signout")
    assert not d.find_elements(By.ID, "signed-in")

    # Both sessions ended: signing in again asks for the iMIS password again.
    link.click()
    b.wait_emulator_form("imis-signin-form-again")


def test_legacy_signin_form(browser):
    b, d = browser, browser.driver
    host = b.idp_host("globex.localhost")
    d.get(b.idp("globex.localhost", "/signin"))
    b.wait_page("the globex sign-in form", host, "/signin", "#signin-form")
    b.shot("signin-form")
    assert not d.find_elements(By.ID, "signin-error")
    assert d.find_element(By.ID, "username").is_displayed()
    assert d.find_element(By.ID, "password").get_attribute("type") == "password"

    b.fill_and_submit("hsimpson", "Wrong-Passw0rd")
    error = b.wait_page("the sign-in error", host, "/signin", "#signin-error")
    b.shot("wrong-password")
    assert "The username or password is not correct." in error.text
    assert not d.find_elements(By.ID, "signed-in")

    b.fill_and_submit("hsimpson", PASSWORD)
    signed_in = b.wait_page("the globex home page, signed in", host, "/", "#signed-in")
    b.shot("home-signed-in")
    assert "Homer Simpson" in signed_in.text, signed_in.text


@contextlib.contextmanager
def framing_site(target: str):
    """A plain-http page on 127.0.0.1 (another origin) that puts `target` in an iframe."""
    html = (f'<!doctype html><html><body><p>Another site</p>'
            f'<iframe id="framed" src="{target}" width="900" height="600"></iframe></body></html>').encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 — http.server's naming
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _rgb(hex_colour: str) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return {f"rgb({r}, {g}, {b})", f"rgba({r}, {g}, {b}, 1)"}


def test_pages_obey_their_csp_and_refuse_framing(browser):
    b, d = browser, browser.driver
    pages = [
        ("acme.localhost", "/", "#signin-link", "#0b5394"),
        ("acme.localhost", "/signed-out", "h1", "#0b5394"),
        ("acme.localhost", "/no/such/page", "h1", "#0b5394"),
        ("globex.localhost", "/signin", "#signin-form", "#7a1f2b"),
    ]
    for host, path, css, primary in pages:
        d.get(b.idp(host, path))
        b.wait_page(f"{host}{path}", b.idp_host(host), None, css)
        b.shot(f"{host.split('.')[0]}{path.replace('/', '-').rstrip('-') or '-home'}")
        # The nonce'd style sheet applies: the header carries the tenant's colour.
        header = d.find_element(By.CSS_SELECTOR, "header")
        assert header.value_of_css_property("background-color") in _rgb(primary), \
            f"{host}{path}: the page's style did not apply (blocked by its CSP?)"
        csp_errors = [e for e in b.severe_logs() if "content security policy" in e["message"].lower()
                      or "content-security-policy" in e["message"].lower()]
        assert not csp_errors, f"{host}{path}: {csp_errors}"

    # Signed in (legacy form): the home page with its sign-out form.
    d.get(b.idp("globex.localhost", "/signin"))
    b.wait_page("the globex sign-in form", b.idp_host("globex.localhost"), "/signin", "#signin-form")
    b.fill_and_submit("jsmith", PASSWORD)
    b.wait_page("the globex home page, signed in", b.idp_host("globex.localhost"), "/", "#signed-in")
    b.shot("globex-home-signed-in")
    logs = b.severe_logs()
    assert not [e for e in logs if "security policy" in e["message"].lower()], logs
    assert not [e for e in logs if "uncaught" in e["message"].lower()], logs

    # Framing is refused, by header...
    for host in ("acme.localhost", "globex.localhost"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            r = requests.get(b.idp(host, "/"), verify=False, timeout=30)
        assert r.status_code == 200
        csp = r.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp, csp
    # ...and by the browser: another site (a local page) that frames the home page.
    with framing_site(b.idp("acme.localhost", "/")) as outer:
        d.get(outer)
        b.wait_page("the framing page", urlsplit(outer).netloc, "/", "iframe#framed")
        refused = b.wait_for("the browser to refuse the frame", lambda _: [
            e for e in d.get_log("browser") if "frame-ancestors" in e["message"]
        ])
        b.shot("framed-elsewhere")
    assert "acme.localhost" in refused[0]["message"], refused


def test_two_tabs_sign_in_at_once(browser):
    b, d = browser, browser.driver
    host = b.idp_host("acme.localhost")
    d.get(b.idp("acme.localhost", "/signin?return=/healthz"))
    b.wait_emulator_form("tab1-imis-form")
    tab1 = d.current_window_handle

    d.switch_to.new_window("tab")
    tab2 = d.current_window_handle
    d.get(b.idp("acme.localhost", "/signin?return=/"))
    b.wait_emulator_form("tab2-imis-form")

    b.fill_and_submit("jsmith", PASSWORD)
    b.wait_page("tab 2 on the home page, signed in", host, "/", "#signed-in")
    b.shot("tab2-home-signed-in")
    assert "Jane Smith" in d.find_element(By.ID, "signed-in").text

    # Tab 1: the emulator now knows the member and hands off at once.
    d.switch_to.window(tab1)
    d.refresh()
    b.wait_page("tab 1 back on the IdP at /healthz", host, "/healthz", "body")
    b.shot("tab1-healthz")
    text = b.page_text()
    assert "Sign-in was not started here" not in text and "could not" not in text, text
    assert json.loads(text)["tenant"] == "acme", text

    # Both tabs are signed in to the IdP.
    for handle in (tab1, tab2):
        d.switch_to.window(handle)
        d.get(b.idp("acme.localhost", "/"))
        b.wait_page("the home page, signed in", host, "/", "#signed-in")
    b.shot("tab2-home-again")
