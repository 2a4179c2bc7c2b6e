#!/usr/bin/env python3
"""Benchmarks (not tests): bundle sizes, request latency and SAML CPU time under the local runtimes.

Prints, for each runtime, the wasm size (raw and gzip) and the median and p99 latency of
`/healthz` (tenant from the per-isolate cache) and `/healthz?deep=1` (plus one iMIS call to the
emulator with a cached background token), measured over keep-alive connections from this machine.
Then the token bridge's round trip for a signed-in member (issue 7): silent
`/bridge/demo-vendor/signin` (query delivery; mints a one-time token, runs the app's Profile IQA for
the No Access Mapping) followed by the vendor's `/bridge/demo-vendor/user` call (redeems the token,
runs the Profile IQA for the extra columns), each leg and the sum.

SAML: the CPU time of one SSO round trip at the edge (an AuthnRequest in by HTTP-Redirect for a
member with a session, Profile and Role IQA answered by the emulator, a signed Response out in the
auto-submitting form), read from the runtime process's CPU counters (workerd / wasmtime) around
BENCH_SAML_N requests, for an app that signs once (the Response) and one that signs twice (Response
and Assertion). Next to it, in the same run, the CPU time of one WebCrypto RSA-2048 signature in
workerd (scripts/bench-webcrypto.js under its own `wrangler dev`).
"""
from __future__ import annotations

import base64
import gzip
import html
import http.client
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
import stack as stack_mod  # noqa: E402

ROOT = stack_mod.ROOT
N = int(os.environ.get("BENCH_N", "500"))
SAML_N = int(os.environ.get("BENCH_SAML_N", "200"))
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


def size(path: Path) -> str:
    raw = path.read_bytes()
    return f"{len(raw) / 1024:.0f} KiB raw, {len(gzip.compress(raw, 9)) / 1024:.0f} KiB gzip"


def measure(stack, host: str, path: str, n: int) -> tuple[float, float]:
    if stack.scheme == "https":
        conn = http.client.HTTPSConnection("127.0.0.1", stack.idp_port, context=ssl._create_unverified_context())
    else:
        conn = http.client.HTTPConnection("127.0.0.1", stack.idp_port)
    times = []
    for i in range(n + 20):
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"Host": host})
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
    s.post(action, data={"refresh_token": token}, allow_redirects=False, timeout=30, verify=False)
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
        r = s.post(action, data={"refresh_token": token}, verify=False, allow_redirects=False, timeout=30)
        dt = (time.perf_counter() - t0) * 1000
        if r.status_code != 303:
            raise RuntimeError(f"callback answered {r.status_code}")
        log = requests.get(f"{emu}/__emulator/requests", timeout=10).json()
        totals.append(dt)
        added.append(sum(e.get("millis", 0) for e in log))
        calls.append(len(log))
    return statistics.median(totals), statistics.median(added), statistics.median(calls)


def oidc_exchange(stack, n: int) -> tuple[float, float]:
    """Latency of the code -> token exchange alone (id_token RS256 + access token signed, code
    taken once), with codes minted beforehand by silent authorization requests of one session."""
    import re
    import requests
    import urllib3
    urllib3.disable_warnings()
    from urllib.parse import parse_qs, urlencode, urlparse
    s = requests.Session()
    s.verify = False
    host = "acme.localhost"
    q = {"response_type": "code", "client_id": "demo-rp", "redirect_uri": "https://demo-rp.localhost/callback",
         "scope": "openid profile email"}
    r = s.get(stack.url(host, "/oidc/authorize?" + urlencode(q)), allow_redirects=False, timeout=30, verify=False)
    page = s.get(r.headers["location"], timeout=30, verify=False)
    if 'name="password"' in page.text:
        page = s.post(r.headers["location"], data={"username": "jsmith", "password": "Member-Passw0rd"}, timeout=30, verify=False)
    token = re.search(r'name="refresh_token" value="([0-9a-f]{32})"', page.text).group(1)
    s.post(stack.url(host, "/imis/callback"), data={"refresh_token": token}, allow_redirects=False, timeout=30, verify=False)
    codes = []
    for _ in range(n + 10):
        r = s.get(stack.url(host, "/oidc/authorize?" + urlencode({**q, "prompt": "none"})), allow_redirects=False, timeout=30, verify=False)
        codes.append(parse_qs(urlparse(r.headers["location"]).query)["code"][0])
    conn = http.client.HTTPSConnection("127.0.0.1", stack.idp_port, context=ssl._create_unverified_context())
    times = []
    for i, code in enumerate(codes):
        body = urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": q["redirect_uri"]})
        t0 = time.perf_counter()
        conn.request("POST", "/oidc/token", body=body, headers={
            "Host": host, "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Basic ZGVtby1ycDpkZW1vLXJwLXNlY3JldA=="})
        resp = conn.getresponse()
        resp.read()
        dt = (time.perf_counter() - t0) * 1000
        if resp.status != 200:
            raise RuntimeError(f"/oidc/token answered {resp.status}")
        if i >= 10:
            times.append(dt)
    conn.close()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


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


def cpu_seconds(root: int, name: str) -> float:
    """User + system CPU time of the processes called `name` under `root`."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in descendants(root):
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
    r = s.post(action, data={"refresh_token": token}, allow_redirects=False, timeout=30, verify=False)
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


def bench_webcrypto(state: Path, n: int) -> float:
    """CPU ms of one WebCrypto RSA-2048 signature in workerd (per-request overhead subtracted)."""
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
        for _ in range(20):
            s.get(f"http://127.0.0.1:{port}/sign?n=5", timeout=30)
        # Requests that sign n times, minus the same number of requests that sign nothing.
        reqs, per = 40, max(1, n // 40)
        c0 = cpu_seconds(proc.pid, "workerd")
        for _ in range(reqs):
            s.get(f"http://127.0.0.1:{port}/sign?n=0", timeout=30)
        c1 = cpu_seconds(proc.pid, "workerd")
        for _ in range(reqs):
            s.get(f"http://127.0.0.1:{port}/sign?n={per}", timeout=30)
        c2 = cpu_seconds(proc.pid, "workerd")
        return ((c2 - c1) - (c1 - c0)) * 1000 / (reqs * per)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=10)


def request_cpu(stack, s: requests.Session, path: str, n: int) -> float:
    """CPU ms of the runtime process per request to `path`."""
    name = "workerd" if stack.runtime == "workers" else "wasmtime"
    for _ in range(20):
        s.get(stack.url("acme.localhost", path), timeout=30, verify=False)
    c0 = cpu_seconds(stack.runtime_proc.pid, name)
    for _ in range(n):
        s.get(stack.url("acme.localhost", path), timeout=30, verify=False)
    return (cpu_seconds(stack.runtime_proc.pid, name) - c0) * 1000 / n


def bench_saml(stack) -> None:
    origin = f"{stack.sp_origin}/bench-sp"
    stack.add_saml_app("bench-sp", origin, {"sign_assertion": False})
    stack.push(stack.tenant_folder("acme"))
    s = saml_session(stack)
    # What the local runtime spends on any request, on one iMIS subrequest and on one audit line
    # (with an error page): the SSO round trip makes two subrequests and writes one audit line.
    base = request_cpu(stack, s, "/healthz", SAML_N)
    fetch = request_cpu(stack, s, "/healthz?deep=1", SAML_N) - base
    audit = request_cpu(stack, s, "/no-such-page", SAML_N) - base
    print(f"saml    {stack.runtime:7} per-request baseline (/healthz)                       CPU {base:6.2f} ms")
    print(f"saml    {stack.runtime:7} + one iMIS subrequest (/healthz?deep=1)               CPU {fetch:6.2f} ms")
    print(f"saml    {stack.runtime:7} + one audit line and error page (404)                 CPU {audit:6.2f} ms")
    for app, org, what in (("bench-sp", origin, "1 signature (Response)"),
                           ("demo-sp", stack.sp_origin, "2 signatures (Response + Assertion)")):
        bench_sso(stack, app, org, s, 20)  # warm the isolate, the key and the caches
        cpu, wall = bench_sso(stack, app, org, s, SAML_N)
        print(f"saml    {stack.runtime:7} SSO round trip, {what:36} n={SAML_N}  CPU {cpu:6.2f} ms "
              f"(net of baseline {cpu - base:6.2f} ms)  wall p50 {wall:6.2f} ms")


def main() -> int:
    worker_wasm = next((ROOT / "build/worker").glob("*.wasm"))
    print(f"bundle  workers: {size(worker_wasm)}")
    print(f"bundle  spin:    {size(ROOT / 'build/spin/edge_idp_spin.wasm')}")
    for runtime in ("workers", "spin"):
        stack = stack_mod.Stack(runtime, Path(tempfile.mkdtemp(prefix=f"edge-idp-bench-{runtime}-")))
        try:
            stack.start()
            for path in ("/healthz", "/healthz?deep=1"):
                p50, p99 = measure(stack, "acme.localhost", path, N)
                print(f"latency {runtime:7} {path:16} n={N}  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")
            n = max(10, N // 10)
            total, added, calls = sign_in_figures(stack, n)
            print(f"sign-in {runtime:7} callback n={n}  p50 {total:6.2f} ms, of which iMIS (emulator, no latency) {added:4.1f} ms; "
                  f"{calls:.0f} iMIS calls per sign-in")
            bridge_round_trip(stack, min(N, 200))
            n = min(N, 100)
            p50, p99 = oidc_exchange(stack, n)
            print(f"latency {runtime:7} {'OIDC code->token':16} n={n}  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"
                  "  (2 RS256 signatures + take-once + 2 counters)")
            bench_saml(stack)
        finally:
            stack.stop()
    sig = bench_webcrypto(Path(tempfile.mkdtemp(prefix="edge-idp-bench-webcrypto-")), SAML_N)
    print(f"crypto  workers one WebCrypto RSA-2048 signature (RSASSA-PKCS1-v1_5 SHA-256)      CPU {sig:6.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
