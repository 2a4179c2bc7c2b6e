"""Attacks end to end on each runtime: one test (or a few) per finding of the security review, each
written to the behaviour the fix must have, against the running IdP and the iMIS emulator.

1. the bridge ping hands a token only to pages of the app's allowed origins (Referer for JSONP,
   Origin for CORS);
2. the SAML Redirect binding refuses repeated or percent-encoded protocol parameter names (the
   signature covers one message while another is processed);
3. an IssueInstant with a non-ASCII zone is refused, never a 500, and the runtime keeps answering;
4. login CSRF: the iMIS callbacks accept only posts from the iMIS origin;
5. the legacy password throttle counts attempts before iMIS is asked (per username and per
   client address), so parallel guessing cannot get past it or lock the member out at iMIS;
6. the bridge sign-out needs proof (a confirmation form with an anti-forgery token);
7. SAML LogoutRequests: unsigned, for another Destination, or replayed are refused;
8. OIDC: a code or refresh token presented wrongly is refused without being spent;
9. /healthz?deep=1 does not leak iMIS error details;
10. a session cookie copied before sign-out does not sign anyone in afterwards;
11. without an `audience` setting the assertion's Audience is the SP's entity ID.
"""
from __future__ import annotations

import base64
import html
import json
import re
import secrets
import sys
import time
import xml.etree.ElementTree as ET
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urljoin, urlsplit

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_signin import (PASSWORD, browser, browser_at, loopback_address, cloud_sign_in, emulator, from_imis, get, imis_hand_off, tampered,  # noqa: E402,F401
                         post, signed_in_as, start_cloud_sign_in)
from test_bridge import bridge, bridge_signout_form, redeem  # noqa: E402
from test_oidc import HS, RP, SPA, code_for, pkce, redeem as redeem_code, token_request  # noqa: E402
from test_saml import acs_post, go, metadata, sign_in_at_imis as saml_sign_in_at_imis, sp_for, sso  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/saml"))
from sp import TestSP  # noqa: E402

HOST = "acme.localhost"
GLOBEX = "globex.localhost"
APP = "demo-vendor"
SP_KEYS = ROOT / "tests/saml/keys"
NS = {"samlp": "urn:oasis:names:tc:SAML:2.0:protocol", "saml": "urn:oasis:names:tc:SAML:2.0:assertion"}
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
BRAND = "Acme Professional Association"
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


# ------------------------------------------------------------------------------------- helpers

def set_cookies(r: requests.Response) -> list[str]:
    return list(r.raw.headers.getlist("set-cookie"))


def session_cookie_set(r: requests.Response) -> bool:
    """Whether the response sets (not clears) the IdP session cookie."""
    return any(c.startswith("__Host-idp-session=") and not c.startswith("__Host-idp-session=;")
               for c in set_cookies(r))


def session_cookie_cleared(r: requests.Response) -> bool:
    return any(c.startswith("__Host-idp-session=;") for c in set_cookies(r))


def assert_branded_refusal(r: requests.Response, status: int | tuple[int, ...]):
    statuses = status if isinstance(status, tuple) else (status,)
    assert r.status_code in statuses, (r.status_code, r.headers.get("location"), r.text[:500])
    assert "location" not in r.headers
    assert r.headers["content-type"].startswith("text/html") and BRAND in r.text, r.text[:500]
    assert not session_cookie_set(r) and not session_cookie_cleared(r), r.headers.get("set-cookie")


def idp_origin(stack, host=HOST) -> str:
    return stack.url(host, "").rstrip("/")


def still_answers(stack):
    """The runtime keeps answering normally (a panic must not take the isolate or process down)."""
    for _ in range(3):
        r = requests.get(stack.url(HOST, "/healthz"), verify=False, timeout=30)
        assert r.status_code == 200 and r.json()["tenant"] == "acme", r.text[:300]
    assert "entityID=" in metadata(stack, "demo-sp")


# -- SAML messages made here (the test SP's key signs the Redirect query) -----------------------

def now_instant(offset: int = 0) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset))


def new_id() -> str:
    return "_" + secrets.token_hex(16)


def sp_entity(stack, app="demo-sp") -> str:
    return f"{stack.sp_origin}/metadata" if app == "demo-sp" else f"{stack.sp_origin}/{app}/metadata"


def idp_endpoint(stack, app: str, service: str) -> str:
    """The IdP's Redirect-binding SingleSignOnService / SingleLogoutService of `app` (metadata)."""
    md = metadata(stack, app)
    m = re.search(rf'<md:{service}[^>]*Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"'
                  rf'[^>]*Location="([^"]+)"', md)
    assert m, md[:2000]
    return html.unescape(m.group(1))


def authn_request(stack, app="demo-sp", issue_instant: str | None = None, req_id: str | None = None) -> str:
    origin = stack.sp_origin if app == "demo-sp" else f"{stack.sp_origin}/{app}"
    return ('<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
            f'ID="{req_id or new_id()}" Version="2.0" IssueInstant="{issue_instant or now_instant()}" '
            f'AssertionConsumerServiceURL="{origin}/acs" '
            'ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">'
            f'<saml:Issuer>{sp_entity(stack, app)}</saml:Issuer></samlp:AuthnRequest>')


def logout_request(stack, name_id="jsmith", app="demo-sp", destination: str | None = "",
                   issue_instant: str | None = None, req_id: str | None = None) -> str:
    """A LogoutRequest from `app`'s SP; destination "" = the IdP's SLO URL of the app, None = none."""
    if destination == "":
        destination = idp_endpoint(stack, app, "SingleLogoutService")
    dest = f' Destination="{destination}"' if destination is not None else ""
    return ('<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
            f'ID="{req_id or new_id()}" Version="2.0" IssueInstant="{issue_instant or now_instant()}"'
            f' NotOnOrAfter="{now_instant(300)}"{dest}>'
            f'<saml:Issuer>{sp_entity(stack, app)}</saml:Issuer>'
            f'<saml:NameID Format="{UNSPECIFIED}">{name_id}</saml:NameID></samlp:LogoutRequest>')


def logout_response(stack, app="demo-sp") -> str:
    return ('<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
            f'ID="{new_id()}" Version="2.0" IssueInstant="{now_instant()}" InResponseTo="_x">'
            f'<saml:Issuer>{sp_entity(stack, app)}</saml:Issuer><samlp:Status>'
            '<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
            '</samlp:LogoutResponse>')


def deflated(xml_text: str) -> str:
    """base64(DEFLATE(xml)), percent-encoded as the Redirect binding sends it."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = c.compress(xml_text.encode()) + c.flush()
    return quote(base64.b64encode(raw).decode(), safe="")


def sign_query(query: str, key="sp") -> str:
    """Appends SigAlg and Signature (RSA-SHA256 over `query&SigAlg=…` as sent) with a test SP key."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    signed = f"{query}&SigAlg={quote(RSA_SHA256, safe='')}"
    private = serialization.load_pem_private_key((SP_KEYS / f"{key}.key").read_bytes(), password=None)
    sig = private.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signed}&Signature={quote(base64.b64encode(sig).decode(), safe='')}"


def redirect_query(xml_text: str, kind="SAMLRequest", relay_state: str | None = None, sign: bool = True,
                   key="sp") -> str:
    q = f"{kind}={deflated(xml_text)}"
    if relay_state is not None:
        q += f"&RelayState={quote(relay_state, safe='')}"
    return sign_query(q, key) if sign else q


def raw_get(s: requests.Session, url: str, headers: dict | None = None) -> requests.Response:
    """GET with the URL sent verbatim: `requests` itself un-escapes percent-encoded unreserved
    characters (`SAML%52equest` would leave as `SAMLRequest`), which would hide the very probes
    these tests send."""
    req = s.prepare_request(requests.Request("GET", url, headers=headers or {}))
    req.url = url
    return s.send(req, allow_redirects=False, timeout=30, verify=False)


def saml_get(s, stack, app: str, endpoint: str, query: str) -> requests.Response:
    return raw_get(s, stack.url(HOST, f"/saml/{app}/{endpoint}?{query}"))


def saml_signed_in(stack, s, app="demo-sp"):
    """Signs the browser in through SAML SSO to `app` (at iMIS); the session then has the app as a
    participant with NameID jsmith."""
    resp, _, _ = sso(stack, s, sp_for(stack, app))
    assert resp.name_id.text == "jsmith"
    assert signed_in_as(stack, s) == "Jane Smith"


# ============================================================== 1. bridge ping: tokens to whom

JSONP = re.compile(r"^/\*\*/cb\((.*)\);$", re.S)


def jsonp(r: requests.Response) -> dict:
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/javascript"), r.text[:300]
    m = JSONP.match(r.text)
    assert m, r.text
    return json.loads(m.group(1))


def test_ping_jsonp_gives_a_token_only_to_pages_of_allowed_origins(stack, emulator):
    s = browser()
    assert cloud_sign_in(stack, s).status_code == 303
    ping = bridge(stack, "ping", callback="cb")
    # A page of any site can include the script: without a Referer, or with a foreign one, it
    # learns that the member is signed in, never a token.
    for referer in [None, "https://evil.example/page", f"{stack.vendor_origin}@evil.example/",
                    "https://evil.example/?r=" + stack.vendor_origin, "null"]:
        r = get(s, ping, headers={"Referer": referer} if referer else {})
        assert r.status_code == 200 and r.text == '/**/cb({"signed_in":true});', (referer, r.text)
    # A page of the vendor's allowed origin gets a token that redeems to the member.
    r = get(s, ping, headers={"Referer": f"{stack.vendor_origin}/welcome?x=1"})
    answer = jsonp(r)
    assert answer["signed_in"] is True and set(answer) == {"signed_in", "token"}, answer
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", answer["token"])
    assert redeem(stack, answer["token"]).json()["first_name"] == "Jane"
    # Not signed in: false, even for the allowed origin.
    r = get(browser(), ping, headers={"Referer": f"{stack.vendor_origin}/"})
    assert r.text == '/**/cb({"signed_in":false});'


def test_ping_cors_gives_a_token_only_to_allowed_origins(stack, emulator):
    s = browser()
    cloud_sign_in(stack, s)
    ping = bridge(stack, "ping")
    r = get(s, ping)
    assert r.status_code == 200 and r.json() == {"signed_in": True}, r.text
    assert "access-control-allow-origin" not in r.headers
    r = get(s, ping, headers={"Referer": f"{stack.vendor_origin}/"})
    assert r.status_code == 200 and r.json() == {"signed_in": True}, "CORS goes by Origin, not Referer"
    r = get(s, ping, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "token" not in r.text and "access-control-allow-origin" not in r.headers
    r = get(s, ping, headers={"Origin": stack.vendor_origin})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == stack.vendor_origin
    answer = r.json()
    assert answer["signed_in"] is True and redeem(stack, answer["token"]).json()["imis_id"] == "101"
    r = get(browser(), ping, headers={"Origin": stack.vendor_origin})
    assert r.json() == {"signed_in": False}


# ============================================== 2. SAML Redirect binding: one message per query

def tampered_queries(stack, endpoint: str):
    """(label, query) pairs: a correct signed message, then with one protocol parameter repeated or
    its name percent-encoded."""
    def message():
        xml = authn_request(stack) if endpoint == "sso" else logout_request(stack, name_id="nobody")
        return redirect_query(xml, relay_state="rs-1")

    def enc(name: str) -> str:  # the name with its 3rd character percent-encoded
        return name[:2] + "%%%02X" % ord(name[2]) + name[3:]

    out = []
    for name in ["SAMLRequest", "RelayState", "SigAlg", "Signature"]:
        q = message()
        value = re.search(rf"(?:^|&){name}=([^&]*)", q).group(1)
        out.append((f"repeated {name}", f"{q}&{name}={value}"))
        q = message()
        out.append((f"repeated {name} first", f"{name}={re.search(rf'(?:^|&){name}=([^&]*)', q).group(1)}&{q}"))
        q = message()
        out.append((f"percent-encoded {name}", re.sub(rf"(^|&){name}=", lambda m: f"{m.group(1)}{enc(name)}=", q)))
    if endpoint == "slo":
        lr = deflated(logout_response(stack))
        out.append(("repeated SAMLResponse", f"SAMLResponse={lr}&SAMLResponse={lr}"))
        out.append(("percent-encoded SAMLResponse", f"SAML%52esponse={lr}"))
    return out


@pytest.mark.parametrize("endpoint", ["sso", "slo"])
def test_redirect_binding_refuses_repeated_or_encoded_parameter_names(stack, emulator, endpoint):
    s = browser()
    # The untampered message is accepted (so the refusals below are about the tampering).
    q = redirect_query(authn_request(stack) if endpoint == "sso" else logout_request(stack, name_id="nobody"),
                       relay_state="rs-1")
    ok = saml_get(s, stack, "demo-sp", endpoint, q)
    assert ok.status_code == 303, (ok.status_code, ok.text[:500])
    expected = stack.imis_origin if endpoint == "sso" else f"{stack.sp_origin}/slo?SAMLResponse="
    assert ok.headers["location"].startswith(expected), ok.headers["location"]
    for label, query in tampered_queries(stack, endpoint):
        r = saml_get(browser(), stack, "demo-sp", endpoint, query)
        assert r.status_code == 400, (label, r.status_code, r.headers.get("location"), r.text[:300])
        assert BRAND in r.text and "location" not in r.headers, label


def test_slo_forged_message_beside_a_signed_one_is_refused(stack, emulator):
    """`SAML%52equest=<forged>&SAMLRequest=<signed>&SigAlg=…&Signature=…`: the signature covers
    the signed message, the forged one (for the signed-in member) must not be processed."""
    s = browser()
    saml_signed_in(stack, s)
    signed = redirect_query(logout_request(stack, name_id="nobody"))
    forged = deflated(logout_request(stack, name_id="jsmith"))
    probe = f"SAML%52equest={forged}&{signed}"
    assert probe.startswith("SAML%52equest=") and "&SAMLRequest=" in probe and "&SigAlg=" in probe
    r = saml_get(s, stack, "demo-sp", "slo", probe)
    assert r.request.url.endswith("/saml/demo-sp/slo?" + probe), "sent verbatim"
    assert_branded_refusal(r, 400)
    assert signed_in_as(stack, s) == "Jane Smith", "the session is untouched"
    # The other order (signed first, forged second) is refused too.
    r = saml_get(s, stack, "demo-sp", "slo", f"{signed}&SAML%52equest={forged}")
    assert_branded_refusal(r, 400)
    assert signed_in_as(stack, s) == "Jane Smith"


# ================================================= 3. a non-ASCII IssueInstant is no 500

BAD_INSTANT = "2026-01-01T00:00:00+00€"


@pytest.mark.parametrize("binding", ["redirect", "post"])
def test_authn_request_with_a_non_ascii_issue_instant_is_refused(stack, emulator, binding):
    xml = authn_request(stack, issue_instant=BAD_INSTANT)
    s = browser()
    if binding == "redirect":
        r = saml_get(s, stack, "demo-sp", "sso", redirect_query(xml, relay_state="rs", sign=False))
    else:
        r = post(s, stack.url(HOST, "/saml/demo-sp/sso"),
                 data={"SAMLRequest": base64.b64encode(xml.encode()).decode(), "RelayState": "rs"})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:500])
    assert "location" not in r.headers and "SAMLResponse" not in r.text
    still_answers(stack)
    # And a correct request right after still works.
    r = saml_get(browser(), stack, "demo-sp", "sso", redirect_query(authn_request(stack), sign=False))
    assert r.status_code == 303 and r.headers["location"].startswith(stack.imis_origin)


def test_logout_request_with_a_non_ascii_issue_instant_is_refused(stack, emulator):
    s = browser()
    for sign in (True, False):
        r = saml_get(s, stack, "demo-sp", "slo",
                     redirect_query(logout_request(stack, issue_instant=BAD_INSTANT), sign=sign))
        assert 400 <= r.status_code < 500, (sign, r.status_code, r.text[:500])
        assert "location" not in r.headers
        still_answers(stack)


# ============================================================= 4. login CSRF on the callbacks

def test_callback_needs_the_imis_origin(stack, emulator):
    """A victim with a pending sign-in; the attacker posts his own refresh token to the callback
    from his page (auto-submitting form): refused unless the post comes from the iMIS origin."""
    url = stack.url(HOST, "/imis/callback")
    victim = browser()
    start_cloud_sign_in(stack, victim)
    for headers in [{}, {"Origin": "null"}, {"Origin": "https://evil.example"},
                    {"Origin": idp_origin(stack)},
                    {"Origin": f"http://127.0.0.1:{stack.imis_port + 1}"},
                    {"Origin": f"https://127.0.0.1:{stack.imis_port}"},
                    {"Referer": "https://evil.example/csrf.html"},
                    {"Referer": f"{stack.imis_origin}.evil.example/x"},
                    {"Origin": "https://evil.example", "Referer": f"{stack.imis_origin}/acme/sso/EdgeIdP-OIDC"}]:
        r = post(victim, url, data={"refresh_token": emulator.mint_refresh_token("bwayne")}, headers=headers)
        assert_branded_refusal(r, 403)
        assert signed_in_as(stack, victim) is None, headers
    assert not [e for e in emulator.log() if e["endpoint"] == "token" and e["grant_type"] == "refresh_token"], \
        "refused before iMIS is asked"
    # From the iMIS origin (what the RiSE page's auto-posting form sends) it works.
    s = browser()
    start_cloud_sign_in(stack, s)
    r = post(s, url, data={"refresh_token": emulator.mint_refresh_token("jsmith")}, headers=from_imis(stack))
    assert r.status_code == 303 and session_cookie_set(r), r.text[:500]
    assert signed_in_as(stack, s) == "Jane Smith"
    # Without Origin, the Referer's origin counts.
    s = browser()
    start_cloud_sign_in(stack, s)
    r = post(s, url, data={"refresh_token": emulator.mint_refresh_token("jsmith")},
             headers={"Referer": f"{stack.imis_origin}/acme/sso/EdgeIdP-OIDC"})
    assert r.status_code == 303 and session_cookie_set(r), r.text[:500]
    assert signed_in_as(stack, s) == "Jane Smith"


def test_saml_callback_needs_the_imis_origin(stack, emulator):
    url = stack.url(HOST, "/saml/imis/callback")
    sp = sp_for(stack, "demo-sp")
    victim = browser()
    _, (_, login, _) = sp.login(relay_state="rs-csrf")
    r = get(victim, login)
    assert r.status_code == 303 and r.headers["location"].startswith(stack.imis_origin)
    for headers in [{}, {"Origin": "null"}, {"Origin": "https://evil.example"},
                    {"Referer": "https://evil.example/csrf.html"}]:
        token = emulator.mint_refresh_token("bwayne", client_id="EdgeIdP-SAML")
        r = post(victim, url, data={"refresh_token": token}, headers=headers)
        assert_branded_refusal(r, 403)
        assert "SAMLResponse" not in r.text
        assert signed_in_as(stack, victim) is None
    # The real hand-off from the iMIS page (Origin: the iMIS origin) completes.
    s = browser()
    _, (_, login, _) = sp.login(relay_state="rs-ok")
    xml, fields = acs_post(stack, saml_sign_in_at_imis(stack, s, get(s, login)), sp)
    assert fields["RelayState"] == "rs-ok" and "status:Success" in xml


# ======================================================== 5. the legacy password throttle

def legacy_pending(stack, s) -> str:
    r = get(s, stack.url(GLOBEX, "/signin?return=/"))
    assert r.status_code == 303 and r.headers["location"].startswith("/signin?p="), r.headers
    return parse_qs(urlsplit(r.headers["location"]).query)["p"][0]


def legacy_attempt(stack, s, p: str, username: str, password: str) -> requests.Response:
    return post(s, stack.url(GLOBEX, "/signin"), data={"p": p, "username": username, "password": password})


def globex_token_calls(emulator) -> list[dict]:
    return [e for e in emulator.log() if e["endpoint"] == "token" and e["site"] == "globex"]


def parallel(jobs) -> list[requests.Response]:
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(lambda job: job(), jobs))


def test_parallel_password_guessing_is_throttled_before_imis(stack, emulator):
    """50 wrong passwords for one username at once, each from its own address and form: at most 4
    reach iMIS, the rest are refused, the right password is refused too, and iMIS did not lock
    the account."""
    user = "bwayne"  # globex's; no other test signs in with it
    attempts = []
    for _ in range(50):
        s = browser_at(loopback_address())
        attempts.append((s, legacy_pending(stack, s)))
    emulator.clear_log()
    answers = parallel([lambda s=s, p=p: legacy_attempt(stack, s, p, user, "wrong-" + secrets.token_hex(3))
                        for s, p in attempts])
    statuses = [r.status_code for r in answers]
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= 4 and statuses.count(429) >= 46, statuses
    calls = globex_token_calls(emulator)
    assert len(calls) <= 4, f"{len(calls)} password attempts reached iMIS"
    assert all("Too many unsuccessful attempts" in r.text for r in answers if r.status_code == 429)
    # The right password is refused now too (from yet another address).
    s = browser_at(loopback_address())
    r = legacy_attempt(stack, s, legacy_pending(stack, s), user, PASSWORD)
    assert r.status_code == 429 and "__Host-idp-session=" not in r.headers.get("set-cookie", "")
    # iMIS never saw five bad passwords: the account is not locked there.
    ok = requests.post(f"{stack.imis_origin}/globex/Asi.Scheduler_iMIS/token", timeout=10,
                       data={"grant_type": "password", "username": user, "password": PASSWORD})
    assert ok.status_code == 200, ok.text


def test_one_address_is_throttled_across_usernames(stack, emulator):
    """More than 20 attempts from one client address (different usernames, in parallel) are
    refused before iMIS; another address is not affected."""
    address = loopback_address()
    attempts = []
    for i in range(30):
        s = browser_at(address)
        attempts.append((s, legacy_pending(stack, s), f"ghost-{secrets.token_hex(4)}-{i}"))
    emulator.clear_log()
    answers = parallel([lambda s=s, p=p, u=u: legacy_attempt(stack, s, p, u, "wrong")
                        for s, p, u in attempts])
    statuses = [r.status_code for r in answers]
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= 20 and statuses.count(429) >= 10, statuses
    assert len(globex_token_calls(emulator)) <= 20
    s = browser_at(address)
    r = legacy_attempt(stack, s, legacy_pending(stack, s), f"ghost-{secrets.token_hex(4)}", "wrong")
    assert r.status_code == 429, "the address stays throttled"
    other = browser_at(loopback_address())
    r = legacy_attempt(stack, other, legacy_pending(stack, other), f"ghost-{secrets.token_hex(4)}", "wrong")
    assert r.status_code == 401, "another address is not throttled"


# ========================================================= 6. the bridge sign-out needs proof

def follow_sign_out_to_vendor(stack, s, r: requests.Response) -> str:
    """From the sign-out's redirect through iMIS's logout (per tenant setting) to the end."""
    for _ in range(6):
        if r.status_code not in (302, 303):
            break
        loc = r.headers["location"]
        if loc.startswith(stack.vendor_origin):
            return loc
        r = get(s, urljoin(r.url, loc))
    raise AssertionError(f"did not reach the vendor: {r.status_code} {r.headers.get('location')} {r.text[:300]}")


def test_bridge_sign_out_asks_for_confirmation(stack, emulator):
    s = browser()
    cloud_sign_in(stack, s)
    back = f"{stack.vendor_origin}/bye"
    url = bridge(stack, "signout", ReturnURL=back)
    # A link, an <img>, an iframe: a GET shows a confirmation and ends nothing.
    for headers in [{"Sec-Fetch-Dest": "image", "Accept": "image/avif,image/webp,*/*"},
                    {"Sec-Fetch-Dest": "iframe", "Referer": "https://evil.example/"}, {}]:
        r = get(s, url, headers=headers)
        assert not session_cookie_cleared(r), headers
        assert not r.headers.get("location", "").startswith(stack.imis_origin), headers
        assert signed_in_as(stack, s) == "Jane Smith", headers
    assert r.status_code == 200, (r.status_code, r.headers.get("location"))
    action, fields = bridge_signout_form(stack, r, url)
    assert fields.get("t"), fields
    # Without the token, or with a wrong one: nothing ends.
    origin = {"Origin": idp_origin(stack)}
    for data in [{k: v for k, v in fields.items() if k != "t"}, {**fields, "t": tampered(fields["t"])},
                 {**fields, "t": ""}]:
        r = post(s, action, data=data, headers=origin)
        assert not session_cookie_cleared(r) and not r.headers.get("location", "").startswith(stack.imis_origin)
        assert signed_in_as(stack, s) == "Jane Smith"
    # Another session's token does not sign this one out.
    other = browser()
    cloud_sign_in(stack, other)
    _, other_fields = bridge_signout_form(stack, get(other, url), url)
    r = post(s, action, data={**fields, "t": other_fields["t"]}, headers=origin)
    assert not session_cookie_cleared(r) and signed_in_as(stack, s) == "Jane Smith"
    # With the token: signed out, through iMIS's logout, back to the ReturnURL.
    r = post(s, action, data=fields, headers=origin)
    assert r.status_code == 303 and session_cookie_cleared(r), (r.status_code, r.text[:300])
    assert r.headers["location"].startswith(
        f"{stack.imis_origin}/acme/AsiCommon/Controls/Shared/FormsAuthentication/logout.aspx")
    assert follow_sign_out_to_vendor(stack, s, r) == back
    assert signed_in_as(stack, s) is None
    assert signed_in_as(stack, other) == "Jane Smith", "the other session goes on"


def test_bridge_sign_out_without_a_session_goes_straight_on(stack, emulator):
    s = browser()
    back = f"{stack.vendor_origin}/bye"
    r = get(s, bridge(stack, "signout", ReturnURL=back))
    assert r.status_code in (302, 303), (r.status_code, r.text[:300])
    assert follow_sign_out_to_vendor(stack, s, r) == back
    r = get(s, bridge(stack, "signout"))
    assert r.status_code in (302, 303)
    loc = r.headers["location"]
    for _ in range(4):
        if urlsplit(loc).path == "/signed-out":
            break
        r = get(s, urljoin(r.url, loc))
        loc = r.headers.get("location", "")
    assert urlsplit(loc).path == "/signed-out", loc
    r = get(s, bridge(stack, "signout", ReturnURL="https://evil.example/"))
    assert r.status_code == 400 and "location" not in r.headers


# ================================================================= 7. SAML LogoutRequests

@pytest.fixture(scope="module")
def nocert_app(stack):
    """A SAML app whose SP registered no certificate (Single Logout enabled)."""
    app = "t-nocert"
    stack.add_saml_app(app, f"{stack.sp_origin}/{app}", {}, "sp")
    path = stack.tenant_folder("acme") / "saml" / f"{app}.json"
    value = json.loads(path.read_text())
    value["sp"]["certificates"] = []
    value["sp"]["authn_requests_signed"] = False
    path.write_text(json.dumps(value, indent=2))
    stack.push(stack.tenant_folder("acme"))
    return app


def test_unsigned_logout_request_is_refused_without_sp_certificates(stack, emulator, nocert_app):
    s = browser()
    sp = TestSP(f"{stack.sp_origin}/{nocert_app}", metadata(stack, nocert_app))
    resp, _, _ = sso(stack, s, sp)
    assert resp.name_id.text == "jsmith"
    query = redirect_query(logout_request(stack, app=nocert_app), relay_state="rs", sign=False)
    r = saml_get(s, stack, nocert_app, "slo", query)
    assert_branded_refusal(r, 400)
    assert signed_in_as(stack, s) == "Jane Smith"
    # POST binding, unsigned: refused too.
    xml = logout_request(stack, app=nocert_app)
    r = post(s, stack.url(HOST, f"/saml/{nocert_app}/slo"),
             data={"SAMLRequest": base64.b64encode(xml.encode()).decode()})
    assert_branded_refusal(r, 400)
    assert signed_in_as(stack, s) == "Jane Smith"
    # Without a session as well (no LogoutResponse for an unsigned request).
    r = saml_get(browser(), stack, nocert_app, "slo", redirect_query(logout_request(stack, app=nocert_app), sign=False))
    assert r.status_code == 400 and "location" not in r.headers


def test_logout_request_for_another_destination_is_refused(stack, emulator, nocert_app):
    s = browser()
    saml_signed_in(stack, s)
    for destination in ["https://evil.example/saml/demo-sp/slo", idp_endpoint(stack, nocert_app, "SingleLogoutService"),
                        idp_endpoint(stack, "demo-sp", "SingleSignOnService")]:
        r = saml_get(s, stack, "demo-sp", "slo", redirect_query(logout_request(stack, destination=destination)))
        assert_branded_refusal(r, 400)
        assert signed_in_as(stack, s) == "Jane Smith", destination


def test_replayed_logout_request_is_refused(stack, emulator):
    s = browser()
    saml_signed_in(stack, s)
    query = redirect_query(logout_request(stack), relay_state="rs-replay")
    first = saml_get(s, stack, "demo-sp", "slo", query)
    assert first.status_code == 303 and session_cookie_cleared(first), (first.status_code, first.text[:300])
    assert signed_in_as(stack, s) is None
    # The member signs in again; the captured LogoutRequest replayed must not sign them out.
    saml_signed_in(stack, s)
    again = saml_get(s, stack, "demo-sp", "slo", query)
    assert_branded_refusal(again, 400)
    assert signed_in_as(stack, s) == "Jane Smith"
    # Replayed from another browser (no session): refused as well, no LogoutResponse.
    r = saml_get(browser(), stack, "demo-sp", "slo", query)
    assert r.status_code == 400 and "location" not in r.headers


# ======================================================== 8. OIDC: refused is not spent

def tokens_ok(r: requests.Response) -> dict:
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["access_token"] and body["id_token"], body
    return body


def test_code_with_wrong_redirect_uri_or_client_is_not_spent(stack, emulator):
    s = browser()
    params, _ = code_for(stack, s)
    code = params["code"]
    auth = (RP["client_id"], RP["client_secret"])
    r = token_request(stack, {"grant_type": "authorization_code", "code": code,
                              "redirect_uri": "https://demo-rp.localhost/other"}, auth)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    r = token_request(stack, {"grant_type": "authorization_code", "code": code, "redirect_uri": HS["redirect_uri"],
                              "client_id": HS["client_id"], "client_secret": HS["client_secret"]})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    r = token_request(stack, {"grant_type": "authorization_code", "code": code, "redirect_uri": RP["redirect_uri"],
                              "client_id": HS["client_id"], "client_secret": HS["client_secret"]})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    r = token_request(stack, {"grant_type": "authorization_code", "code": code, "redirect_uri": RP["redirect_uri"]},
                      (RP["client_id"], "wrong-secret"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text
    r = token_request(stack, {"grant_type": "authorization_code", "code": code, "redirect_uri": RP["redirect_uri"],
                              "client_id": SPA["client_id"]})
    assert r.status_code in (400, 401) and r.json()["error"] in ("invalid_grant", "invalid_client"), r.text
    # The legitimate client's request right after still gets tokens, and they work.
    body = tokens_ok(redeem_code(stack, code))
    info = requests.get(stack.url(HOST, "/oidc/userinfo"), headers={"Authorization": f"Bearer {body['access_token']}"},
                        verify=False, timeout=30)
    assert info.status_code == 200
    assert redeem_code(stack, code).json()["error"] == "invalid_grant", "single use still holds"


def test_code_with_wrong_pkce_verifier_is_not_spent(stack, emulator):
    s = browser()
    verifier, challenge = pkce()
    params, _ = code_for(stack, s, SPA, code_challenge=challenge, code_challenge_method="S256")
    for wrong in ["x" * 43, pkce()[0], None]:
        r = redeem_code(stack, params["code"], SPA, verifier=wrong)
        assert r.status_code == 400 and r.json()["error"] in ("invalid_grant", "invalid_request"), r.text
    tokens_ok(redeem_code(stack, params["code"], SPA, verifier=verifier))
    # A confidential client's code bound to a challenge: the same.
    verifier, challenge = pkce()
    params, _ = code_for(stack, s, code_challenge=challenge, code_challenge_method="S256")
    r = redeem_code(stack, params["code"], verifier=pkce()[0])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    tokens_ok(redeem_code(stack, params["code"], verifier=verifier))


def test_refresh_token_presented_by_another_client_is_not_spent(stack, emulator):
    s = browser()
    params, _ = code_for(stack, s)
    rt = tokens_ok(redeem_code(stack, params["code"]))["refresh_token"]
    for data, auth in [({"grant_type": "refresh_token", "refresh_token": rt}, (HS["client_id"], HS["client_secret"])),
                       ({"grant_type": "refresh_token", "refresh_token": rt, "client_id": SPA["client_id"]}, None),
                       ({"grant_type": "refresh_token", "refresh_token": rt}, (RP["client_id"], "wrong-secret"))]:
        r = token_request(stack, data, auth)
        assert r.status_code in (400, 401) and r.json()["error"] in ("invalid_grant", "invalid_client"), r.text
        assert "access_token" not in r.json()
    auth = (RP["client_id"], RP["client_secret"])
    rt2 = tokens_ok(token_request(stack, {"grant_type": "refresh_token", "refresh_token": rt}, auth))["refresh_token"]
    assert rt2 != rt
    tokens_ok(token_request(stack, {"grant_type": "refresh_token", "refresh_token": rt2}, auth))


# ================================================================= 9. healthz leaks nothing

@pytest.mark.parametrize("fault", [
    {"path_contains": "/api/User", "status": 503},
    {"path_contains": "/api/User", "garbage": True},
    {"path_contains": "/api/User", "status": 400},
])
def test_deep_health_shows_offline_without_imis_details(stack, client, emulator, fault):
    assert client.deep_health(HOST, "acme").json()["imis"] == "online"
    emulator.fault(**fault)
    r = client.deep_health(HOST, "acme")
    body = r.json()
    assert body["imis"] == "offline" and body["tenant"] == "acme", body
    assert set(body) <= {"status", "tenant", "config_version", "imis", "imis_ms", "imis_error"}, body
    # At most a generic word for what went wrong, never iMIS's own text, status or address.
    assert re.fullmatch(r"[a-z_ ]{1,40}", body.get("imis_error", "x")), body
    for leak in [stack.imis_origin, "127.0.0.1", f":{stack.imis_port}", "/api", "User", "HTTP", "Runtime Error",
                 "Injected", "Server Error", "JSON", "edgeidp-service", "answered"]:
        assert leak not in r.text, (leak, r.text)


# ============================================ 10. a copied session cookie dies with sign-out

def test_session_cookie_copied_before_sign_out_is_dead(stack, emulator):
    s = browser()
    cloud_sign_in(stack, s)
    copied = next(c.value for c in s.cookies if c.name == "__Host-idp-session")
    page = get(s, stack.url(HOST, "/signout"))
    token = re.search(r'name="t" value="([^"]+)"', page.text).group(1)
    r = post(s, stack.url(HOST, "/signout"), data={"t": token})
    assert r.status_code == 303 and session_cookie_cleared(r)
    replay = {"Cookie": f"__Host-idp-session={copied}"}
    thief = browser()
    home = get(thief, stack.url(HOST, "/"), headers=replay)
    assert home.status_code == 200 and 'id="signed-in"' not in home.text and "Jane" not in home.text
    assert 'id="signin-link"' in home.text, "the home page shows signed out"
    r = get(thief, stack.url(HOST, "/signin?return=/healthz"), headers=replay)
    assert r.status_code == 303 and r.headers["location"].startswith(stack.imis_origin), r.headers
    # OIDC silent sign-in: login_required; interactive: to iMIS.
    q = {"response_type": "code", "client_id": RP["client_id"], "redirect_uri": RP["redirect_uri"],
         "scope": "openid", "state": "st", "nonce": "n", "prompt": "none"}
    r = get(thief, stack.url(HOST, "/oidc/authorize?" + urlencode(q)), headers=replay)
    assert r.status_code == 303 and "error=login_required" in r.headers["location"], r.headers
    q.pop("prompt")
    r = get(thief, stack.url(HOST, "/oidc/authorize?" + urlencode(q)), headers=replay)
    assert r.status_code == 303 and r.headers["location"].startswith(stack.imis_origin), r.headers
    # SAML: to iMIS, no assertion.
    _, (_, url, _) = sp_for(stack, "demo-sp").login(relay_state="rs-thief")
    r = get(thief, url, headers=replay)
    assert r.status_code == 303 and r.headers["location"].startswith(stack.imis_origin), (r.status_code, r.text[:300])
    # The bridge: no token for the copied cookie.
    r = get(thief, bridge(stack, "ping"), headers={**replay, "Origin": stack.vendor_origin})
    assert r.json() == {"signed_in": False}


# =============================================== 11. Audience without an `audience` setting

def test_assertion_audience_is_the_sp_entity_id_by_default(stack, emulator):
    app = json.loads((stack.tenant_folder("acme") / "saml/demo-sp.json").read_text())
    assert "audience" not in app, "demo-sp has no audience setting"
    sp = sp_for(stack, "demo-sp")
    _, xml, _ = sso(stack, browser(), sp)
    root = ET.fromstring(xml)
    audiences = [a.text for a in root.findall(
        "saml:Assertion/saml:Conditions/saml:AudienceRestriction/saml:Audience", NS)]
    assert audiences == [sp.entity_id], audiences
    assert sp.entity_id == app["sp"]["entity_id"]
