"""The sign-in journey end to end on each runtime, through the iMIS emulator, with plain HTTP:
iMIS Cloud mode (RiSE Single Sign On page + refresh-token callback) for acme, iMIS 2017 legacy mode
(our own form, password checked at iMIS /token) for globex; silent sign-in, sign-out, throttling,
tampered cookies, and every iMIS failure through the emulator's fault injection."""
from __future__ import annotations

import html
import re
import secrets
import urllib.parse

import pytest
import requests
from requests.adapters import HTTPAdapter

PASSWORD = "Member-Passw0rd"


class Emulator:
    def __init__(self, stack):
        self.origin = stack.imis_origin

    def reset(self):
        requests.post(f"{self.origin}/__emulator/reset", timeout=10).raise_for_status()

    def fault(self, **fault):
        requests.post(f"{self.origin}/__emulator/faults", json=fault, timeout=10).raise_for_status()

    def clear_log(self):
        requests.delete(f"{self.origin}/__emulator/requests", timeout=10)

    def log(self) -> list[dict]:
        return requests.get(f"{self.origin}/__emulator/requests", timeout=10).json()

    def mint_refresh_token(self, username: str, site="acme", client_id="EdgeIdP-OIDC") -> str:
        r = requests.post(f"{self.origin}/__emulator/refresh-tokens", timeout=10,
                          json={"site": site, "client_id": client_id, "username": username})
        r.raise_for_status()
        return r.json()["refresh_token"]


@pytest.fixture
def emulator(stack):
    e = Emulator(stack)
    e.reset()
    yield e
    e.reset()


def browser() -> requests.Session:
    s = requests.Session()
    s.verify = False
    return s


def tampered(token: str) -> str:
    """`token` with its first character changed (to another one, always: a replaced character
    that happened to be the same would let a forgery test pass by chance)."""
    return ("y" if token[:1] == "x" else "x") + token[1:]


def get(s, url, **kw):
    return s.get(url, allow_redirects=False, timeout=30, verify=False, **kw)


def post(s, url, **kw):
    return s.post(url, allow_redirects=False, timeout=30, verify=False, **kw)


def start_cloud_sign_in(stack, s, return_to="/") -> str:
    """GET /signin on acme: returns the RiSE Single Sign On page it sends the browser to."""
    r = get(s, stack.url("acme.localhost", f"/signin?return={return_to}"))
    assert r.status_code == 303, r.text
    assert "__Host-idp-pending" in r.headers["set-cookie"]
    return r.headers["location"]


def from_imis(stack) -> dict:
    """The headers of the RiSE page's auto-posting hand-off form, as a browser sends them: the
    callbacks accept posts only from the iMIS origin (login CSRF)."""
    return {"Origin": stack.imis_origin}


def imis_hand_off(s, sso_url: str, user="jsmith", password=PASSWORD) -> tuple[str, str]:
    """Signs in at the emulated RiSE page; returns the hand-off form's action and refresh token."""
    page = s.get(sso_url, timeout=30)  # through iMIS's logout first when re-authentication is forced
    if 'name="password"' in page.text:
        page = s.post(page.url, data={"username": user, "password": password}, timeout=30)
    form = re.search(r'<form[^>]*id="sso-handoff"[^>]*>', page.text).group(0)
    action = html.unescape(re.search(r'action="([^"]+)"', form).group(1))
    token = re.search(r'name="refresh_token" value="([0-9a-f]{32})"', page.text).group(1)
    return action, token


def cloud_sign_in(stack, s, user="jsmith", return_to="/") -> requests.Response:
    action, token = imis_hand_off(s, start_cloud_sign_in(stack, s, return_to), user)
    assert action == stack.url("acme.localhost", "/imis/callback")
    return post(s, action, data={"refresh_token": token}, headers=from_imis(stack))


def signed_in_as(stack, s, host="acme.localhost") -> str | None:
    m = re.search(r'id="signed-in">Signed in as <strong>([^<]+)</strong>', get(s, stack.url(host, "/")).text)
    return m.group(1) if m else None


def test_cloud_mode_signs_in_through_the_rise_page(stack, emulator):
    s = browser()
    sso = start_cloud_sign_in(stack, s, "/healthz")
    assert sso == f"{stack.imis_origin}/acme/sso/EdgeIdP-OIDC", "the OIDC-family RiSE page of the tenant"
    action, token = imis_hand_off(s, sso)
    emulator.clear_log()
    r = post(s, action, data={"refresh_token": token}, headers=from_imis(stack))
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/healthz"
    log = emulator.log()
    calls = [e["path"] for e in log if e["status"] != 401]
    assert any(p.endswith("/token") for p in calls) and any("/api/User" in p for p in calls)
    # refresh grant, background token (when not cached), User, Person. A 401 on a background token
    # the emulator forgot (it is reset between tests) costs one renewal, as intended.
    assert len(calls) <= 4 + sum(1 for e in log if e["status"] == 401), f"iMIS calls per sign-in: {calls}"
    assert len([c for c in calls if "/api/" in c]) == 2, calls
    assert signed_in_as(stack, s) == "Jane Smith"


def test_silent_sign_in_does_not_go_back_to_imis(stack, emulator):
    s = browser()
    cloud_sign_in(stack, s)
    emulator.clear_log()
    r = get(s, stack.url("acme.localhost", "/signin?return=/healthz"))
    assert (r.status_code, r.headers["location"]) == (303, "/healthz")
    assert emulator.log() == []
    r = get(s, stack.url("acme.localhost", "/signin?prompt=login"))
    assert r.headers["location"].startswith(stack.imis_origin), "prompt=login asks iMIS again"


def test_a_callback_this_browser_did_not_start_is_refused(stack, emulator):
    token = emulator.mint_refresh_token("bwayne")
    s = browser()
    r = post(s, stack.url("acme.localhost", "/imis/callback"), data={"refresh_token": token},
             headers=from_imis(stack))
    assert r.status_code == 400
    assert "was not started here" in r.text
    assert signed_in_as(stack, s) is None


def test_tampered_session_cookie_is_ignored(stack, emulator):
    s = browser()
    cloud_sign_in(stack, s)
    cookie = next(c for c in s.cookies if c.name == "__Host-idp-session")
    cookie.value = cookie.value[:-4] + ("AAAA" if not cookie.value.endswith("AAAA") else "BBBB")
    assert signed_in_as(stack, s) is None


@pytest.mark.parametrize("fault,status,text", [
    ({"path_contains": "/token", "status": 503, "times": 1}, 502, "membership system is unavailable"),
    ({"path_contains": "/api/Person", "garbage": True}, 502, "membership system is unavailable"),
    ({"path_contains": "/api/User", "hang": True}, 504, "not responding"),
])
def test_imis_failures_give_a_branded_page_and_no_session(stack, emulator, fault, status, text):
    s = browser()
    action, token = imis_hand_off(s, start_cloud_sign_in(stack, s))
    emulator.fault(**fault)
    r = post(s, action, data={"refresh_token": token}, headers=from_imis(stack))
    assert r.status_code == status, r.text
    assert text in r.text and "Acme Professional Association" in r.text
    assert 'href="/signin"' in r.text, "a retry link"
    assert "__Host-idp-session" not in r.headers.get("set-cookie", "")
    emulator.reset()
    assert signed_in_as(stack, s) is None


def test_expired_refresh_token_and_disabled_member(stack, emulator):
    s = browser()
    action, token = imis_hand_off(s, start_cloud_sign_in(stack, s))
    requests.post(f"{stack.imis_origin}/__emulator/expire-tokens", json={"site": "acme"}, timeout=10)
    r = post(s, action, data={"refresh_token": token}, headers=from_imis(stack))
    assert r.status_code == 400 and "could not be confirmed" in r.text
    s = browser()
    start_cloud_sign_in(stack, s)
    r = post(s, stack.url("acme.localhost", "/imis/callback"),
             data={"refresh_token": emulator.mint_refresh_token("disabled")}, headers=from_imis(stack))
    # The emulator (strictly) refuses a disabled login at /token already; the IdP's own IsDisable
    # check behind a token that iMIS did grant is covered by the core's unit tests.
    assert r.status_code == 400 and "could not be confirmed" in r.text
    assert signed_in_as(stack, s) is None


def test_sign_out_also_signs_out_of_imis(stack, emulator):
    s = browser()
    cloud_sign_in(stack, s)
    page = get(s, stack.url("acme.localhost", "/signout"))
    token = re.search(r'name="t" value="([^"]+)"', page.text).group(1)
    r = post(s, stack.url("acme.localhost", "/signout"), data={"t": token})
    assert r.status_code == 303
    logout = r.headers["location"]
    assert logout.startswith(f"{stack.imis_origin}/acme/AsiCommon/Controls/Shared/FormsAuthentication/logout.aspx?returnurl=")
    back = s.get(logout, allow_redirects=False, timeout=30)
    assert back.status_code == 302 and back.headers["location"] == stack.url("acme.localhost", "/signed-out")
    assert "You are signed out" in get(s, back.headers["location"]).text
    assert signed_in_as(stack, s) is None
    # The emulator's own session ended too: the RiSE page asks for the password again.
    assert 'name="password"' in s.get(f"{stack.imis_origin}/acme/sso/EdgeIdP-OIDC", timeout=30).text


class FromAddress(HTTPAdapter):
    """Connects from a given local address."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def loopback_address() -> str:
    """A random 127.x.y.z: another client to the IdP, with throttle counts of its own."""
    return f"127.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"


def browser_at(address: str) -> requests.Session:
    """A browser whose requests come from `address`: both runtimes take the address from the
    connection (wrangler dev sets cf-connecting-ip from the peer, as Cloudflare's edge does; the
    Spin route's TLS terminator sets spin-client-addr), so it connects from there."""
    s = browser()
    adapter = FromAddress(address)
    s.mount("https://", adapter)
    s.mount("http://", adapter)
    return s


def legacy_form(stack, s, return_to="/") -> str:
    r = get(s, stack.url("globex.localhost", f"/signin?return={return_to}"))
    assert r.status_code == 303 and r.headers["location"].startswith("/signin?p=")
    form = get(s, stack.url("globex.localhost", r.headers["location"]))
    assert form.status_code == 200 and 'id="signin-form"' in form.text
    assert "Forgot your password?" in form.text and "Create an account" in form.text
    return re.search(r'name="p" value="([^"]+)"', form.text).group(1)


def test_legacy_mode_checks_the_password_at_imis(stack, emulator):
    s = browser()
    p = legacy_form(stack, s, "/healthz")
    url = stack.url("globex.localhost", "/signin")
    wrong = post(s, url, data={"p": p, "username": "hsimpson", "password": "nope"})
    unknown = post(s, url, data={"p": p, "username": "no-such-member", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    message = "The username or password is not correct."
    assert message in wrong.text and message in unknown.text, "one generic message"
    r = post(s, url, data={"p": p, "username": "hsimpson", "password": PASSWORD})
    assert (r.status_code, r.headers["location"]) == (303, "/healthz")
    assert signed_in_as(stack, s, "globex.localhost") == "Homer Simpson"
    paths = [e["path"] for e in emulator.log()]
    assert "/globex/Asi.Scheduler_iMIS/token" in paths, "the 2017 API path"


# A member only this test signs in as: the throttle it trips holds for its whole window, and
# other tests (the isolation suite among them) sign in as the other members.
THROTTLED = "mburns"


def test_legacy_mode_throttles_before_imis_locks_the_account(stack, emulator):
    s = browser()
    p = legacy_form(stack, s)
    url = stack.url("globex.localhost", "/signin")
    for _ in range(4):
        assert post(s, url, data={"p": p, "username": THROTTLED, "password": "wrong"}).status_code == 401
    emulator.clear_log()
    r = post(s, url, data={"p": p, "username": THROTTLED.upper(), "password": PASSWORD})
    assert r.status_code == 429 and "Too many unsuccessful attempts" in r.text
    assert not any(e["path"].endswith("/token") for e in emulator.log()), "nothing reaches iMIS"
    # iMIS never saw a fifth bad password, so the account is not locked there.
    ok = requests.post(f"{stack.imis_origin}/globex/Asi.Scheduler_iMIS/token", timeout=10,
                       data={"grant_type": "password", "username": THROTTLED, "password": PASSWORD})
    assert ok.status_code == 200


def test_sign_in_events_are_audited_without_secrets(stack, emulator):
    s = browser()
    cloud_sign_in(stack, s)
    out = stack.runtime_output()
    assert '"event":"signin.success"' in out
    for secret in [PASSWORD, "acme-oidc-secret", stack.key]:
        assert secret not in out
    for cookie in s.cookies:
        assert cookie.value not in out


def test_the_background_token_outlives_a_request(stack, client, emulator):
    """One password grant serves many requests — on the Spin route too, where every request is a
    fresh instance (the token is sealed into the runtime's shared cache there)."""
    assert client.deep_health("acme.localhost", "acme").json()["imis"] == "online"  # warm
    emulator.clear_log()
    for _ in range(3):
        assert client.deep_health("acme.localhost", "acme").json()["imis"] == "online"
    paths = [e["path"] for e in emulator.log()]
    assert len(paths) == 3 and not any(p.endswith("/token") for p in paths), paths


GLOBEX_LINKS = {"Create an account": "/globex/CreateAccount", "Forgot your password?": "/globex/ForgotPassword",
                "Forgot your username?": "/globex/ForgotUsername"}


def account_links(stack, page: str) -> dict[str, str]:
    """The account links of a page: text → href, from its account navigation only."""
    nav = re.search(r'<nav class="account" aria-label="Your account"><ul>(.*?)</ul></nav>', page, re.S)
    assert nav, page[:3000]
    return {html.unescape(text): html.unescape(href)
            for href, text in re.findall(r'<li><a href="([^"]+)">([^<]+)</a></li>', nav.group(1))}


def test_every_member_page_of_a_tenant_has_its_account_links(stack, emulator):
    """Create account, forgot password, forgot username and sign out are on each page a member
    of globex can meet: home, sign-in form, a failed sign-in, No Access, an error, signed out."""
    expected = {text: f"{stack.imis_origin}{path}" for text, path in GLOBEX_LINKS.items()}
    expected["Sign out"] = "/signout"
    s = browser_at(loopback_address())  # its failed sign-in counts against its own address
    host = "globex.localhost"
    pages = {"home": get(s, stack.url(host, "/"))}
    p = legacy_form(stack, s)
    pages["sign-in form"] = get(s, stack.url(host, f"/signin?p={p}"))
    pages["wrong password"] = post(s, stack.url(host, "/signin"), data={"p": p, "username": "hsimpson",
                                                                        "password": "nope"})
    pages["unknown app"] = get(s, stack.url(host, "/saml/no-such-app/sso"))
    pages["signed out"] = get(s, stack.url(host, "/signed-out"))
    # No Access: ckent (AccessRestrictionCode S) asks for the demo RP, whose mapping refuses S.
    q = {"response_type": "code", "client_id": "demo-rp", "redirect_uri": f"{stack.rp_origin}/callback",
         "scope": "openid", "state": "st", "nonce": "n"}
    r = get(s, stack.url(host, "/oidc/authorize?" + urllib.parse.urlencode(q)))
    assert r.status_code == 303 and r.headers["location"].startswith("/signin?p="), r.headers
    p = re.search(r'name="p" value="([^"]+)"', get(s, stack.url(host, r.headers["location"])).text).group(1)
    pages["no access"] = post(s, stack.url(host, "/signin"), data={"p": p, "username": "ckent",
                                                                   "password": PASSWORD})
    assert pages["no access"].status_code == 403, pages["no access"].text[:500]
    for name, page in pages.items():
        assert page.headers["content-type"].startswith("text/html"), name
        assert account_links(stack, page.text) == expected, name
    # acme configures no iMIS account pages: only sign-out is offered, never an empty link.
    assert account_links(stack, get(browser(), stack.url("acme.localhost", "/signed-out")).text) == {
        "Sign out": "/signout"}


@pytest.mark.parametrize("accept, lang, words", [
    (None, "en", ["Username", "Password", "Create an account", "Use your Globex Engineers Society member"]),
    ("fr-CA,fr;q=0.9,en;q=0.8", "fr", ["Nom d’utilisateur", "Mot de passe", "Créer un compte",
                                       "Espace membres Globex"]),
    ("de-DE,es;q=0.7,en;q=0.3", "es", ["Nombre de usuario", "Contraseña", "Crear una cuenta", "Iniciar sesión"]),
])
def test_pages_speak_the_member_s_language(stack, emulator, accept, lang, words):
    """Accept-Language picks English, French or Spanish (the member's first choice among them);
    globex replaces the French sign-in title with its own. A failed sign-in answers in the same
    language, and so do the signed-out page and the account links."""
    s = browser_at(loopback_address())  # its failed sign-in counts against its own address
    if accept:
        s.headers["Accept-Language"] = accept
    p = legacy_form(stack, s) if lang == "en" else None
    if p is None:
        r = get(s, stack.url("globex.localhost", "/signin?return=/"))
        p = re.search(r"p=([^&]+)", r.headers["location"]).group(1)
    form = get(s, stack.url("globex.localhost", f"/signin?p={p}"))
    assert f'<html lang="{lang}">' in form.text
    for word in words:
        assert html.escape(word, quote=False) in form.text or word in form.text, (word, form.text[:3000])
    wrong = post(s, stack.url("globex.localhost", "/signin"), data={"p": p, "username": f"visitor-{lang}", "password": "x"})
    expected = {"en": "The username or password is not correct.",
                "fr": "Le nom d’utilisateur ou le mot de passe est incorrect.",
                "es": "El nombre de usuario o la contraseña no son correctos."}[lang]
    assert wrong.status_code == 401 and expected in wrong.text, wrong.text[:2000]
    out = get(s, stack.url("globex.localhost", "/signed-out"))
    title = {"en": "You are signed out", "fr": "Vous êtes déconnecté", "es": "Ha cerrado sesión"}[lang]
    assert f"<h1>{title}</h1>" in out.text and f'<html lang="{lang}">' in out.text


@pytest.mark.parametrize("accept", [
    "x" * 8000,
    "fr;q=1.5, es;q=-1, \"><script>alert(1)</script>",
    ";;;,,,q=,=;",
    "fr-" + "A" * 300 + ";q=0",
])
def test_a_hostile_accept_language_gets_a_page_in_the_default_language(stack, accept):
    """Whatever a client puts in Accept-Language, the page answers (no error, nothing of the
    header in it) and in English unless a language of ours is asked for with a usable q."""
    r = requests.get(stack.url("globex.localhost", "/signed-out"), headers={"Accept-Language": accept},
                     verify=False, timeout=30)
    assert r.status_code == 200, r.status_code
    assert '<html lang="en">' in r.text and "<h1>You are signed out</h1>" in r.text
    assert "<script>alert" not in r.text and "AAAA" not in r.text
