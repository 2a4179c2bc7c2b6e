#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the parser targets into fuzz/corpus/TARGET/seed-*.
Layout of each target's input: see the comment at the top of its harness in src/targets.rs
(a flags byte, then NUL-separated fields)."""
import base64, hashlib, json, os, pathlib, zlib

HERE = pathlib.Path(__file__).resolve().parent.parent
ROOT = HERE.parent
CORPUS = HERE / "corpus"
NOW = "2026-09-21T14:13:20Z"

def put(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / f"seed-{name}").write_bytes(data)

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def deflate(b):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(b) + c.flush()

authn = f'''<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_4fd3c2a1b0" Version="2.0" IssueInstant="{NOW}" Destination="https://acme.localhost/saml/demo-sp/sso" AssertionConsumerServiceURL="https://sp.demo.test/acs" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" ForceAuthn="false"><saml:Issuer>https://sp.demo.test/metadata</saml:Issuer><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified" AllowCreate="true"/></samlp:AuthnRequest>'''
logout_req = f'''<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_9a8b" Version="2.0" IssueInstant="{NOW}"><saml:Issuer>https://sp.demo.test/metadata</saml:Issuer><saml:NameID>jsmith</saml:NameID></samlp:LogoutRequest>'''
logout_resp = f'''<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_9a8c" Version="2.0" IssueInstant="{NOW}" InResponseTo="_1"><saml:Issuer>https://sp.demo.test/metadata</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>'''

# saml_time
for i, t in enumerate([NOW, "2026-09-21T14:13:20.123Z", "2026-09-21T16:13:20+02:00",
                       "2024-02-29T00:00:00-05:30", "0001-01-01T00:00:60Z"]):
    put("saml_time", str(i), t)

# saml_xml
for f in sorted((ROOT / "tests/saml/corpus").glob("*.xml")):
    put("saml_xml", f.stem, f.read_bytes())
put("saml_xml", "authn", authn)

# saml_binding: flags 1 POST, 2 SAMLResponse, 4 both, 8 deflate, 16 base64, 32 RelayState
put("saml_binding", "redirect", bytes([8 | 16 | 32]) + authn.encode() + b"\0relay-1\0")
put("saml_binding", "post", bytes([1 | 16]) + logout_req.encode())
put("saml_binding", "raw", bytes([0]) + base64.b64encode(deflate(logout_resp.encode())) + b"\0\0&SigAlg=x")

# saml_request: flags app bits 0-1, 4 POST, bits 3-7 skew; fields XML, raw query
put("saml_request", "authn", bytes([16 << 3]) + authn.encode() + b"\0SAMLRequest=x")
put("saml_request", "authn-signed", bytes([1 | (16 << 3)]) + authn.encode() + b"\0SAMLRequest=x&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256&Signature=AAAA")
put("saml_request", "logout", bytes([4]) + logout_req.encode())
put("saml_request", "logout-response", bytes([4]) + logout_resp.encode())

# saml_dsig: flags % 4: 0 POST XML, 2 Redirect query, 3 certificate
for name in ["valid-signed", "xsw-embed", "two-signatures", "sha1"]:
    f = ROOT / "tests/saml/corpus" / f"{name}.xml"
    if f.exists():
        put("saml_dsig", name, b"\0" + f.read_bytes())
q = "SAMLRequest=" + base64.b64encode(deflate(authn.encode())).decode().replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
put("saml_dsig", "redirect", b"\x02" + (q + "&RelayState=r&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256&Signature=" + "A" * 344).encode())
cert = base64.b64decode((ROOT / "tests/saml/keys/sp.crt.b64").read_text().strip())
put("saml_dsig", "cert", b"\x03" + cert)

# oidc_jwt: flags % 3 which; fields token, HMAC key, JWK
def jwt(header, claims, sig=b"\x01" * 32):
    return b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode()) + "." + b64u(sig)
claims = {"iss": "https://acme.localhost", "sub": "jsmith", "aud": "demo-rp", "exp": 1790000300, "iat": 1790000000}
put("oidc_jwt", "rs256", b"\0" + jwt({"alg": "RS256", "kid": "acme-demo-rsa-1", "typ": "JWT"}, claims, b"\x02" * 256).encode())
put("oidc_jwt", "hs256", b"\x01" + jwt({"alg": "HS256"}, claims).encode() + b"\0demo-hs-jwt-signing-key-0123456789abcdef\0" + json.dumps({"kty": "EC", "crv": "P-256", "x": "N80PBtwI_cz1NSXkWRO6D1T6tZ14Sp9MisDQHo0IAtY", "y": "27gFBueidrjU03igLJp4tO1ceFEPrIEjWuAOmjJ1AsQ"}).encode())
assertion = {"iss": "demo-pkjwt", "sub": "demo-pkjwt", "aud": "https://acme.localhost/oidc/token", "exp": 1790000060, "jti": "j1"}
put("oidc_jwt", "assertion-es", b"\x02" + jwt({"alg": "ES256", "kid": "demo-pkjwt-es"}, assertion, b"\x03" * 64).encode())
put("oidc_jwt", "assertion-rs", b"\x02" + jwt({"alg": "RS256"}, assertion, b"\x03" * 256).encode())

# seal_cookie: flags % 4 mode, (flags >> 2) % 3 cookie
session = {"v": 1, "sid": "s", "user": {"username": "jsmith", "imis_id": "101"}, "auth_time": 1790000000,
           "expires": 1790028800, "last_seen": 1790000000, "via": "imis_cloud",
           "participants": [{"kind": "saml", "app": "demo-sp", "name_id": "jsmith", "name_id_format": "f", "session_index": "_i"},
                            {"kind": "oidc", "client": "demo-rp"}, {"kind": "bridge", "app": "demo-vendor"}]}
put("seal_cookie", "session", bytes([1]) + json.dumps(session).encode())
pending = {"items": [{"id": "p1", "created": 1790000000, "family": "oidc", "resume": {"kind": "direct", "return_to": "/"}},
                     {"id": "p2", "created": 1790000000, "family": "saml", "app_name": "x", "resume": {"kind": "saml", "app": "demo-sp", "acs": 0}}]}
put("seal_cookie", "pending", bytes([1 | 4]) + json.dumps(pending).encode())
put("seal_cookie", "logout", bytes([1 | 8]) + json.dumps({"sid": "s", "remaining": [{"kind": "oidc", "client": "demo-rp"}], "frames": [], "done": "/signed-out"}).encode())
put("seal_cookie", "open", bytes([0]) + b64u(os.urandom(0) + bytes(range(60))).encode())
put("seal_cookie", "secret", bytes([2]) + b"sealed:v1:" + b64u(bytes(range(40))).encode())
put("seal_cookie", "master", bytes([3]) + b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")

# http_parse
put("http_parse", "form", b"\x01a=1&b=hello+world&c=%24%2FPath%20x&d&e=%zz\0a")
put("http_parse", "cookie", b"\x00__Host-idp-session=abc; other=1;bad\0__Host-idp-session")
put("http_parse", "authority", b"\x00[::1]:3000\0GET")

# bridge_return_url
put("bridge_return_url", "ok", b"\x01https://shop.vendor.example:8443/a?b=c#d\0jQuery_1.cb\0acme.localhost")
put("bridge_return_url", "tricky", b"\x00https://vendor.example@evil.example/\0/\\\\evil\0")

# tenant_host
put("tenant_host", "host", b"\x00acme.localhost:8787")
put("tenant_host", "host-odd", b"\x00ACME.LOCALHOST.")
put("tenant_host", "record", b"\x01" + b'{"schema_version":1,"tenant":"acme"}')
for f in ["valid-acme-cloud", "valid-globex-legacy", "valid-cloud-oidc-only"]:
    put("tenant_host", f, b"\x02" + (ROOT / f"kv-schema/examples/tenant/{f}.json").read_bytes())

# imis_wire: flags call | fail<<2; fields json, username, answers "K STATUS BODY"
user = b'{"Items":{"$values":[{"UserId":"101","UserName":"JSmith","IsDisable":false,"Party":{"Id":"101","UniformId":"87EAD15E"}}]},"Count":1}'
person = b'{"PersonName":{"FirstName":"Jane","LastName":"Smith"},"Emails":{"$values":[{"Address":"jane@example.org","IsPrimary":true}]},"AdditionalAttributes":{"$values":[{"Name":"CustomerTypeCode","Value":"M"}]}}'
iqa = b'{"Items":{"$values":[{"Properties":{"$values":[{"Name":"ResultRow","Value":"1"},{"Name":"Id","Value":{"$type":"System.Int32","$value":7}},{"Name":"Chapter"}]}}]},"Offset":0,"Count":1,"HasNext":true,"NextOffset":1}'
token = b'{"access_token":"tok","token_type":"bearer","expires_in":1199,"userName":"jsmith"}'
put("imis_wire", "member", b"\x01" + iqa + b"\0jsmith\0u 200 " + user + b"\0p 200 " + person)
put("imis_wire", "iqa", b"\x02" + user + b"\0jsmith\0q 200 " + iqa)
put("imis_wire", "token", b"\x00" + token + b"\0jsmith\0t 200 " + token)
put("imis_wire", "errors", b"\x03{}\0User?x\0t 400 {\"error\":\"invalid_client\"}\0q 401 ")
