"""Generates tenant files for scale tests: COUNT tenants, each with one hostname, one SAML app, one
OIDC client, one token-bridge app and its OIDC signing keys, in the format of docs/tenant-file.md.

    python3 scripts/gen_tenants.py COUNT OUT_DIR [--domain bench.localhost]

Key generation is what makes a first apply slow (three RSA-2048 keys per tenant), so every
tenant's files reference the same key material in OUT_DIR/keys/ (`file:` references, sealed per
tenant by the CLI): realistic for sizes and apply work, not for key isolation — these files are
for benchmarks only. Secrets are `env:` references to BENCH_* variables (see ENV), set by the
caller. Files are named t00001.toml … so that a directory listing is their order.
"""
from __future__ import annotations

import argparse
import base64
import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

# The environment the generated files' `env:` references need.
ENV = {
    "BENCH_IMIS_PASSWORD": "bench-imis-password",
    "BENCH_SSO_SECRET": "bench-sso-client-secret",
    "BENCH_CLIENT_SECRET": "bench-oidc-client-secret",
    "BENCH_VENDOR_SECRET": "bench-vendor-secret-0123456789",
}


def b64url_uint(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def pkcs8_b64(key) -> str:
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return base64.b64encode(der).decode()


def write_keys(folder: Path) -> dict[str, str]:
    """Makes the shared key material; returns TOML fragments that reference it."""
    folder.mkdir(parents=True, exist_ok=True)
    today = datetime.date.today().isoformat()
    frags: dict[str, str] = {}
    for name in ("current", "next"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (folder / f"oidc-{name}.b64").write_text(pkcs8_b64(key))
        pub = key.public_key().public_numbers()
        frags[name] = (f'{{ kid = "bench-rsa-{name}", alg = "RS256", created = "{today}", '
                       f'private_key = "file:keys/oidc-{name}.b64", public_jwk = {{ kty = "RSA", '
                       f'n = "{b64url_uint(pub.n)}", e = "{b64url_uint(pub.e)}" }} }}')
    eckey = ec.generate_private_key(ec.SECP256R1())
    (folder / "oidc-ec.b64").write_text(pkcs8_b64(eckey))
    pub = eckey.public_key().public_numbers()
    frags["ec"] = (f'{{ kid = "bench-ec", alg = "ES256", created = "{today}", '
                   f'private_key = "file:keys/oidc-ec.b64", public_jwk = {{ kty = "EC", crv = "P-256", '
                   f'x = "{b64url_uint(pub.x)}", y = "{b64url_uint(pub.y)}" }} }}')
    saml = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (folder / "saml.b64").write_text(pkcs8_b64(saml))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edge-idp bench")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(saml.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=3650)).sign(saml, hashes.SHA256()))
    frags["saml_cert"] = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    frags["today"] = today
    return frags


def tenant_file(i: int, domain: str, keys: dict[str, str]) -> str:
    tid = f"t{i:05d}"
    host = f"{tid}.{domain}"
    return f'''[tenant]
id = "{tid}"
name = "Bench Association {i}"
hostnames = ["{host}"]
identity_mode = "imis_cloud"
allowed_return_domains = ["{host}"]

[tenant.imis]
base_url = "http://127.0.0.1:8790/{tid}"
timeout_ms = 5000

[tenant.imis.background_account]
username = "edgeidp-service"
password = "env:BENCH_IMIS_PASSWORD"

[tenant.imis.sso.saml]
page_url = "http://127.0.0.1:8790/{tid}/sso/EdgeIdP-SAML"
client_id = "EdgeIdP-SAML"
client_secret = "env:BENCH_SSO_SECRET"

[[saml]]
id = "lms"
name = "Learning"
profile_iqa = "$/EdgeIdP/Profile"
role_iqa = "$/EdgeIdP/Roles"
sp = {{ entity_id = "https://lms.{host}/metadata", acs = [{{ url = "https://lms.{host}/acs", binding = "post", index = 0 }}] }}
idp = {{ current = {{ certificate = "{keys['saml_cert']}", private_key = "file:keys/saml.b64", created = "{keys['today']}" }} }}

[[oidc]]
id = "portal"
name = "Member Portal"
type = "confidential"
token_endpoint_auth_method = "client_secret_basic"
client_secret_hash = "env:BENCH_CLIENT_SECRET"
redirect_uris = ["https://portal.{host}/callback"]
profile_iqa = "$/EdgeIdP/Profile"

[[bridge]]
id = "events"
name = "Events"
deliveries = ["post"]
callback_url = "https://events.{host}/sso/token"
return_domains = ["events.{host}"]
secret_sha256 = "env:BENCH_VENDOR_SECRET"

[keys]
current = {keys['current']}
next = {keys['next']}
ec = {keys['ec']}
'''


def generate(count: int, out: Path, domain: str = "bench.localhost") -> list[Path]:
    """Writes COUNT tenant files (and the shared keys) into `out`; returns the files in order."""
    out.mkdir(parents=True, exist_ok=True)
    keys = write_keys(out / "keys")
    files = []
    for i in range(1, count + 1):
        path = out / f"t{i:05d}.toml"
        path.write_text(tenant_file(i, domain, keys))
        files.append(path)
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("count", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--domain", default="bench.localhost")
    args = parser.parse_args()
    files = generate(args.count, args.out, args.domain)
    print(f"{len(files)} tenant files in {args.out}; set " + " ".join(f"{k}=…" for k in ENV))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
