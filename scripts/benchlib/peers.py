"""The peer on the same machine: the `oidc-provider` npm package's token endpoint, through the same
load driver as ours, and the throughput table that sets the two side by side."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
from pathlib import Path

import requests

import stack as stack_mod

from .cpu import cpu_seconds
from .report import Report
from .settings import CONCURRENCY, ROOT
from .tokens import TokenTarget, exchange_concurrent, exchange_sequential

NODE_MODULES = ROOT / "scripts/bench-node/node_modules"


def bench_oidc_provider(n: int, report: Report) -> dict[str, float] | None:
    """The same exchanges against the `oidc-provider` npm package on this machine (https, the same
    kind of local certificate); None when its packages are missing."""
    script = ROOT / "scripts/bench-node/oidc-provider.mjs"
    if not (NODE_MODULES / "oidc-provider").is_dir():
        report.line("oidc", "oidc-provider: scripts/bench-node/node_modules missing (run scripts/setup); skipped")
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
        report.line("oidc", f"node    oidc-provider code->token, RS256 id_token + RS256 JWT access token  n={n}  "
                    f"CPU {c:6.2f} ms  wall p50 {p50:6.2f} ms p99 {p99:6.2f} ms  {seq:6.1f} exchanges/s sequential, "
                    f"{conc:6.1f} with {CONCURRENCY} connections")
        return {"cpu": c, "seq": seq, "conc": conc}
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=10)


def throughput_table(report: Report, tputs: dict[str, dict[str, float]], node: dict[str, float] | None) -> None:
    """Token-endpoint throughput of ours on each runtime and of oidc-provider, one row each."""
    print("\ntoken endpoint throughput, code->token exchanges/s (same driver, same machine, one run):")
    print(f"  {'server':34} {'sequential':>10} {f'{CONCURRENCY} connections':>15}")
    for runtime, t in tputs.items():
        print(f"  {'edge-idp on ' + runtime:34} {t['seq']:10.1f} {t['conc']:15.1f}")
        report.figure(runtime, f"OIDC token endpoint, {CONCURRENCY} connections", t["conc"], "exchanges/s", None,
                      "- (compare with oidc-provider)")
    if node:
        version = json.loads((NODE_MODULES / "oidc-provider/package.json").read_text())["version"]
        print(f"  {'oidc-provider ' + version + ' (node)':34} {node['seq']:10.1f} {node['conc']:15.1f}")
        report.figure("node", f"oidc-provider token endpoint, {CONCURRENCY} connections", node["conc"], "exchanges/s",
                      None, "- (reference)")
        report.figure("node", "oidc-provider code->token CPU (RS256 id_token + JWT AT)", node["cpu"], "ms", None,
                      "- (reference)")


def bench_samlify(n: int, report: Report) -> dict[str, float] | None:
    """samlify as an IdP on this machine: CPU per signed-AuthnRequest-in, signed-Response-out, read
    inside its own process; None when its package is missing."""
    if not (NODE_MODULES / "samlify").is_dir():
        report.line("saml", "samlify: scripts/bench-node/node_modules missing (run scripts/setup); skipped")
        return None
    done = subprocess.run([str(stack_mod.NPM_BIN / "node"), "samlify.mjs", str(n), str(ROOT / "tests/saml/keys")],
                          cwd=ROOT / "scripts/bench-node", capture_output=True, text=True, timeout=600, check=True)
    figures = json.loads(done.stdout.splitlines()[0])
    version = json.loads((NODE_MODULES / "samlify/package.json").read_text())["version"]
    report.line("saml", f"node    samlify {version}: signed AuthnRequest (Redirect) verified, signed Response out  "
                f"n={n}  CPU {figures['cpu_ms']:6.2f} ms  {figures['per_second']:6.1f} per second on one core")
    report.figure("node", f"samlify {version} SSO CPU (verify request, sign Response)", figures["cpu_ms"], "ms", None,
                  "- (reference)")
    return {"cpu": figures["cpu_ms"], "per_second": figures["per_second"]}
