"""SAML: the CPU of one SSO round trip at the edge, for an app that signs once and one that signs
twice, with the split into the runtime's share and ours."""
from __future__ import annotations

import base64
import secrets
import statistics
import time
import zlib
from urllib.parse import quote

import requests

from .cpu import Counts, runtime_cpu
from .members import handoff_form, sign_in_page, submit_handoff
from .report import Report
from .settings import SAML_N
from .units import breakdown


def saml_session(stack) -> requests.Session:
    """A browser signed in as jsmith on acme (through the emulated RiSE page)."""
    s = requests.Session()
    s.verify = False
    r = submit_handoff(stack, s, *handoff_form(sign_in_page(stack, s, "/saml/demo-sp/login")))
    assert r.status_code == 200 and "SAMLResponse" in r.text, r.text[:500]
    return s


def authn_request_query(stack, app: str, origin: str, request_id: str | None = None) -> str:
    """The path and query of an unsigned HTTP-Redirect AuthnRequest to `app` from the SP at
    `origin`; `request_id` is its ID (a fresh one by default), which the Response's InResponseTo
    must echo."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    request_id = request_id or f"_{secrets.token_hex(16)}"
    xml = ('<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
           f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{request_id}" Version="2.0" '
           f'IssueInstant="{now}" AssertionConsumerServiceURL="{origin}/acs">'
           f'<saml:Issuer>{origin}/metadata</saml:Issuer></samlp:AuthnRequest>')
    deflated = zlib.compress(xml.encode())[2:-4]
    return f"/saml/{app}/sso?SAMLRequest={quote(base64.b64encode(deflated).decode(), safe='')}&RelayState=bench"


def sso_page(stack, s: requests.Session, query: str) -> str:
    """A signed-in browser's GET of an SSO request (`authn_request_query`): the page with the
    auto-submitting Response form; any other answer raises."""
    r = s.get(stack.url("acme.localhost", query), allow_redirects=False, timeout=30, verify=False)
    if r.status_code != 200 or "SAMLResponse" not in r.text:
        raise RuntimeError(f"SSO answered {r.status_code}: {r.text[:300]}")
    return r.text


def bench_sso(stack, app: str, origin: str, s: requests.Session, n: int) -> tuple[float, float]:
    """CPU ms per SSO round trip in the runtime process, and the median wall time."""
    cpu = runtime_cpu(stack)
    queries = [authn_request_query(stack, app, origin) for _ in range(n + 20)]
    walls = []
    for i, q in enumerate(queries):
        if i == 20:
            cpu0 = cpu()
        t0 = time.perf_counter()
        sso_page(stack, s, q)
        if i >= 20:
            walls.append((time.perf_counter() - t0) * 1000)
    return (cpu() - cpu0) * 1000 / n, statistics.median(walls)


def bench_saml(stack, units: dict[str, float], sig: dict[str, float], report: Report) -> float:
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
        report.line("saml", f"{r:7} SSO round trip, {what:36} n={SAML_N}  CPU {cpu:6.2f} ms "
                    f"(net of baseline {cpu - units['base']:6.2f} ms)  wall p50 {wall:6.2f} ms")
    # One more signature (and the Assertion's digest and c14n) is what separates the two apps.
    marginal = results[2][0] - results[1][0]
    report.line("saml", f"{r:7} marginal cost of one more RSA-2048 signature (2-sig SSO - 1-sig SSO)  "
                f"CPU {marginal:6.2f} ms")
    ref = sig["rsa"] if r == "workers" else marginal
    ref_text = "WebCrypto RSA-2048 signature" if r == "workers" else "RSA-2048 signature in wasm (marginal est.)"
    for nsig, (cpu, lines, calls) in sorted(results.items()):
        # KV: the app, where no instance outlives a request (Spin); none from a warm isolate.
        ours = breakdown(stack, f"SSO {nsig} sig", cpu, units, 1, lines, calls, nsig * ref,
                         f"= {nsig} x {ref:.2f}", 0 if r == "workers" else 1, report)
        if nsig == 1:
            report.figure(r, "SAML SSO CPU, 1 signature(s)", cpu, "ms", 1.3 * ref,
                          f"<= 1.3 x {ref_text} = {1.3 * ref:.2f} ms")
            report.figure(r, "SAML SSO CPU, 1 sig, ours (minus runtime est.)", ours, "ms", 1.3 * ref,
                          f"<= {1.3 * ref:.2f} ms")
        else:
            # The goal is for one signature: this row has none of its own.
            report.figure(r, f"SAML SSO CPU, {nsig} signature(s)", cpu, "ms", None, "-")
    return marginal
