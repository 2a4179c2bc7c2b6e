#!/usr/bin/env python3
"""Benchmarks (not tests): bundle sizes, request latency and SAML CPU time under the local runtimes.

Prints, for each runtime, the wasm size (raw and gzip) and the median and p99 latency of
`/healthz` (tenant from the per-isolate cache) and `/healthz?deep=1` (plus one iMIS call to the
emulator with a cached background token), measured over keep-alive connections from this machine.
Then the token bridge's round trip for a signed-in member: silent
`/bridge/demo-vendor/signin` (query delivery; mints a one-time token, runs the app's Profile IQA for
the No Access Mapping) followed by the vendor's `/bridge/demo-vendor/user` call (redeems the token,
runs the Profile IQA for the extra columns), each leg and the sum.

SAML: the CPU time of one SSO round trip at the edge (an AuthnRequest in by HTTP-Redirect for a
member with a session, Profile and Role IQA answered by the emulator, a signed Response out in the
auto-submitting form), read from the runtime process's CPU counters (workerd / wasmtime) around
BENCH_SAML_N requests, for an app that signs once (the Response) and one that signs twice (Response
and Assertion). Next to it, in the same run, the CPU time of one WebCrypto RSA-2048 signature in
workerd (scripts/bench-webcrypto.js under its own `wrangler dev`). The SSO CPU is split into the
local runtime's share (per-request baseline + DO calls + iMIS subrequests + audit lines, each
counted in the code path and priced by its own measurement below) and the remainder (ours).

OIDC: the CPU time of one code -> token exchange (id_token + signed access token), for
an RS256 client (demo-rp) and a temporary ES256 client (bench-es, written into the rendered tenant
folder before the push; its id_token and access token are both ES256, no RSA). Codes are
minted first; CPU is read only around the token POSTs. Token-endpoint throughput (sequential and
with BENCH_CONCURRENCY connections) for our IdP on each runtime and for the `oidc-provider` npm
package (scripts/bench-node/oidc-provider.mjs) on this machine, through the same load driver.
Scale (scripts/bench_tenants.py): BENCH_TENANTS (default 10,000) generated tenant files applied
to each runtime's local store in one `edge-idp apply`, and host lookups and runtime memory at 2
and at that many tenants.
A summary table (runtime, measurement, figure, goal, met) closes the run.
"""
from __future__ import annotations

import base64
import gzip
import html
import http.client
import json
import os
import re
import secrets
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from urllib.parse import quote

import requests
import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_tenants  # noqa: E402
import stack as stack_mod  # noqa: E402

ROOT = stack_mod.ROOT
N = int(os.environ.get("BENCH_N", "500"))
SAML_N = int(os.environ.get("BENCH_SAML_N", "200"))
# Tenants generated for the scale figures (scripts/bench_tenants.py); 0 skips them.
TENANTS = int(os.environ.get("BENCH_TENANTS", "10000"))
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


def size(path: Path) -> str:
    raw = path.read_bytes()
    return f"{len(raw) / 1024:.0f} KiB raw, {len(gzip.compress(raw, 9)) / 1024:.0f} KiB gzip"


def admin(stack) -> dict[str, str]:
    """The header that opens acme's `/healthz?deep=1` (without it, the deep check asks no iMIS)."""
    return {"Authorization": f"Bearer {stack_mod.healthz_admin_token(stack.key, 'acme')}"}


def measure(stack, host: str, path: str, n: int, headers: dict | None = None) -> tuple[float, float]:
    if stack.scheme == "https":
        conn = http.client.HTTPSConnection("127.0.0.1", stack.idp_port, context=ssl._create_unverified_context())
    else:
        conn = http.client.HTTPConnection("127.0.0.1", stack.idp_port)
    times = []
    for i in range(n + 20):
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"Host": host, **(headers or {})})
        resp = conn.getresponse()
        resp.read()
        dt = (time.perf_counter() - t0) * 1000
        if resp.status not in (200,):
            raise RuntimeError(f"{path} answered {resp.status}")
        if i >= 20:  # warm-up excluded
            times.append(dt)
    conn.close()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def bridge_round_trip(stack, n: int) -> None:
    """Signs jsmith in once over HTTP, then times silent signin → user service round trips."""
    import html
    import re
    import urllib.parse

    import requests
    import urllib3

    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    s = requests.Session()
    s.verify = False
    r = s.get(stack.url("acme.localhost", "/signin"), allow_redirects=False, timeout=30, verify=False)
    sso = r.headers["location"]
    page = s.post(sso, data={"username": "jsmith", "password": "Member-Passw0rd"}, timeout=30, verify=False)
    form = re.search(r'<form[^>]*id="sso-handoff"[^>]*>', page.text).group(0)
    action = html.unescape(re.search(r'action="([^"]+)"', form).group(1))
    token = re.search(r'name="refresh_token" value="([0-9a-f]{32})"', page.text).group(1)
    s.post(action, data={"refresh_token": token}, headers={"Origin": stack.imis_origin},
           allow_redirects=False, timeout=30, verify=False)
    return_url = urllib.parse.quote(f"{stack.vendor_origin}/welcome", safe="")
    signin_url = stack.url("acme.localhost", f"/bridge/demo-vendor/signin?delivery=query&ReturnURL={return_url}")
    vendor = requests.Session()
    vendor.verify = False
    auth = {"Authorization": f"Bearer {stack_mod.DEMO_VENDOR_SECRET}"}
    legs: dict[str, list[float]] = {"signin": [], "user": [], "round trip": []}
    for i in range(n + 10):
        t0 = time.perf_counter()
        r = s.get(signin_url, allow_redirects=False, timeout=30, verify=False)
        t1 = time.perf_counter()
        if r.status_code != 303 or "token=" not in r.headers.get("location", ""):
            raise RuntimeError(f"bridge signin answered {r.status_code}")
        tok = r.headers["location"].rsplit("token=", 1)[1]
        u = vendor.get(stack.url("acme.localhost", f"/bridge/demo-vendor/user?token={tok}"), headers=auth, timeout=30, verify=False)
        t2 = time.perf_counter()
        if u.status_code != 200:
            raise RuntimeError(f"bridge user answered {u.status_code}")
        if i >= 10:
            legs["signin"].append((t1 - t0) * 1000)
            legs["user"].append((t2 - t1) * 1000)
            legs["round trip"].append((t2 - t0) * 1000)
    for name, times in legs.items():
        times.sort()
        p50, p99 = statistics.median(times), times[max(int(len(times) * 0.99) - 1, 0)]
        print(f"bridge  {stack.runtime:7} {name:16} n={n}  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")


def sign_in_figures(stack, n: int) -> tuple[float, float, float]:
    """iMIS Cloud sign-ins through the emulator: median time of the callback (token exchange +
    member lookup + session cookie), median time the emulator itself spent answering (ms
    resolution), and the iMIS calls per sign-in."""
    import html
    import re

    import requests
    import urllib3
    urllib3.disable_warnings()
    emu = stack.imis_origin
    totals, added, calls = [], [], []
    for _ in range(n):
        s = requests.Session()
        r = s.get(stack.url("acme.localhost", "/signin"), verify=False, allow_redirects=False, timeout=30)
        sso = r.headers["location"]
        page = s.post(sso, data={"username": "jsmith", "password": "Member-Passw0rd"}, timeout=30)
        form = re.search(r'<form[^>]*id="sso-handoff"[^>]*>', page.text).group(0)
        action = html.unescape(re.search(r'action="([^"]+)"', form).group(1))
        token = re.search(r'name="refresh_token" value="([0-9a-f]{32})"', page.text).group(1)
        requests.delete(f"{emu}/__emulator/requests", timeout=10)
        t0 = time.perf_counter()
        r = s.post(action, data={"refresh_token": token}, headers={"Origin": emu}, verify=False,
                   allow_redirects=False, timeout=30)
        dt = (time.perf_counter() - t0) * 1000
        if r.status_code != 303:
            raise RuntimeError(f"callback answered {r.status_code}")
        log = requests.get(f"{emu}/__emulator/requests", timeout=10).json()
        totals.append(dt)
        added.append(sum(e.get("millis", 0) for e in log))
        calls.append(len(log))
    return statistics.median(totals), statistics.median(added), statistics.median(calls)


RP_REDIRECT = "https://demo-rp.localhost/callback"
ES_CLIENT = "bench-es"  # written into the rendered tenant folder by add_es256_client (bench only)
ES_REDIRECT = "https://bench-es.localhost/callback"
RP_BASIC = "Basic " + base64.b64encode(b"demo-rp:demo-rp-secret").decode()
ES_BASIC = "Basic " + base64.b64encode(f"{ES_CLIENT}:demo-rp-secret".encode()).decode()
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
OIDC_N = int(os.environ.get("BENCH_OIDC_N", "200"))


def add_es256_client(stack) -> None:
    """A temporary ES256 client for the bench: demo-rp's settings (same secret) under another id
    and redirect URI, id_token signed with the tenant's ES256 key. Push the folder afterwards."""
    folder = stack.tenant_folder("acme") / "oidc"
    value = json.loads((folder / "demo-rp.json").read_text())
    value.update({"id": ES_CLIENT, "name": "Bench ES256 client", "redirect_uris": [ES_REDIRECT],
                  "id_token_signed_response_alg": "ES256"})
    for k in ("post_logout_redirect_uris", "frontchannel_logout_uri"):
        value.pop(k, None)
    (folder / f"{ES_CLIENT}.json").write_text(json.dumps(value, indent=2))


class TokenTarget:
    """A token endpoint and one client of it: where to POST, and how to authenticate."""

    def __init__(self, port: int, host: str, path: str, auth: str, redirect_uri: str):
        self.port, self.host, self.path, self.auth, self.redirect_uri = port, host, path, auth, redirect_uri

    def conn(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=ssl._create_unverified_context())

    def post(self, conn: http.client.HTTPSConnection, code: str) -> int:
        from urllib.parse import urlencode
        body = urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri})
        conn.request("POST", self.path, body=body, headers={
            "Host": self.host, "Content-Type": "application/x-www-form-urlencoded", "Authorization": self.auth})
        resp = conn.getresponse()
        resp.read()
        return resp.status


def exchange_sequential(target: TokenTarget, codes: list[str], cpu=None) -> tuple[float, float, float, float]:
    """Exchanges `codes` one after the other on one keep-alive connection: CPU ms per exchange in
    the server process (`cpu()` read around the POSTs only; 0 without it), wall p50 and p99 (ms),
    and exchanges per second."""
    conn = target.conn()
    target.post(conn, "warm-up-not-a-code")  # opens the connection (TLS) outside the figures
    times = []
    c0 = cpu() if cpu else 0.0
    t_start = time.perf_counter()
    for code in codes:
        t0 = time.perf_counter()
        status = target.post(conn, code)
        times.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            raise RuntimeError(f"{target.path} answered {status}")
    elapsed = time.perf_counter() - t_start
    c1 = cpu() if cpu else 0.0
    conn.close()
    times.sort()
    return ((c1 - c0) * 1000 / len(codes), statistics.median(times),
            times[max(int(len(times) * 0.99) - 1, 0)], len(codes) / elapsed)


def exchange_concurrent(target: TokenTarget, codes: list[str], conc: int) -> float:
    """Exchanges per second with `conc` keep-alive connections working through `codes`."""
    import threading
    lock, todo, failures = threading.Lock(), list(codes), []
    conns = [target.conn() for _ in range(conc)]
    for c in conns:
        target.post(c, "warm-up-not-a-code")

    def work(conn) -> None:
        while True:
            with lock:
                if not todo:
                    return
                code = todo.pop()
            status = target.post(conn, code)
            if status != 200:
                failures.append(status)

    threads = [threading.Thread(target=work, args=(c,)) for c in conns]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    for c in conns:
        c.close()
    if failures:
        raise RuntimeError(f"{target.path} answered {failures[:5]} under concurrency {conc}")
    return len(codes) / elapsed


class OidcBrowser:
    """A browser signed in as jsmith on acme, minting authorization codes with prompt=none."""

    def __init__(self, stack):
        from urllib.parse import urlencode
        self.stack = stack
        self.s = requests.Session()
        self.s.verify = False
        host = "acme.localhost"
        q = {"response_type": "code", "client_id": "demo-rp", "redirect_uri": RP_REDIRECT, "scope": "openid profile email"}
        r = self.s.get(stack.url(host, "/oidc/authorize?" + urlencode(q)), allow_redirects=False, timeout=30, verify=False)
        page = self.s.get(r.headers["location"], timeout=30, verify=False)
        if 'name="password"' in page.text:
            page = self.s.post(r.headers["location"], data={"username": "jsmith", "password": "Member-Passw0rd"},
                               timeout=30, verify=False)
        token = re.search(r'name="refresh_token" value="([0-9a-f]{32})"', page.text).group(1)
        self.s.post(stack.url(host, "/imis/callback"), data={"refresh_token": token},
                    headers={"Origin": stack.imis_origin}, allow_redirects=False, timeout=30, verify=False)

    def codes(self, client: str, redirect_uri: str, n: int) -> list[str]:
        from urllib.parse import parse_qs, urlencode, urlparse
        q = {"response_type": "code", "client_id": client, "redirect_uri": redirect_uri,
             "scope": "openid profile email", "prompt": "none"}
        out = []
        for _ in range(n):
            r = self.s.get(self.stack.url("acme.localhost", "/oidc/authorize?" + urlencode(q)), allow_redirects=False,
                           timeout=30, verify=False)
            loc = r.headers.get("location", "")
            codes = parse_qs(urlparse(loc).query).get("code")
            if r.status_code != 303 or not codes:
                raise RuntimeError(f"authorize ({client}) answered {r.status_code} {loc[:200]} {r.text[:200]}")
            out.append(codes[0])
        return out


def cpu_seconds(root: int, name: str) -> float:
    """User + system CPU time of the processes called `name` under `root`."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in stack_mod.descendants(root):
        try:
            text = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        if comm.startswith(name):
            fields = text.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def saml_session(stack) -> requests.Session:
    """A browser signed in as jsmith on acme (through the emulated RiSE page)."""
    s = requests.Session()
    s.verify = False
    r = s.get(stack.url("acme.localhost", "/saml/demo-sp/login"), allow_redirects=False, timeout=30, verify=False)
    page = s.post(r.headers["location"], data={"username": "jsmith", "password": "Member-Passw0rd"}, timeout=30)
    action = html.unescape(re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1))
    token = re.search(r'name="refresh_token" value="([^"]+)"', page.text).group(1)
    r = s.post(action, data={"refresh_token": token}, headers={"Origin": stack.imis_origin},
               allow_redirects=False, timeout=30, verify=False)
    assert r.status_code == 200 and "SAMLResponse" in r.text, r.text[:500]
    return s


def authn_request_query(stack, app: str, origin: str) -> str:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    xml = ('<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
           f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_{secrets.token_hex(16)}" Version="2.0" '
           f'IssueInstant="{now}" AssertionConsumerServiceURL="{origin}/acs">'
           f'<saml:Issuer>{origin}/metadata</saml:Issuer></samlp:AuthnRequest>')
    deflated = zlib.compress(xml.encode())[2:-4]
    return f"/saml/{app}/sso?SAMLRequest={quote(base64.b64encode(deflated).decode(), safe='')}&RelayState=bench"


def bench_sso(stack, app: str, origin: str, s: requests.Session, n: int) -> tuple[float, float]:
    """CPU ms per SSO round trip in the runtime process, and the median wall time."""
    name = "workerd" if stack.runtime == "workers" else "wasmtime"
    root = stack.runtime_proc.pid
    queries = [authn_request_query(stack, app, origin) for _ in range(n + 20)]
    walls = []
    for i, q in enumerate(queries):
        if i == 20:
            cpu0 = cpu_seconds(root, name)
        t0 = time.perf_counter()
        r = s.get(stack.url("acme.localhost", q), allow_redirects=False, timeout=30, verify=False)
        if i >= 20:
            walls.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200 or "SAMLResponse" not in r.text:
            raise RuntimeError(f"SSO answered {r.status_code}: {r.text[:300]}")
    cpu = cpu_seconds(root, name) - cpu0
    return cpu * 1000 / n, statistics.median(walls)


def bench_webcrypto(state: Path, n: int) -> dict[str, float]:
    """CPU ms of one WebCrypto signature in workerd (per-request overhead subtracted): RSA-2048
    (RSASSA-PKCS1-v1_5 SHA-256) under "rsa", ECDSA P-256 SHA-256 under "ec"."""
    port = stack_mod.free_port()
    log = open(state / "bench-webcrypto.log", "w")
    # Its own configuration, so that wrangler does not pick up the IdP's wrangler.toml.
    config = state / "wrangler.toml"
    config.write_text(f'name = "bench-webcrypto"\nmain = "{ROOT / "scripts/bench-webcrypto.js"}"\n'
                      'compatibility_date = "2026-04-01"\n')
    proc = subprocess.Popen([str(stack_mod.NPM_BIN / "wrangler"), "dev", "--config", str(config),
                             "--ip", "127.0.0.1", "--port", str(port),
                             "--persist-to", str(state / "wrangler-bench"), "--show-interactive-dev-session=false"],
                            stdout=log, stderr=subprocess.STDOUT, cwd=state, start_new_session=True,
                            env={**os.environ, "PATH": f"{stack_mod.NPM_BIN}:{os.environ['PATH']}",
                                 "WRANGLER_SEND_METRICS": "false"})
    try:
        stack_mod.wait_http(f"http://127.0.0.1:{port}/sign?n=1", 90, proc, state / "bench-webcrypto.log")
        s = requests.Session()

        def get(q: str) -> None:
            r = s.get(f"http://127.0.0.1:{port}/sign?{q}", timeout=30)
            if r.status_code != 200 or not r.text.startswith("signed"):
                raise RuntimeError(f"bench-webcrypto answered {r.status_code}: {r.text[:300]}")

        out = {}
        for alg in ("rsa", "ec"):
            for _ in range(20):
                get(f"n=5&alg={alg}")
            # Requests that sign `per` times, minus the same number of requests that sign nothing.
            reqs, per = 40, max(40, n // 5)
            c0 = cpu_seconds(proc.pid, "workerd")
            for _ in range(reqs):
                get(f"n=0&alg={alg}")
            c1 = cpu_seconds(proc.pid, "workerd")
            for _ in range(reqs):
                get(f"n={per}&alg={alg}")
            c2 = cpu_seconds(proc.pid, "workerd")
            out[alg] = ((c2 - c1) - (c1 - c0)) * 1000 / (reqs * per)
        return out
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=10)


def runtime_cpu(stack):
    """Reads the CPU seconds of the runtime process (workerd under wrangler, or wasmtime)."""
    name = "workerd" if stack.runtime == "workers" else "wasmtime"
    return lambda: cpu_seconds(stack.runtime_proc.pid, name)


def request_cpu(stack, s: requests.Session, path: str, n: int, headers: dict | None = None) -> float:
    """CPU ms of the runtime process per request to `path`."""
    cpu = runtime_cpu(stack)
    for _ in range(20):
        s.get(stack.url("acme.localhost", path), timeout=30, verify=False, headers=headers)
    c0 = cpu()
    for _ in range(n):
        s.get(stack.url("acme.localhost", path), timeout=30, verify=False, headers=headers)
    return (cpu() - c0) * 1000 / n


class Counts:
    """Counts what requests cause at the edges the bench can see: audit lines in the runtime's log
    and calls the iMIS emulator answered."""

    def __init__(self, stack):
        self.stack = stack

    def start(self) -> None:
        time.sleep(0.3)
        self.lines = self.stack.runtime_output().count('"kind":"audit"')
        requests.delete(f"{self.stack.imis_origin}/__emulator/requests", timeout=10)

    def per(self, n: int) -> tuple[float, float]:
        """(audit lines, iMIS calls) per request over the last `n` requests since start()."""
        time.sleep(0.5)  # let the runtime's stdout reach the log file
        lines = self.stack.runtime_output().count('"kind":"audit"') - self.lines
        calls = len(requests.get(f"{self.stack.imis_origin}/__emulator/requests", timeout=10).json())
        return lines / n, calls / n


def unit_costs(stack, s: requests.Session, n: int) -> dict[str, float]:
    """What the local runtime spends on any request, on one iMIS subrequest, on one audit line
    (with an error page) and on one Durable Object call (once store / counter): the unit prices
    of the breakdowns. Each is printed."""
    r = stack.runtime
    base = request_cpu(stack, s, "/healthz", n)
    counts = Counts(stack)
    counts.start()
    deep = request_cpu(stack, s, "/healthz?deep=1", n, admin(stack)) - base
    _, deep_calls = counts.per(n + 20)
    # Where the runtime keeps no instance between requests (wasmtime serve), the background iMIS
    # token is fetched again by every request: the deep check then makes two calls.
    fetch = deep / max(deep_calls, 1.0)
    audit = request_cpu(stack, s, "/no-such-page", n) - base
    # A token POST with a code that does not exist: client authentication, the take-once (one DO
    # call), the used-code counter read (a second DO call), one audit line and a JSON error.
    target = TokenTarget(stack.idp_port, "acme.localhost", "/oidc/token", RP_BASIC, RP_REDIRECT)
    conn, cpu = target.conn(), runtime_cpu(stack)
    for i in range(20):
        target.post(conn, f"warm-{i}")
    c0 = cpu()
    for i in range(n):
        if target.post(conn, f"no-such-code-{i}") != 400:
            raise RuntimeError("a token POST with an unknown code was not refused with 400")
    bad = (cpu() - c0) * 1000 / n - base
    conn.close()
    do = max(0.0, (bad - audit) / 2)
    print(f"unit    {r:7} per-request baseline (/healthz)                             CPU {base:6.2f} ms")
    print(f"unit    {r:7} + one iMIS subrequest ((/healthz?deep=1 - baseline) / {deep_calls:.2f} iMIS calls)  CPU {fetch:6.2f} ms")
    print(f"unit    {r:7} + one audit line and error page (404)                       CPU {audit:6.2f} ms")
    print(f"unit    {r:7} + one DO call ((unknown-code token POST - 404 cost) / 2)    CPU {do:6.2f} ms")
    summarize(r, "per-request baseline CPU (/healthz), the runtime's share", base, "ms", None, "- (reference)")
    return {"base": base, "fetch": fetch, "audit": audit, "do": do}


def breakdown(stack, what: str, cpu: float, units: dict[str, float], do_calls: int, lines: float,
              calls: float, sigs: float, sig_note: str, kv_reads: int) -> float:
    """Prints the split of `cpu` into the local runtime's share (counts x unit prices) and ours;
    returns ours (CPU minus the runtime's estimated share). DO calls and KV reads are counted
    from the code path (KV reads beyond the /healthz baseline's, left in ours: no unit price);
    audit lines and iMIS calls are counted in the run."""
    runtime = units["base"] + do_calls * units["do"] + calls * units["fetch"] + lines * units["audit"]
    ours = cpu - runtime
    print(f"split   {stack.runtime:7} {what}: CPU {cpu:6.2f} ms = runtime est. {runtime:6.2f} ms "
          f"(baseline {units['base']:.2f} + {do_calls} DO x {units['do']:.2f} + {calls:.2f} iMIS x "
          f"{units['fetch']:.2f} + {lines:.2f} audit x {units['audit']:.2f}) + ours {ours:6.2f} ms "
          f"(of which signatures {sigs:.2f} ms {sig_note}; {kv_reads} KV reads)")
    return ours


SUMMARY: list[tuple[str, str, str, str, str]] = []


def summarize(runtime: str, measurement: str, figure: float, unit: str, goal: float | None, goal_text: str,
              lower_is_better: bool = True) -> None:
    met = "-" if goal is None else ("met" if (figure <= goal if lower_is_better else figure >= goal) else "not met")
    SUMMARY.append((runtime, measurement, f"{figure:.2f} {unit}", goal_text, met))


def bench_saml(stack, units: dict[str, float], sig: dict[str, float]) -> float:
    """CPU per SSO round trip (1 and 2 signatures), with its split; returns the marginal cost of
    one more signature on this runtime (the reference where there is no WebCrypto)."""
    origin = f"{stack.sp_origin}/bench-sp"
    s = saml_session(stack)
    r = stack.runtime
    counts = Counts(stack)
    results = {}
    for app, org, nsig, what in (("bench-sp", origin, 1, "1 signature (Response)"),
                                 ("demo-sp", stack.sp_origin, 2, "2 signatures (Response + Assertion)")):
        bench_sso(stack, app, org, s, 20)  # warm the isolate, the key and the caches
        counts.start()
        cpu, wall = bench_sso(stack, app, org, s, SAML_N)
        lines, calls = counts.per(SAML_N + 20)
        results[nsig] = (cpu, lines, calls)
        print(f"saml    {r:7} SSO round trip, {what:36} n={SAML_N}  CPU {cpu:6.2f} ms "
              f"(net of baseline {cpu - units['base']:6.2f} ms)  wall p50 {wall:6.2f} ms")
    # One more signature (and the Assertion's digest and c14n) is what separates the two apps.
    marginal = results[2][0] - results[1][0]
    print(f"saml    {r:7} marginal cost of one more RSA-2048 signature (2-sig SSO - 1-sig SSO)  CPU {marginal:6.2f} ms")
    ref = sig["rsa"] if r == "workers" else marginal
    ref_text = "WebCrypto RSA-2048 signature" if r == "workers" else "RSA-2048 signature in wasm (marginal est.)"
    for nsig, (cpu, lines, calls) in sorted(results.items()):
        # KV: the app, where no instance outlives a request (Spin); none from a warm isolate.
        ours = breakdown(stack, f"SSO {nsig} sig", cpu, units, 1, lines, calls, nsig * ref,
                         f"= {nsig} x {ref:.2f}", 0 if r == "workers" else 1)
        summarize(r, f"SAML SSO CPU, {nsig} signature(s)", cpu, "ms", 1.3 * ref,
                  f"<= 1.3 x {ref_text} = {1.3 * ref:.2f} ms" if nsig == 1 else "(the goal is for 1 signature)")
        if nsig == 1:
            summarize(r, "SAML SSO CPU, 1 sig, ours (minus runtime est.)", ours, "ms", 1.3 * ref,
                      f"<= {1.3 * ref:.2f} ms")
    # The 2-signature row has no goal of its own.
    SUMMARY[-3:] = [row if "2 signature" not in row[1] else (*row[:3], "-", "-") for row in SUMMARY[-3:]]
    return marginal


def bench_oidc(stack, browser: OidcBrowser, units: dict[str, float], sig: dict[str, float], n: int,
               marginal_rsa: float | None) -> dict[str, float]:
    """CPU per code -> token exchange (RS256 and ES256 clients) and token-endpoint throughput."""
    r = stack.runtime
    cpu = runtime_cpu(stack)
    counts = Counts(stack)
    tput = {}
    for client, redirect, auth, alg in (("demo-rp", RP_REDIRECT, RP_BASIC, "RS256"),
                                        (ES_CLIENT, ES_REDIRECT, ES_BASIC, "ES256")):
        target = TokenTarget(stack.idp_port, "acme.localhost", "/oidc/token", auth, redirect)
        exchange_sequential(target, browser.codes(client, redirect, 20))  # warm
        codes = browser.codes(client, redirect, n)
        counts.start()
        c, p50, p99, seq = exchange_sequential(target, codes, cpu)
        lines, calls = counts.per(n + 1)  # + the warm-up POST (one refusal line)
        lines = max(0.0, lines - 1 / (n + 1))
        # An ES256 client gets ES256 access tokens too (src/oidc/token.rs): no RSA signature.
        print(f"oidc    {r:7} code->token, {alg} id_token + {alg} access token  n={n}  CPU {c:6.2f} ms  "
              f"wall p50 {p50:6.2f} ms p99 {p99:6.2f} ms  {seq:6.1f} exchanges/s sequential")
        if r == "workers":
            sigs, note, ref = 2 * sig["rsa" if alg == "RS256" else "ec"], "WebCrypto", None
        else:
            ref = marginal_rsa or 0.0
            sigs, note = (2 * ref if alg == "RS256" else 0.0), "RSA in wasm (marginal est.)"
        # KV: the client and the keys, where no instance outlives a request (Spin).
        ours = breakdown(stack, f"token {alg}", c, units, 2, lines, calls, sigs,
                         f"{'2 x RSA' if alg == 'RS256' else '2 x ECDSA'}, {note}", 0 if r == "workers" else 2)
        if alg == "RS256":
            summarize(r, "OIDC code->token CPU (RS256 id_token)", c, "ms", 1.3 * sigs,
                      f"<= 1.3 x 2 RSA sigs ({note}) = {1.3 * sigs:.2f} ms")
            summarize(r, "OIDC code->token CPU, ours (minus runtime est.)", ours, "ms", 1.3 * sigs,
                      f"<= {1.3 * sigs:.2f} ms")
        elif r == "workers":
            summarize(r, "OIDC code->token CPU (ES256 id_token)", c, "ms", 1.3 * sigs,
                      f"<= 1.3 x 2 ECDSA sigs (WebCrypto) = {1.3 * sigs:.2f} ms")
        else:
            summarize(r, "OIDC code->token CPU (ES256 id_token)", c, "ms", None, "- (no ECDSA reference here)")
        if alg == "RS256":
            tput["seq"] = seq
            tput["conc"] = exchange_concurrent(target, browser.codes(client, redirect, n), CONCURRENCY)
            print(f"oidc    {r:7} token endpoint throughput (RS256), {CONCURRENCY} connections  n={n}  "
                  f"{tput['conc']:6.1f} exchanges/s")
    return tput


def bench_oidc_provider(n: int) -> dict[str, float] | None:
    """The same exchanges against the `oidc-provider` npm package on this machine (https, the same
    kind of local certificate); None when its packages are missing."""
    script = ROOT / "scripts/bench-node/oidc-provider.mjs"
    if not (ROOT / "scripts/bench-node/node_modules/oidc-provider").is_dir():
        print("oidc    oidc-provider: scripts/bench-node/node_modules missing (run scripts/setup); skipped")
        return None
    state = Path(tempfile.mkdtemp(prefix="edge-idp-bench-oidc-provider-"))
    cert, key = stack_mod.local_certificate(state)
    port = stack_mod.free_port()
    log = state / "oidc-provider.log"
    proc = subprocess.Popen([str(stack_mod.NPM_BIN / "node"), str(script), str(port), str(cert), str(key)],
                            stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=script.parent,
                            start_new_session=True)
    try:
        stack_mod.wait_http(f"https://127.0.0.1:{port}/.well-known/openid-configuration", 30, proc, log)
        origin = f"https://127.0.0.1:{port}"

        def codes(k: int) -> list[str]:
            r = requests.post(f"{origin}/__bench/codes?n={k}", timeout=60, verify=False)
            r.raise_for_status()
            return r.json()

        auth = "Basic " + base64.b64encode(b"bench-rp:bench-rp-secret").decode()
        target = TokenTarget(port, f"127.0.0.1:{port}", "/token", auth, "https://bench-rp.localhost/callback")
        exchange_sequential(target, codes(50))  # warm (JIT)
        c, p50, p99, seq = exchange_sequential(target, codes(n), lambda: cpu_seconds(proc.pid, "node"))
        conc = exchange_concurrent(target, codes(n), CONCURRENCY)
        print(f"oidc    node    oidc-provider code->token, RS256 id_token + RS256 JWT access token  n={n}  "
              f"CPU {c:6.2f} ms  wall p50 {p50:6.2f} ms p99 {p99:6.2f} ms  {seq:6.1f} exchanges/s sequential, "
              f"{conc:6.1f} with {CONCURRENCY} connections")
        return {"cpu": c, "seq": seq, "conc": conc}
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=10)


def native_costs() -> dict[str, float]:
    """Our code alone, natively (x86, release, signing stubbed in the fake platform): the ignored
    `native_cost` unit tests print ms per silent SSO and per code -> token exchange."""
    done = subprocess.run(["cargo", "test", "-q", "--release", "-p", "edge-idp", "--lib", "native_cost", "--",
                           "--ignored", "--nocapture", "--test-threads=1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    out = {}
    for key, pattern in (("sso", r"silent SSO \(2 signatures stubbed\) ([0-9.]+) ms"),
                         ("exchange", r"exchange \(2 signatures stubbed\) ([0-9.]+) ms"),
                         ("rsa", r"software RSA-2048 signature \(parse \+ sign\) ([0-9.]+) ms")):
        m = re.search(pattern, done.stdout)
        if m:
            out[key] = float(m.group(1))
    if len(out) < 3:
        print(f"native  the native_cost tests did not report:\n{done.stdout[-1500:]}{done.stderr[-1500:]}")
    return out


def wasm_signature() -> dict[str, float]:
    """ms per operation of RSA-2048 signing inside wasm under wasmtime (the engine of the Spin
    route), from examples/wasm_sign.rs: our constant-time signer (key load, sign, both) and the
    rsa crate it replaced."""
    subprocess.run([str(ROOT / "scripts/build"), "--sign-bench"], check=True, cwd=ROOT)
    done = subprocess.run([str(stack_mod.WASMTIME), "run", str(ROOT / "build/bench/wasm_sign.wasm"), "100"],
                          capture_output=True, text=True, check=True, timeout=600)
    return {name: float(ms) for name, ms in re.findall(r"^(\w+) ([0-9.]+)", done.stdout, re.M)}


def main() -> int:
    worker_wasm = next((ROOT / "build/worker").glob("*.wasm"))
    print(f"bundle  workers: {size(worker_wasm)}")
    print(f"bundle  spin:    {size(ROOT / 'build/spin/edge_idp_spin.wasm')}")
    # The reference signatures first: every goal below is relative to them.
    sig = bench_webcrypto(Path(tempfile.mkdtemp(prefix="edge-idp-bench-webcrypto-")), SAML_N)
    print(f"crypto  workers one WebCrypto RSA-2048 signature (RSASSA-PKCS1-v1_5 SHA-256)      CPU {sig['rsa']:6.2f} ms")
    print(f"crypto  workers one WebCrypto ECDSA P-256 signature (SHA-256)                    CPU {sig['ec']:6.2f} ms")
    wasm = wasm_signature()
    # The floor: two 1024-bit exponentiations of ~1,024 squarings (~1,536 32x32-bit multiply-adds
    # each) and ~256 multiplications (~2,048 each), so ~4.2 M multiply-adds: 1.4 ms at one per ns,
    # 4.2 ms at three (what wasm code with loads, stores and carries tends to reach).
    print(f"crypto  spin    RSA-2048 signature in wasm (wasmtime): load key {wasm.get('ours_load', 0):.2f} ms, "
          f"sign {wasm.get('ours_sign', 0):.2f} ms, load + sign {wasm.get('ours_load_and_sign', 0):.2f} ms "
          f"(the rsa crate: {wasm.get('rsa_crate_load', 0):.2f} + {wasm.get('rsa_crate_sign', 0):.2f} ms); "
          "floor estimate 1.4-4.2 ms")
    summarize("spin", "RSA-2048 signature in wasm, key load + sign", wasm.get("ours_load_and_sign", 0), "ms", 4.0,
              "<= 4 ms (floor estimate 1.4-4.2 ms)")
    native = native_costs()
    if native:
        print(f"native  our code alone, x86 release, signing stubbed: silent SSO (2 sigs) {native.get('sso', 0):.3f} ms, "
              f"code->token {native.get('exchange', 0):.3f} ms; one software RSA-2048 signature {native.get('rsa', 0):.2f} ms")
        summarize("native", "SAML silent SSO, our code alone (x86, signing stubbed)", native.get("sso", 0), "ms", None, "- (not wasm)")
        summarize("native", "OIDC code->token, our code alone (x86, signing stubbed)", native.get("exchange", 0), "ms", None,
                  "- (not wasm)")
    tputs: dict[str, dict[str, float]] = {}
    for runtime in ("workers", "spin"):
        stack = stack_mod.Stack(runtime, Path(tempfile.mkdtemp(prefix=f"edge-idp-bench-{runtime}-")))
        try:
            stack.start()
            # Bench-only apps, in one push: a SAML app that signs once, and an ES256 OIDC client.
            stack.add_saml_app("bench-sp", f"{stack.sp_origin}/bench-sp", {"sign_assertion": False})
            add_es256_client(stack)
            stack.push(stack.tenant_folder("acme"))
            for path in ("/healthz", "/healthz?deep=1"):
                p50, p99 = measure(stack, "acme.localhost", path, N, admin(stack))
                print(f"latency {runtime:7} {path:16} n={N}  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")
            n = max(10, N // 10)
            total, added, calls = sign_in_figures(stack, n)
            print(f"sign-in {runtime:7} callback n={n}  p50 {total:6.2f} ms, of which iMIS (emulator, no latency) {added:4.1f} ms; "
                  f"{calls:.0f} iMIS calls per sign-in")
            bridge_round_trip(stack, min(N, 200))
            s = saml_session(stack)
            units = unit_costs(stack, s, SAML_N)
            marginal_rsa = bench_saml(stack, units, sig)
            tputs[runtime] = bench_oidc(stack, OidcBrowser(stack), units, sig, OIDC_N, marginal_rsa)
        finally:
            stack.stop()
    if TENANTS:
        for runtime in ("workers", "spin"):
            for rt, what, figure, unit in bench_tenants.run(runtime, TENANTS, min(N, 300)):
                summarize(rt, what, figure, unit, None, "- (bounded; ratios near 1)")
    node = bench_oidc_provider(OIDC_N)
    print(f"\ntoken endpoint throughput, code->token exchanges/s (same driver, same machine, one run):")
    print(f"  {'server':34} {'sequential':>10} {f'{CONCURRENCY} connections':>15}")
    for runtime, t in tputs.items():
        print(f"  {'edge-idp on ' + runtime:34} {t['seq']:10.1f} {t['conc']:15.1f}")
        summarize(runtime, f"OIDC token endpoint, {CONCURRENCY} connections", t["conc"], "exchanges/s", None,
                  "- (compare with oidc-provider)")
    if node:
        version = json.loads((ROOT / "scripts/bench-node/node_modules/oidc-provider/package.json").read_text())["version"]
        print(f"  {'oidc-provider ' + version + ' (node)':34} {node['seq']:10.1f} {node['conc']:15.1f}")
        summarize("node", f"oidc-provider token endpoint, {CONCURRENCY} connections", node["conc"], "exchanges/s",
                  None, "- (reference)")
        summarize("node", "oidc-provider code->token CPU (RS256 id_token + JWT AT)", node["cpu"], "ms", None, "- (reference)")
    print("\nsummary:")
    widths = [max(len(row[i]) for row in SUMMARY + [HEADER]) for i in range(5)]
    for row in [HEADER] + SUMMARY:
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


HEADER = ("runtime", "measurement", "figure", "goal", "met")


if __name__ == "__main__":
    sys.exit(main())
