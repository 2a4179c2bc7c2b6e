"""Request latency on a runtime: `/healthz` shallow and deep, the iMIS sign-in callback, and the
token bridge's round trip."""
from __future__ import annotations

import http.client
import ssl
import statistics
import time
from urllib.parse import quote

import requests

import stack as stack_mod

from .members import handoff_form, sign_in_page, submit_handoff
from .report import Report, p50_p99
from .settings import N

# The demo vendor's API secret, as the vendor sends it to the user service.
VENDOR_AUTH = {"Authorization": f"Bearer {stack_mod.DEMO_VENDOR_SECRET}"}


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
    return p50_p99(times)


def sign_in_figures(stack, n: int) -> tuple[float, float, float]:
    """iMIS Cloud sign-ins through the emulator: median time of the callback (token exchange +
    member lookup + session cookie), median time the emulator itself spent answering (ms
    resolution), and the iMIS calls per sign-in."""
    emu = stack.imis_origin
    totals, added, calls = [], [], []
    for _ in range(n):
        s = requests.Session()
        action, token = handoff_form(sign_in_page(stack, s, "/signin"))
        requests.delete(f"{emu}/__emulator/requests", timeout=10)
        t0 = time.perf_counter()
        r = submit_handoff(stack, s, action, token)
        dt = (time.perf_counter() - t0) * 1000
        if r.status_code != 303:
            raise RuntimeError(f"callback answered {r.status_code}")
        log = requests.get(f"{emu}/__emulator/requests", timeout=10).json()
        totals.append(dt)
        added.append(sum(e.get("millis", 0) for e in log))
        calls.append(len(log))
    return statistics.median(totals), statistics.median(added), statistics.median(calls)


def bridge_signin_url(stack) -> str:
    """The demo vendor's silent signin at the IdP (query delivery of the one-time token)."""
    return_url = quote(f"{stack.vendor_origin}/welcome", safe="")
    return stack.url("acme.localhost", f"/bridge/demo-vendor/signin?delivery=query&ReturnURL={return_url}")


def bridge_signin(s: requests.Session, signin_url: str) -> str:
    """The signin leg alone: the one-time token the IdP sends the vendor (query delivery)."""
    r = s.get(signin_url, allow_redirects=False, timeout=30, verify=False)
    if r.status_code != 303 or "token=" not in r.headers.get("location", ""):
        raise RuntimeError(f"bridge signin answered {r.status_code}")
    return r.headers["location"].rsplit("token=", 1)[1]


def bridge_once(stack, s: requests.Session, vendor: requests.Session, signin_url: str
                ) -> tuple[float, float, requests.Response]:
    """One round trip of the token bridge for the member signed in on `s`: the signin leg mints a
    token, the vendor (`vendor`, with its secret) redeems it at the user service. The two legs'
    times in seconds, and the user service's answer (its 200 checked; its body is the caller's
    to check)."""
    t0 = time.perf_counter()
    tok = bridge_signin(s, signin_url)
    t1 = time.perf_counter()
    u = vendor.get(stack.url("acme.localhost", f"/bridge/demo-vendor/user?token={tok}"), headers=VENDOR_AUTH,
                   timeout=30, verify=False)
    t2 = time.perf_counter()
    if u.status_code != 200:
        raise RuntimeError(f"bridge user answered {u.status_code}")
    return t1 - t0, t2 - t1, u


def bridge_round_trip(stack, n: int, report: Report) -> None:
    """Signs jsmith in once over HTTP, then times silent signin → user service round trips."""
    s = requests.Session()
    s.verify = False
    submit_handoff(stack, s, *handoff_form(sign_in_page(stack, s, "/signin")))
    signin_url = bridge_signin_url(stack)
    vendor = requests.Session()
    vendor.verify = False
    legs: dict[str, list[float]] = {"signin": [], "user": [], "round trip": []}
    for i in range(n + 10):
        signin, user, _ = bridge_once(stack, s, vendor, signin_url)
        if i >= 10:
            legs["signin"].append(signin * 1000)
            legs["user"].append(user * 1000)
            legs["round trip"].append((signin + user) * 1000)
    for name, times in legs.items():
        p50, p99 = p50_p99(times)
        report.line("bridge", f"{stack.runtime:7} {name:16} n={n}  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")


def request_latency(stack, report: Report) -> None:
    """The latency lines of one runtime."""
    runtime = stack.runtime
    for path in ("/healthz", "/healthz?deep=1"):
        p50, p99 = measure(stack, "acme.localhost", path, N, admin(stack))
        report.line("latency", f"{runtime:7} {path:16} n={N}  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")
    n = max(10, N // 10)
    total, added, calls = sign_in_figures(stack, n)
    report.line("sign-in", f"{runtime:7} callback n={n}  p50 {total:6.2f} ms, of which iMIS (emulator, no latency) "
                f"{added:4.1f} ms; {calls:.0f} iMIS calls per sign-in")
    bridge_round_trip(stack, min(N, 200), report)
