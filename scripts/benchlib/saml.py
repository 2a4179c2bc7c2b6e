"""SAML: the CPU of one SSO round trip at the edge, for an app that signs once and one that signs
twice, with the split into the runtime's share and ours."""
from __future__ import annotations

import base64
import secrets
import statistics
import subprocess
import tempfile
import time
import zlib
from pathlib import Path
from urllib.parse import quote

import requests

import stack as stack_mod

from .cpu import Counts, cpu_seconds, runtime_cpu
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


def signed_post_request(stack, key: Path, workdir: Path) -> str:
    """A POST-binding AuthnRequest to demo-sp, signed with the demo SP's key by `xmlsec1`
    (enveloped, exclusive c14n, RSA-SHA256), base64 as the form field carries it."""
    origin = stack.sp_origin
    request_id = f"_{secrets.token_hex(16)}"
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    c14n = "http://www.w3.org/2001/10/xml-exc-c14n#"
    template = (
        '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{request_id}" Version="2.0" '
        f'IssueInstant="{now}" AssertionConsumerServiceURL="{origin}/acs">'
        f'<saml:Issuer>{origin}/metadata</saml:Issuer>'
        '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
        f'<ds:CanonicalizationMethod Algorithm="{c14n}"/>'
        '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
        f'<ds:Reference URI="#{request_id}"><ds:Transforms>'
        '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
        f'<ds:Transform Algorithm="{c14n}"/></ds:Transforms>'
        '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
        '<ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/></ds:Signature>'
        '</samlp:AuthnRequest>')
    src, out = workdir / f"{request_id}.xml", workdir / f"{request_id}.signed.xml"
    src.write_text(template)
    subprocess.run(["xmlsec1", "--sign", "--privkey-pem", str(key), "--id-attr:ID",
                    "urn:oasis:names:tc:SAML:2.0:protocol:AuthnRequest", "--output", str(out), str(src)],
                   check=True, capture_output=True)
    return base64.b64encode(out.read_bytes()).decode()


def bench_signed_post(stack, s: requests.Session, report: Report, n: int = 50) -> None:
    """What verifying a signed POST-binding AuthnRequest costs, now that the XML verifier runs
    apart (its own Worker or Spin component): demo-sp's SSO answered for a POST request signed by
    the SP against an unsigned Redirect one, wall time and the runtime processes' CPU (on Workers
    the verifier's isolate runs in the same workerd; on the Spin route its own process is added)."""
    key = stack_mod.ROOT / "tests/saml/keys/sp.key"
    with tempfile.TemporaryDirectory() as tmp:
        forms = [signed_post_request(stack, key, Path(tmp)) for _ in range(n + 10)]
    url = stack.url("acme.localhost", "/saml/demo-sp/sso")
    idp_cpu, verifier = runtime_cpu(stack), stack.xml_verifier_proc
    # On the Spin route the verifier component is a process of its own: counted with the IdP's.
    cpu = (lambda: idp_cpu() + cpu_seconds(verifier.pid, "wasmtime")) if verifier else idp_cpu

    def post(form: str) -> None:
        r = s.post(url, data={"SAMLRequest": form, "RelayState": "bench"}, allow_redirects=False,
                   timeout=30, verify=False)
        if r.status_code != 200 or "SAMLResponse" not in r.text:
            raise RuntimeError(f"signed POST SSO answered {r.status_code}: {r.text[:300]}")

    figures = {}
    for what, send in (("unsigned Redirect", lambda i: sso_page(stack, s, authn_request_query(
                            stack, "demo-sp", stack.sp_origin))),
                       ("signed POST (XML verifier)", lambda i: post(forms[i]))):
        walls = []
        for i in range(n + 10):
            if i == 10:
                cpu0 = cpu()
            t0 = time.perf_counter()
            send(i)
            if i >= 10:
                walls.append((time.perf_counter() - t0) * 1000)
        figures[what] = ((cpu() - cpu0) * 1000 / n, statistics.median(walls))
        report.line("saml", f"{stack.runtime:7} demo-sp SSO, {what:27} n={n}  CPU {figures[what][0]:6.2f} ms"
                            f"  wall p50 {figures[what][1]:6.2f} ms")
    (cpu_plain, wall_plain), (cpu_signed, wall_signed) = figures.values()
    report.line("saml", f"{stack.runtime:7} verifying a signed POST request apart: +{cpu_signed - cpu_plain:.2f} ms "
                        f"CPU, +{wall_signed - wall_plain:.2f} ms wall p50")
