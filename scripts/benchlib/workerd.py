"""Throughput on bare workerd: the Worker that `wrangler dev` serves, served again by workerd
through Miniflare's API (scripts/bench-node/workerd.mjs) with no proxy workerd and no inspector,
on the same local state. Code -> token exchanges and signed SAML Responses are measured on four
servers (wrangler dev; Miniflare's entry socket with and without TLS; a direct socket into the
Worker), per second and per CPU-second, beside oidc-provider and samlify.

Why: wrangler dev's own layers cost more CPU per request than a SAML SSO spends in our code, so
its throughput says little about ours. The differences between the servers are what each layer
costs.
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import statistics
import subprocess
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import requests

import stack as stack_mod

from . import oidc, peers, saml
from .cpu import cpu_seconds, request_cpu
from .report import Report
from .settings import CONCURRENCY, OIDC_N, ROOT, SAML_N
from .tokens import RP_BASIC, RP_REDIRECT, TokenTarget, exchange_concurrent, exchange_sequential

SCRIPT = ROOT / "scripts/bench-node/workerd.mjs"
# Fresh workerds started for the cold-start figure.
COLD_RUNS = 5
MINIFLARE = stack_mod.TOOLS / "npm/node_modules/miniflare"


class PlainTokenTarget(TokenTarget):
    """A token endpoint over plain http: workerd's direct socket has no TLS (in production the
    edge terminates TLS before the isolate, so this is the closest local shape of that)."""

    def conn(self) -> http.client.HTTPConnection:  # type: ignore[override]
        return http.client.HTTPConnection("127.0.0.1", self.port)


def miniflare_options(stack, entry_port: int, http_port: int) -> dict:
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
        "host": "127.0.0.1", "entry_port": entry_port, "http_port": http_port,
        "cert": str(cert), "key": str(key),
    }


class BareWorkerd:
    """The stack's Worker on its own workerd (Miniflare), looking enough like a Stack (runtime,
    runtime_proc, url, scheme) for OidcBrowser.codes, saml.bench_sso and cpu.request_cpu. Its entry
    socket speaks https (`tls`) or plain http; its direct socket always plain http."""

    runtime = "workers"

    def __init__(self, stack, tls: bool):
        self.stack, self.tls = stack, tls
        self.scheme = "https" if tls else "http"
        self.idp_port = stack_mod.free_port()
        self.http_port = stack_mod.free_port()
        self.log = stack.logs / f"bare-workerd-{self.scheme}.log"

    def start(self, answer_first: bool = True) -> None:
        """Starts workerd.mjs and waits for its one JSON line (both sockets up), then, with
        `answer_first`, for the entry socket to answer."""
        options = self.stack.state / f"bare-workerd-{self.scheme}.json"
        values = miniflare_options(self.stack, self.idp_port, self.http_port)
        if not self.tls:
            values.update(cert=None, key=None)
        options.touch(mode=0o600)  # it holds the master key
        options.write_text(json.dumps(values))
        self.runtime_proc = subprocess.Popen(
            ["nice", "-n", "10", str(stack_mod.NPM_BIN / "node"), str(SCRIPT), str(options)],
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.runtime_proc.poll() is not None:
                raise RuntimeError(f"workerd.mjs exited:\n{self.log.read_text()[-3000:]}")
            if '"direct"' in self.log.read_text(errors="replace"):
                if answer_first:
                    stack_mod.wait_http(self.url("127.0.0.1", "/healthz"), 30)
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
        return f"{self.scheme}://{host}:{self.idp_port}{path}"


class DirectSocket:
    """A bare workerd's direct plain-http socket, for saml.bench_sso (url; CPU as the bare's)."""

    runtime, scheme = "workers", "http"

    def __init__(self, bare: BareWorkerd):
        self.runtime_proc, self.port = bare.runtime_proc, bare.http_port

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"


def workerd_processes(root: int) -> dict[str, int]:
    """The workerd processes under `root` by role: wrangler dev runs two, a "proxy" (its
    ProxyWorker, on the public port) and the "worker" (ours, with the inspector); Miniflare one."""
    roles = {}
    for pid in stack_mod.descendants(root):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() != "workerd":
                continue
            inspector = b"--inspector-addr" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        roles["worker" if inspector else "proxy"] = pid
    if len(roles) == 1:
        roles = {"worker": next(iter(roles.values()))}
    return roles


@dataclass
class Server:
    """One way of serving the Worker: how to reach it, and the processes whose CPU to read."""
    name: str
    target: TokenTarget
    site: object  # what saml.bench_sso takes: a Stack, a BareWorkerd or a DirectSocket
    root: int  # the process whose descendants serve it (wrangler's or workerd.mjs's node)
    mint: oidc.OidcBrowser  # a signed-in browser minting codes on the same workerd

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each workerd process by role, and of the node processes."""
        out = {role: cpu_seconds(pid, "workerd") for role, pid in workerd_processes(self.root).items()}
        out["node"] = cpu_seconds(self.root, "node")
        return out


def per_op(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    """CPU ms per operation of each process role between two Server.cpu() readings."""
    return {role: (after[role] - before[role]) * 1000 / n for role in after}


def workerd_ms(cpu: dict[str, float]) -> float:
    """The CPU ms of all workerd processes (node's log relay left out)."""
    return sum(v for role, v in cpu.items() if role != "node")


@dataclass
class Figures:
    """What one server did: code -> token exchanges per second sequential and concurrent, their
    wall p50, and CPU ms per operation by process role for the exchanges (sequential and
    concurrent), a signed SAML SSO, a request that does nothing (`/healthz`, tenant cached) and a
    token POST refused for an unknown code (client authentication, two Durable Object calls, one
    audit line: the platform's part of an exchange without its signatures)."""
    seq: float
    conc: float
    p50: float
    token: dict[str, float]
    token_conc: dict[str, float]
    sso: dict[str, float] = field(default_factory=dict)
    sso_wall: float = 0.0
    base: dict[str, float] = field(default_factory=dict)
    refused: dict[str, float] = field(default_factory=dict)


def bench_tokens(server: Server, n: int) -> Figures:
    """Sequential then concurrent code -> token exchanges, CPU read around each."""
    def codes(k: int) -> list[str]:
        return server.mint.codes("demo-rp", RP_REDIRECT, k)
    exchange_sequential(server.target, codes(20))  # warm: the isolate, the keys, the JIT
    batch = codes(n)
    c0 = server.cpu()
    _, p50, _, seq = exchange_sequential(server.target, batch)
    token = per_op(c0, server.cpu(), n)
    batch = codes(n)
    c0 = server.cpu()
    conc = exchange_concurrent(server.target, batch, CONCURRENCY)
    fig = Figures(seq, conc, p50, token, per_op(c0, server.cpu(), n))
    conn = server.target.conn()
    c0 = server.cpu()
    for i in range(n):
        if server.target.post(conn, f"no-such-code-{i}") != 400:
            raise RuntimeError("a token POST with an unknown code was not refused with 400")
    fig.refused = per_op(c0, server.cpu(), n)
    conn.close()
    return fig


def bench_sso(server: Server, fig: Figures, s: requests.Session, sp_origin: str, n: int) -> None:
    """A signed SAML Response (bench-sp signs once) for the signed-in member, and /healthz, CPU
    by role; saml.bench_sso's own reading is of all workerd processes together."""
    session = plain_session(s) if server.site.scheme == "http" else s
    origin = f"{sp_origin}/bench-sp"
    saml.bench_sso(server.site, "bench-sp", origin, session, 20)  # warm
    c0 = server.cpu()
    _, fig.sso_wall = saml.bench_sso(server.site, "bench-sp", origin, session, n)
    fig.sso = per_op(c0, server.cpu(), n + 20)  # bench_sso sends 20 more before its own reading
    c0 = server.cpu()
    request_cpu(server.site, session, "/healthz", n)
    fig.base = per_op(c0, server.cpu(), n + 20)


class PlainSession(requests.Session):
    """A browser that sends Secure cookies over plain http too: the plain sockets stand for the
    hop behind an edge that has terminated TLS, and the IdP's cookies are all Secure (__Host-)."""

    def send(self, request, **kwargs):  # type: ignore[override]
        response = super().send(request, **kwargs)
        for cookie in self.cookies:  # renewed ones arrive Secure again
            cookie.secure = False
        return response


def plain_session(s: requests.Session) -> requests.Session:
    """A copy of the signed-in browser `s` for a plain-http socket."""
    plain = PlainSession()
    for c in s.cookies:
        plain.cookies.set(c.name, c.value, domain=c.domain, path=c.path)
    return plain


def target(port: int, secure: bool) -> TokenTarget:
    """demo-rp's token endpoint on `port`, over https or plain http."""
    kind = TokenTarget if secure else PlainTokenTarget
    return kind(port, "acme.localhost", "/oidc/token", RP_BASIC, RP_REDIRECT)


def bare_servers(bare: BareWorkerd, browser: oidc.OidcBrowser) -> list[Server]:
    """A running bare workerd's entry socket, and its direct socket when the entry has TLS."""
    mint = oidc.OidcBrowser(bare, session=browser.s if bare.tls else plain_session(browser.s))
    pid = bare.runtime_proc.pid
    entry = Server(f"Miniflare entry, {bare.scheme}", target(bare.idp_port, bare.tls), bare, pid, mint)
    if not bare.tls:
        return [entry]
    return [entry, Server("workerd direct socket, http", target(bare.http_port, False), DirectSocket(bare), pid, mint)]


def measure_one(server: Server, s: requests.Session, sp_origin: str, n: int, saml_n: int,
                report: Report) -> Figures:
    """Every figure of one server, with its report line."""
    fig = bench_tokens(server, n)
    bench_sso(server, fig, s, sp_origin, saml_n)
    report.line("workerd", f"{server.name:28} code->token n={n}: {fig.seq:6.1f}/s sequential "
                f"(p50 {fig.p50:5.2f} ms, CPU ms {fmt(fig.token)}), {fig.conc:6.1f}/s with {CONCURRENCY} "
                f"connections (CPU ms {fmt(fig.token_conc)}); SAML SSO n={saml_n} (CPU ms {fmt(fig.sso)}, "
                f"wall p50 {fig.sso_wall:5.2f} ms); /healthz (CPU ms {fmt(fig.base)}); unknown code refused "
                f"(CPU ms {fmt(fig.refused)})")
    return fig


def measure(stack, browser: oidc.OidcBrowser, s: requests.Session, n: int, saml_n: int,
            report: Report) -> dict[str, Figures]:
    """wrangler dev first, then a bare workerd with TLS on its entry socket (entry and direct
    socket), then one without; `stack` must have bench-sp pushed. One bare workerd at a time:
    they share wrangler dev's Durable Object SQLite files, and two writers there fail with
    SQLITE_BUSY. Returns the four in the order wrangler dev, https entry, http entry, direct."""
    report.line("workerd", f"wrangler dev's Worker's workerd inspector on: {inspector_under(stack.runtime_proc.pid)}")
    out = {"wrangler dev (https)": measure_one(
        Server("wrangler dev (https)", target(stack.idp_port, True), stack, stack.runtime_proc.pid, browser),
        s, stack.sp_origin, n, saml_n, report)}
    for tls in (True, False):
        bare = BareWorkerd(stack, tls)
        try:
            bare.start()
            report.line("workerd", f"bare workerd (Miniflare, build/worker, entry {bare.scheme}) up; inspector on: "
                        f"{inspector_under(bare.runtime_proc.pid)}")
            for server in bare_servers(bare, browser):
                out[server.name] = measure_one(server, s, stack.sp_origin, n, saml_n, report)
        finally:
            if hasattr(bare, "runtime_proc"):
                bare.stop()
    order = ["wrangler dev (https)", "Miniflare entry, https", "Miniflare entry, http", "workerd direct socket, http"]
    return {name: out[name] for name in order}


def fmt(cpu: dict[str, float]) -> str:
    """CPU ms per operation by process role, for a report line."""
    return " ".join(f"{role} {v:.2f}" for role, v in cpu.items())


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
    print(f"  {'server':30} {'seq/s':>6} {f'{CONCURRENCY}conn/s':>8} {'p50 ms':>6} {'CPU ms':>6} {'/CPU-s':>6} "
          f"{f'CPU {CONCURRENCY}c':>6} {f'/CPU-s {CONCURRENCY}c':>9} {'SSO CPU':>7} {'SSO/CPU-s':>9} {'healthz':>7} {'refused':>7}")
    for name, f in figs.items():
        tok, conc, sso = workerd_ms(f.token), workerd_ms(f.token_conc), workerd_ms(f.sso)
        print(f"  {name:30} {f.seq:6.1f} {f.conc:8.1f} {f.p50:6.2f} {tok:6.2f} {per_cpu_second(tok):6.1f} "
              f"{conc:6.2f} {per_cpu_second(conc):9.1f} {sso:7.2f} {per_cpu_second(sso):9.1f} "
              f"{workerd_ms(f.base):7.2f} {workerd_ms(f.refused):7.2f}")
    if node:
        print(f"  {'oidc-provider (node, https)':30} {node['seq']:6.1f} {node['conc']:8.1f} {'':>6} {node['cpu']:6.2f} "
              f"{per_cpu_second(node['cpu']):6.1f}")
    if samlify:
        print(f"  {'samlify (in-process, no HTTP)':30} {'':>6} {'':>8} {'':>6} {'':>6} {'':>6} {'':>6} {'':>9} "
              f"{samlify['cpu']:7.2f} {per_cpu_second(samlify['cpu']):9.1f}")
    print("  CPU: ms per operation of the workerd processes (wrangler dev has two, its proxy and the Worker's), "
          "from /proc around the requests; node's log relay is left out. oidc-provider: its node process.\n"
          "  healthz: a request that does nothing; refused: a token POST with an unknown code (client "
          "authentication, 2 Durable Object calls, 1 audit line, no signature).")
    layers(list(figs.values()))
    goals(report, figs, node, samlify)


def layers(figs: list[Figures]) -> None:
    """Per-request cost of each layer: one process's own CPU, or the difference between two
    servers that differ by the layer alone."""
    if len(figs) < 4:
        return
    wrangler, tls, plain, direct = figs[:4]

    def diff(hi: dict[str, float], lo: dict[str, float], role: str = "worker") -> float:
        return hi.get(role, 0.0) - lo.get(role, 0.0)
    rows = [
        ("wrangler dev's proxy workerd (TLS, ProxyWorker)", wrangler.p50 - tls.p50, wrangler.token.get("proxy", 0.0),
         wrangler.sso.get("proxy", 0.0), wrangler.base.get("proxy", 0.0), wrangler.refused.get("proxy", 0.0)),
        ("inspector + wrangler's extras, Worker's workerd", None, diff(wrangler.token, plain.token),
         diff(wrangler.sso, plain.sso), diff(wrangler.base, plain.base), diff(wrangler.refused, plain.refused)),
        ("TLS in workerd", tls.p50 - plain.p50, diff(tls.token, plain.token), diff(tls.sso, plain.sso),
         diff(tls.base, plain.base), diff(tls.refused, plain.refused)),
        ("Miniflare's entry worker", plain.p50 - direct.p50, diff(plain.token, direct.token),
         diff(plain.sso, direct.sso), diff(plain.base, direct.base), diff(plain.refused, direct.refused)),
        ("workerd + our Worker, direct socket", direct.p50, workerd_ms(direct.token), workerd_ms(direct.sso),
         workerd_ms(direct.base), workerd_ms(direct.refused)),
    ]
    print("  what each layer costs per request, ms (wall: code->token p50, the proxy's row against the https "
          "entry; CPU: workerd):")
    print(f"    {'layer':50} {'wall':>6} {'token CPU':>9} {'SSO CPU':>8} {'healthz CPU':>11} {'refused CPU':>11}")
    for what, wall, tok, sso, base, refused in rows:
        wall_text = f"{wall:6.2f}" if wall is not None else f"{'-':>6}"
        print(f"    {what:50} {wall_text} {tok:9.2f} {sso:8.2f} {base:11.2f} {refused:11.2f}")


def goals(report: Report, figs: dict[str, Figures], node: dict[str, float] | None,
          samlify: dict[str, float] | None) -> None:
    """Summary rows: exchanges and SSOs per CPU-second on each server, against the peers."""
    node_rate = per_cpu_second(node["cpu"]) if node else None
    saml_rate = per_cpu_second(samlify["cpu"]) if samlify else None
    for name, f in figs.items():
        report.figure("workers", f"code->token per CPU-second, {name}", per_cpu_second(workerd_ms(f.token)), "/CPU-s",
                      2 * node_rate if node_rate else None,
                      f">= 2 x oidc-provider = {2 * node_rate:.1f}" if node_rate else "-", at_least=True)
        report.figure("workers", f"SAML SSO per CPU-second, {name}", per_cpu_second(workerd_ms(f.sso)), "/CPU-s",
                      3 * saml_rate if saml_rate else None,
                      f">= 3 x samlify = {3 * saml_rate:.1f}" if saml_rate else "-", at_least=True)


class EmptyState:
    """What BareWorkerd needs of a stack to serve the Worker with nothing stored: a state folder
    with a master key and a log folder. No tenant: a cold start is measured on the unknown-host
    answer, which still reads KV once."""

    def __init__(self) -> None:
        self.state = Path(tempfile.mkdtemp(prefix="edge-idp-bench-cold-"))
        self.logs = self.state / "logs"
        self.logs.mkdir()
        key = base64.b64encode(os.urandom(32)).decode()
        (self.state / "dev.vars").touch(mode=0o600)
        (self.state / "dev.vars").write_text(f"MASTER_KEY={key}\n")


def first_answers(direct_port: int) -> tuple[float, float]:
    """The first answer of a just-started isolate and the next, in ms, on the direct socket. Tries
    before the socket listens fail to connect, so the first answer is the isolate's first request."""
    url = f"http://127.0.0.1:{direct_port}/healthz"
    deadline = time.time() + 30
    while True:
        started = time.perf_counter()
        try:
            requests.get(url, headers={"host": "cold.localhost"}, timeout=30)
            first = time.perf_counter() - started
            break
        except requests.ConnectionError:
            if time.time() > deadline:
                raise
            time.sleep(0.01)
    started = time.perf_counter()
    requests.get(url, headers={"host": "cold.localhost"}, timeout=30)
    return first * 1000, (time.perf_counter() - started) * 1000


def cold_start(report: Report, runs: int = COLD_RUNS) -> None:
    """The first request to a fresh isolate, on bare workerd (no wrangler dev in front): `runs`
    fresh workerds, the median first answer against the goal."""
    firsts, nexts = [], []
    for _ in range(runs):
        bare = BareWorkerd(EmptyState(), tls=False)
        bare.start(answer_first=False)
        try:
            first, following = first_answers(bare.http_port)
        finally:
            bare.stop()
        firsts.append(first)
        nexts.append(following)
    first, following = statistics.median(firsts), statistics.median(nexts)
    report.line("workerd", f"cold start, {runs} fresh workerds: first answer {first:.1f} ms "
                f"(from {min(firsts):.1f} to {max(firsts):.1f}), the next {following:.1f} ms; load {load()}")
    report.figure("workers", "first request to a fresh isolate (bare workerd)", first, "ms", 25.0, "<= 25 ms")


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
    cold_start(report)
    node = peers.bench_oidc_provider(OIDC_N, report)
    samlify = peers.bench_samlify(SAML_N, report)
    loads.append(load())
    table(report, figs, node, samlify, (loads[0], loads[1]))
