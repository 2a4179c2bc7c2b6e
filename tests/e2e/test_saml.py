"""SAML 2.0 end to end on each runtime, with an independent SP implementation (pysaml2, which checks
signatures with xmlsec1) driving the flows against the running IdP and the iMIS emulator. Every
Response is also verified with `xmlsec1 --verify` and the certificate from the app's metadata.

Apps on acme: `demo-sp` (seeded by scripts/stack.py) plus the ones this module adds through the admin
CLI (`saml keygen`, `push`), one per setting under test.
"""
from __future__ import annotations

import base64
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/saml"))
import stack as stack_mod  # noqa: E402
from sp import NAMEID, TestSP, parse_form, redirect_message, verify_every_signature, verify_query_signature, xmlsec1_verify  # noqa: E402

PASSWORD = "Member-Passw0rd"
HOST = "acme.localhost"

# app id -> (changes to demo-sp's settings, SP key)
APPS = {
    "t-email": ({"name_id_format": "email", "role_format": "comma_separated"}, "sp"),
    "t-imisid": ({"name_id_format": "imis_id"}, "sp2"),
    "t-persistent": ({"name_id_format": "persistent", "sp.authn_requests_signed": True}, "sp"),
    "t-transient": ({"name_id_format": "transient", "no_access_mapping": "S|https://acme.example/renew"}, "sp"),
    "t-resp-only": ({"sign_assertion": False}, "sp"),
    "t-assert-only": ({"sign_response": False}, "sp"),
    "t-encrypted": ({"encrypt_assertion": True,
                     "sp.encryption_certificate": (ROOT / "tests/saml/keys/sp.crt.b64").read_text().strip()}, "sp"),
    "t-encrypted-cbc": ({"encrypt_assertion": True, "encryption_method": "aes128-cbc",
                         "sp.encryption_certificate": (ROOT / "tests/saml/keys/sp.crt.b64").read_text().strip()},
                        "sp"),
}


def origin_of(stack, app: str) -> str:
    return stack.sp_origin if app == "demo-sp" else f"{stack.sp_origin}/{app}"


@pytest.fixture(scope="module")
def apps(stack):
    """Adds the test apps to the rendered acme folder (keys made by `edge-idp saml keygen`) and
    pushes it."""
    for app, (changes, key) in APPS.items():
        stack.add_saml_app(app, origin_of(stack, app), changes, key)
    stack.push(stack.tenant_folder("acme"))
    return APPS


def metadata(stack, app: str) -> str:
    r = requests.get(stack.url(HOST, f"/saml/{app}/metadata"), verify=False, timeout=30)
    r.raise_for_status()
    return r.text


def sp_for(stack, app: str, **kw) -> TestSP:
    key = APPS.get(app, ({}, "sp"))[1]
    return TestSP(origin_of(stack, app), metadata(stack, app), key=key, **kw)


def browser() -> requests.Session:
    s = requests.Session()
    s.verify = False
    return s


def go(s, method: str, url: str, fields=None) -> requests.Response:
    if method == "GET":
        return s.get(url, allow_redirects=False, timeout=30, verify=False)
    return s.post(url, data=fields, allow_redirects=False, timeout=30, verify=False)


def rise_page(stack) -> str:
    return f"{stack.imis_origin}/acme/sso/EdgeIdP-SAML"


def forced_reauthentication(stack) -> str:
    """ForceAuthn: iMIS's logout first, which returns to the RiSE page, which then asks again."""
    return (f"{stack.imis_origin}/acme/AsiCommon/Controls/Shared/FormsAuthentication/logout.aspx?returnurl="
            + quote(rise_page(stack), safe=""))


def sign_in_at_imis(stack, s, r: requests.Response, user="jsmith") -> requests.Response:
    """The IdP sent the browser to iMIS: sign in at the emulated RiSE page, post the hand-off back."""
    assert r.status_code == 303, r.text
    sso = r.headers["location"]
    assert sso in (rise_page(stack), forced_reauthentication(stack)), "the SAML RiSE page (through iMIS's logout when forced)"
    page = s.get(sso, timeout=30, verify=False)
    if 'name="password"' in page.text:
        page = s.post(page.url, data={"username": user, "password": PASSWORD}, timeout=30, verify=False)
    action, fields = parse_form(page.text)
    assert action == stack.url(HOST, "/saml/imis/callback")
    # As the browser posts the hand-off: from the iMIS origin (the callback refuses any other).
    return s.post(action, data=fields, headers={"Origin": stack.imis_origin}, allow_redirects=False,
                  timeout=30, verify=False)


def acs_post(stack, r: requests.Response, sp: TestSP, expect_acs: str | None = None) -> tuple[str, dict]:
    """The auto-submitting form to the ACS: its decoded Response and fields."""
    assert r.status_code == 200, r.text[:2000]
    action, fields = parse_form(r.text)
    assert action == (expect_acs or f"{sp.origin}/acs")
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    verify_every_signature(xml, sp.idp_certificates[0])
    return xml, fields


def check_signatures(xml: str, sp: TestSP, response: bool, assertion: bool):
    cert = sp.idp_certificates[0]
    assert ("<ds:Signature" in xml.split("<saml:Assertion")[0]) == response
    if response:
        assert xmlsec1_verify(xml, cert, "Response"), "xmlsec1 verifies the Response"
    if assertion:
        assert xmlsec1_verify(xml, cert, "Assertion"), "xmlsec1 verifies the Assertion"


def sso(stack, s, sp: TestSP, user="jsmith", binding=BINDING_HTTP_REDIRECT, **kw):
    """SP-initiated SSO through sign-in at iMIS; returns (pysaml2's response, XML, fields)."""
    req_id, (method, url, fields) = sp.login(binding=binding, relay_state="rs-1", **kw)
    r = go(s, method, url, fields)
    if r.status_code == 303 and r.headers["location"].startswith(stack.imis_origin):
        r = sign_in_at_imis(stack, s, r, user)
    xml, fields = acs_post(stack, r, sp)
    assert fields.get("RelayState") == "rs-1"
    return sp.accept(fields["SAMLResponse"], BINDING_HTTP_POST, {req_id: "/"}), xml, fields


def test_metadata_is_valid_and_downloadable(stack, apps):
    md = metadata(stack, "demo-sp")
    assert 'entityID="https://acme.localhost:' in md and "/saml/demo-sp/metadata" in md
    for b in ("HTTP-Redirect", "HTTP-POST"):
        assert f'Binding="urn:oasis:names:tc:SAML:2.0:bindings:{b}" Location="https://acme.localhost:' in md
    assert "SingleLogoutService" in md
    d = requests.get(stack.url(HOST, "/saml/demo-sp/metadata?download=1"), verify=False, timeout=30)
    assert "attachment" in d.headers["content-disposition"]
    from saml2.mdstore import MetadataStore  # schema-checked parse by an independent library
    from saml2.config import Config
    store = MetadataStore(None, Config())
    store.load("inline", md)
    assert store.single_sign_on_service(store.identity_providers()[0], BINDING_HTTP_REDIRECT)
    validate_metadata_schema(md)


def test_saml_show_prints_what_the_idp_serves(stack, apps):
    """`edge-idp saml show` (what an admin pastes into a vendor's form) agrees with the metadata the
    running IdP serves, as pysaml2 reads it: entity ID, SSO and SLO URLs, certificate."""
    import hashlib
    import subprocess
    from saml2.config import Config
    from saml2.mdstore import MetadataStore
    app_file = stack.tenant_folder("acme") / "saml" / "demo-sp.json"
    out = subprocess.run([str(stack_mod.CLI), "saml", "show", str(app_file), "--host", f"{HOST}:{stack.idp_port}"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    shown = dict(re.findall(r"^(\S[^\n]*?) {2,}(\S+)$", out, re.M))
    store = MetadataStore(None, Config())
    store.load("inline", metadata(stack, "demo-sp"))
    idp = store.identity_providers()[0]
    assert shown["IdP entity ID (Issuer)"] == idp
    assert shown["SSO URL, HTTP-Redirect"] == store.single_sign_on_service(idp, BINDING_HTTP_REDIRECT)[0]["location"]
    assert shown["SSO URL, HTTP-POST"] == store.single_sign_on_service(idp, BINDING_HTTP_POST)[0]["location"]
    slo = store.single_logout_service(idp, BINDING_HTTP_REDIRECT, "idpsso")[0]["location"]
    assert shown["SLO URL, Redirect and POST"] == slo
    served = [base64.b64decode("".join(cert.split())) for _, cert in store.certs(idp, "idpsso", use="signing")]
    fingerprint = ":".join(f"{b:02X}" for b in hashlib.sha256(served[0]).digest())
    assert re.search(rf"SHA-256 fingerprint\s+{fingerprint}$", out, re.M), out
    assert requests.get(shown["Metadata URL"], verify=False, timeout=30).text == metadata(stack, "demo-sp")


def validate_metadata_schema(md: str):
    """Validates against the SAML 2.0 metadata XSD (the schemas pysaml2 ships; raises if invalid)."""
    from saml2.xml.schema import validate
    validate(md)
    broken = md.replace("<md:IDPSSODescriptor", "<md:IDPSSODescriptor bogus=\"1\"", 1)
    with pytest.raises(Exception):
        validate(broken)


def test_sp_initiated_sso_then_silent(stack, apps):
    sp = sp_for(stack, "demo-sp")
    s = browser()
    resp, xml, _ = sso(stack, s, sp)
    assert resp.name_id.text == "jsmith"
    assert resp.ava["FirstName"] == ["Jane"] and resp.ava["roles"] == ["Member", "RegisteredUser"]
    check_signatures(xml, sp, response=True, assertion=True)
    # Silent: the session answers without iMIS.
    req_id, (_, url, _) = sp.login(relay_state="rs-2")
    r = go(s, "GET", url)
    xml2, fields = acs_post(stack, r, sp)
    assert sp.accept(fields["SAMLResponse"], BINDING_HTTP_POST, {req_id: "/"}).name_id.text == "jsmith"
    # Replay of the same request: a SAML error Response, no assertion.
    r = go(s, "GET", url)
    xml3, _ = acs_post(stack, r, sp)
    assert "status:RequestDenied" in xml3 and "<saml:Assertion" not in xml3


def test_a_repeat_sso_asks_imis_nothing_and_outlives_an_imis_outage(stack, apps):
    """The member's IQA answers are remembered with the session (a sealed cookie): within the
    tenant's window (default 5 minutes) a repeat sign-in to the app makes no call to iMIS at all,
    so it keeps working while every iMIS call fails; a member not yet signed in cannot get in."""
    imis = stack.imis_origin
    sp = sp_for(stack, "demo-sp")
    s = browser()
    sso(stack, s, sp)
    assert "__Host-idp-iqa" in s.cookies
    requests.delete(f"{imis}/__emulator/requests", timeout=10)
    requests.post(f"{imis}/__emulator/faults", json={"path_contains": "", "status": 503}, timeout=10).raise_for_status()
    try:
        req_id, (_, url, _) = sp.login(relay_state="rs-outage")
        xml, fields = acs_post(stack, go(s, "GET", url), sp)
        resp = sp.accept(fields["SAMLResponse"], BINDING_HTTP_POST, {req_id: "/"})
        assert resp.ava["FirstName"] == ["Jane"] and resp.ava["roles"] == ["Member", "RegisteredUser"]
        assert requests.get(f"{imis}/__emulator/requests", timeout=10).json() == []
        # Another browser, not signed in, reaches iMIS (and its outage).
        other = browser()
        _, (_, url, _) = sp.login(relay_state="rs-new")
        r = go(other, "GET", url)
        assert r.status_code == 303 and r.headers["location"].startswith(imis)
    finally:
        requests.delete(f"{imis}/__emulator/faults", timeout=10)


def test_force_authn_asks_imis_again_and_is_passive_never_prompts(stack, apps):
    sp = sp_for(stack, "demo-sp")
    s = browser()
    first, _, _ = sso(stack, s, sp)
    time.sleep(1.1)
    # ForceAuthn with a session: the member is sent through iMIS's logout, so the RiSE page asks
    # for the password instead of handing over iMIS's session.
    req_id, (_, url, _) = sp.login(relay_state="rs-f", force=True)
    r = go(s, "GET", url)
    assert r.status_code == 303 and r.headers["location"] == forced_reauthentication(stack), r.headers
    assert 'name="password"' in s.get(r.headers["location"], timeout=30, verify=False).text
    xml, fields = acs_post(stack, sign_in_at_imis(stack, s, r), sp)
    again = sp.accept(fields["SAMLResponse"], BINDING_HTTP_POST, {req_id: "/"})
    assert again.name_id.text == "jsmith"
    instant = lambda resp: resp.assertion.authn_statement[0].authn_instant  # noqa: E731
    assert instant(again) > instant(first), "a new authentication, not the old session"
    # Without ForceAuthn the new session answers silently again.
    req_id, (_, url, _) = sp.login(relay_state="rs-s")
    acs_post(stack, go(s, "GET", url), sp)
    # IsPassive without a session: NoPassive, never a sign-in page.
    req_id, (_, url, _) = sp.login(relay_state="rs-p", passive=True)
    xml, fields = acs_post(stack, go(browser(), "GET", url), sp)
    assert "status:NoPassive" in xml and "<saml:Assertion" not in xml
    assert fields.get("RelayState") == "rs-p"


def test_post_binding_request_and_signed_requests(stack, apps):
    sp = sp_for(stack, "t-persistent", sign_requests=True)
    s = browser()
    resp, xml, _ = sso(stack, s, sp, binding=BINDING_HTTP_POST)
    assert resp.name_id.text == "87EAD15E-B188-42E8-AE48-E9B8C2B24C94"
    assert resp.name_id.format == NAMEID["persistent"]
    # Signed by Redirect too (signature over the query string).
    resp, _, _ = sso(stack, s, sp, binding=BINDING_HTTP_REDIRECT)
    # An unsigned request to an app that requires signatures is refused with a page.
    _, (_, url, _) = sp.login(sign=False)
    r = go(s, "GET", url)
    assert r.status_code == 403 and "could not be accepted" in r.text


def test_a_signed_post_request_is_refused_while_the_xml_verifier_is_down(stack, apps):
    """The XML verifier runs apart: while it cannot be reached, a signed POST-binding request is
    refused with a page (never answered unverified); once it is back, the same SP signs in. On the
    Spin route the verifier is a process of its own that can be stopped; on Workers it runs in the
    same workerd, so this runs on Spin (the Workers adapter's path is the unit tests')."""
    if stack.runtime != "spin":
        pytest.skip("the Workers verifier runs inside the same local workerd")
    sp = sp_for(stack, "t-persistent", sign_requests=True)
    s = browser()
    sso(stack, s, sp, binding=BINDING_HTTP_POST)  # signed in, and the verifier answers
    stack.stop_xml_verifier()
    try:
        _, (method, url, fields) = sp.login(binding=BINDING_HTTP_POST, relay_state="rs-1")
        r = go(s, method, url, fields)
        assert r.status_code == 403 and "could not be accepted" in r.text, r.text[:500]
        assert "SAMLResponse" not in r.text
        assert "XML signature verifier is unavailable" in stack.runtime_output()
    finally:
        stack.start_xml_verifier()
    resp, _, _ = sso(stack, s, sp, binding=BINDING_HTTP_POST)
    assert resp.name_id.text == "87EAD15E-B188-42E8-AE48-E9B8C2B24C94"


def test_the_xml_verifier_is_not_reachable_through_the_idp(stack, apps):
    """A hostile client that sends the verifier's own request to the IdP's hostnames gets the
    IdP's not-found page, never a verdict: the IdP has no path to the verifier but its own call."""
    body = ('{"xml":"<a xmlns:ds=\\"http://www.w3.org/2000/09/xmldsig#\\"/>",'
            '"keys":["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]}')
    for host in (HOST, "globex.localhost", "unknown.localhost"):
        for path in ("/verify", "/xml-verifier/verify", "/saml/demo-sp/verify"):
            r = requests.post(stack.origin + path, data=body, verify=False, timeout=30,
                              allow_redirects=False, headers={"Host": f"{host}:{stack.idp_port}",
                                                              "content-type": "application/json"})
            assert r.status_code in (404, 405), (host, path, r.status_code, r.text[:200])
            assert "verdict" not in r.text, (host, path)
            assert "text/html" in r.headers.get("content-type", ""), (host, path)


@pytest.mark.parametrize("app,user,expected", [
    ("demo-sp", "jsmith", "jsmith"),
    ("t-imisid", "jsmith", "101"),
    ("t-email", "jsmith", "jane.smith@acme-members.example"),
    ("t-persistent", "jsmith", "87EAD15E-B188-42E8-AE48-E9B8C2B24C94"),
])
def test_every_name_id_format(stack, apps, app, user, expected):
    sp = sp_for(stack, app, sign_requests=app == "t-persistent")
    resp, xml, _ = sso(stack, browser(), sp, user=user)
    assert resp.name_id.text == expected
    if app == "t-email":
        assert resp.ava["roles"] == ["Member,RegisteredUser"], "comma-separated roles"


@pytest.mark.parametrize("app, algorithm", [
    ("t-encrypted", "http://www.w3.org/2009/xmlenc11#aes256-gcm"),
    ("t-encrypted-cbc", "http://www.w3.org/2001/04/xmlenc#aes128-cbc"),
])
def test_an_encrypted_assertion_is_opened_by_pysaml2_and_by_xmlsec1(stack, apps, tmp_path, app, algorithm):
    """Only the SP's private key reads the assertion: pysaml2 decrypts it (through xmlsec1) and
    checks its signature; `xmlsec1 --decrypt` with the SP key opens it too, and with another key
    does not. Nothing about the member is readable in the Response as sent."""
    sp = sp_for(stack, app)
    resp, xml, _ = sso(stack, browser(), sp)
    assert resp.name_id.text == "jsmith" and resp.ava["FirstName"] == ["Jane"], resp.ava
    assert "<saml:EncryptedAssertion" in xml and "<saml:Assertion" not in xml
    assert f'Algorithm="{algorithm}"' in xml
    assert "jsmith" not in xml and "Jane" not in xml
    assert xmlsec1_verify(xml, sp.idp_certificates[0], "Response"), "the Response signature covers it"
    sent = tmp_path / "response.xml"
    sent.write_text(xml)

    def decrypt(key: str) -> subprocess.CompletedProcess:
        return subprocess.run(["xmlsec1", "--decrypt", "--privkey-pem", str(ROOT / f"tests/saml/keys/{key}.key"),
                               str(sent)], capture_output=True, text=True, timeout=30)

    opened = decrypt("sp")
    assert opened.returncode == 0, opened.stderr
    assert "<saml:Assertion" in opened.stdout and ">jsmith</saml:NameID>" in opened.stdout, opened.stdout[:2000]
    assert decrypt("sp2").returncode != 0, "another key opens nothing"


def test_transient_name_ids_are_fresh(stack, apps):
    sp = sp_for(stack, "t-transient")
    s = browser()
    first, _, _ = sso(stack, s, sp)
    second, _, _ = sso(stack, s, sp)
    for r in (first, second):
        assert re.fullmatch(r"[A-Za-z0-9]{16}", r.name_id.text) and r.name_id.format == NAMEID["transient"]
    assert first.name_id.text != second.name_id.text


@pytest.mark.parametrize("app,response,assertion", [
    ("demo-sp", True, True), ("t-resp-only", True, False), ("t-assert-only", False, True)])
def test_signing_options(stack, apps, app, response, assertion):
    sp = sp_for(stack, app, want_response_signed=response, want_assertions_signed=assertion)
    _, xml, _ = sso(stack, browser(), sp)
    check_signatures(xml, sp, response, assertion)
    assert ("<ds:Signature" in xml.split("<saml:Assertion")[1]) == assertion


def test_redirect_acs_binding(stack, apps):
    sp = sp_for(stack, "demo-sp")
    s = browser()
    req_id, (_, url, _) = sp.login(relay_state="rs-r", acs_binding=BINDING_HTTP_REDIRECT)
    r = sign_in_at_imis(stack, s, go(s, "GET", url))
    assert r.status_code == 303 and r.headers["location"].startswith(f"{sp.origin}/acs/redirect?SAMLResponse=")
    xml, q = redirect_message(r.headers["location"])
    assert q["RelayState"] == "rs-r" and "Signature" in q, "the Redirect binding signs the query"
    verify_query_signature(r.headers["location"], sp.idp_certificates[0])
    assert xmlsec1_verify(xml, sp.idp_certificates[0], "Assertion")
    encoded = r.headers["location"].split("SAMLResponse=")[1].split("&")[0]
    resp = sp.accept(requests.utils.unquote(encoded), BINDING_HTTP_REDIRECT, {req_id: "/"})
    assert resp.name_id.text == "jsmith"


def test_no_access_page_and_redirect(stack, apps):
    sp = sp_for(stack, "demo-sp")
    s = browser()
    _, (_, url, _) = sp.login()
    r = sign_in_at_imis(stack, s, go(s, "GET", url), user="bwayne")
    assert r.status_code == 403 and "Demo Service Provider" in r.text and "SAMLResponse" not in r.text
    sp = sp_for(stack, "t-transient")
    _, (_, url, _) = sp.login()
    r = go(s, "GET", url)  # bwayne's session answers silently: the mapping redirects
    assert (r.status_code, r.headers["location"]) == (303, "https://acme.example/renew")


def test_idp_initiated_login(stack, apps):
    sp = sp_for(stack, "demo-sp")
    s = browser()
    r = go(s, "GET", stack.url(HOST, "/saml/demo-sp/login?RelayState=%2Fcourses%2F7"))
    r = sign_in_at_imis(stack, s, r)
    xml, fields = acs_post(stack, r, sp)
    assert fields["RelayState"] == "/courses/7" and "InResponseTo" not in xml
    assert sp.accept(fields["SAMLResponse"], BINDING_HTTP_POST).name_id.text == "jsmith"
    check_signatures(xml, sp, True, True)


def test_hostile_requests_get_a_page(stack, apps):
    sp = sp_for(stack, "demo-sp")
    s = browser()
    # A request from another SP's entity ID (the issuer does not match): refused, nothing posted.
    other = TestSP(f"{stack.sp_origin}/evil", metadata(stack, "demo-sp"), key="attacker")
    _, (_, url, _) = other.login()
    r = go(s, "GET", url.replace(f"{stack.sp_origin}/evil/acs", f"{stack.sp_origin}/acs"))
    assert r.status_code in (400, 403) and "SAMLResponse" not in r.text
    # An unregistered ACS: refused with a page.
    req = ("<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
           "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_x1\" Version=\"2.0\" "
           "IssueInstant=\"2030-01-01T00:00:00Z\" AssertionConsumerServiceURL=\"https://evil.example/acs\">"
           f"<saml:Issuer>{sp.entity_id}</saml:Issuer></samlp:AuthnRequest>")
    r = go(s, "POST", stack.url(HOST, "/saml/demo-sp/sso"), {"SAMLRequest": base64.b64encode(req.encode()).decode()})
    assert r.status_code == 400 and "evil.example" not in r.text


def test_single_logout_across_two_sps(stack, apps):
    s = browser()
    sp1, sp2 = sp_for(stack, "demo-sp"), sp_for(stack, "t-imisid")
    r1, _, _ = sso(stack, s, sp1)
    r2, _, _ = sso(stack, s, sp2)
    # SP 1 starts: the IdP ends its session and sends a signed LogoutRequest to SP 2.
    _, url = sp1.logout_request(r1.name_id, r1.assertion.authn_statement[0].session_index)
    r = go(s, "GET", url)
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith(f"{sp2.origin}/slo?SAMLRequest=")
    xml, q = redirect_message(r.headers["location"])
    assert "<saml:NameID" in xml and ">101<" in xml and q["SigAlg"].endswith("rsa-sha256")
    verify_query_signature(r.headers["location"], sp2.idp_certificates[0])
    # SP 2 answers (pysaml2 verifies our query signature), the chain ends at SP 1's LogoutResponse.
    back = sp2.answer_logout(r.headers["location"])
    r = go(s, "GET", back)
    assert r.headers["location"].endswith("/signout/continue")
    r = go(s, "GET", stack.url(HOST, "/signout/continue"))
    # acme signs out of iMIS too: iMIS's logout returns to /signed-out, which forwards
    # (MAC-checked) to the end of the logout, which answers the initiating SP.
    assert r.headers["location"].startswith(
        f"{stack.imis_origin}/acme/AsiCommon/Controls/Shared/FormsAuthentication/logout.aspx?returnurl="), r.headers
    r = go(s, "GET", r.headers["location"])
    assert r.status_code == 302 and r.headers["location"].startswith(stack.url(HOST, "/signed-out?"))
    r = go(s, "GET", r.headers["location"])
    assert "/saml/demo-sp/slo/done" in r.headers["location"]
    r = go(s, "GET", stack.url(HOST, r.headers["location"]))
    assert r.headers["location"].startswith(f"{sp1.origin}/slo?SAMLResponse=")
    xml, q = redirect_message(r.headers["location"])
    assert "status:Success" in xml and q["RelayState"] == "rs"
    verify_query_signature(r.headers["location"], sp1.idp_certificates[0])
    # The IdP session is gone: a new request goes to iMIS again.
    _, (_, url, _) = sp1.login()
    assert go(s, "GET", url).headers["location"].startswith(stack.imis_origin)
