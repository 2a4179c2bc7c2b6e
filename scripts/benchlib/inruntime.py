"""CPU per operation inside each runtime (src/bench): the bench builds of both adapters
(scripts/build --bench-runtimes, never deployed) answer /__bench/cpu?op=OP&n=N by running, inside
one request, a warm-up and N complete operations against in-memory stores and canned iMIS answers
with the runtime's own signer (WebCrypto in workerd, our wasm signer under wasmtime).

workerd freezes its clock while code runs, so a request cannot time itself: one operation costs
(time(N) - time(0)) / N, timed from here, the median over BENCH_CPU_RUNS pairs of requests. On
Workers the same requests are also read from workerd's CPU counters, to show that the method
measures CPU and not waiting."""
from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import requests

import stack as stack_mod

from .cpu import cpu_seconds
from .report import Report
from .settings import ROOT

CPU_N = int(os.environ.get("BENCH_CPU_N", "100"))
CPU_RUNS = int(os.environ.get("BENCH_CPU_RUNS", "7"))

# (op, what one operation is, operations per request as a multiple of BENCH_CPU_N: the cheap ones
# need more to stand out of the request's own cost)
OPS = (
    ("rsa", "one RSA-2048 signature through Platform::sign", 1),
    ("ecdsa", "one ECDSA P-256 signature through Platform::sign", 1),
    ("rsa-verify", "one detached RSA-2048 signature checked (Redirect binding), Platform::rsa_verify", 1),
    ("saml", "SAML SSO: signed AuthnRequest in, signed Response out (1 signature, IQA remembered)", 1),
    ("saml-iqa", "SAML SSO as above, Profile + Role IQA asked of iMIS (canned answers)", 1),
    ("saml-two", "SAML SSO, Response and Assertion signed (2 signatures)", 1),
    ("oidc-rs256", "OIDC code->token, RS256 id_token + access token", 1),
    ("oidc-es256", "OIDC code->token, ES256 id_token + access token", 1),
    ("bridge", "token bridge: one-time token redeemed at the user service", 10),
    ("discovery", "OIDC discovery document", 10),
    ("jwks", "JWKS", 10),
)
# Only where it is the runtime's signer: on the Workers target (wasm32-unknown-unknown) our wasm
# signer traps, and WebCrypto signs there instead.
SPIN_ONLY = (("rsa-wasm", "one RSA-2048 signature by our wasm signer, called directly", 1),)


class BenchRuntime:
    """One runtime serving the bench build on loopback (plain HTTP: TLS is not what is measured)."""

    def __init__(self, runtime: str):
        self.runtime = runtime
        self.state = Path(tempfile.mkdtemp(prefix=f"edge-idp-bench-cpu-{runtime}-"))
        self.port = stack_mod.free_port()
        self.log = self.state / "runtime.log"
        if runtime == "workers":
            config = self.state / "wrangler.toml"
            config.write_text(
                f'name = "edge-idp-bench"\nmain = "{ROOT / "build/bench/worker/index.js"}"\n'
                'compatibility_date = "2026-04-01"\n'
                '[[durable_objects.bindings]]\nname = "ONCE"\nclass_name = "OnceStore"\n'
                '[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["OnceStore"]\n')
            argv = [str(stack_mod.NPM_BIN / "wrangler"), "dev", "--config", str(config), "--ip", "127.0.0.1",
                    "--port", str(self.port), "--persist-to", str(self.state / "wrangler"),
                    "--show-interactive-dev-session=false"]
            self.cpu_name = "workerd"
        else:
            kv = self.state / "kv"
            for label in ("default", "volatile"):
                (kv / label).mkdir(parents=True, exist_ok=True)
            argv = [str(stack_mod.WASMTIME), "serve", "-Scli", "-Shttp", "--dir", f"{kv}::/kv",
                    "--addr", f"127.0.0.1:{self.port}", str(ROOT / "build/bench/spin/composed.wasm")]
            self.cpu_name = "wasmtime"
        self.proc = subprocess.Popen(argv, stdout=open(self.log, "w"), stderr=subprocess.STDOUT, cwd=self.state,
                                     start_new_session=True,
                                     env={**os.environ, "PATH": f"{stack_mod.NPM_BIN}:{os.environ['PATH']}",
                                          "WRANGLER_SEND_METRICS": "false"})
        self.session = requests.Session()
        self.first_ms, self.second_ms = self.first_answers()

    def first_answers(self) -> tuple[float, float]:
        """ms to the first answer of a just-started runtime (timed from the first connection it
        accepts), and to the next one: a fresh isolate (Workers) or instance (Spin), then a warm
        one on Workers; every request gets a fresh instance on the Spin route."""
        url = f"http://127.0.0.1:{self.port}/__bench/cpu?op=discovery&n=0"
        deadline = time.monotonic() + 90
        while True:
            t0 = time.perf_counter()
            try:
                r = requests.get(url, timeout=60)
                first = (time.perf_counter() - t0) * 1000
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"{self.runtime} bench build did not start: {self.log.read_text()[-2000:]}")
                time.sleep(0.02)
        if r.status_code != 200:
            raise RuntimeError(f"{self.runtime} bench build answered {r.status_code}: {r.text[:300]}")
        t0 = time.perf_counter()
        requests.get(url, timeout=60).raise_for_status()
        return first, (time.perf_counter() - t0) * 1000

    def run(self, op: str, n: int) -> float:
        """Seconds for one request of `n` operations (its answer checked)."""
        t0 = time.perf_counter()
        r = self.session.get(f"http://127.0.0.1:{self.port}/__bench/cpu?op={op}&n={n}", timeout=300)
        elapsed = time.perf_counter() - t0
        answer = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        if r.status_code != 200 or answer.get("ok") != n:
            raise RuntimeError(f"{self.runtime} {op} n={n}: {r.status_code} {r.text[:300]}")
        self.last = answer
        return elapsed

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid, self.cpu_name)

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, 15)
            self.proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, 9)


def per_op(rt: BenchRuntime, op: str, n: int, runs: int) -> dict[str, float]:
    """ms of one operation, from wall time (median of `runs` pairs) and from process CPU."""
    for _ in range(2):
        rt.run(op, min(n, 10))
    zero, full, cpu_zero, cpu_full = [], [], 0.0, 0.0
    for _ in range(runs):
        c0 = rt.cpu()
        zero.append(rt.run(op, 0))
        c1 = rt.cpu()
        full.append(rt.run(op, n))
        c2 = rt.cpu()
        cpu_zero += c1 - c0
        cpu_full += c2 - c1
    answer = rt.last
    return {
        "ms": (statistics.median(full) - statistics.median(zero)) * 1000 / n,
        "cpu_ms": (cpu_full - cpu_zero) * 1000 / (runs * n),
        "imis_calls": answer.get("imis_calls_per_op", 0),
        "signatures": answer.get("signatures_per_op", 0),
    }


def build() -> None:
    subprocess.run([str(ROOT / "scripts/build"), "--bench-runtimes"], check=True, cwd=ROOT)


def measure(report: Report, runtimes: tuple[str, ...]) -> dict[str, dict[str, dict[str, float]]]:
    """Every operation on every runtime: {runtime: {op: figures}}, printed as measured."""
    build()
    out: dict[str, dict[str, dict[str, float]]] = {}
    for runtime in runtimes:
        rt = BenchRuntime(runtime)
        try:
            out[runtime] = {"cold": {"ms": rt.first_ms}}
            report.line("inrt", f"{runtime:7} first answer of a just-started runtime {rt.first_ms:6.1f} ms, "
                        f"the next {rt.second_ms:6.1f} ms (a new connection each, plain HTTP)")
            if runtime == "spin":
                report.figure(runtime, "first request to a fresh instance", rt.first_ms, "ms", 25.0, "<= 25 ms")
            else:
                # wrangler dev accepts connections before workerd has loaded the Worker, so its first
                # answer also waits for the rest of wrangler's start: an upper bound only.
                report.figure(runtime, "first request after wrangler dev starts (upper bound)", rt.first_ms, "ms",
                              None, "- (<= 25 ms asked of a fresh isolate; not separable here)")
            for op, what, scale in OPS + (SPIN_ONLY if runtime == "spin" else ()):
                f = per_op(rt, op, CPU_N * scale, CPU_RUNS)
                out[runtime][op] = f
                cross = f"  (process CPU {f['cpu_ms']:6.2f} ms)" if runtime == "workers" else ""
                report.line("inrt", f"{runtime:7} {what:86} {f['ms']:6.2f} ms{cross}  "
                            f"iMIS calls {f['imis_calls']:.0f}, signatures {f['signatures']:.0f}")
        finally:
            rt.stop()
    goals(report, out)
    return out


def goals(report: Report, out: dict[str, dict[str, dict[str, float]]]) -> None:
    """The goals relative to a signature measured the same way in the same run."""
    w, s = out.get("workers"), out.get("spin")
    if w:
        rsa, ec = w["rsa"]["ms"], w["ecdsa"]["ms"]
        report.figure("workers", "in-runtime RSA-2048 signature (WebCrypto)", rsa, "ms", None, "- (reference)")
        report.figure("workers", "in-runtime SAML SSO (1 signature)", w["saml"]["ms"], "ms", 1.3 * rsa,
                      f"<= 1.3 x RSA = {1.3 * rsa:.2f} ms")
        report.figure("workers", "in-runtime SAML SSO, Response + Assertion signed", w["saml-two"]["ms"], "ms",
                      1.3 * 2 * rsa, f"<= 1.3 x 2 RSA = {2.6 * rsa:.2f} ms")
        report.figure("workers", "in-runtime OIDC code->token RS256 (2 signatures)", w["oidc-rs256"]["ms"], "ms",
                      1.3 * 2 * rsa, f"<= 1.3 x 2 RSA = {2.6 * rsa:.2f} ms")
        report.figure("workers", "in-runtime OIDC code->token ES256 (2 signatures)", w["oidc-es256"]["ms"], "ms",
                      1.3 * 2 * ec, f"<= 1.3 x 2 ECDSA = {2.6 * ec:.2f} ms")
    if s:
        rsa = s["rsa"]["ms"]
        report.figure("spin", "in-runtime RSA-2048 signature (our wasm signer)", rsa, "ms", 4.0, "<= 4 ms")
        report.figure("spin", "in-runtime SAML SSO (1 signature)", s["saml"]["ms"], "ms", 1.2 * rsa,
                      f"<= 1.2 x RSA = {1.2 * rsa:.2f} ms")
        report.figure("spin", "in-runtime OIDC code->token RS256 (2 signatures)", s["oidc-rs256"]["ms"], "ms",
                      None, f"- (2 RSA = {2 * rsa:.2f} ms)")


def against_peers(report: Report, out: dict[str, dict[str, dict[str, float]]], peer_cpu: dict[str, float]) -> None:
    """Ours on Workers against the peers' CPU for the same operation on this machine, same run."""
    w = out.get("workers")
    if not w:
        return
    # Per core, operations per second are 1000 / (CPU ms per operation) on either side.
    for peer, op, what, per_core_goal in (("oidc-provider", "oidc-rs256", "OIDC code->token RS256", 2),
                                          ("samlify", "saml", "SAML SSO (signed Response)", 3)):
        if peer not in peer_cpu:
            continue
        theirs, ours = peer_cpu[peer], w[op]["ms"]
        report.figure("workers", f"in-runtime {what} CPU vs {peer}", ours, "ms", theirs / 3,
                      f"<= 1/3 x {peer} {theirs:.2f} ms = {theirs / 3:.2f} ms")
        report.figure("workers", f"{what} per core vs {peer} (from CPU per operation)", theirs / ours, "x", per_core_goal,
                      f">= {per_core_goal} x {peer} ({1000 / ours:.0f} vs {1000 / theirs:.0f} per second)",
                      at_least=True)
