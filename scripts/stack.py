#!/usr/bin/env python3
"""Starts the local stack: the iMIS emulator, the demo tenants seeded into KV through the admin
CLI, and the IdP on a real local edge runtime (wrangler dev / workerd, or the Spin route: wasmtime
serving the Spin component composed with the file-backed key-value provider).

Used by scripts/dev (interactive) and by the end-to-end tests (tests/e2e/conftest.py).
Expects scripts/setup and scripts/build to have run, and the native tools to be built.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = Path(os.environ.get("EDGE_IDP_TOOLS", Path.home() / ".cache/edge-idp-tools"))
NPM_BIN = TOOLS / "npm/node_modules/.bin"
WASMTIME = TOOLS / "py/wasmtime_cli/wasmtime"
RELEASE = ROOT / "target/release"
CLI = RELEASE / "edge-idp"
EMULATOR = RELEASE / "imis-emulator"
DEMO_TENANTS = ["acme", "globex"]
# The demo bridge app's vendor API secret (demo/tenants/acme/bridge/demo-vendor.json stores only its
# SHA-256). Local demo only: a real app gets its secret from `edge-idp bridge add`.
DEMO_VENDOR_SECRET = "demo-vendor-secret-local-only-0123456789"
DEMO_VENDOR = ROOT / "scripts/demo_vendor.py"
SAML_TEST_KEYS = ROOT / "tests/saml/keys"

DEMO_USERS = [
    ("acme", "jsmith", "Member-Passw0rd", "active member"),
    ("acme", "bwayne", "Member-Passw0rd", "suspended non-member (No Access tests)"),
    ("acme", "disabled", "Member-Passw0rd", "disabled login"),
    ("globex", "hsimpson", "Member-Passw0rd", "active member"),
    ("globex", "jsmith", "Member-Passw0rd", "active member"),
    ("globex", "ckent", "Member-Passw0rd", "suspended non-member (No Access)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, seconds: float, proc: subprocess.Popen | None = None, log: Path | None = None) -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"process for {url} exited with {proc.returncode}\n{tail}")
        try:
            urllib.request.urlopen(url, timeout=2, context=ctx)
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it is up
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def master_key(state: Path) -> str:
    """The local master key (base64, 32 bytes), made once per state folder."""
    path = state / "master.key"
    if not path.exists():
        state.mkdir(parents=True, exist_ok=True)
        path.write_text(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def healthz_admin_token(key: str, tenant: str) -> str:
    """The bearer token that opens `/healthz?deep=1` of `tenant`, derived from the master key as the
    runtime derives it (src/healthz.rs `admin_token`): base64url without padding of HMAC-SHA256,
    under the raw 32-byte key, of `edge-idp/v1/healthz-admin/{tenant}`."""
    raw = base64.urlsafe_b64decode(key.replace("+", "-").replace("/", "_") + "=" * (-len(key) % 4))
    mac = hmac.new(raw, f"edge-idp/v1/healthz-admin/{tenant}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def render_tenants(out: Path, imis_origin: str, key: str, vendor_origin: str = "https://acme.localhost:8791",
                   sp_origin: str = "https://127.0.0.1:8792", state: Path | None = None,
                   rp_origin: str = "https://127.0.0.1:8793",
                   rp_backchannel_origin: str = "http://127.0.0.1:8794") -> list[Path]:
    """Renders demo/tenants/* into `out`: ${IMIS_ORIGIN}, ${VENDOR_ORIGIN} (the demo vendor site of the
    token bridge), ${SHA256:${DEMO_VENDOR_SECRET}}, ${SP_ORIGIN} and ${SP_CERT} (the demo SAML SP), ${RP_ORIGIN} and ${RP_BACKCHANNEL_ORIGIN} (the demo OIDC RP),
    and ${SEAL:...} values sealed with the admin CLI; each SAML app without keys gets one
    (`edge-idp saml keygen`, kept in `state` so that an SP that loaded the IdP metadata once keeps
    working across restarts)."""
    sp_cert = (SAML_TEST_KEYS / "sp.crt.b64").read_text().strip()
    folders = []
    for tenant in DEMO_TENANTS:
        src = ROOT / "demo/tenants" / tenant
        dst = out / tenant
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst)
        for file in dst.rglob("*.json"):
            text = file.read_text().replace("${IMIS_ORIGIN}", imis_origin)
            text = text.replace("${VENDOR_ORIGIN}", vendor_origin)
            text = text.replace("${SHA256:${DEMO_VENDOR_SECRET}}",
                                hashlib.sha256(DEMO_VENDOR_SECRET.encode()).hexdigest())
            text = text.replace("${SP_ORIGIN}", sp_origin).replace("${SP_CERT}", sp_cert)
            text = text.replace("${RP_ORIGIN}", rp_origin)
            text = text.replace("${RP_BACKCHANNEL_ORIGIN}", rp_backchannel_origin)

            def seal(m: re.Match) -> str:
                return subprocess.run(
                    [str(CLI), "seal", "--tenant", tenant],
                    input=m.group(1), capture_output=True, text=True, check=True,
                    env={**os.environ, "EDGE_IDP_MASTER_KEY": key},
                ).stdout.strip()

            file.write_text(re.sub(r"\$\{SEAL:([^}]*)\}", seal, text))
        for app in sorted((dst / "saml").glob("*.json")):
            saml_keys(app, tenant, key, state)
        folders.append(dst)
    return folders


def saml_keys(app: Path, tenant: str, key: str, state: Path | None) -> None:
    """Gives a rendered SAML app file its signing key: the one kept in `state`, else a new one."""
    value = json.loads(app.read_text())
    if "idp" in value:
        return
    kept = state / "saml-keys" / f"{tenant}-{app.stem}.json" if state else None
    if kept and kept.exists():
        value["idp"] = json.loads(kept.read_text())
        app.write_text(json.dumps(value, indent=2) + "\n")
        return
    subprocess.run([str(CLI), "saml", "keygen", str(app)], check=True, capture_output=True,
                   env={**os.environ, "EDGE_IDP_MASTER_KEY": key})
    if kept:
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text(json.dumps(json.loads(app.read_text())["idp"], indent=2) + "\n")


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def local_certificate(state: Path) -> tuple[Path, Path]:
    """A self-signed certificate for the demo hostnames (made once per state folder)."""
    cert, key = state / "tls-cert.pem", state / "tls-key.pem"
    if not cert.exists():
        subprocess.run([
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,DNS:acme.localhost,DNS:globex.localhost,IP:127.0.0.1",
        ], check=True, capture_output=True)
    return cert, key


class Stack:
    """One runtime ("workers" or "spin") with its own emulator, KV and ports."""

    def __init__(self, runtime: str, state: Path, idp_port: int | None = None, imis_port: int | None = None,
                 persist: bool = False, vendor_port: int | None = None, sp_port: int | None = None,
                 rp_port: int | None = None):
        self.runtime = runtime
        self.state = state
        self.persist = persist
        self.idp_port = idp_port or free_port()
        self.imis_port = imis_port or free_port()
        self.vendor_port = vendor_port or free_port()
        # The demo SAML service provider (tests/saml/demo_sp.py) that the acme app demo-sp points at.
        self.sp_port = sp_port or free_port()
        # The demo OIDC relying party (scripts/demo_rp.py) that the acme client demo-rp also names.
        self.rp_port = rp_port or free_port()
        # Its back-channel logout endpoint: plain HTTP on loopback, the next port by default.
        self.rp_backchannel_port = self.rp_port + 1 if rp_port else free_port()
        # wrangler dev's DevTools inspector (workers only): the benches read the isolate's heap there.
        self.inspector_port = free_port()
        self.procs: list[subprocess.Popen] = []
        # The Spin route's XML verifier component, served apart (on Workers it runs in workerd).
        self.xml_verifier_proc: subprocess.Popen | None = None
        self.xml_verifier_port = 0
        self.logs = state / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.key = master_key(state)
        # Both routes serve https: wrangler dev itself, the Spin route through scripts/tls_proxy.py.
        self.scheme = "https"

    # -- URLs -------------------------------------------------------------------------------
    @property
    def imis_origin(self) -> str:
        return f"http://127.0.0.1:{self.imis_port}"

    @property
    def vendor_origin(self) -> str:
        """The demo vendor site of the token bridge (scripts/demo_vendor.py)."""
        return f"https://acme.localhost:{self.vendor_port}"

    def url(self, host: str, path: str = "/") -> str:
        return f"{self.scheme}://{host}:{self.idp_port}{path}"

    @property
    def origin(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.idp_port}"

    @property
    def sp_origin(self) -> str:
        return f"https://127.0.0.1:{self.sp_port}"

    @property
    def rp_origin(self) -> str:
        return f"https://127.0.0.1:{self.rp_port}"

    @property
    def rp_backchannel_origin(self) -> str:
        return f"http://127.0.0.1:{self.rp_backchannel_port}"

    def tenant_folder(self, tenant: str) -> Path:
        """The rendered tenant folder that was pushed (tests add apps to it and push again)."""
        return self.state / f"tenants-{self.runtime}" / tenant

    # -- processes --------------------------------------------------------------------------
    def _spawn(self, name: str, argv: list[str], env: dict | None = None) -> tuple[subprocess.Popen, Path]:
        log = self.logs / f"{self.runtime}-{name}.log"
        fh = open(log, "w")
        # Each child leads its own process group (so stop() can end its children too), which
        # also means Ctrl-C never reaches it: only stop() does. A stop signal that arrives between
        # starting it and recording it would leak it, so signals wait until it is recorded.
        stop_signals = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
        try:
            # The child must not inherit the blocked mask, or it would ignore stop()'s SIGTERM.
            proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT,
                                    env={**os.environ, **(env or {})}, start_new_session=True,
                                    preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals))
            self.procs.append(proc)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)
        return proc, log

    def start_emulator(self) -> None:
        proc, log = self._spawn("imis-emulator", [
            str(EMULATOR), "--addr", f"127.0.0.1:{self.imis_port}",
            "--fixtures", str(ROOT / "tools/imis-emulator/fixtures/demo.json"),
            "--var", f"IDP_PORT={self.idp_port}", "--var", f"IDP_SCHEME={self.scheme}",
        ])
        self.emulator_proc = proc
        wait_http(f"{self.imis_origin}/__emulator/health", 20, proc, log)

    def stop_emulator(self) -> None:
        self.emulator_proc.send_signal(signal.SIGKILL)
        self.emulator_proc.wait()

    def seed(self) -> None:
        """Renders and pushes the demo tenants through the admin CLI."""
        folders = render_tenants(self.state / f"tenants-{self.runtime}", self.imis_origin, self.key,
                                 self.vendor_origin, self.sp_origin, self.state, self.rp_origin,
                                 self.rp_backchannel_origin)
        for folder in folders:
            self.push(folder)

    def store_args(self) -> list[str]:
        """The admin CLI's flags that name this stack's configuration store."""
        if self.runtime == "workers":
            return ["--local", "--persist-to", str(self.state / "wrangler"),
                    "--wrangler-config", str(ROOT / "wrangler.toml")]
        return ["--spin", "--local", "--kv-dir", str(self.state / "spin-kv")]

    def push(self, folder: Path) -> None:
        args = self.store_args()
        done = subprocess.run([str(CLI), "push", str(folder), *args], cwd=ROOT,
                       env={**os.environ, "EDGE_IDP_MASTER_KEY": self.key,
                            "PATH": f"{NPM_BIN}:{os.environ['PATH']}", "WRANGLER_SEND_METRICS": "false"},
                       capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"edge-idp push {folder.name} failed:\n{done.stdout}{done.stderr}")

    def kv_put_raw(self, key: str, value: str) -> None:
        """Writes a raw KV value, bypassing the CLI's validation (tests of broken config)."""
        if self.runtime == "workers":
            subprocess.run([str(NPM_BIN / "wrangler"), "kv", "key", "put", "--binding=TENANTS", "--local",
                            "--persist-to", str(self.state / "wrangler"), key, value],
                           check=True, cwd=ROOT, capture_output=True,
                           env={**os.environ, "PATH": f"{NPM_BIN}:{os.environ['PATH']}",
                                "WRANGLER_SEND_METRICS": "false"})
        else:
            d = self.state / "spin-kv/default"
            d.mkdir(parents=True, exist_ok=True)
            (d / key.encode().hex()).write_bytes(value.encode())

    def start_runtime(self) -> None:
        if self.runtime == "workers":
            # The secret goes in a file of this stack's own (not the repository's .dev.vars), so
            # that two local stacks never hand each other their master keys.
            env_file = self.state / "dev.vars"
            env_file.touch(mode=0o600)
            env_file.write_text(f"MASTER_KEY={self.key}\n")
            proc, log = self._spawn("wrangler", [
                # The IdP's Worker first (it answers on the port), then the XML verifier Worker
                # its service binding reaches, in the same local runtime.
                str(NPM_BIN / "wrangler"), "dev", "-c", str(ROOT / "wrangler.toml"),
                "-c", str(ROOT / "wrangler.xml-verifier.toml"),
                "--ip", "127.0.0.1", "--port", str(self.idp_port),
                "--local-protocol", "https", "--persist-to", str(self.state / "wrangler"),
                "--env-file", str(env_file),
                "--show-interactive-dev-session=false", "--inspector-port", str(self.inspector_port),
            ], env={"PATH": f"{NPM_BIN}:{os.environ['PATH']}", "WRANGLER_SEND_METRICS": "false"})
        else:
            kv = self.state / "spin-kv"
            for label in ("default", "volatile"):  # the provider grants a label whose folder exists
                (kv / label).mkdir(parents=True, exist_ok=True)
            # The XML verifier component: Spin reaches it by service chaining; here the IdP
            # component is told where it is served.
            verifier = self.xml_verifier_port = free_port()
            self.start_xml_verifier()
            backend = free_port()
            proc, log = self._spawn("wasmtime", [
                str(WASMTIME), "serve", "-Scli", "-Shttp", "--dir", f"{kv}::/kv",
                "--env", f"SPIN_VARIABLE_MASTER_KEY={self.key}",
                "--env", f"SPIN_VARIABLE_XML_VERIFIER_URL=http://127.0.0.1:{verifier}/verify",
                "--addr", f"127.0.0.1:{backend}", str(ROOT / "build/spin/composed.wasm"),
            ])
            wait_http(f"http://127.0.0.1:{backend}/healthz", 60, proc, log)
            cert, key = local_certificate(self.state)
            proxy, proxy_log = self._spawn("tls-proxy", [
                sys.executable, str(ROOT / "scripts/tls_proxy.py"), "--listen", f"127.0.0.1:{self.idp_port}",
                "--backend", f"127.0.0.1:{backend}", "--cert", str(cert), "--key", str(key),
            ])
            wait_http(f"{self.origin}/healthz", 20, proxy, proxy_log)
        self.runtime_proc, self.runtime_log = proc, log
        wait_http(f"{self.origin}/healthz", 90, proc, log)

    def start_xml_verifier(self) -> None:
        """The Spin route's XML verifier component, on its port (the IdP component's
        `xml_verifier_url` names it)."""
        proc, log = self._spawn("xml-verifier", [
            str(WASMTIME), "serve", "-Scli", "-Shttp",
            "--addr", f"127.0.0.1:{self.xml_verifier_port}", str(ROOT / "build/spin/xml_verifier.wasm"),
        ])
        wait_http(f"http://127.0.0.1:{self.xml_verifier_port}/", 60, proc, log)
        self.xml_verifier_proc = proc

    def stop_xml_verifier(self) -> None:
        """Stops the Spin route's XML verifier component, as if it were not deployed."""
        proc, self.xml_verifier_proc = self.xml_verifier_proc, None
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
            self.procs.remove(proc)

    def start_vendor(self) -> None:
        """The demo vendor site of the token bridge (https, the local self-signed certificate)."""
        cert, key = local_certificate(self.state)
        proc, log = self._spawn("demo-vendor", [
            sys.executable, str(DEMO_VENDOR), "--port", str(self.vendor_port),
            "--origin", self.vendor_origin, "--idp", self.url("acme.localhost", ""),
            "--app", "demo-vendor", "--cert", str(cert), "--key", str(key),
        ], env={"DEMO_VENDOR_SECRET": DEMO_VENDOR_SECRET})
        wait_http(f"https://127.0.0.1:{self.vendor_port}/health", 20, proc, log)

    def add_saml_app(self, app: str, origin: str, changes: dict, key: str = "sp") -> None:
        """Writes a SAML app into the rendered acme folder: demo-sp's settings with `changes`
        (dotted keys), the SP at `origin` (entity `origin/metadata`, ACS `origin/acs` POST and
        `origin/acs/redirect`, SLO `origin/slo`) with the test key `key`, and its own signing key
        (`edge-idp saml keygen`). Push the folder afterwards."""
        folder = self.tenant_folder("acme")
        value = json.loads((folder / "saml/demo-sp.json").read_text())
        value.pop("idp")
        value["id"], value["name"] = app, f"Test app {app}"
        value["sp"].update({
            "entity_id": f"{origin}/metadata",
            "acs": [{"url": f"{origin}/acs", "binding": "post", "index": 0},
                    {"url": f"{origin}/acs/redirect", "binding": "redirect", "index": 1}],
            "slo": {"url": f"{origin}/slo", "binding": "redirect"},
            "certificates": [(SAML_TEST_KEYS / f"{key}.crt.b64").read_text().strip()],
        })
        for dotted, v in changes.items():
            target = value
            *path, last = dotted.split(".")
            for p in path:
                target = target[p]
            target[last] = v
        path = folder / "saml" / f"{app}.json"
        path.write_text(json.dumps(value, indent=2))
        subprocess.run([str(CLI), "saml", "keygen", str(path)], check=True, capture_output=True,
                       env={**os.environ, "EDGE_IDP_MASTER_KEY": self.key})

    def start_demo_sp(self) -> None:
        """The demo SAML service provider (pysaml2) on https://127.0.0.1:<sp_port>."""
        cert, key = local_certificate(self.state)
        proc, log = self._spawn("demo-sp", [
            sys.executable, str(ROOT / "tests/saml/demo_sp.py"), "--port", str(self.sp_port),
            "--idp", self.url("acme.localhost"), "--app", "demo-sp", "--tls-cert", str(cert), "--tls-key", str(key),
        ])
        wait_http(f"{self.sp_origin}/health", 30, proc, log)

    def start_demo_rp(self) -> None:
        """The demo OIDC relying party (authlib, client demo-rp) on https://127.0.0.1:<rp_port>
        (once; later calls find it running)."""
        if getattr(self, "demo_rp_proc", None) is not None and self.demo_rp_proc.poll() is None:
            return
        cert, key = local_certificate(self.state)
        proc, log = self._spawn("demo-rp", [
            sys.executable, str(ROOT / "scripts/demo_rp.py"), "--port", str(self.rp_port),
            "--backchannel-port", str(self.rp_backchannel_port),
            "--issuer", self.url("acme.localhost", ""), "--tls-cert", str(cert), "--tls-key", str(key),
        ])
        wait_http(f"{self.rp_origin}/health", 30, proc, log)
        self.demo_rp_proc = proc

    def start(self) -> "Stack":
        if not self.persist:
            shutil.rmtree(self.state / "wrangler", ignore_errors=True)
            shutil.rmtree(self.state / "spin-kv", ignore_errors=True)
        self.start_emulator()
        self.seed()
        self.start_runtime()
        self.start_vendor()
        return self

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                print(f"killed {Path(str(proc.args[0])).name}: it did not stop on SIGTERM", file=sys.stderr)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            # The group's other members (workerd under wrangler) may outlive their leader.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.procs.clear()

    def runtime_output(self) -> str:
        return self.runtime_log.read_text(errors="replace")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runtime", choices=["workers", "spin"], default="workers")
    parser.add_argument("--port", type=int)
    parser.add_argument("--imis-port", type=int, default=int(os.environ.get("IMIS_PORT", "8790")))
    parser.add_argument("--vendor-port", type=int, default=int(os.environ.get("VENDOR_PORT", "8791")))
    parser.add_argument("--sp-port", type=int, default=int(os.environ.get("SP_PORT", "8792")))
    parser.add_argument("--rp-port", type=int, default=int(os.environ.get("RP_PORT", "8793")))
    parser.add_argument("--state", type=Path, default=Path(os.environ.get("EDGE_IDP_STATE", ROOT / ".state")),
                        help="folder for local KV, keys and logs, kept between runs (EDGE_IDP_STATE)")
    args = parser.parse_args()
    default_port = 8787 if args.runtime == "workers" else 3000
    port = args.port or int(os.environ.get("EDGE_IDP_PORT", default_port))
    # SIGTERM (kill, timeout, a closed terminal) stops everything like Ctrl-C does, in every
    # phase: while starting too, so no emulator, runtime or demo site is left holding its port
    # for the next `scripts/dev`.
    signal.signal(signal.SIGTERM, _interrupt)
    # Ctrl-C too, even when started with SIGINT ignored (as a shell does for a background job,
    # e.g. under nohup or a CI runner): then Python would not turn it into KeyboardInterrupt.
    signal.signal(signal.SIGINT, _interrupt)
    stack = Stack(args.runtime, args.state, port, args.imis_port, persist=True,
                  vendor_port=args.vendor_port, sp_port=args.sp_port, rp_port=args.rp_port)
    try:
        return _run(stack, args.runtime)
    except KeyboardInterrupt:
        return 0
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        print("stopped", file=sys.stderr)


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def _run(stack: Stack, runtime_kind: str) -> int:
    """Starts everything, prints where to go, and waits until a process exits or the user stops."""
    try:
        stack.start()
        stack.start_demo_sp()
        stack.start_demo_rp()
    except Exception as e:  # noqa: BLE001 — report; main() cleans up
        print(f"error: {e}", file=sys.stderr)
        return 1
    runtime = "Cloudflare Workers (wrangler dev / workerd)" if runtime_kind == "workers" else \
        "the Spin route (wasmtime serve + Spin component, behind a local TLS terminator)"
    print(f"""
Edge IdP for iMIS is running on {runtime}.

  Acme (iMIS EMS/Cloud mode):     {stack.url('acme.localhost')}
  Globex (iMIS 2017 legacy mode): {stack.url('globex.localhost')}
  Health, with iMIS check:        EDGE_IDP_MASTER_KEY=$(cat {stack.state / 'master.key'}) \\
                                    scripts/edge-idp status acme.localhost {' '.join(stack.store_args())} \\
                                    --url {stack.origin} --insecure
  iMIS emulator:                  {stack.imis_origin}/acme/sso/EdgeIdP-OIDC  (RiSE Single Sign On page)
  Token-bridge demo vendor:       {stack.vendor_origin}/  (app demo-vendor: POST, query and cookie delivery, ping)
  SAML demo SP (pysaml2):         {stack.sp_origin}/  (signs in through acme's SAML app demo-sp)
  SAML IdP metadata of demo-sp:   {stack.url('acme.localhost', '/saml/demo-sp/metadata')}
  OIDC demo RP (authlib):         {stack.rp_origin}/  (signs in through acme's OIDC client demo-rp)
  OIDC discovery of acme:         {stack.url('acme.localhost', '/.well-known/openid-configuration')}

Demo members (tenant, username, password):""")
    for tenant, user, password, what in DEMO_USERS:
        print(f"  {tenant:7} {user:9} {password}   {what}")
    print(f"\nLogs: {stack.logs}   Audit events appear in {stack.runtime_log.name}.\nCtrl-C stops everything.")
    print("The local certificate is self-signed: accept it in the browser (or curl -k).", flush=True)
    while all(p.poll() is None for p in stack.procs):
        time.sleep(0.5)
    print("a process exited; see the logs above", file=sys.stderr)
    return 1

if __name__ == "__main__":
    sys.exit(main())
