"""`edge-idp saml import <https URL>`: SP metadata fetched from a live https server (a local one with
a certificate from a private CA the CLI is told to trust through CURL_CA_BUNDLE, which its HTTPS
client reads as curl does). Redirects may only stay on https; plain http is refused before anything
is fetched; a server error is a clear message and writes nothing."""
from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "target/release/edge-idp"
METADATA = (ROOT / "tests/saml/metadata/lms-sp.xml").read_bytes()
MASTER_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"  # the kv-schema examples' test key


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        routes = {
            "/saml/metadata": (200, {"content-type": "application/samlmetadata+xml"}, METADATA),
            "/moved": (302, {"location": "/saml/metadata"}, b""),
            "/to-plain-http": (302, {"location": f"http://127.0.0.1:{self.server.plain_port}/saml/metadata"}, b""),
        }
        status, headers, body = routes.get(self.path, (500, {}, b"boom"))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not CLI.exists():
        pytest.skip("the release CLI is built by scripts/test before pytest")
    d = tmp_path_factory.mktemp("tls")
    # A CA and a server certificate it issued: the CLI's TLS stack (webpki) refuses a CA
    # certificate as a server's own, as browsers do, so one self-signed certificate cannot be both.
    ca, ca_key = d / "ca.pem", d / "ca-key.pem"
    cert, key, csr, ext = d / "cert.pem", d / "key.pem", d / "cert.csr", d / "ext.cnf"
    ext.write_text("basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1\n")
    for cmd in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", str(ca_key), "-out", str(ca),
         "-subj", "/CN=edge-idp test CA"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-set_serial", "1", "-days", "1",
         "-extfile", str(ext), "-out", str(cert)],
    ):
        subprocess.run(["openssl", *cmd], check=True, capture_output=True)
    plain = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.plain_port = plain.server_address[1]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    for srv in (httpd, plain):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}", f"http://127.0.0.1:{plain.server_address[1]}", ca
    httpd.shutdown()
    plain.shutdown()


@pytest.fixture
def tenant(tmp_path) -> Path:
    dst = tmp_path / "acme"
    (dst / "saml").mkdir(parents=True)
    shutil.copy(ROOT / "kv-schema/examples/tenant/valid-acme-cloud.json", dst / "tenant.json")
    return dst


def cli(*args: str, ca: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "EDGE_IDP_MASTER_KEY": MASTER_KEY}
    if ca:
        env["CURL_CA_BUNDLE"] = str(ca)
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, env=env, timeout=60)


def test_import_from_an_https_url_writes_the_app(server, tenant):
    origin, _, ca = server
    r = cli("saml", "import", f"{origin}/moved", "--tenant-dir", str(tenant), "--id", "lms", "--name",
            "Acme Learning", "--yes", ca=ca)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "https://lms.example.org/saml/acs [HTTP-POST, index 0]" in r.stdout
    app = json.loads((tenant / "saml/lms.json").read_text())
    assert app["sp"]["entity_id"] == "https://lms.example.org/saml/metadata"
    assert app["sp"]["authn_requests_signed"] is True
    assert app["idp"]["current"]["private_key"].startswith("sealed:v1:")


def test_untrusted_certificates_plain_http_and_server_errors_are_refused(server, tenant):
    origin, plain, ca = server
    cases = [
        (f"{origin}/saml/metadata", None, "cannot fetch"),          # self-signed, not trusted
        (f"{plain}/saml/metadata", ca, "must be https"),             # refused before fetching
        (f"{origin}/to-plain-http", ca, "cannot fetch"),             # redirect off https
        (f"{origin}/broken", ca, "cannot fetch"),                    # 500
    ]
    for url, trust, why in cases:
        r = cli("saml", "import", url, "--tenant-dir", str(tenant), "--id", "lms", "--yes", ca=trust)
        assert r.returncode != 0, url
        assert why in r.stderr, (url, r.stderr)
    assert not (tenant / "saml/lms.json").exists()
