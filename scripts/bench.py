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
to each runtime's local store in one `edge-idp apply`, and host lookups, isolate and process memory at 2
and at that many tenants.
iMIS calls per flow (benchlib/imis_calls.py): what the emulator is asked by a first SAML SSO and a
first code -> token exchange of a member who has just signed in, and by a repeat of each.
In-runtime CPU per operation (benchlib/inruntime.py): the bench builds of both adapters run N
complete operations inside one request (SAML SSO, code -> token, bridge redemption, discovery,
JWKS, bare signatures) against in-memory stores and canned iMIS answers with the runtime's own
signer; one operation costs (time(N) - time(0)) / N, set against a signature measured the same
way and against the peers' CPU (oidc-provider, samlify) for the same operation.
Soak (benchlib/soak.py, opt-in): BENCH_SOAK_SECONDS of mixed SAML, OIDC and bridge traffic from
BENCH_SOAK_WORKERS workers on each runtime's stack after its other figures: throughput, latency
per kind, errors, and the growth of the runtime's memory and stored keys. BENCH_ONLY=soak runs
only that (600 s unless BENCH_SOAK_SECONDS says otherwise), on a fresh stack per runtime.
A summary table (runtime, measurement, figure, goal, met) closes the run.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stack as stack_mod  # noqa: E402
from benchlib import (bundle, crypto, imis_calls, inruntime, latency, oidc, peers, saml, soak,  # noqa: E402
                      tenants, units, workerd)
from benchlib.report import Report  # noqa: E402
from benchlib.settings import (OIDC_N, ONLY, RUNTIMES, SAML_N, SOAK_SECONDS, SOAK_WORKERS,  # noqa: E402
                               TENANTS, WORKERD)


def bench_runtime(runtime: str, sig: dict[str, float], report: Report,
                  bare: dict[str, workerd.Figures] | None = None) -> dict[str, float]:
    """Every figure of one runtime's stack; returns its token-endpoint throughput (and fills
    `bare` with the bare-workerd figures, when given, on Workers)."""
    stack = stack_mod.Stack(runtime, Path(tempfile.mkdtemp(prefix=f"edge-idp-bench-{runtime}-")))
    try:
        stack.start()
        # Bench-only apps, in one push: a SAML app that signs once, and an ES256 OIDC client.
        stack.add_saml_app("bench-sp", f"{stack.sp_origin}/bench-sp", {"sign_assertion": False})
        oidc.add_es256_client(stack)
        stack.push(stack.tenant_folder("acme"))
        latency.request_latency(stack, report)
        imis_calls.imis_calls(stack, report)
        s = saml.saml_session(stack)
        unit_prices = units.unit_costs(stack, s, SAML_N, report)
        marginal_rsa = saml.bench_saml(stack, unit_prices, sig, report)
        saml.bench_signed_post(stack, s, report)
        browser = oidc.OidcBrowser(stack)
        tput = oidc.bench_oidc(stack, browser, unit_prices, sig, OIDC_N, marginal_rsa, report)
        if bare is not None and runtime == "workers":
            bare.update(workerd.measure(stack, browser, s, OIDC_N, SAML_N, report))
        if SOAK_SECONDS:
            soak.soak(stack, SOAK_SECONDS, SOAK_WORKERS, report)
        return tput
    finally:
        stack.stop()


def soak_runtime(runtime: str, report: Report) -> None:
    """Only the soak, on a fresh stack of `runtime` (BENCH_ONLY=soak)."""
    stack = stack_mod.Stack(runtime, Path(tempfile.mkdtemp(prefix=f"edge-idp-soak-{runtime}-")))
    try:
        stack.start()
        soak.soak(stack, SOAK_SECONDS, SOAK_WORKERS, report)
    finally:
        stack.stop()


def main() -> int:
    report = Report()
    if WORKERD == "only":
        workerd.run_alone(report)
        report.print_summary()
        return 0
    if ONLY == "soak":
        for runtime in RUNTIMES:
            soak_runtime(runtime, report)
        report.print_summary()
        return 0
    bare, load_before = ({} if WORKERD == "1" else None), workerd.load()
    bundle.bundle_sizes(report)
    # The reference signatures first: every goal below is relative to them.
    sig = crypto.reference_signatures(report)
    in_runtime = inruntime.measure(report, RUNTIMES)
    tputs = {runtime: bench_runtime(runtime, sig, report, bare) for runtime in RUNTIMES}
    if TENANTS:
        tenants.scale(report)
    node = peers.bench_oidc_provider(OIDC_N, report)
    samlify = peers.bench_samlify(SAML_N, report)
    peer_cpu = {name: figures["cpu"] for name, figures in (("oidc-provider", node), ("samlify", samlify))
                if figures}
    inruntime.against_peers(report, in_runtime, peer_cpu)
    peers.throughput_table(report, tputs, node)
    if bare:
        workerd.table(report, bare, node, samlify, (load_before, workerd.load()))
    if bare is not None:
        workerd.cold_start(report)
    report.print_summary()
    return 0


if __name__ == "__main__":
    sys.exit(main())
