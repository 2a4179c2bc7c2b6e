"""A SAML service provider built on pysaml2 (an independent implementation, which verifies
signatures with the xmlsec1 binary), for the end-to-end tests and the demo SP of scripts/dev.

The tests drive it in-process: it makes AuthnRequests and LogoutRequests for a browser (a requests
session) to carry to the IdP, and parses what the IdP's auto-submitting forms or redirects bring
back. Every Response is also checked with `xmlsec1 --verify` against the certificate from the IdP's
metadata (xmlsec1_verify below).
"""
from __future__ import annotations

import base64
import html
import re
import subprocess
import tempfile
import zlib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

KEYS = Path(__file__).resolve().parent / "keys"
NS_MD = "urn:oasis:names:tc:SAML:2.0:metadata"
NAMEID = {
    "username": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    "imis_id": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    "email": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "persistent": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "transient": "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
}


class TestSP:
    __test__ = False  # not a pytest class

    """One SP: entity `origin/metadata`, ACS `origin/acs` (POST) and `origin/acs/redirect`, SLO
    `origin/slo` (Redirect), key `keys/<key>.key`."""

    def __init__(self, origin: str, idp_metadata: str, key: str = "sp", sign_requests: bool = False,
                 want_response_signed: bool = False, want_assertions_signed: bool = False,
                 entity_id: str | None = None):
        self.origin = origin
        self.entity_id = entity_id or f"{origin}/metadata"
        self.idp_metadata = idp_metadata
        self.idp_entity_id = re.search(r'entityID="([^"]+)"', idp_metadata).group(1)
        self.idp_certificates = re.findall(r"<ds:X509Certificate>([^<]+)</ds:X509Certificate>", idp_metadata)
        config = SPConfig()
        config.load({
            "entityid": self.entity_id,
            "key_file": str(KEYS / f"{key}.key"),
            "cert_file": str(KEYS / f"{key}.crt"),
            # Decrypts EncryptedAssertions (the same key pair; pysaml2 tries it through xmlsec1).
            "encryption_keypairs": [{"key_file": str(KEYS / f"{key}.key"), "cert_file": str(KEYS / f"{key}.crt")}],
            "xmlsec_binary": "/usr/bin/xmlsec1",
            "metadata": {"inline": [idp_metadata]},
            "allow_unknown_attributes": True,
            "accepted_time_diff": 60,
            "service": {"sp": {
                "endpoints": {
                    "assertion_consumer_service": [(f"{origin}/acs", BINDING_HTTP_POST),
                                                   (f"{origin}/acs/redirect", BINDING_HTTP_REDIRECT)],
                    "single_logout_service": [(f"{origin}/slo", BINDING_HTTP_REDIRECT)],
                },
                "authn_requests_signed": sign_requests,
                "logout_requests_signed": True,
                "want_response_signed": want_response_signed,
                "want_assertions_signed": want_assertions_signed,
                "want_assertions_or_response_signed": True,
                "allow_unsolicited": True,
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
            }},
        })
        self.client = Saml2Client(config)
        self.sign_requests = sign_requests

    # -- SSO ---------------------------------------------------------------------------------
    def login(self, binding: str = BINDING_HTTP_REDIRECT, relay_state: str = "", force: bool = False,
              passive: bool = False, name_id_format: str | None = None, acs_binding: str = BINDING_HTTP_POST,
              sign: bool | None = None):
        """An AuthnRequest for the IdP. Returns (request id, how to send it): for the Redirect binding
        ("GET", url, None); for POST ("POST", action, fields)."""
        kwargs = {}
        if force:
            kwargs["force_authn"] = "true"
        if passive:
            kwargs["is_passive"] = "true"
        if name_id_format:
            kwargs["nameid_format"] = name_id_format
        acs = f"{self.origin}/acs" if acs_binding == BINDING_HTTP_POST else f"{self.origin}/acs/redirect"
        req_id, info = self.client.prepare_for_authenticate(
            entityid=self.idp_entity_id, relay_state=relay_state, binding=binding,
            sign=self.sign_requests if sign is None else sign, sigalg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256,
            assertion_consumer_service_url=acs, response_binding=acs_binding, **kwargs)
        if binding == BINDING_HTTP_REDIRECT:
            return req_id, ("GET", dict(info["headers"])["Location"], None)
        action, fields = parse_form(info["data"])
        return req_id, ("POST", action, fields)

    def accept(self, saml_response: str, binding: str = BINDING_HTTP_POST, outstanding: dict | None = None):
        """Parses and verifies a Response (raises when pysaml2 refuses it)."""
        resp = self.client.parse_authn_request_response(saml_response, binding, outstanding=outstanding or {})
        if resp is None:
            raise ValueError("pysaml2 returned no response")
        return resp

    # -- SLO ---------------------------------------------------------------------------------
    def logout_request(self, name_id, session_index: str | None = None, relay_state: str = "rs"):
        """A signed LogoutRequest (Redirect binding) for the IdP: returns (id, url)."""
        slo = self.client.metadata.single_logout_service(self.idp_entity_id, BINDING_HTTP_REDIRECT, "idpsso")
        destination = slo[0]["location"]
        req_id, req = self.client.create_logout_request(destination, self.idp_entity_id, name_id=name_id,
                                                        session_indexes=[session_index] if session_index else None,
                                                        sign=False)
        info = self.client.apply_binding(BINDING_HTTP_REDIRECT, str(req), destination, relay_state,
                                         sign=True, sigalg=SIG_RSA_SHA256)
        return req_id, dict(info["headers"])["Location"]

    def answer_logout(self, url: str) -> str:
        """Handles the IdP's LogoutRequest (a Redirect URL to our SLO): returns the URL of our
        signed LogoutResponse back to the IdP."""
        q = parse_qs(urlsplit(url).query)
        req = self.client.parse_logout_request(q["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
        if req is None:
            raise ValueError("pysaml2 refused the LogoutRequest")
        info = self.client.handle_logout_request(q["SAMLRequest"][0], req.message.name_id, BINDING_HTTP_REDIRECT,
                                                 sign=True, relay_state=q.get("RelayState", [""])[0])
        return dict(info["headers"])["Location"]


def parse_form(page: str) -> tuple[str, dict]:
    """The action and hidden fields of an auto-submitting form."""
    form = re.search(r"<form[^>]*>", page).group(0)
    action = html.unescape(re.search(r'action="([^"]+)"', form).group(1))
    fields = {html.unescape(m.group(1)): html.unescape(m.group(2))
              for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)}
    return action, fields


def redirect_message(url: str) -> tuple[str, dict]:
    """The XML and query of a Redirect-binding URL (DEFLATE + base64)."""
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    key = "SAMLResponse" if "SAMLResponse" in q else "SAMLRequest"
    return zlib.decompress(base64.b64decode(q[key]), -15).decode(), q


def verify_query_signature(url: str, certificate_b64: str) -> None:
    """Verifies the Redirect-binding signature of `url` (over `SAMLxxx=…&RelayState=…&SigAlg=…` as
    sent) with the certificate from the IdP's metadata; raises if it does not verify."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from urllib.parse import unquote
    signed, _, sig = url.split("?", 1)[1].rpartition("&Signature=")
    assert "SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256" in signed
    cert = x509.load_der_x509_certificate(base64.b64decode(certificate_b64))
    cert.public_key().verify(base64.b64decode(unquote(sig)), signed.encode(), padding.PKCS1v15(), hashes.SHA256())


def verify_every_signature(xml: str, certificate: str) -> None:
    """Asserts that `xmlsec1 --verify` accepts every signature of a Response (on the Response
    and on the Assertion, whichever are signed) with the certificate from the IdP's metadata."""
    head, _, assertion = xml.partition("<saml:Assertion")
    if "<ds:Signature" in head:
        assert xmlsec1_verify(xml, certificate, "Response"), "xmlsec1 refuses the Response signature"
    if "<ds:Signature" in assertion:
        assert xmlsec1_verify(xml, certificate, "Assertion"), "xmlsec1 refuses the Assertion signature"
    if "status:Success" in xml:
        assert "<ds:Signature" in xml, "a successful Response is signed"


def xmlsec1_verify(xml: str, certificate_b64: str, node: str) -> bool:
    """`xmlsec1 --verify` of the Signature child of the element `node` (Response, Assertion,
    LogoutRequest, LogoutResponse) with the certificate from the IdP's metadata (base64 DER or PEM)."""
    certificate_b64 = "".join(l for l in certificate_b64.splitlines() if "CERTIFICATE" not in l).replace(" ", "")
    with tempfile.TemporaryDirectory() as d:
        cert = Path(d) / "idp.crt"
        body = "\n".join(certificate_b64[i:i + 64] for i in range(0, len(certificate_b64), 64))
        cert.write_text(f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n")
        msg = Path(d) / "msg.xml"
        msg.write_text(xml)
        ids = []
        for el in ("urn:oasis:names:tc:SAML:2.0:protocol:Response", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
                   "urn:oasis:names:tc:SAML:2.0:protocol:LogoutRequest",
                   "urn:oasis:names:tc:SAML:2.0:protocol:LogoutResponse"):
            ids += ["--id-attr:ID", el]
        r = subprocess.run(["xmlsec1", "--verify", "--pubkey-cert-pem", str(cert), *ids, "--node-xpath",
                            f"//*[local-name()='{node}']/*[local-name()='Signature']", str(msg)],
                           capture_output=True, text=True)
        return r.returncode == 0
