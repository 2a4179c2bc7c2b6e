"""The reference signatures every CPU goal is relative to: WebCrypto in workerd, RSA-2048 in wasm
under wasmtime, and our code alone natively with signing stubbed."""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

import requests

import stack as stack_mod

from .cpu import cpu_seconds
from .report import Report
from .settings import ROOT, SAML_N


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

        return {alg: webcrypto_signature(get, proc.pid, alg, n) for alg in ("rsa", "ec")}
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=10)


def webcrypto_signature(get, pid: int, alg: str, n: int) -> float:
    """CPU ms of one `alg` signature: requests that sign `per` times, minus the same number of
    requests that sign nothing."""
    for _ in range(20):
        get(f"n=5&alg={alg}")
    reqs, per = 40, max(40, n // 5)
    c0 = cpu_seconds(pid, "workerd")
    for _ in range(reqs):
        get(f"n=0&alg={alg}")
    c1 = cpu_seconds(pid, "workerd")
    for _ in range(reqs):
        get(f"n={per}&alg={alg}")
    c2 = cpu_seconds(pid, "workerd")
    return ((c2 - c1) - (c1 - c0)) * 1000 / (reqs * per)


def native_costs(report: Report) -> dict[str, float]:
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
        report.line("native", f"the native_cost tests did not report:\n{done.stdout[-1500:]}{done.stderr[-1500:]}")
    return out


def wasm_signature() -> dict[str, float]:
    """ms per operation of RSA-2048 signing inside wasm under wasmtime (the engine of the Spin
    route), from examples/wasm_sign.rs: our constant-time signer (key load, sign, both) and the
    rsa crate it replaced."""
    subprocess.run([str(ROOT / "scripts/build"), "--sign-bench"], check=True, cwd=ROOT)
    done = subprocess.run([str(stack_mod.WASMTIME), "run", str(ROOT / "build/bench/wasm_sign.wasm"), "100"],
                          capture_output=True, text=True, check=True, timeout=600)
    return {name: float(ms) for name, ms in re.findall(r"^(\w+) ([0-9.]+)", done.stdout, re.M)}


def reference_signatures(report: Report) -> dict[str, float]:
    """Prints every reference; returns WebCrypto's, ms per signature under "rsa" and "ec"."""
    sig = bench_webcrypto(Path(tempfile.mkdtemp(prefix="edge-idp-bench-webcrypto-")), SAML_N)
    report.line("crypto", f"workers one WebCrypto RSA-2048 signature (RSASSA-PKCS1-v1_5 SHA-256)      "
                f"CPU {sig['rsa']:6.2f} ms")
    report.line("crypto", f"workers one WebCrypto ECDSA P-256 signature (SHA-256)                    "
                f"CPU {sig['ec']:6.2f} ms")
    wasm = wasm_signature()
    # The floor: two 1024-bit exponentiations of ~1,024 squarings (~1,536 32x32-bit multiply-adds
    # each) and ~256 multiplications (~2,048 each), so ~4.2 M multiply-adds: 1.4 ms at one per ns,
    # 4.2 ms at three (what wasm code with loads, stores and carries tends to reach).
    report.line("crypto", f"spin    RSA-2048 signature in wasm (wasmtime): load key {wasm.get('ours_load', 0):.2f} ms, "
                f"sign {wasm.get('ours_sign', 0):.2f} ms, load + sign {wasm.get('ours_load_and_sign', 0):.2f} ms "
                f"(the rsa crate: {wasm.get('rsa_crate_load', 0):.2f} + {wasm.get('rsa_crate_sign', 0):.2f} ms); "
                "floor estimate 1.4-4.2 ms")
    report.figure("spin", "RSA-2048 signature in wasm, key load + sign", wasm.get("ours_load_and_sign", 0), "ms", 4.0,
                  "<= 4 ms (floor estimate 1.4-4.2 ms)")
    native = native_costs(report)
    if native:
        report.line("native", f"our code alone, x86 release, signing stubbed: silent SSO (2 sigs) "
                    f"{native.get('sso', 0):.3f} ms, code->token {native.get('exchange', 0):.3f} ms; "
                    f"one software RSA-2048 signature {native.get('rsa', 0):.2f} ms")
        report.figure("native", "SAML silent SSO, our code alone (x86, signing stubbed)", native.get("sso", 0), "ms",
                      None, "- (not wasm)")
        report.figure("native", "OIDC code->token, our code alone (x86, signing stubbed)", native.get("exchange", 0),
                      "ms", None, "- (not wasm)")
    return sig
