"""The OpenID Connect provider end to end on each runtime, through the iMIS emulator (acme = iMIS
Cloud mode: the sign-in goes through the RiSE page and comes back to /imis/callback).

Peers: the `openid-client` npm package (a certified relying-party library; tests/oidc/rp.mjs) for
code + PKCE, refresh and logout, and authlib (Python) for a confidential client with
client_secret_post / client_secret_basic and HS256 / RS256 id_tokens; ES256 id_tokens (demo-es)
checked by openid-client pinned to ES256 and by `cryptography` against the tenant's EC key. Each
test is named after the OpenID Foundation conformance test it mirrors."""
from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlparse

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from test_signin import browser, emulator, from_imis, get, imis_hand_off, post, tampered  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "saml"))

ROOT = Path(__file__).resolve().parents[2]
NODE = Path(os.environ.get("EDGE_IDP_TOOLS", Path.home() / ".cache/edge-idp-tools")) / "npm/node_modules/.bin/node"
HOST = "acme.localhost"
RP = {"client_id": "demo-rp", "client_secret": "demo-rp-secret", "redirect_uri": "https://demo-rp.localhost/callback"}
SPA = {"client_id": "demo-spa", "redirect_uri": "https://demo-spa.localhost/callback"}
ES = {"client_id": "demo-es", "client_secret": "demo-es-secret", "redirect_uri": "https://demo-es.localhost/callback"}
HS = {"client_id": "demo-hs", "client_secret": "demo-hs-secret", "redirect_uri": "https://demo-hs.localhost/callback",
      "key": "demo-hs-jwt-signing-key-0123456789abcdef"}
JSMITH_CONTACT_KEY = "87EAD15E-B188-42E8-AE48-E9B8C2B24C94"


def issuer(stack) -> str:
    return stack.url(HOST, "").rstrip("/")


def rp(stack, **cmd) -> dict:
    """Runs one step of the openid-client relying party."""
    env = {**os.environ, "NODE_TLS_REJECT_UNAUTHORIZED": "0", "NODE_NO_WARNINGS": "1"}
    out = subprocess.run([str(NODE), str(ROOT / "tests/oidc/rp.mjs"), json.dumps({"issuer": issuer(stack), **cmd})],
                         capture_output=True, text=True, env=env, cwd=ROOT / "tests/oidc", timeout=60)
    assert out.stdout, out.stderr
    return json.loads(out.stdout)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(stack, client=RP, **params) -> str:
    q = {"response_type": "code", "client_id": client["client_id"], "redirect_uri": client["redirect_uri"],
         "scope": "openid profile email roles offline_access", "state": "st-" + secrets.token_hex(4), "nonce": "n-" + secrets.token_hex(4)}
    q.update(params)
    q = {k: v for k, v in q.items() if v is not None}
    return stack.url(HOST, "/oidc/authorize?" + urlencode(q))


def sign_in_at_imis(stack, s, resp, user="jsmith") -> requests.Response:
    """`resp` sent the browser to the RiSE page: sign in there and post the hand-off back."""
    assert resp.status_code == 303, resp.text
    assert resp.headers["location"].startswith(stack.imis_origin), resp.headers["location"]
    action, token = imis_hand_off(s, resp.headers["location"], user)
    assert action == stack.url(HOST, "/imis/callback")
    return post(s, action, data={"refresh_token": token}, headers=from_imis(stack))


def callback_params(resp, redirect_uri) -> dict:
    assert resp.status_code == 303, resp.text
    loc = resp.headers["location"]
    assert loc.startswith(redirect_uri + "?"), loc
    return {k: v[0] for k, v in parse_qs(urlparse(loc).query).items()}


def code_for(stack, s, client=RP, user="jsmith", **params) -> tuple[dict, str]:
    """Runs the authorization request (signing in when needed); returns the callback params and
    the redirect location."""
    r = get(s, authorize_url(stack, client, **params))
    if r.headers.get("location", "").startswith(stack.imis_origin):
        r = sign_in_at_imis(stack, s, r, user)
    return callback_params(r, client["redirect_uri"]), r.headers["location"]


def token_request(stack, data, auth=None) -> requests.Response:
    return requests.post(stack.url(HOST, "/oidc/token"), data=data, auth=auth, verify=False, timeout=30)


def redeem(stack, code, client=RP, verifier=None) -> requests.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": client["redirect_uri"]}
    if verifier:
        data["code_verifier"] = verifier
    auth = (client["client_id"], client["client_secret"]) if "client_secret" in client else None
    if auth is None:
        data["client_id"] = client["client_id"]
    return token_request(stack, data, auth)


def through_imis_logout(stack, s, location: str) -> str:
    """acme signs out of iMIS too: `location` is iMIS's logout page, which returns to the IdP's
    /signed-out, which forwards (MAC-checked) to the relying party. Returns that final target."""
    assert location.startswith(
        f"{stack.imis_origin}/acme/AsiCommon/Controls/Shared/FormsAuthentication/logout.aspx?returnurl="), location
    r = get(s, location)
    assert r.status_code == 302 and r.headers["location"].startswith(stack.url(HOST, "/signed-out?")), r.headers
    r = get(s, r.headers["location"])
    assert r.status_code == 303, r.text
    return r.headers["location"]


def jwks(stack):
    return JsonWebKey.import_key_set(requests.get(stack.url(HOST, "/.well-known/jwks.json"), verify=False, timeout=30).json())


# --------------------------------------------------------------------------------- discovery, keys

def test_oidcc_discovery_endpoint_verification(stack):
    r = requests.get(stack.url(HOST, "/.well-known/openid-configuration"), verify=False, timeout=30)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    meta = r.json()
    iss = issuer(stack)
    assert meta["issuer"] == iss
    for name, path in [("authorization_endpoint", "/oidc/authorize"), ("token_endpoint", "/oidc/token"),
                       ("userinfo_endpoint", "/oidc/userinfo"), ("jwks_uri", "/.well-known/jwks.json"),
                       ("end_session_endpoint", "/oidc/logout")]:
        assert meta[name] == iss + path
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "RS256" in meta["id_token_signing_alg_values_supported"]
    keys = requests.get(meta["jwks_uri"], verify=False, timeout=30).json()["keys"]
    kids = {k["kid"] for k in keys}
    assert {"acme-demo-rsa-1", "acme-demo-rsa-2", "acme-demo-ec-1"} <= kids, "current, next and the ES256 key"
    assert all("d" not in k and "p" not in k for k in keys), "no private parts"


# --------------------------------------------------------------------------------- code flow

def test_oidcc_server_openid_client_code_pkce_userinfo_refresh_logout(stack, emulator):
    """oidcc-server + oidcc-userinfo-get + oidcc-refresh-token + oidcc-rp-initiated-logout with the
    certified openid-client library (confidential client, client_secret_basic, PKCE)."""
    start = rp(stack, op="start", scope="openid profile email roles offline_access", **RP)
    assert "error" not in start, start
    s = browser()
    r = sign_in_at_imis(stack, s, get(s, start["url"]))
    params = callback_params(r, RP["redirect_uri"])
    assert params["state"] == start["state"] and params["iss"] == issuer(stack)
    out = rp(stack, op="callback", url=r.headers["location"], verifier=start["verifier"],
             state=start["state"], nonce=start["nonce"], **RP)
    assert "error" not in out, out
    claims, userinfo, tokens = out["claims"], out["userinfo"], out["tokens"]
    assert claims["iss"] == issuer(stack) and claims["aud"] == "demo-rp"
    assert claims["sub"] == JSMITH_CONTACT_KEY and claims["nonce"] == start["nonce"]
    assert claims["auth_time"] <= claims["iat"] and claims["sid"] and claims["at_hash"]
    assert claims["email"] == "jane.smith@acme-members.example" and claims["given_name"] == "Jane"
    assert claims["roles"] == ["Member", "RegisteredUser"]
    assert claims["Chapter"] == "NORTH", "Profile IQA columns become claims"
    assert userinfo["sub"] == JSMITH_CONTACT_KEY and userinfo["family_name"] == "Smith"
    assert tokens["token_type"].lower() == "bearer" and tokens["refresh_token"]
    # oidcc-refresh-token: a new access token and id_token for the same subject.
    refreshed = rp(stack, op="refresh", refresh_token=tokens["refresh_token"], **RP)
    assert "error" not in refreshed, refreshed
    assert refreshed["claims"]["sub"] == JSMITH_CONTACT_KEY
    assert refreshed["tokens"]["refresh_token"] != tokens["refresh_token"], "rotated"
    # oidcc-rp-initiated-logout with id_token_hint, post_logout_redirect_uri and state.
    url = rp(stack, op="logout_url", id_token=tokens["id_token"], state="bye-1",
             post_logout_redirect_uri="https://demo-rp.localhost/signed-out", **RP)["url"]
    r = get(s, url)
    assert r.status_code == 303, r.text
    assert "__Host-idp-session=;" in r.headers.get("set-cookie", "")
    assert through_imis_logout(stack, s, r.headers["location"]) == "https://demo-rp.localhost/signed-out?state=bye-1"
    # The session is over: prompt=none now answers login_required.
    params, _ = code_for(stack, s, prompt="none")
    assert params["error"] == "login_required"



def openid_client_tokens(stack, client=RP, user="jsmith", scope="openid profile email offline_access") -> dict:
    """Signs `user` in through openid-client's code flow; the token response."""
    start = rp(stack, op="start", scope=scope, **client)
    assert "error" not in start, start
    s = browser()
    r = sign_in_at_imis(stack, s, get(s, start["url"]), user)
    out = rp(stack, op="callback", url=r.headers["location"], verifier=start["verifier"],
             state=start["state"], nonce=start["nonce"], **client)
    assert "error" not in out, out
    return out["tokens"]


def test_openid_client_introspects_and_revokes_tokens(stack, emulator):
    """RFC 7662 and RFC 7009 through openid-client's tokenIntrospection / tokenRevocation, with
    the endpoints it finds in discovery: a client sees its own tokens, another client sees none
    and cannot revoke them, and revoking the refresh token ends the access token too."""
    tokens = openid_client_tokens(stack)
    at, rt = tokens["access_token"], tokens["refresh_token"]
    info = rp(stack, op="introspect", token=at, **RP)["introspection"]
    assert info["active"] is True and info["client_id"] == "demo-rp", info
    assert info["sub"] == JSMITH_CONTACT_KEY and "openid" in info["scope"].split()
    info = rp(stack, op="introspect", token=rt, **RP)["introspection"]
    assert info["active"] is True and info["token_type"] == "refresh_token", info
    # Another client of the tenant learns nothing and ends nothing.
    assert rp(stack, op="introspect", token=at, **ES)["introspection"] == {"active": False}
    refused = rp(stack, op="revoke", token=rt, **ES)
    assert refused.get("oauth_error") == "invalid_request", refused
    assert rp(stack, op="introspect", token=rt, **RP)["introspection"]["active"] is True
    # The owner revokes the refresh token: both are dead (userinfo refuses the access token).
    assert rp(stack, op="revoke", token=rt, hint="refresh_token", **RP) == {"revoked": True}
    assert rp(stack, op="introspect", token=at, **RP)["introspection"] == {"active": False}
    r = requests.get(stack.url(HOST, "/oidc/userinfo"), headers={"Authorization": f"Bearer {at}"},
                     verify=False, timeout=30)
    assert r.status_code == 401 and "revoked" in r.headers.get("www-authenticate", "") + r.text
    refreshed = rp(stack, op="refresh", refresh_token=rt, **RP)
    assert refreshed.get("oauth_error") == "invalid_grant", refreshed
    # An unknown token is revoked without complaint (RFC 7009 §2.2).
    assert rp(stack, op="revoke", token="not-a-token", **RP) == {"revoked": True}


API = {"client_id": "demo-api", "client_secret": "demo-api-secret"}


def test_openid_client_client_credentials(stack, emulator):
    """RFC 6749 §4.4 through openid-client's clientCredentialsGrant: demo-api gets an access token
    for itself with its own API scopes, which userinfo refuses and introspection shows; a member
    scope, or a client that has not enabled the grant, is refused."""
    out = rp(stack, op="client_credentials", scope="members.read", **API)
    assert "error" not in out, out
    tokens = out["tokens"]
    assert tokens["scope"] == "members.read" and "refresh_token" not in tokens and "id_token" not in tokens
    header, claims = (json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
                      for part in tokens["access_token"].split(".")[:2])
    assert header["typ"] == "at+jwt" and claims["sub"] == "demo-api" and claims["aud"] == issuer(stack)
    r = requests.get(stack.url(HOST, "/oidc/userinfo"), headers={"Authorization": f"Bearer {tokens['access_token']}"},
                     verify=False, timeout=30)
    assert r.status_code == 401, r.text
    info = rp(stack, op="introspect", token=tokens["access_token"], **API)["introspection"]
    assert info["active"] is True and info["client_id"] == "demo-api" and info["scope"] == "members.read", info
    assert rp(stack, op="client_credentials", **API)["tokens"]["scope"] == "members.read events.write"
    refused = rp(stack, op="client_credentials", scope="openid", **API)
    assert refused.get("oauth_error") == "invalid_scope", refused
    refused = rp(stack, op="client_credentials", **RP)
    assert refused.get("oauth_error") == "unauthorized_client", refused

def test_oidcc_server_public_client_with_pkce_openid_client(stack, emulator):
    start = rp(stack, op="start", scope="openid email", **SPA)
    s = browser()
    r = sign_in_at_imis(stack, s, get(s, start["url"]), user="tstark")
    out = rp(stack, op="callback", url=r.headers["location"], verifier=start["verifier"],
             state=start["state"], nonce=start["nonce"], **SPA)
    assert "error" not in out, out
    assert "email" not in out["userinfo"], "tstark has no email; no null claims"
    assert "given_name" not in out["claims"], "no profile scope, no profile claims"


def test_oidcc_ensure_pkce_required_for_public_clients(stack, emulator):
    s = browser()
    params, _ = code_for(stack, s, SPA)
    assert params["error"] == "invalid_request" and "PKCE" in params["error_description"]


def test_oidcc_pkce_verifier_mismatch_is_refused(stack, emulator):
    s = browser()
    verifier, challenge = pkce()
    params, _ = code_for(stack, s, SPA, code_challenge=challenge, code_challenge_method="S256")
    r = redeem(stack, params["code"], SPA, verifier="x" * 43)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    params, _ = code_for(stack, s, SPA, code_challenge=challenge, code_challenge_method="plain")
    assert params["error"] == "invalid_request"


def test_oidcc_codereuse(stack, emulator):
    s = browser()
    params, _ = code_for(stack, s)
    first = redeem(stack, params["code"])
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == "no-store"
    access = first.json()["access_token"]
    assert requests.get(stack.url(HOST, "/oidc/userinfo"), headers={"Authorization": f"Bearer {access}"},
                        verify=False, timeout=30).status_code == 200
    second = redeem(stack, params["code"])
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    # What the first use issued is revoked: the access token and the refresh token.
    r = requests.get(stack.url(HOST, "/oidc/userinfo"), headers={"Authorization": f"Bearer {access}"},
                     verify=False, timeout=30)
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]
    r = token_request(stack, {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]},
                      (RP["client_id"], RP["client_secret"]))
    assert r.json()["error"] == "invalid_grant"


def test_oidcc_codereuse_30seconds_bound_to_client_and_redirect_uri(stack, emulator):
    s = browser()
    params, _ = code_for(stack, s)
    r = token_request(stack, {"grant_type": "authorization_code", "code": params["code"],
                              "redirect_uri": "https://demo-rp.localhost/other"}, (RP["client_id"], RP["client_secret"]))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    params, _ = code_for(stack, s)
    r = token_request(stack, {"grant_type": "authorization_code", "code": params["code"],
                              "redirect_uri": HS["redirect_uri"], "client_id": HS["client_id"],
                              "client_secret": HS["client_secret"]})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_oidcc_client_secret_basic_wrong_secret(stack, emulator):
    r = token_request(stack, {"grant_type": "authorization_code", "code": "x", "redirect_uri": RP["redirect_uri"]},
                      (RP["client_id"], "wrong"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r.headers["www-authenticate"].startswith("Basic")
    r = token_request(stack, {"grant_type": "authorization_code", "code": "x", "redirect_uri": RP["redirect_uri"],
                              "client_id": RP["client_id"], "client_secret": RP["client_secret"]})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client", "registered for client_secret_basic"


def test_oidcc_ensure_redirect_uri_in_authorization_request(stack, emulator):
    s = browser()
    r = get(s, authorize_url(stack, redirect_uri=None))
    assert r.status_code == 400 and "location" not in r.headers
    assert "redirect_uri is missing" in r.text


def test_oidcc_ensure_registered_redirect_uri(stack, emulator):
    s = browser()
    r = get(s, authorize_url(stack, redirect_uri="https://evil.example/callback"))
    assert r.status_code == 400 and "location" not in r.headers
    assert "not registered" in r.text
    r = get(s, authorize_url(stack, client_id="no-such-client"))
    assert r.status_code == 400 and "location" not in r.headers


def test_oidcc_response_type_missing_and_scope_without_openid(stack, emulator):
    s = browser()
    params, _ = code_for(stack, s, response_type=None)
    assert params["error"] == "invalid_request"
    params, _ = code_for(stack, s, response_type="token")
    assert params["error"] == "unsupported_response_type"
    params, _ = code_for(stack, s, scope="profile")
    assert params["error"] == "invalid_scope"
    params, _ = code_for(stack, s, request="eyJhbGciOiJub25lIn0.e30.")
    assert params["error"] == "request_not_supported"


def test_oidcc_prompt_none_not_logged_in(stack, emulator):
    s = browser()
    params, _ = code_for(stack, s, prompt="none", state="keep-me")
    assert params["error"] == "login_required" and params["state"] == "keep-me"


def test_oidcc_prompt_none_logged_in(stack, emulator):
    s = browser()
    code_for(stack, s)
    r = get(s, authorize_url(stack, prompt="none"))
    assert callback_params(r, RP["redirect_uri"])["code"], "a code at once, without going to iMIS"


def forced_reauthentication(stack) -> str:
    """prompt=login / max_age: iMIS's logout first, which returns to the RiSE page, which asks again."""
    return (f"{stack.imis_origin}/acme/AsiCommon/Controls/Shared/FormsAuthentication/logout.aspx?returnurl="
            + quote(f"{stack.imis_origin}/acme/sso/EdgeIdP-OIDC", safe=""))


def test_oidcc_prompt_login(stack, emulator):
    s = browser()
    r = get(s, authorize_url(stack))
    assert r.headers["location"] == f"{stack.imis_origin}/acme/sso/EdgeIdP-OIDC", "no forced prompt by default"
    params = callback_params(sign_in_at_imis(stack, s, r), RP["redirect_uri"])
    first = jwt.decode(redeem(stack, params["code"]).json()["id_token"], jwks(stack))
    time.sleep(1.1)
    r = get(s, authorize_url(stack, prompt="login"))
    assert r.headers["location"] == forced_reauthentication(stack), "signs in again, at iMIS too"
    assert 'name="password"' in s.get(r.headers["location"], timeout=30).text, "iMIS asks for the password"
    params = callback_params(sign_in_at_imis(stack, s, r), RP["redirect_uri"])
    second = jwt.decode(redeem(stack, params["code"]).json()["id_token"], jwks(stack))
    assert second["auth_time"] > first["auth_time"]


def test_oidcc_max_age_1(stack, emulator):
    s = browser()
    params, _ = code_for(stack, s)
    first = jwt.decode(redeem(stack, params["code"]).json()["id_token"], jwks(stack))
    time.sleep(2)
    r = get(s, authorize_url(stack, max_age="1"))
    assert r.headers["location"] == forced_reauthentication(stack), "the session is older than max_age"
    params = callback_params(sign_in_at_imis(stack, s, r), RP["redirect_uri"])
    second = jwt.decode(redeem(stack, params["code"]).json()["id_token"], jwks(stack))
    assert second["auth_time"] > first["auth_time"]
    assert second["sid"] == first["sid"], "the same IdP session, signed in again"


def test_oidcc_response_mode_form_post(stack, emulator):
    s = browser()
    code_for(stack, s)
    r = get(s, authorize_url(stack, response_mode="form_post", state="fp"))
    assert r.status_code == 200
    assert f'action="{RP["redirect_uri"]}"' in r.text
    assert re.search(r'name="code" value="[A-Za-z0-9_-]{43}"', r.text)
    assert 'name="state" value="fp"' in r.text


def test_oidcc_userinfo_post_and_bearer_errors(stack, emulator):
    s = browser()
    params, _ = code_for(stack, s, scope="openid roles")
    access = redeem(stack, params["code"]).json()["access_token"]
    for path in ["/oidc/userinfo", "/openid/userinfo"]:
        r = requests.post(stack.url(HOST, path), data={"access_token": access}, verify=False, timeout=30)
        assert r.status_code == 200, r.text
        assert r.json() == {"sub": JSMITH_CONTACT_KEY, "roles": ["Member", "RegisteredUser"]}
    r = requests.get(stack.url(HOST, "/oidc/userinfo"), headers={"Authorization": f"Bearer {access[:-3]}abc"},
                     verify=False, timeout=30)
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]
    r = requests.get(stack.url(HOST, "/oidc/userinfo"), verify=False, timeout=30)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_oidcc_refresh_token_only_for_offline_access(stack, emulator):
    """A refresh token outlives the sign-in, so it is issued only when the RP asks for one with
    offline_access (OpenID Connect Core §11), and only to a client that may refresh."""
    s = browser()
    params, _ = code_for(stack, s, scope="openid email")
    r = redeem(stack, params["code"])
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert tokens["scope"] == "openid email" and "refresh_token" not in tokens, tokens
    params, _ = code_for(stack, s)
    r = redeem(stack, params["code"])
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert "offline_access" in tokens["scope"].split() and tokens["refresh_token"], tokens
    # demo-consent may not refresh: offline_access is dropped from what it is granted.
    client = {"client_id": "demo-consent", "redirect_uri": "https://demo-consent.localhost/callback"}
    _, challenge = pkce()
    r = get(s, authorize_url(stack, client, scope="openid email offline_access", prompt="consent",
                             code_challenge=challenge, code_challenge_method="S256"))
    assert r.status_code == 200 and 'id="consent"' in r.text, r.text
    assert "while you are not signed in" not in r.text


def test_oidcc_refresh_token_reuse_revokes_the_family(stack, emulator):
    s = browser()
    params, _ = code_for(stack, s)
    rt1 = redeem(stack, params["code"]).json()["refresh_token"]
    auth = (RP["client_id"], RP["client_secret"])
    second = token_request(stack, {"grant_type": "refresh_token", "refresh_token": rt1}, auth)
    assert second.status_code == 200, second.text
    rt2 = second.json()["refresh_token"]
    reuse = token_request(stack, {"grant_type": "refresh_token", "refresh_token": rt1}, auth)
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    after = token_request(stack, {"grant_type": "refresh_token", "refresh_token": rt2}, auth)
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant", "the whole family is revoked"


def test_oidcc_id_token_hint_logout_with_unregistered_post_logout_uri_is_refused(stack, emulator):
    s = browser()
    params, _ = code_for(stack, s)
    id_token = redeem(stack, params["code"]).json()["id_token"]
    r = get(s, stack.url(HOST, "/oidc/logout?" + urlencode(
        {"id_token_hint": id_token, "post_logout_redirect_uri": "https://evil.example/"})))
    assert r.status_code == 400 and "location" not in r.headers
    # Without id_token_hint the member confirms first.
    r = get(s, stack.url(HOST, "/oidc/logout?client_id=demo-rp"))
    assert r.status_code == 200 and 'id="oidc-logout"' in r.text


def saml_sso_in_session(stack, s):
    """The acme SAML app demo-sp (pysaml2 in process, tests/saml/sp.py) joins the browser's IdP
    session without signing in again; returns the SP and pysaml2's verified Response."""
    from sp import TestSP, parse_form  # tests/saml, on sys.path below
    md = requests.get(stack.url(HOST, "/saml/demo-sp/metadata"), verify=False, timeout=30)
    md.raise_for_status()
    sp = TestSP(stack.sp_origin, md.text)
    req_id, (_, url, _) = sp.login(relay_state="rs-fc")
    r = get(s, url)
    assert r.status_code == 200, "a Response at once: the member is signed in"
    action, fields = parse_form(r.text)
    assert action == f"{sp.origin}/acs"
    return sp, sp.accept(fields["SAMLResponse"], outstanding={req_id: "/"})


def frames_of(page: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<iframe src="([^"]+)"', page)]


def test_oidcc_frontchannel_rp_initiated_logout(stack, emulator):
    """oidcc-frontchannel-rp-initiated-logout with a second participant: the member signs in to
    demo-rp (at iMIS), then demo-es and the SAML app demo-sp in the same IdP session. demo-es
    starts RP-initiated logout: the IdP ends the session, sends demo-sp a LogoutRequest, and the
    last page loads demo-rp's front-channel logout URI (iss, and sid = the sid of demo-rp's
    id_token) in a frame, never demo-es's own, before going on to demo-es's
    post_logout_redirect_uri with its state."""
    s = browser()
    params, _ = code_for(stack, s)
    rp_id = jwt.decode(redeem(stack, params["code"]).json()["id_token"], jwks(stack))
    r = get(s, authorize_url(stack, ES))
    params = callback_params(r, ES["redirect_uri"])  # no sign-in: the same IdP session
    es_id_token = redeem(stack, params["code"], ES).json()["id_token"]
    es_id = jwt.decode(es_id_token, jwks(stack))
    assert es_id["sid"] == rp_id["sid"] and rp_id["sid"]
    sp, saml = saml_sso_in_session(stack, s)

    r = get(s, stack.url(HOST, "/oidc/logout?" + urlencode(
        {"id_token_hint": es_id_token, "post_logout_redirect_uri": "https://demo-es.localhost/signed-out",
         "state": "bye-es"})))
    assert "__Host-idp-session=;" in r.headers.get("set-cookie", ""), "the session ends at once"
    # The SAML participant first (front channel, Redirect binding), back to /signout/continue.
    assert r.status_code == 303 and r.headers["location"].startswith(f"{sp.origin}/slo?SAMLRequest="), r.text
    back = sp.answer_logout(r.headers["location"])
    r = get(s, back)
    assert r.headers["location"].endswith("/signout/continue"), r.headers.get("location")
    r = get(s, stack.url(HOST, "/signout/continue"))
    assert r.status_code == 200, r.text
    frames = frames_of(r.text)
    assert len(frames) == 1, frames
    frame = urlparse(frames[0])
    assert f"{frame.scheme}://{frame.netloc}{frame.path}" == "https://demo-rp.localhost/frontchannel-logout"
    q = {k: v[0] for k, v in parse_qs(frame.query).items()}
    assert q == {"iss": issuer(stack), "sid": rp_id["sid"]}
    assert "https://demo-rp.localhost" in r.headers["content-security-policy"].split("frame-src")[-1]
    cont = html.unescape(re.search(r'id="logout-continue" href="([^"]+)"', r.text).group(1))
    assert through_imis_logout(stack, s, cont) == "https://demo-es.localhost/signed-out?state=bye-es"
    # The session is over for every client.
    params, _ = code_for(stack, s, prompt="none")
    assert params["error"] == "login_required"
    params, _ = code_for(stack, s, ES, prompt="none")
    assert params["error"] == "login_required"


def test_no_access_mapping_applies_to_oidc_clients(stack, emulator):
    s = browser()
    r = get(s, authorize_url(stack))
    r = sign_in_at_imis(stack, s, r, user="bwayne")
    assert r.status_code == 403 and "Acme Demo Relying Party" in r.text
    assert "location" not in r.headers


def test_oidcc_authorize_errors_go_to_the_verified_redirect_uri_with_state_and_iss(stack, emulator):
    """Once client and redirect URI are verified, every other refusal is an error response at the
    redirect URI (RFC 9207 iss, state echoed), before any sign-in."""
    s = browser()
    for extra, code in [({"response_type": "id_token"}, "unsupported_response_type"),
                        ({"scope": "email"}, "invalid_scope"),
                        ({"request_uri": "https://demo-rp.localhost/req.jwt"}, "request_uri_not_supported"),
                        ({"code_challenge": "x" * 43, "code_challenge_method": "plain"}, "invalid_request")]:
        r = get(s, authorize_url(stack, state="err-st", **extra))
        params = callback_params(r, RP["redirect_uri"])
        assert params["error"] == code, (extra, params)
        assert params["state"] == "err-st" and params["iss"] == issuer(stack)
        assert "code" not in params
    # A repeated parameter (RFC 6749 §3.1) is refused the same way.
    url = authorize_url(stack, state="dup", login_hint="a") + "&login_hint=b"
    params = callback_params(get(s, url), RP["redirect_uri"])
    assert params["error"] == "invalid_request" and "login_hint" in params["error_description"]
    assert params["state"] == "dup"


def test_oidcc_login_hint(stack, emulator):
    """login_hint is accepted (a hint only: the iMIS sign-in page takes no username), signed out
    and signed in, and a code follows (a repeated one is refused: see the test above)."""
    s = browser()
    r = get(s, authorize_url(stack, login_hint="jsmith"))
    assert r.headers["location"].startswith(stack.imis_origin), "signs in at iMIS as usual"
    params = callback_params(sign_in_at_imis(stack, s, r), RP["redirect_uri"])
    id_token = jwt.decode(redeem(stack, params["code"]).json()["id_token"], jwks(stack))
    assert id_token["sub"] == JSMITH_CONTACT_KEY
    params, _ = code_for(stack, s, login_hint="jane.smith@acme-members.example", prompt="none")
    assert params["code"]


def test_oidcc_pkce_challenge_binds_a_confidential_clients_code(stack, emulator):
    """A confidential client that sent a code_challenge must send the verifier too."""
    s = browser()
    verifier, challenge = pkce()
    params, _ = code_for(stack, s, code_challenge=challenge, code_challenge_method="S256")
    r = redeem(stack, params["code"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", "no verifier"
    params, _ = code_for(stack, s, code_challenge=challenge, code_challenge_method="S256")
    r = redeem(stack, params["code"], verifier=pkce()[0])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", "another verifier"
    params, _ = code_for(stack, s, code_challenge=challenge, code_challenge_method="S256")
    assert redeem(stack, params["code"], verifier=verifier).status_code == 200


def test_token_responses_are_not_cached(stack, emulator):
    """Cache-Control: no-store (and Pragma: no-cache) on every token response: success, refresh
    and errors; userinfo too."""
    s = browser()
    params, _ = code_for(stack, s)
    ok = redeem(stack, params["code"])
    auth = (RP["client_id"], RP["client_secret"])
    refreshed = token_request(stack, {"grant_type": "refresh_token", "refresh_token": ok.json()["refresh_token"]}, auth)
    info = requests.get(stack.url(HOST, "/oidc/userinfo"),
                        headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"}, verify=False, timeout=30)
    assert info.status_code == 200 and info.headers["cache-control"] == "no-store"
    bad_grant = redeem(stack, params["code"])  # reuse (revokes what the code gave)
    bad_client = token_request(stack, {"grant_type": "authorization_code", "code": "x"}, (RP["client_id"], "no"))
    bad_type = token_request(stack, {"grant_type": "password", "username": "jsmith", "password": "x"}, auth)
    for r, status in [(ok, 200), (refreshed, 200), (bad_grant, 400), (bad_client, 401), (bad_type, 400)]:
        assert r.status_code == status, r.text
        assert r.headers["cache-control"] == "no-store" and r.headers["pragma"] == "no-cache"
        assert r.headers["content-type"].startswith("application/json")
    assert bad_type.json()["error"] == "unsupported_grant_type"


def test_cors_on_discovery_jwks_userinfo_and_token_for_public_clients(stack, emulator):
    spa_origin = "https://demo-spa.localhost"
    for path in ["/.well-known/openid-configuration", "/.well-known/jwks.json"]:
        r = requests.get(stack.url(HOST, path), headers={"Origin": spa_origin}, verify=False, timeout=30)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*", path
        r = requests.options(stack.url(HOST, path), headers={"Origin": spa_origin, "Access-Control-Request-Method": "GET"},
                             verify=False, timeout=30)
        assert r.status_code == 204 and r.headers["access-control-allow-origin"] == "*", path
    # Token: a public client's POST from its own origin gets CORS; other origins and
    # confidential clients do not.
    s = browser()
    r = requests.options(stack.url(HOST, "/oidc/token"),
                         headers={"Origin": spa_origin, "Access-Control-Request-Method": "POST"}, verify=False, timeout=30)
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == spa_origin
    assert "POST" in r.headers["access-control-allow-methods"]
    verifier, challenge = pkce()
    params, _ = code_for(stack, s, SPA, code_challenge=challenge, code_challenge_method="S256")
    data = {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": SPA["redirect_uri"],
            "client_id": SPA["client_id"], "code_verifier": verifier}
    r = requests.post(stack.url(HOST, "/oidc/token"), data=data, headers={"Origin": spa_origin}, verify=False, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == spa_origin and "origin" in r.headers["vary"].lower()
    access = r.json()["access_token"]
    r = requests.post(stack.url(HOST, "/oidc/token"), headers={"Origin": "https://evil.example"}, verify=False, timeout=30,
                      data={"grant_type": "refresh_token", "refresh_token": r.json()["refresh_token"],
                            "client_id": SPA["client_id"]})
    assert r.status_code == 200, r.text
    assert "access-control-allow-origin" not in r.headers, "not the client's origin"
    params, _ = code_for(stack, s)
    r = requests.post(stack.url(HOST, "/oidc/token"), headers={"Origin": "https://demo-rp.localhost"}, verify=False,
                      timeout=30, auth=(RP["client_id"], RP["client_secret"]),
                      data={"grant_type": "authorization_code", "code": params["code"], "redirect_uri": RP["redirect_uri"]})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers, "confidential: no CORS"
    # Userinfo: any origin (bearer token, no cookies), success and errors.
    r = requests.get(stack.url(HOST, "/oidc/userinfo"), headers={"Authorization": f"Bearer {access}", "Origin": spa_origin},
                     verify=False, timeout=30)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    r = requests.get(stack.url(HOST, "/oidc/userinfo"), headers={"Authorization": "Bearer nope", "Origin": spa_origin},
                     verify=False, timeout=30)
    assert r.status_code == 401 and r.headers["access-control-allow-origin"] == "*"
    r = requests.options(stack.url(HOST, "/oidc/userinfo"),
                         headers={"Origin": spa_origin, "Access-Control-Request-Method": "GET",
                                  "Access-Control-Request-Headers": "authorization"}, verify=False, timeout=30)
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == "*"
    assert "authorization" in r.headers["access-control-allow-headers"]


def test_oidcc_rp_initiated_logout_checks(stack, emulator):
    """RP-initiated logout: post_logout_redirect_uri matches exactly; client_id must agree with the
    id_token_hint; an id_token_hint of another session or only client_id asks the member to
    confirm; confirming ends the session and returns with state."""
    s = browser()
    params, _ = code_for(stack, s)
    old_id_token = redeem(stack, params["code"]).json()["id_token"]
    registered = "https://demo-rp.localhost/signed-out"

    def logout(**q):
        return get(s, stack.url(HOST, "/oidc/logout?" + urlencode(q)))

    for near in [registered + "/", registered + "?x=1", "https://DEMO-RP.localhost/signed-out",
                 "http://demo-rp.localhost/signed-out", "https://demo-spa.localhost/"]:
        r = logout(id_token_hint=old_id_token, post_logout_redirect_uri=near)
        assert r.status_code == 400 and "location" not in r.headers, near
        assert "not registered" in r.text
    r = logout(id_token_hint=old_id_token, client_id="demo-spa", post_logout_redirect_uri="https://demo-spa.localhost/")
    assert r.status_code == 400 and "location" not in r.headers and "does not match" in r.text
    r = logout(post_logout_redirect_uri=registered)
    assert r.status_code == 400 and "location" not in r.headers, "no client to check the URI against"
    r = logout(id_token_hint=old_id_token[:-4] + "AAAA", post_logout_redirect_uri=registered)
    assert r.status_code == 400 and "location" not in r.headers, "a forged hint"
    # The member is still signed in after all of these.
    assert code_for(stack, s, prompt="none")[0]["code"]

    # Another IdP session (another browser): the first session's id_token_hint does not sign it
    # out silently.
    s = browser()
    params, _ = code_for(stack, s)
    new_id_token = jwt.decode(redeem(stack, params["code"]).json()["id_token"], jwks(stack))
    old = jwt.decode(old_id_token, jwks(stack))
    assert new_id_token["sid"] != old["sid"]
    r = logout(id_token_hint=old_id_token, post_logout_redirect_uri=registered, state="s-old")
    assert r.status_code == 200 and 'id="oidc-logout"' in r.text, "confirm first"
    # client_id alone: confirm, then the form posts back and the member is out.
    r = logout(client_id="demo-rp", post_logout_redirect_uri=registered, state="s-confirm")
    assert r.status_code == 200 and 'id="oidc-logout"' in r.text and "Acme Demo Relying Party" in r.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', r.text))
    fields = {k: html.unescape(v) for k, v in fields.items()}
    assert fields["post_logout_redirect_uri"] == registered and fields["t"]
    forged = post(s, stack.url(HOST, "/oidc/logout"), data={**fields, "t": tampered(fields["t"])})
    assert forged.status_code == 200 and 'id="oidc-logout"' in forged.text, "a wrong token only asks again"
    r = post(s, stack.url(HOST, "/oidc/logout"), data=fields)
    assert r.status_code in (200, 303), r.text
    done = r.headers["location"] if r.status_code == 303 else \
        html.unescape(re.search(r'id="logout-continue" href="([^"]+)"', r.text).group(1))
    assert through_imis_logout(stack, s, done) == registered + "?state=s-confirm"
    assert code_for(stack, s, prompt="none")[0]["error"] == "login_required"
    # Signed out already: a valid request goes straight to the post_logout_redirect_uri.
    r = logout(id_token_hint=old_id_token, post_logout_redirect_uri=registered, state="s-again")
    assert r.status_code == 303
    assert through_imis_logout(stack, s, r.headers["location"]) == registered + "?state=s-again"


# --------------------------------------------------------------------------------- authlib

def test_oidcc_server_authlib_client_secret_post_hs256(stack, emulator):
    """A confidential client with authlib: client_secret_post, id_token HS256 with the client's
    own JWT signing key, sub = iMIS ID."""
    sess = OAuth2Session(HS["client_id"], HS["client_secret"], scope="openid profile",
                         redirect_uri=HS["redirect_uri"], token_endpoint_auth_method="client_secret_post")
    sess.verify = False
    nonce = secrets.token_urlsafe(12)
    url, state = sess.create_authorization_url(stack.url(HOST, "/oidc/authorize"), nonce=nonce)
    s = browser()
    r = sign_in_at_imis(stack, s, get(s, url))
    token = sess.fetch_token(stack.url(HOST, "/oidc/token"), authorization_response=r.headers["location"], state=state,
                             verify=False)
    claims = jwt.decode(token["id_token"], HS["key"].encode(),
                        claims_options={"iss": {"essential": True, "value": issuer(stack)},
                                        "aud": {"essential": True, "value": HS["client_id"]},
                                        "nonce": {"essential": True, "value": nonce}})
    claims.validate()
    assert claims.header["alg"] == "HS256"
    assert claims["sub"] == "101" and claims["name"] == "Jane Smith"
    with pytest.raises(Exception):
        jwt.decode(token["id_token"], b"another-key-another-key-another-key!").validate()
    info = sess.get(stack.url(HOST, "/oidc/userinfo"), verify=False).json()
    assert info["sub"] == "101" and info["preferred_username"] == "jsmith"


def test_oidcc_server_authlib_client_secret_basic_rs256(stack, emulator):
    sess = OAuth2Session(RP["client_id"], RP["client_secret"], scope="openid email",
                         redirect_uri=RP["redirect_uri"], token_endpoint_auth_method="client_secret_basic",
                         code_challenge_method="S256")
    sess.verify = False
    verifier = secrets.token_urlsafe(48)
    url, state = sess.create_authorization_url(stack.url(HOST, "/oidc/authorize"), nonce="n1",
                                               code_verifier=verifier)
    s = browser()
    r = sign_in_at_imis(stack, s, get(s, url))
    token = sess.fetch_token(stack.url(HOST, "/oidc/token"), authorization_response=r.headers["location"],
                             state=state, code_verifier=verifier, verify=False)
    claims = jwt.decode(token["id_token"], jwks(stack))
    claims.validate()
    assert claims.header["alg"] == "RS256" and claims.header["kid"] == "acme-demo-rsa-1"
    assert claims["email"] == "jane.smith@acme-members.example"
    half = hashlib.sha256(token["access_token"].encode()).digest()[:16]
    assert claims["at_hash"] == base64.urlsafe_b64encode(half).rstrip(b"=").decode()


def b64u_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def es256_verifies(token: str, jwk: dict) -> bool:
    """Checks a compact JWS with `cryptography` alone: the P-256 key from the JWK, the JWS
    signature (r || s, 32 bytes each) turned into DER."""
    head, body, sig = token.split(".")
    raw = b64u_decode(sig)
    if len(raw) != 64:
        return False
    public = ec.EllipticCurvePublicNumbers(int.from_bytes(b64u_decode(jwk["x"]), "big"),
                                           int.from_bytes(b64u_decode(jwk["y"]), "big"), ec.SECP256R1()).public_key()
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public.verify(der, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def test_oidcc_server_es256_openid_client(stack, emulator):
    """oidcc-server with an ES256 client (demo-es, client_secret_basic): openid-client, told the
    client's id_token_signed_response_alg is ES256 (it then refuses any other alg), completes
    code + PKCE, validates the id_token and calls userinfo; authlib and `cryptography` check the
    header and the signature against the tenant's EC key in JWKS; refresh gives ES256 again."""
    meta = {"id_token_signed_response_alg": "ES256"}
    start = rp(stack, op="start", scope="openid profile email offline_access", metadata=meta, **ES)
    assert "error" not in start, start
    s = browser()
    r = sign_in_at_imis(stack, s, get(s, start["url"]))
    out = rp(stack, op="callback", url=r.headers["location"], verifier=start["verifier"],
             state=start["state"], nonce=start["nonce"], metadata=meta, **ES)
    assert "error" not in out, out
    tokens, claims = out["tokens"], out["claims"]
    assert claims["aud"] == "demo-es" and claims["sub"] == JSMITH_CONTACT_KEY and claims["nonce"] == start["nonce"]
    assert out["userinfo"]["sub"] == JSMITH_CONTACT_KEY and out["userinfo"]["email"] == "jane.smith@acme-members.example"

    keys = requests.get(stack.url(HOST, "/.well-known/jwks.json"), verify=False, timeout=30).json()["keys"]
    ec_jwk = next(k for k in keys if k["kty"] == "EC")
    assert (ec_jwk["kid"], ec_jwk["alg"], ec_jwk["crv"], ec_jwk["use"]) == ("acme-demo-ec-1", "ES256", "P-256", "sig")
    header = json.loads(b64u_decode(tokens["id_token"].split(".")[0]))
    assert header["alg"] == "ES256" and header["kid"] == ec_jwk["kid"]
    decoded = jwt.decode(tokens["id_token"], jwks(stack),
                         claims_options={"iss": {"essential": True, "value": issuer(stack)},
                                         "aud": {"essential": True, "value": ES["client_id"]}})
    decoded.validate()
    assert decoded.header["alg"] == "ES256"
    half = hashlib.sha256(tokens["access_token"].encode()).digest()[:16]
    assert decoded["at_hash"] == base64.urlsafe_b64encode(half).rstrip(b"=").decode()
    assert es256_verifies(tokens["id_token"], ec_jwk)
    head, body, sig = tokens["id_token"].split(".")
    forged = base64.urlsafe_b64encode(json.dumps({**decoded, "sub": "someone-else"}).encode()).rstrip(b"=").decode()
    assert not es256_verifies(f"{head}.{forged}.{sig}", ec_jwk), "the check can fail"
    rsa_kids = {k["kid"] for k in keys if k["kty"] == "RSA"}
    assert header["kid"] not in rsa_kids

    # The access token is ES256 too (one ECDSA signature instead of RSA), and verifies with the EC key.
    at_header = json.loads(b64u_decode(tokens["access_token"].split(".")[0]))
    assert at_header == {"alg": "ES256", "typ": "at+jwt", "kid": ec_jwk["kid"]}, at_header
    assert es256_verifies(tokens["access_token"], ec_jwk)
    # The access token works at userinfo (GET and POST), and refresh issues an ES256 id_token.
    r = requests.get(stack.url(HOST, "/oidc/userinfo"), headers={"Authorization": f"Bearer {tokens['access_token']}"},
                     verify=False, timeout=30)
    assert r.status_code == 200 and r.json()["sub"] == JSMITH_CONTACT_KEY
    r = requests.post(stack.url(HOST, "/oidc/userinfo"), data={"access_token": tokens["access_token"]},
                      verify=False, timeout=30)
    assert r.status_code == 200 and r.json()["given_name"] == "Jane"
    refreshed = rp(stack, op="refresh", refresh_token=tokens["refresh_token"], metadata=meta, **ES)
    assert "error" not in refreshed, refreshed
    assert refreshed["claims"]["sub"] == JSMITH_CONTACT_KEY
    assert json.loads(b64u_decode(refreshed["tokens"]["id_token"].split(".")[0]))["alg"] == "ES256"
    assert es256_verifies(refreshed["tokens"]["id_token"], ec_jwk)


def test_openid_client_refuses_an_alg_other_than_registered(stack, emulator):
    """The peer's pinning is real: openid-client told ES256 refuses demo-rp's RS256 id_token (so
    the ES256 test above cannot pass on an RS256 token)."""
    meta = {"id_token_signed_response_alg": "ES256"}
    start = rp(stack, op="start", scope="openid", metadata=meta, **RP)
    s = browser()
    r = sign_in_at_imis(stack, s, get(s, start["url"]))
    out = rp(stack, op="callback", url=r.headers["location"], verifier=start["verifier"],
             state=start["state"], nonce=start["nonce"], metadata=meta, **RP)
    assert out.get("error") and 'unexpected JWT "alg"' in (out.get("cause") or ""), out


# --------------------------------------------------------------------------------- RSA-4096

GLOBEX = "globex.localhost"
BIG = {"client_id": "t-rsa4096", "client_secret": "t-rsa4096-secret", "redirect_uri": "https://t-rsa4096.localhost/callback"}


@pytest.fixture(scope="module")
def globex_rsa4096(stack):
    """globex (iMIS 2017 legacy mode, no OIDC until now) gets RSA-4096 keys from the admin CLI
    (`keys init --bits 4096`) and one confidential client, and is pushed. Afterwards its demo keys
    are pushed back, so that the modules after this one (the isolation suite) find globex as the
    demo has it once the runtime's 60 s cache has let go, without waiting for it."""
    folder = stack.tenant_folder("globex")
    demo_keys = (folder / "keys.json").read_bytes()
    env = {**os.environ, "EDGE_IDP_MASTER_KEY": stack.key}
    done = subprocess.run([str(ROOT / "target/release/edge-idp"), "keys", "init", str(folder), "--bits", "4096",
                           "--force"], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    digest = base64.urlsafe_b64encode(hashlib.sha256(BIG["client_secret"].encode()).digest()).rstrip(b"=").decode()
    (folder / "oidc").mkdir(exist_ok=True)
    (folder / "oidc" / f"{BIG['client_id']}.json").write_text(json.dumps({
        "schema_version": 1, "id": BIG["client_id"], "name": "RSA-4096 test RP", "type": "confidential",
        "token_endpoint_auth_method": "client_secret_basic", "client_secret_hash": f"sha256:{digest}",
        "redirect_uris": [BIG["redirect_uri"]], "id_token_signed_response_alg": "RS256"}, indent=2))
    stack.push(folder)
    yield json.loads((folder / "keys.json").read_text())
    (folder / "keys.json").write_bytes(demo_keys)
    stack.push(folder)


def test_oidcc_server_rs256_with_a_4096_bit_tenant_key(stack, emulator, globex_rsa4096):
    """RS256 with the tenant's RSA keys at 4096 bits: openid-client completes code + PKCE on globex
    (legacy sign-in form) and validates the id_token; authlib checks it against JWKS, whose
    current key has a 4096-bit modulus and the kid the CLI wrote."""
    iss = stack.url(GLOBEX, "").rstrip("/")
    current = globex_rsa4096["current"]
    keys = requests.get(stack.url(GLOBEX, "/.well-known/jwks.json"), verify=False, timeout=30).json()["keys"]
    published = {k["kid"]: k for k in keys}
    assert len(b64u_decode(published[current["kid"]]["n"])) == 512, "4096 bits"
    assert len(b64u_decode(published[globex_rsa4096["next"]["kid"]]["n"])) == 512
    start = rp(stack, op="start", issuer=iss, scope="openid profile", **BIG)
    assert "error" not in start, start
    s = browser()
    r = get(s, start["url"])
    assert r.status_code == 303 and r.headers["location"].startswith("/signin?p="), r.headers.get("location")
    form = get(s, stack.url(GLOBEX, r.headers["location"]))
    p = re.search(r'name="p" value="([^"]+)"', form.text).group(1)
    r = post(s, stack.url(GLOBEX, "/signin"), data={"p": p, "username": "hsimpson", "password": "Member-Passw0rd"})
    if r.headers.get("location", "").startswith("/"):
        r = get(s, stack.url(GLOBEX, r.headers["location"]))
    callback_params(r, BIG["redirect_uri"])
    out = rp(stack, op="callback", issuer=iss, url=r.headers["location"], verifier=start["verifier"],
             state=start["state"], nonce=start["nonce"], **BIG)
    assert "error" not in out, out
    assert out["claims"]["iss"] == iss and out["claims"]["aud"] == BIG["client_id"]
    assert out["userinfo"]["name"] == "Homer Simpson"
    id_token = out["tokens"]["id_token"]
    header = json.loads(b64u_decode(id_token.split(".")[0]))
    assert header == {"alg": "RS256", "typ": "JWT", "kid": current["kid"]}
    assert len(b64u_decode(id_token.split(".")[2])) == 512, "an RSA-4096 signature"
    claims = jwt.decode(id_token, JsonWebKey.import_key_set({"keys": keys}))
    claims.validate()
    assert claims["sub"] == out["claims"]["sub"]
    with pytest.raises(Exception):  # acme's keys do not verify it
        jwt.decode(id_token, jwks(stack))


# --------------------------------------------------------------------------------- consent

def test_oidcc_prompt_consent_and_remembered_consent(stack, emulator):
    client = {"client_id": "demo-consent", "redirect_uri": "https://demo-consent.localhost/callback"}
    verifier, challenge = pkce()
    extra = {"code_challenge": challenge, "code_challenge_method": "S256", "scope": "openid email roles"}
    s = browser()
    r = sign_in_at_imis(stack, s, get(s, authorize_url(stack, client, **extra)))
    assert r.status_code == 200 and 'id="consent"' in r.text, r.text
    assert "Acme Survey Partner" in r.text and "Your email address" in r.text and "Your roles" in r.text
    c = re.search(r'name="c" value="([^"]+)"', r.text).group(1)
    # prompt=none while consent is missing: consent_required.
    params, _ = code_for(stack, s, client, prompt="none", **extra)
    assert params["error"] == "consent_required"
    r = post(s, stack.url(HOST, "/oidc/consent"), data={"c": c, "decision": "allow"})
    assert callback_params(r, client["redirect_uri"])["code"]
    # Remembered for the grace period: a code at once.
    params, _ = code_for(stack, s, client, **extra)
    assert params["code"]
    # prompt=consent asks again; Deny answers access_denied.
    r = get(s, authorize_url(stack, client, prompt="consent", **extra))
    assert r.status_code == 200 and 'id="consent"' in r.text
    c = re.search(r'name="c" value="([^"]+)"', r.text).group(1)
    r = post(s, stack.url(HOST, "/oidc/consent"), data={"c": c, "decision": "deny"})
    assert callback_params(r, client["redirect_uri"])["error"] == "access_denied"
