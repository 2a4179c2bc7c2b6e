"""The local runtime's share of a request's CPU: unit prices measured on their own, and the split of
a figure into that share (counts x prices) and ours."""
from __future__ import annotations

import requests

from .cpu import Counts, request_cpu, runtime_cpu
from .latency import admin
from .report import Report
from .tokens import RP_BASIC, RP_REDIRECT, TokenTarget


def unit_costs(stack, s: requests.Session, n: int, report: Report) -> dict[str, float]:
    """What the local runtime spends on any request, on one iMIS subrequest, on one audit line
    (with an error page) and on one Durable Object call (once store / counter): the unit prices
    of the breakdowns. Each is printed."""
    r = stack.runtime
    base = request_cpu(stack, s, "/healthz", n)
    counts = Counts(stack)
    counts.start()
    deep = request_cpu(stack, s, "/healthz?deep=1", n, admin(stack)) - base
    _, deep_calls = counts.per(n + 20)
    # Where the runtime keeps no instance between requests (wasmtime serve), the background iMIS
    # token is fetched again by every request: the deep check then makes two calls.
    fetch = deep / max(deep_calls, 1.0)
    audit = request_cpu(stack, s, "/no-such-page", n) - base
    do = max(0.0, (unknown_code_cpu(stack, n) - base - audit) / 2)
    report.line("unit", f"{r:7} per-request baseline (/healthz)                             CPU {base:6.2f} ms")
    report.line("unit", f"{r:7} + one iMIS subrequest ((/healthz?deep=1 - baseline) / {deep_calls:.2f} iMIS calls)  "
                f"CPU {fetch:6.2f} ms")
    report.line("unit", f"{r:7} + one audit line and error page (404)                       CPU {audit:6.2f} ms")
    report.line("unit", f"{r:7} + one DO call ((unknown-code token POST - 404 cost) / 2)    CPU {do:6.2f} ms")
    report.figure(r, "per-request baseline CPU (/healthz), the runtime's share", base, "ms", None, "- (reference)")
    return {"base": base, "fetch": fetch, "audit": audit, "do": do}


def unknown_code_cpu(stack, n: int) -> float:
    """CPU ms of a token POST with a code that does not exist: client authentication, the
    take-once (one DO call), the used-code counter read (a second DO call), one audit line and a
    JSON error."""
    target = TokenTarget(stack.idp_port, "acme.localhost", "/oidc/token", RP_BASIC, RP_REDIRECT)
    conn, cpu = target.conn(), runtime_cpu(stack)
    for i in range(20):
        target.post(conn, f"warm-{i}")
    c0 = cpu()
    for i in range(n):
        if target.post(conn, f"no-such-code-{i}") != 400:
            raise RuntimeError("a token POST with an unknown code was not refused with 400")
    cpu_ms = (cpu() - c0) * 1000 / n
    conn.close()
    return cpu_ms


def breakdown(stack, what: str, cpu: float, units: dict[str, float], do_calls: int, lines: float,
              calls: float, sigs: float, sig_note: str, kv_reads: int, report: Report) -> float:
    """Prints the split of `cpu` into the local runtime's share (counts x unit prices) and ours;
    returns ours (CPU minus the runtime's estimated share). DO calls and KV reads are counted
    from the code path (KV reads beyond the /healthz baseline's, left in ours: no unit price);
    audit lines and iMIS calls are counted in the run."""
    runtime = units["base"] + do_calls * units["do"] + calls * units["fetch"] + lines * units["audit"]
    ours = cpu - runtime
    report.line("split", f"{stack.runtime:7} {what}: CPU {cpu:6.2f} ms = runtime est. {runtime:6.2f} ms "
                f"(baseline {units['base']:.2f} + {do_calls} DO x {units['do']:.2f} + {calls:.2f} iMIS x "
                f"{units['fetch']:.2f} + {lines:.2f} audit x {units['audit']:.2f}) + ours {ours:6.2f} ms "
                f"(of which signatures {sigs:.2f} ms {sig_note}; {kv_reads} KV reads)")
    return ours
