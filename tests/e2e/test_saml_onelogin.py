"""SAML end to end with a second independent SP implementation: OneLogin's python3-saml in strict
mode (python-xmlsec / libxmlsec1), on each runtime. Signed AuthnRequests (Redirect), both signing
options, IdP-initiated login, and Single Logout in both directions between python3-saml and pysaml2.
Every Response is also verified with `xmlsec1 --verify` against the certificate from the metadata.
"""
from __future__ import annotations

import base64
import sys
from pathlib import Path

import pytest
import requests
from saml2 import BINDING_HTTP_POST

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/saml"))
from onelogin_sp import C, OneLoginSP  # noqa: E402
from sp import TestSP, parse_form, redirect_message, verify_every_signature, xmlsec1_verify  # noqa: E402

HOST = "acme.localhost"
PASSWORD = "Member-Passw0rd"
APPS = {
    "ol-both": {"name_id_format": "email", "sp.authn_requests_signed": True},
    "ol-resp": {"sign_assertion": False, "sp.authn_requests_signed": True},
    "ol-encrypted": {"sp.authn_requests_signed": True, "encrypt_assertion": True,
                     "sp.encryption_certificate": (ROOT / "tests/saml/keys/sp2.crt.b64").read_text().strip()},
}


def origin(stack, app: str) -> str:
    return f"{stack.sp_origin}/{app}"


@pytest.fixture(scope="module")
def apps(stack):
    for app, changes in APPS.items():
        stack.add_saml_app(app, origin(stack, app), changes, key="sp2")
    stack.add_saml_app("py-slo", origin(stack, "py-slo"), {}, key="sp")
    stack.push(stack.tenant_folder("acme"))
    return APPS


def metadata(stack, app: str) -> str:
    r = requests.get(stack.url(HOST, f"/saml/{app}/metadata"), verify=False, timeout=30)
    r.raise_for_status()
    return r.text


def browser() -> requests.Session:
    s = requests.Session()
    s.verify = False
    return s


def get(s, url):
    return s.get(url, allow_redirects=False, timeout=30, verify=False)


def through_imis(stack, s, r, user="jsmith"):
    if r.status_code == 303 and r.headers["location"].startswith(stack.imis_origin):
        sso = r.headers["location"]
        page = s.get(sso, timeout=30, verify=False)
        if 'name="password"' in page.text:
            page = s.post(sso, data={"username": user, "password": PASSWORD}, timeout=30, verify=False)
        action, fields = parse_form(page.text)
        r = s.post(action, data=fields, headers={"Origin": stack.imis_origin}, allow_redirects=False,
                   timeout=30, verify=False)
    return r


def acs_fields(r, sp) -> dict:
    assert r.status_code == 200, r.text[:1000]
    action, fields = parse_form(r.text)
    assert action == f"{sp.origin}/acs"
    certificate = sp.settings["idp"]["x509cert"] if hasattr(sp, "settings") else sp.idp_certificates[0]
    verify_every_signature(base64.b64decode(fields["SAMLResponse"]).decode(), certificate)
    return fields


def test_onelogin_sp_initiated_signed_requests_and_email_name_id(stack, apps):
    sp = OneLoginSP(origin(stack, "ol-both"), metadata(stack, "ol-both"), name_id_format=C.NAMEID_EMAIL_ADDRESS)
    s = browser()
    req_id, url = sp.login()
    assert "Signature=" in url and "SigAlg=" in url
    fields = acs_fields(through_imis(stack, s, get(s, url)), sp)
    assert fields["RelayState"] == "rs-ol"
    auth = sp.accept(fields, req_id)
    assert auth.get_nameid() == "jane.smith@acme-members.example"
    assert auth.get_attributes()["roles"] == ["Member", "RegisteredUser"]
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    cert = sp.settings["idp"]["x509cert"]
    assert xmlsec1_verify(xml, cert, "Response") and xmlsec1_verify(xml, cert, "Assertion")


def test_onelogin_decrypts_an_encrypted_assertion(stack, apps):
    """python3-saml in strict mode with wantAssertionsEncrypted: it refuses a plain assertion, so
    accepting this one means it decrypted it (AES-256-GCM, RSA-OAEP) and checked its signature."""
    sp = OneLoginSP(origin(stack, "ol-encrypted"), metadata(stack, "ol-encrypted"), want_assertions_encrypted=True)
    s = browser()
    req_id, url = sp.login()
    fields = acs_fields(through_imis(stack, s, get(s, url)), sp)
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    assert "<saml:EncryptedAssertion" in xml and "<saml:Assertion" not in xml and "Jane" not in xml
    auth = sp.accept(fields, req_id)
    assert auth.get_nameid() == "jsmith"
    assert auth.get_attributes()["FirstName"] == ["Jane"]
    plain = OneLoginSP(origin(stack, "ol-both"), metadata(stack, "ol-both"), want_assertions_encrypted=True)
    req_id, url = plain.login()
    fields = acs_fields(through_imis(stack, s, get(s, url)), plain)
    with pytest.raises(ValueError, match="encrypted"):
        plain.accept(fields, req_id)


def test_onelogin_response_only_signed(stack, apps):
    sp = OneLoginSP(origin(stack, "ol-resp"), metadata(stack, "ol-resp"), want_response_signed=True,
                    want_assertions_signed=False)
    s = browser()
    req_id, url = sp.login()
    fields = acs_fields(through_imis(stack, s, get(s, url)), sp)
    assert sp.accept(fields, req_id).get_nameid() == "jsmith"
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    assert xmlsec1_verify(xml, sp.settings["idp"]["x509cert"], "Response")
    # The same SP insisting on signed assertions refuses it: the option really changes the message.
    strict = OneLoginSP(sp.origin, metadata(stack, "ol-resp"), want_assertions_signed=True)
    req_id, url = strict.login()
    with pytest.raises(ValueError):
        strict.accept(acs_fields(get(s, url), strict), req_id)


def test_onelogin_idp_initiated(stack, apps):
    sp = OneLoginSP(origin(stack, "ol-both"), metadata(stack, "ol-both"), name_id_format=C.NAMEID_EMAIL_ADDRESS)
    s = browser()
    r = through_imis(stack, s, get(s, stack.url(HOST, "/saml/ol-both/login?RelayState=%2Fhome")))
    fields = acs_fields(r, sp)
    assert fields["RelayState"] == "/home"
    assert sp.accept(fields, None).get_nameid() == "jane.smith@acme-members.example"


def test_single_logout_between_onelogin_and_pysaml2(stack, apps):
    s = browser()
    ol = OneLoginSP(origin(stack, "ol-both"), metadata(stack, "ol-both"), name_id_format=C.NAMEID_EMAIL_ADDRESS)
    py = TestSP(origin(stack, "py-slo"), metadata(stack, "py-slo"))
    req_id, url = ol.login()
    auth = ol.accept(acs_fields(through_imis(stack, s, get(s, url)), ol), req_id)
    _, (_, url, _) = py.login()
    py_resp = py.accept(acs_fields(get(s, url), py)["SAMLResponse"], BINDING_HTTP_POST)
    # python3-saml starts: the IdP asks pysaml2 to log out, then answers python3-saml.
    logout_id, url = ol.logout(auth.get_nameid(), auth.get_session_index(), auth.get_nameid_format())
    r = get(s, url)
    assert r.headers["location"].startswith(f"{py.origin}/slo?SAMLRequest=")
    r = get(s, py.answer_logout(r.headers["location"]))
    r = get(s, stack.url(HOST, r.headers["location"]))  # /signout/continue
    # acme signs out of iMIS too: its logout page, back to /signed-out, on to the answer.
    assert r.headers["location"].startswith(f"{stack.imis_origin}/acme/AsiCommon/"), r.headers
    for _ in range(3):  # iMIS logout → /signed-out → /saml/ol-both/slo/done → python3-saml
        r = get(s, r.headers["location"] if "://" in r.headers["location"] else stack.url(HOST, r.headers["location"]))
    assert r.headers["location"].startswith(f"{ol.origin}/slo?SAMLResponse=")
    assert ol.slo(r.headers["location"], logout_id) is None, "python3-saml accepts our LogoutResponse"
    # IdP-initiated from /signout: signed in again to both, the sign-out reaches python3-saml.
    req_id, url = ol.login()
    ol.accept(acs_fields(through_imis(stack, s, get(s, url)), ol), req_id)
    home = get(s, stack.url(HOST, "/")).text
    token = home.split('name="t" value="')[1].split('"')[0]
    r = s.post(stack.url(HOST, "/signout"), data={"t": token}, allow_redirects=False, timeout=30, verify=False)
    assert r.headers["location"].startswith(f"{ol.origin}/slo?SAMLRequest=")
    xml, _ = redirect_message(r.headers["location"])
    assert "jane.smith@acme-members.example" in xml
    back = ol.slo(r.headers["location"])
    assert back and "SAMLResponse=" in back, "python3-saml verified our LogoutRequest and answered"
    assert get(s, back).headers["location"].endswith("/signout/continue")
    assert py_resp.name_id.text == "jsmith"
