"""OIDC: the CPU of one code -> token exchange for an RS256 and an ES256 client, with its split,
and the token endpoint's throughput."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode, urlparse

import requests

from .cpu import Counts, runtime_cpu
from .members import MEMBER, handoff_form
from .report import Report
from .settings import CONCURRENCY
from .tokens import (ES_BASIC, ES_CLIENT, ES_REDIRECT, RP_BASIC, RP_REDIRECT, TokenTarget, exchange_concurrent,
                     exchange_sequential)
from .units import breakdown


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


class OidcBrowser:
    """A browser signed in as jsmith on acme, minting authorization codes with prompt=none."""

    def __init__(self, stack, session: requests.Session | None = None):
        """Signs in through demo-rp's authorization request, unless `session` is signed in already."""
        self.stack = stack
        self.s = session or requests.Session()
        self.s.verify = False
        if session is not None:
            return
        host = "acme.localhost"
        q = {"response_type": "code", "client_id": "demo-rp", "redirect_uri": RP_REDIRECT,
             "scope": "openid profile email"}
        r = self.s.get(stack.url(host, "/oidc/authorize?" + urlencode(q)), allow_redirects=False, timeout=30,
                       verify=False)
        page = self.s.get(r.headers["location"], timeout=30, verify=False)
        if 'name="password"' in page.text:
            page = self.s.post(r.headers["location"], data=MEMBER, timeout=30, verify=False)
        _, token = handoff_form(page.text)
        self.s.post(stack.url(host, "/imis/callback"), data={"refresh_token": token},
                    headers={"Origin": stack.imis_origin}, allow_redirects=False, timeout=30, verify=False)

    def codes(self, client: str, redirect_uri: str, n: int) -> list[str]:
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


def bench_oidc(stack, browser: OidcBrowser, units: dict[str, float], sig: dict[str, float], n: int,
               marginal_rsa: float | None, report: Report) -> dict[str, float]:
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
        report.line("oidc", f"{r:7} code->token, {alg} id_token + {alg} access token  n={n}  CPU {c:6.2f} ms  "
                    f"wall p50 {p50:6.2f} ms p99 {p99:6.2f} ms  {seq:6.1f} exchanges/s sequential")
        if r == "workers":
            sigs, note = 2 * sig["rsa" if alg == "RS256" else "ec"], "WebCrypto"
        else:
            ref = marginal_rsa or 0.0
            sigs, note = (2 * ref if alg == "RS256" else 0.0), "RSA in wasm (marginal est.)"
        # KV: the client and the keys, where no instance outlives a request (Spin).
        ours = breakdown(stack, f"token {alg}", c, units, 2, lines, calls, sigs,
                         f"{'2 x RSA' if alg == 'RS256' else '2 x ECDSA'}, {note}", 0 if r == "workers" else 2, report)
        if alg == "RS256":
            report.figure(r, "OIDC code->token CPU (RS256 id_token)", c, "ms", 1.3 * sigs,
                          f"<= 1.3 x 2 RSA sigs ({note}) = {1.3 * sigs:.2f} ms")
            report.figure(r, "OIDC code->token CPU, ours (minus runtime est.)", ours, "ms", 1.3 * sigs,
                          f"<= {1.3 * sigs:.2f} ms")
        elif r == "workers":
            report.figure(r, "OIDC code->token CPU (ES256 id_token)", c, "ms", 1.3 * sigs,
                          f"<= 1.3 x 2 ECDSA sigs (WebCrypto) = {1.3 * sigs:.2f} ms")
        else:
            report.figure(r, "OIDC code->token CPU (ES256 id_token)", c, "ms", None, "- (no ECDSA reference here)")
        if alg == "RS256":
            tput["seq"] = seq
            tput["conc"] = exchange_concurrent(target, browser.codes(client, redirect, n), CONCURRENCY)
            report.line("oidc", f"{r:7} token endpoint throughput (RS256), {CONCURRENCY} connections  n={n}  "
                        f"{tput['conc']:6.1f} exchanges/s")
    return tput
