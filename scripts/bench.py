#!/usr/bin/env python3
"""Benchmarks (not tests): bundle sizes and request latency under the local runtimes.

Prints, for each runtime, the wasm size (raw and gzip) and the median and p99 latency of
`/healthz` (tenant from the per-isolate cache) and `/healthz?deep=1` (plus one iMIS call to the
emulator with a cached background token), measured over keep-alive connections from this machine.
Then the token bridge's round trip for a signed-in member (issue 7): silent
`/bridge/demo-vendor/signin` (query delivery; mints a one-time token, runs the app's Profile IQA for
the No Access Mapping) followed by the vendor's `/bridge/demo-vendor/user` call (redeems the token,
runs the Profile IQA for the extra columns), each leg and the sum.
"""
from __future__ import annotations

import gzip
import http.client
import os
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stack as stack_mod  # noqa: E402

ROOT = stack_mod.ROOT
N = int(os.environ.get("BENCH_N", "500"))


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
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
