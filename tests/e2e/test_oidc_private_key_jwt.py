"""private_key_jwt client authentication (OpenID Connect Core §9, RFC 7523) end to end on each
runtime, with the demo client `demo-pkjwt` (its test-only private keys are in
tests/oidc/demo-pkjwt-private-keys.json; the public halves are registered in its client file).

Peers: openid-client (ES256 assertion, audience = issuer) for code + PKCE, userinfo and refresh;
authlib's PrivateKeyJWT (RS256 assertion, audience = token endpoint). The refusals mirror the
OpenID Foundation's private_key_jwt client-auth checks: replay, wrong audience, expired, foreign
key, algorithm confusion."""
from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oauth2.rfc7523 import PrivateKeyJWT

from test_oidc import HOST, code_for, issuer, jwks, pkce, rp, sign_in_at_imis, token_request
from test_signin import browser, emulator, get  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
KEYS = {k["kid"]: k for k in json.loads((ROOT / "tests/oidc/demo-pkjwt-private-keys.json").read_text())["keys"]}
RSA_KEY, EC_KEY = KEYS["demo-pkjwt-rs"], KEYS["demo-pkjwt-es"]
PK = {"client_id": "demo-pkjwt", "redirect_uri": "https://demo-pkjwt.localhost/callback"}
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def assertion(stack, key=RSA_KEY, alg="RS256", **overrides) -> str:
    now = int(time.time())
    claims = {"iss": PK["client_id"], "sub": PK["client_id"], "aud": stack.url(HOST, "/oidc/token"),
              "jti": secrets.token_urlsafe(16), "iat": now, "exp": now + 60}
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": alg, "kid": key["kid"]}, claims, JsonWebKey.import_key(key)).decode()


def redeem_with_assertion(stack, code, verifier, client_assertion) -> requests.Response:
    return token_request(stack, {"grant_type": "authorization_code", "code": code, "redirect_uri": PK["redirect_uri"],
                                 "code_verifier": verifier, "client_assertion_type": ASSERTION_TYPE,
                                 "client_assertion": client_assertion})


def fresh_code(stack, s) -> tuple[str, str]:
    verifier, challenge = pkce()
    params, _ = code_for(stack, s, PK, code_challenge=challenge, code_challenge_method="S256")
    return params["code"], verifier


def test_discovery_advertises_private_key_jwt(stack):
    meta = get(browser(), stack.url(HOST, "/.well-known/openid-configuration")).json()
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]
    assert set(meta["token_endpoint_auth_signing_alg_values_supported"]) == {"RS256", "ES256"}


def test_oidcc_server_private_key_jwt_openid_client_es256(stack, emulator):
    """openid-client signs an ES256 assertion (aud = issuer) for the code exchange and again
    for the refresh; the id_token and userinfo are the member's."""
    start = rp(stack, op="start", client_id=PK["client_id"], private_jwk=EC_KEY, redirect_uri=PK["redirect_uri"],
               scope="openid profile email offline_access")
    s = browser()
    r = get(s, start["url"])
    r = sign_in_at_imis(stack, s, r)
    out = rp(stack, op="callback", client_id=PK["client_id"], private_jwk=EC_KEY, url=r.headers["location"],
             verifier=start["verifier"], state=start["state"], nonce=start["nonce"])
    assert "error" not in out, out
    assert out["claims"]["aud"] == PK["client_id"] and out["claims"]["iss"] == issuer(stack)
    assert out["userinfo"]["preferred_username"] == "jsmith"
    assert out["tokens"]["refresh_token"]
    again = rp(stack, op="refresh", client_id=PK["client_id"], private_jwk=EC_KEY,
               refresh_token=out["tokens"]["refresh_token"])
    assert "error" not in again, again
    assert again["tokens"]["refresh_token"] != out["tokens"]["refresh_token"]


def test_oidcc_server_private_key_jwt_authlib_rs256(stack, emulator):
    """authlib's PrivateKeyJWT signs an RS256 assertion with aud = the token endpoint."""
    token_endpoint = stack.url(HOST, "/oidc/token")
    sess = OAuth2Session(PK["client_id"], RSA_KEY, scope="openid email", redirect_uri=PK["redirect_uri"],
                         token_endpoint_auth_method=PrivateKeyJWT(token_endpoint, headers={"kid": RSA_KEY["kid"]},
                                                                  alg="RS256"),
                         code_challenge_method="S256")
    sess.verify = False
    verifier = secrets.token_urlsafe(48)
    url, state = sess.create_authorization_url(stack.url(HOST, "/oidc/authorize"), nonce="n-pk",
                                               code_verifier=verifier)
    s = browser()
    r = sign_in_at_imis(stack, s, get(s, url))
    token = sess.fetch_token(token_endpoint, authorization_response=r.headers["location"], state=state,
                             code_verifier=verifier, verify=False)
    claims = jwt.decode(token["id_token"], jwks(stack))
    claims.validate()
    assert claims["aud"] == PK["client_id"] and claims["nonce"] == "n-pk"
    assert claims["email"] == "jane.smith@acme-members.example"


def test_private_key_jwt_assertion_replay_is_refused(stack, emulator):
    s = browser()
    reused = assertion(stack)
    code, verifier = fresh_code(stack, s)
    first = redeem_with_assertion(stack, code, verifier, reused)
    assert first.status_code == 200, first.text
    code, verifier = fresh_code(stack, s)
    second = redeem_with_assertion(stack, code, verifier, reused)
    assert second.status_code == 401 and second.json()["error"] == "invalid_client", second.text
    assert "already used" in second.json()["error_description"]
    # The refused request did not spend the code: a fresh assertion redeems it.
    third = redeem_with_assertion(stack, code, verifier, assertion(stack))
    assert third.status_code == 200, third.text


@pytest.mark.parametrize("bad, why", [
    ({"aud": "https://elsewhere.example/oidc/token"}, "aud"),
    ({"exp": int(time.time()) - 600}, "expired"),
    ({"exp": int(time.time()) + 86400}, "too far ahead"),
    ({"jti": None}, "jti"),
    ({"sub": "demo-rp"}, "iss and sub"),
])
def test_private_key_jwt_wrong_claims_are_refused(stack, emulator, bad, why):
    s = browser()
    code, verifier = fresh_code(stack, s)
    r = redeem_with_assertion(stack, code, verifier, assertion(stack, **bad))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text
    assert why in r.json()["error_description"]
    assert r.headers["cache-control"] == "no-store"


def test_private_key_jwt_foreign_key_and_alg_confusion_are_refused(stack, emulator):
    s = browser()
    code, verifier = fresh_code(stack, s)
    stranger = JsonWebKey.generate_key("EC", "P-256", is_private=True).as_dict(is_private=True)
    stranger["kid"] = EC_KEY["kid"]
    forged = redeem_with_assertion(stack, code, verifier, assertion(stack, key=stranger, alg="ES256"))
    assert forged.status_code == 401 and "does not verify" in forged.json()["error_description"], forged.text
    # HS256 keyed with the registered public modulus (the classic RS/HS confusion).
    now = int(time.time())
    hs = jwt.encode({"alg": "HS256", "kid": RSA_KEY["kid"]},
                    {"iss": PK["client_id"], "sub": PK["client_id"], "aud": issuer(stack), "jti": "x", "exp": now + 60},
                    RSA_KEY["n"].encode()).decode()
    confused = redeem_with_assertion(stack, code, verifier, hs)
    assert confused.status_code == 401 and "not accepted" in confused.json()["error_description"], confused.text
    # A client secret is not this client's method.
    r = token_request(stack, {"grant_type": "authorization_code", "code": code, "redirect_uri": PK["redirect_uri"],
                              "code_verifier": verifier}, auth=(PK["client_id"], "guess"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r.headers.get("www-authenticate", "").startswith("Basic")
    # None of this spent the code.
    ok = redeem_with_assertion(stack, code, verifier, assertion(stack, key=EC_KEY, alg="ES256"))
    assert ok.status_code == 200, ok.text
