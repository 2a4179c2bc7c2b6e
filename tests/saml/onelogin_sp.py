"""A second, independent SAML service provider for the end-to-end tests: OneLogin's python3-saml
(which verifies with python-xmlsec / libxmlsec1, in strict mode: Destination, Recipient,
InResponseTo, Audience, times and signatures are all checked).

Requests are described as python3-saml wants them (`https`, `http_host`, `script_name`, GET and POST
data), so the SP believes it is served at `origin` (https://127.0.0.1:<port>/<path>).
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

KEYS = Path(__file__).resolve().parent / "keys"


class OneLoginSP:
    __test__ = False  # not a pytest class

    def __init__(self, origin: str, idp_metadata: str, key: str = "sp2", sign_requests: bool = True,
                 want_response_signed: bool = False, want_assertions_signed: bool = True,
                 name_id_format: str = C.NAMEID_UNSPECIFIED, want_assertions_encrypted: bool = False):
        self.origin = origin
        parts = urlsplit(origin)
        self.host, self.base = parts.netloc, parts.path.rstrip("/")
        idp = OneLogin_Saml2_IdPMetadataParser.parse(idp_metadata)["idp"]
        self.settings = {
            "strict": True,
            "debug": False,
            "sp": {
                "entityId": f"{origin}/metadata",
                "assertionConsumerService": {"url": f"{origin}/acs", "binding": C.BINDING_HTTP_POST},
                "singleLogoutService": {"url": f"{origin}/slo", "binding": C.BINDING_HTTP_REDIRECT},
                "NameIDFormat": name_id_format,
                "x509cert": (KEYS / f"{key}.crt").read_text(),
                "privateKey": (KEYS / f"{key}.key").read_text(),
            },
            "idp": idp,
            "security": {
                "authnRequestsSigned": sign_requests,
                "logoutRequestSigned": True,
                "logoutResponseSigned": True,
                "wantMessagesSigned": want_response_signed,
                "wantAssertionsSigned": want_assertions_signed,
                "wantAssertionsEncrypted": want_assertions_encrypted,
                "wantNameId": True,
                "requestedAuthnContext": False,
                "signatureAlgorithm": C.RSA_SHA256,
                "digestAlgorithm": C.SHA256,
                "rejectDeprecatedAlgorithm": True,
            },
        }

    def auth(self, path: str, get: dict | None = None, post: dict | None = None) -> OneLogin_Saml2_Auth:
        return OneLogin_Saml2_Auth({"https": "on", "http_host": self.host, "script_name": self.base + path,
                                    "get_data": get or {}, "post_data": post or {}}, self.settings)

    def login(self, relay_state: str = "rs-ol") -> tuple[str, str]:
        """(request id, Redirect URL of a signed AuthnRequest)."""
        auth = self.auth("/login")
        url = auth.login(return_to=relay_state)
        return auth.get_last_request_id(), url

    def accept(self, fields: dict, request_id: str | None) -> OneLogin_Saml2_Auth:
        """Processes the Response posted to the ACS; raises with python3-saml's reasons if refused."""
        auth = self.auth("/acs", post=fields)
        auth.process_response(request_id=request_id)
        if auth.get_errors() or not auth.is_authenticated():
            raise ValueError(f"python3-saml refused the response: {auth.get_errors()} {auth.get_last_error_reason()}")
        return auth

    def logout(self, name_id: str, session_index: str, name_id_format: str) -> tuple[str, str]:
        """(request id, Redirect URL of a signed LogoutRequest)."""
        auth = self.auth("/logout")
        url = auth.logout(return_to="rs-slo", name_id=name_id, session_index=session_index,
                          name_id_format=name_id_format)
        return auth.get_last_request_id(), url

    def slo(self, url: str, request_id: str | None = None) -> str | None:
        """Handles what the IdP sent to our SLO endpoint (a LogoutRequest: returns the URL of our
        signed LogoutResponse; a LogoutResponse: checks it, returns None)."""
        q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        auth = self.auth("/slo", get=q)
        out = auth.process_slo(request_id=request_id, delete_session_cb=lambda: None)
        if auth.get_errors():
            raise ValueError(f"python3-saml refused the logout message: {auth.get_errors()} "
                             f"{auth.get_last_error_reason()}")
        return out
