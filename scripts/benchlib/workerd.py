"""Throughput on bare workerd: the Worker that `wrangler dev` serves, served again by workerd
through Miniflare's API (scripts/bench-node/workerd.mjs) with no proxy workerd and no inspector in
front, on the same local state; code -> token exchanges and signed SAML Responses measured on
both, per second and per CPU-second, beside oidc-provider and samlify.

Why: wrangler dev's own layers cost more CPU per request than a SAML SSO spends in our code, so
its throughput says little about ours. The differences between the servers are what each layer
costs.
"""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import requests

import stack as stack_mod

from . import oidc, peers, saml
from .cpu import cpu_seconds, request_cpu
from .report import Report
from .settings import CONCURRENCY, OIDC_N, ROOT, SAML_N
from .tokens import RP_BASIC, RP_REDIRECT, TokenTarget, exchange_concurrent, exchange_sequential

SCRIPT = ROOT / "scripts/bench-node/workerd.mjs"
MINIFLARE = stack_mod.TOOLS / "npm/node_modules/miniflare"


class PlainTokenTarget(TokenTarget):
    """A token endpoint over plain http: workerd's direct socket has no TLS (in production the
    edge terminates TLS before the isolate, so this is the closest local shape of that)."""

    def conn(self) -> http.client.HTTPConnection:  # type: ignore[override]
        return http.client.HTTPConnection("127.0.0.1", self.port)


def miniflare_options(stack, https_port: int, http_port: int) -> dict:
    """What workerd.mjs needs, from wrangler.toml and the stack's state folder: the same
    bindings, the same persisted KV and Durable Objects, the same secrets as its wrangler dev."""
    config = tomllib.loads((ROOT / "wrangler.toml").read_text())
    cert, key = stack_mod.local_certificate(stack.state)
    secrets = dict(line.split("=", 1) for line in (stack.state / "dev.vars").read_text().splitlines() if "=" in line)
    return {
        "miniflare": str(MINIFLARE),
        "worker_dir": str(ROOT / Path(config["main"]).parent),
        "name": config["name"],
        "compatibility_date": config["compatibility_date"],
        "kv": {ns["binding"]: ns["id"] for ns in config.get("kv_namespaces", [])},
        "durable_objects": {d["name"]: d["class_name"] for d in config["durable_objects"]["bindings"]},
        "sqlite_classes": [c for m in config.get("migrations", []) for c in m.get("new_sqlite_classes", [])],
        "bindings": {**config.get("vars", {}), **secrets},
        # wrangler dev --persist-to DIR keeps its resources under DIR/v3.
        "persist": str(stack.state / "wrangler/v3"),
        "host": "127.0.0.1", "https_port": https_port, "http_port": http_port,
        "cert": str(cert), "key": str(key),
    }


class BareWorkerd:
    """The stack's Worker on its own workerd (Miniflare), looking enough like a Stack (runtime,
    runtime_proc, url, idp_port) for OidcBrowser.codes, saml.bench_sso and cpu.runtime_cpu."""

    runtime = "workers"

    def __init__(self, stack):
        self.stack = stack
        self.idp_port = stack_mod.free_port()
        self.http_port = stack_mod.free_port()
        self.log = stack.logs / "bare-workerd.log"

    def start(self) -> None:
        """Starts workerd.mjs and waits for its one JSON line (both sockets up)."""
        options = self.stack.state / "bare-workerd.json"
        options.write_text(json.dumps(miniflare_options(self.stack, self.idp_port, self.http_port)))
        options.chmod(0o600)  # it holds the master key
        self.runtime_proc = subprocess.Popen(
            ["nice", "-n", "10", str(stack_mod.NPM_BIN / "node"), str(SCRIPT), str(options)],
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.runtime_proc.poll() is not None:
                raise RuntimeError(f"workerd.mjs exited:\n{self.log.read_text()[-3000:]}")
            if '"https"' in self.log.read_text(errors="replace"):
                stack_mod.wait_http(f"https://127.0.0.1:{self.idp_port}/healthz", 30)
                return
            time.sleep(0.2)
        raise RuntimeError("workerd.mjs did not start within 90 s")

    def stop(self) -> None:
        """SIGTERM to the node process group (Miniflare disposes workerd), SIGKILL as a fallback."""
        try:
            os.killpg(self.runtime_proc.pid, 15)
            self.runtime_proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.runtime_proc.pid, 9)
        except ProcessLookupError:
            pass

    def url(self, host: str, path: str = "/") -> str:
        return f"https://{host}:{self.idp_port}{path}"


class PlainUrls:
    """The bare workerd's direct plain-http socket, for saml.bench_sso (url and CPU as the bare's)."""

    runtime = "workers"

    def __init__(self, bare: BareWorkerd):
        self.runtime_proc, self.port = bare.runtime_proc, bare.http_port

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"


@dataclass
class Server:
    """One way of serving the Worker (or the peer): how to reach it and whose CPU to read."""
    name: str
    target: TokenTarget
    site: object  # what saml.bench_sso takes: a Stack, a BareWorkerd or PlainUrls
    root: int  # the process whose descendants serve it

    def cpu(self, comm: str) -> Callable[[], float]:
        return lambda: cpu_seconds(self.root, comm)


@dataclass
class Figures:
    """What one server did: exchanges/s sequential and concurrent, wall p50, and CPU ms per
    exchange of its workerd and node processes; SAML SSO CPU and wall p50, and the CPU of a
    request that does nothing (`/healthz`, tenant cached) (0 when not measured)."""
    seq: float
    conc: float
    p50: float
    workerd_ms: float
    node_ms: float
    conc_workerd_ms: float
    saml_ms: float = 0.0
    saml_wall: float = 0.0
    base_ms: float = 0.0


def bench_tokens(server: Server, codes: Callable[[int], list[str]], n: int) -> Figures:
    """Sequential then concurrent code -> token exchanges, CPU read around each."""
    exchange_sequential(server.target, codes(20))  # warm: the isolate, the keys, the JIT
    batch = codes(n)
    node0 = server.cpu("node")()
    workerd_ms, p50, _, seq = exchange_sequential(server.target, batch, server.cpu("workerd"))
    node_ms = (server.cpu("node")() - node0) * 1000 / n
    batch = codes(n)
    w0 = server.cpu("workerd")()
    conc = exchange_concurrent(server.target, batch, CONCURRENCY)
    conc_ms = (server.cpu("workerd")() - w0) * 1000 / n
    return Figures(seq, conc, p50, workerd_ms, node_ms, conc_ms)


class PlainSession(requests.Session):
    """A browser that sends Secure cookies over plain http too: the direct socket stands for the
    hop behind an edge that has terminated TLS, and the IdP's cookies are all Secure (__Host-)."""

    def send(self, request, **kwargs):  # type: ignore[override]
        response = super().send(request, **kwargs)
        for cookie in self.cookies:  # renewed ones arrive Secure again
            cookie.secure = False
        return response


def plain_session(s: requests.Session) -> requests.Session:
    """A copy of the signed-in browser `s` for the plain-http socket."""
    plain = PlainSession()
    for c in s.cookies:
        plain.cookies.set(c.name, c.value, domain=c.domain, path=c.path)
    return plain


def servers(stack, bare: BareWorkerd) -> list[Server]:
    """wrangler dev, the bare workerd's https entry socket and its direct http socket."""
    host, path = "acme.localhost", "/oidc/token"
    return [
        Server("wrangler dev (https)", TokenTarget(stack.idp_port, host, path, RP_BASIC, RP_REDIRECT), stack,
               stack.runtime_proc.pid),
        Server("workerd via Miniflare, https entry", TokenTarget(bare.idp_port, host, path, RP_BASIC, RP_REDIRECT),
               bare, bare.runtime_proc.pid),
        Server("workerd, direct http socket", PlainTokenTarget(bare.http_port, host, path, RP_BASIC, RP_REDIRECT),
               PlainUrls(bare), bare.runtime_proc.pid),
    ]


def measure(stack, browser: oidc.OidcBrowser, s: requests.Session, n: int, saml_n: int,
            report: Report) -> dict[str, Figures]:
    """Starts the bare workerd beside `stack` (which must have bench-sp pushed) and measures
    the three servers one after the other; codes for the bare ones are minted on it."""
    bare = BareWorkerd(stack)
    bare.start()
    try:
        report.line("workerd", f"bare workerd up (Miniflare, build/worker); inspector on: {inspector_under(bare.runtime_proc.pid)}; "
                    f"wrangler dev's workerd inspector on: {inspector_under(stack.runtime_proc.pid)}")
        bare_browser = oidc.OidcBrowser(bare, session=browser.s)
        out = {}
        for server in servers(stack, bare):
            mint = browser if server.site is stack else bare_browser

            def codes(k: int) -> list[str]:
                return mint.codes("demo-rp", RP_REDIRECT, k)
            fig = bench_tokens(server, codes, n)
            session = plain_session(s) if isinstance(server.site, PlainUrls) else s
            origin = f"{stack.sp_origin}/bench-sp"
            saml.bench_sso(server.site, "bench-sp", origin, session, 20)  # warm
            fig.saml_ms, fig.saml_wall = saml.bench_sso(server.site, "bench-sp", origin, session, saml_n)
            fig.base_ms = request_cpu(server.site, session, "/healthz", saml_n)
            out[server.name] = fig
            report.line("workerd", f"{server.name:36} code->token n={n}: {fig.seq:6.1f}/s sequential "
                        f"(p50 {fig.p50:5.2f} ms, workerd CPU {fig.workerd_ms:5.2f} ms, node {fig.node_ms:5.2f} ms), "
                        f"{fig.conc:6.1f}/s with {CONCURRENCY} connections (workerd CPU {fig.conc_workerd_ms:5.2f} ms); "
                        f"SAML SSO n={saml_n}: workerd CPU {fig.saml_ms:5.2f} ms, wall p50 {fig.saml_wall:5.2f} ms; "
                        f"/healthz workerd CPU {fig.base_ms:5.2f} ms")
        return out
    finally:
        bare.stop()


def inspector_under(root: int) -> bool:
    """Whether a workerd under `root` listens for an inspector (wrangler dev's always does)."""
    for p in stack_mod.descendants(root):
        try:
            if b"--inspector-addr" in Path(f"/proc/{p}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


def per_cpu_second(cpu_ms: float) -> float:
    """Operations per CPU-second from CPU ms per operation (0 when nothing was read)."""
    return 1000 / cpu_ms if cpu_ms > 0 else 0.0


def load() -> str:
    """The 1-, 5- and 15-minute load averages, to print beside the figures (a shared machine)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def table(report: Report, figs: dict[str, Figures], node: dict[str, float] | None,
          samlify: dict[str, float] | None, loads: tuple[str, str]) -> None:
    """The servers side by side, per second and per CPU-second, what each layer costs, and the
    goals against the peers (per core: >= 2 x oidc-provider, >= 3 x samlify)."""
    print(f"\nthroughput on bare workerd (same driver, one run; load average {loads[0]} before, {loads[1]} after):")
    print(f"  {'server':36} {'seq/s':>6} {f'{CONCURRENCY} conn/s':>9} {'p50 ms':>7} {'CPU ms':>7} "
          f"{'per CPU-s':>9} {f'CPU ms {CONCURRENCY}c':>9} {'SSO CPU ms':>10} {'SSO/CPU-s':>9}")
    for name, f in figs.items():
        print(f"  {name:36} {f.seq:6.1f} {f.conc:9.1f} {f.p50:7.2f} {f.workerd_ms:7.2f} "
              f"{per_cpu_second(f.workerd_ms):9.1f} {f.conc_workerd_ms:9.2f} {f.saml_ms:10.2f} "
              f"{per_cpu_second(f.saml_ms):9.1f}")
    if node:
        print(f"  {'oidc-provider (node, https)':36} {node['seq']:6.1f} {node['conc']:9.1f} {'':>7} {node['cpu']:7.2f} "
              f"{per_cpu_second(node['cpu']):9.1f}")
    if samlify:
        print(f"  {'samlify (in-process, no HTTP)':36} {'':>6} {'':>9} {'':>7} {'':>7} {'':>9} {'':>9} "
              f"{samlify['cpu']:10.2f} {per_cpu_second(samlify['cpu']):9.1f}")
    print("  CPU: the workerd processes (wrangler dev has two: its proxy and the Worker's), read from /proc "
          "around the requests; node's log relay is not in it.")
    layers(figs)
    goals(report, figs, node, samlify)


def layers(figs: dict[str, Figures]) -> None:
    """Per-request cost of each layer: the difference between two servers that differ by it."""
    (a_name, a), (b_name, b), (c_name, c) = list(figs.items())[:3]
    print("  what each layer costs per request (code->token wall p50 and workerd CPU; SAML SSO and /healthz "
          "workerd CPU):")
    for what, hi, lo in (("wrangler dev's proxy workerd + inspector", a, b),
                         ("TLS in workerd + Miniflare's entry worker", b, c)):
        print(f"    {what:44} {hi.p50 - lo.p50:6.2f} ms wall  {hi.workerd_ms - lo.workerd_ms:6.2f} ms CPU  "
              f"SSO {hi.saml_ms - lo.saml_ms:6.2f} ms CPU  /healthz {hi.base_ms - lo.base_ms:6.2f} ms CPU")
    print(f"    {'workerd itself, a request that does nothing':44} {c.base_ms:6.2f} ms CPU on the direct socket "
          "(/healthz); code->token and SSO there include it")


def goals(report: Report, figs: dict[str, Figures], node: dict[str, float] | None,
          samlify: dict[str, float] | None) -> None:
    """Summary rows: exchanges and SSOs per CPU-second on each server, against the peers."""
    node_rate = per_cpu_second(node["cpu"]) if node else None
    saml_rate = per_cpu_second(samlify["cpu"]) if samlify else None
    for name, f in figs.items():
        rate = per_cpu_second(f.workerd_ms)
        report.figure("workers", f"code->token per CPU-second, {name}", rate, "/CPU-s",
                      2 * node_rate if node_rate else None,
                      f">= 2 x oidc-provider = {2 * node_rate:.1f}" if node_rate else "-", at_least=True)
        report.figure("workers", f"SAML SSO per CPU-second, {name}", per_cpu_second(f.saml_ms), "/CPU-s",
                      3 * saml_rate if saml_rate else None,
                      f">= 3 x samlify = {3 * saml_rate:.1f}" if saml_rate else "-", at_least=True)


def run_alone(report: Report) -> None:
    """Only this section: a workers stack, the bare workerd beside it, then the peers; everything
    else the bench measures is skipped (BENCH_WORKERD=only)."""
    loads = [load()]
    stack = stack_mod.Stack("workers", Path(tempfile.mkdtemp(prefix="edge-idp-bench-workerd-")))
    try:
        stack.start()
        stack.add_saml_app("bench-sp", f"{stack.sp_origin}/bench-sp", {"sign_assertion": False})
        stack.push(stack.tenant_folder("acme"))
        figs = measure(stack, oidc.OidcBrowser(stack), saml.saml_session(stack), OIDC_N, SAML_N, report)
    finally:
        stack.stop()
    node = peers.bench_oidc_provider(OIDC_N, report)
    samlify = peers.bench_samlify(SAML_N, report)
    loads.append(load())
    table(report, figs, node, samlify, (loads[0], loads[1]))
