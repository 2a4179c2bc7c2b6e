"""Scale benchmark: many tenants in one store (not a test; no timing is asserted).

For each runtime it starts the local stack with its 2 demo tenants and measures host -> tenant
lookups and the runtime's memory; then generates COUNT more tenant files (scripts/gen_tenants.py),
applies them to the same local store with one `edge-idp apply FILE... --yes` (timed, and a second
plan of all of them, which must find nothing to do), and measures again:

* lookup, cached:   a hostname asked for again within the resolver's cache lifetime;
* lookup, uncached: a hostname asked for the first time (reads host: and tenant: from the store;
                    only with many tenants: the 2 demo hosts are cached after one request);
* lookup, unknown:  a hostname no tenant has (one store read, then the negative cache);
* memory:           on Workers, the isolate's own memory from a heap snapshot taken through wrangler
                    dev's inspector (JS heap, the wasm module's linear memory and compiled code: our
                    caches live there, bounded); and the resident memory of the runtime's processes
                    (workerd; on the Spin route wasmtime, with a fresh instance per request). workerd's
                    RSS under wrangler dev grows with every request, for a hostname already cached as
                    much as for a new one, while the isolate stays flat: that growth is the local dev
                    runtime's, not the IdP's (docs/architecture.md, "Caching").

Each lookup is one GET /healthz through the local TLS front, so the figures are request latencies
of which the lookup is a part; what matters is how they change between 2 and COUNT tenants.

    python3 scripts/bench_tenants.py [--count 10000] [--runtime workers|spin] [--n 300]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import json

import requests
import urllib3
import websocket

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_tenants  # noqa: E402
import stack as stack_mod  # noqa: E402

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


def lookup_ms(stack, session: requests.Session, hosts: list[str]) -> float:
    """Median latency of GET /healthz, once per host in `hosts`, in milliseconds."""
    times = []
    for host in hosts:
        start = time.perf_counter()
        r = session.get(f"{stack.origin}/healthz", headers={"Host": host}, verify=False, timeout=30)
        times.append((time.perf_counter() - start) * 1000)
        if r.status_code not in (200, 404):
            raise RuntimeError(f"GET /healthz for {host} answered {r.status_code}")
    return statistics.median(times)


def rss_mb(stack) -> float:
    """Resident memory of the runtime's processes (workerd, or wasmtime), in MB."""
    name = "workerd" if stack.runtime == "workers" else "wasmtime"
    total_kb = 0
    for pid in stack_mod.descendants(stack.runtime_proc.pid):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("Name", "").strip().startswith(name):
            total_kb += int(fields.get("VmRSS", "0 kB").split()[0])
    return total_kb / 1024


def isolate_mb(stack) -> float | None:
    """The Workers isolate's memory in MB: the self sizes of every node of a V8 heap snapshot, which
    count the JS heap, array buffers (the wasm linear memory among them) and the compiled wasm module.
    None on the Spin route, whose instances live for one request."""
    if stack.runtime != "workers":
        return None
    ws = websocket.create_connection(f"ws://127.0.0.1:{stack.inspector_port}/ws", timeout=60)
    try:
        return heap_snapshot_mb(ws)
    finally:
        ws.close()


def heap_snapshot_mb(ws: websocket.WebSocket, request_id: int = 1) -> float:
    """The self sizes of every node of a V8 heap snapshot taken over the inspector connection
    `ws` (request `request_id`), in MB; other messages the connection brings are skipped."""
    ws.send(json.dumps({"id": request_id, "method": "HeapProfiler.takeHeapSnapshot",
                        "params": {"reportProgress": False}}))
    chunks = []
    while True:
        message = json.loads(ws.recv())
        if message.get("method") == "HeapProfiler.addHeapSnapshotChunk":
            chunks.append(message["params"]["chunk"])
        elif message.get("id") == request_id:
            break
    snapshot = json.loads("".join(chunks))
    fields = snapshot["snapshot"]["meta"]["node_fields"]
    size_at, stride = fields.index("self_size"), len(fields)
    nodes = snapshot["nodes"]
    if not nodes:
        raise RuntimeError("the inspector returned an empty heap snapshot")
    return sum(nodes[i + size_at] for i in range(0, len(nodes), stride)) / 1e6


def figures(stack, known: list[str], n: int) -> dict[str, float]:
    """Lookup medians over `n` hosts of each kind, and memory afterwards."""
    session = requests.Session()
    tag = os.urandom(4).hex()
    unknown = [f"u{i}-{tag}.bench.localhost" for i in range(n)]
    out = {}
    if len(known) >= n:
        first = random.sample(known, n)
        out["uncached"] = lookup_ms(stack, session, first)
    else:
        # Too few tenants for first lookups: every known host is cached after its first request.
        first = (known * n)[:n]
        lookup_ms(stack, session, known)
    out["cached"] = lookup_ms(stack, session, first)
    out["unknown"] = lookup_ms(stack, session, unknown)
    out["rss"] = rss_mb(stack)
    out["isolate"] = isolate_mb(stack)
    return out


def cli(stack, *args: str) -> subprocess.CompletedProcess:
    # The CLI's value cache lives with the run, so that the re-plan finds what this apply wrote
    # and nothing a run before it left.
    env = {**os.environ, **gen_tenants.ENV, "EDGE_IDP_MASTER_KEY": stack.key,
           "EDGE_IDP_CACHE_DIR": str(stack.state / "cli-cache"),
           "PATH": f"{stack_mod.NPM_BIN}:{os.environ['PATH']}", "WRANGLER_SEND_METRICS": "false"}
    return subprocess.run([str(stack_mod.CLI), *args, *stack.store_args()], cwd=stack_mod.ROOT, env=env,
                          capture_output=True, text=True)


def run(runtime: str, count: int, n: int) -> list[tuple[str, str, float, str]]:
    """Measures one runtime; returns (runtime, measurement, figure, unit) rows."""
    state = Path(tempfile.mkdtemp(prefix=f"edge-idp-bench-tenants-{runtime}-"))
    stack = stack_mod.Stack(runtime, state)
    rows = []
    try:
        stack.start()
        demo = ["acme.localhost", "globex.localhost"]
        before = figures(stack, demo, n)
        files = gen_tenants.generate(count, state / "tenant-files")
        start = time.perf_counter()
        done = cli(stack, "apply", *map(str, files), "--yes")
        applied = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"apply of {count} tenant files failed:\n{done.stderr[-3000:]}")
        start = time.perf_counter()
        again = cli(stack, "plan", *map(str, files))
        planned = time.perf_counter() - start
        if again.returncode != 0:
            raise RuntimeError(f"a plan after the apply is not empty (exit {again.returncode}):\n"
                               f"{again.stdout[-2000:]}{again.stderr[-2000:]}")
        hosts = [f"t{i:05d}.bench.localhost" for i in range(1, count + 1)]
        after = figures(stack, hosts, n)
        # Past the resolver's bound (4,096 cached hosts): memory must stay flat.
        sweep = random.sample(hosts, min(len(hosts), 5000))
        lookup_ms(stack, requests.Session(), sweep)
        after["rss_sweep"] = rss_mb(stack)
        after["isolate_sweep"] = isolate_mb(stack)
        print(f"tenants {runtime:7} apply {count} tenant files: {applied:7.1f} s "
              f"({applied / count * 1000:.1f} ms per tenant); plan of all, nothing to do: {planned:6.1f} s")
        for what, unit in (("cached", "ms"), ("unknown", "ms"), ("rss", "MB")):
            print(f"tenants {runtime:7} {what:9} 2 tenants {before[what]:7.2f} {unit}   "
                  f"{count + 2} tenants {after[what]:7.2f} {unit}")
        print(f"tenants {runtime:7} uncached  {count + 2} tenants {after['uncached']:7.2f} ms "
              "(a first request for a hostname: its host: and tenant: values read)")
        print(f"tenants {runtime:7} memory after {len(sweep)} distinct hosts: {after['rss_sweep']:.1f} MB")
        if before["isolate"] is not None:
            print(f"tenants {runtime:7} isolate   2 tenants {before['isolate']:7.2f} MB   {count + 2} tenants "
                  f"{after['isolate']:7.2f} MB   after {len(sweep)} distinct hosts {after['isolate_sweep']:7.2f} MB "
                  "(heap snapshot: JS heap, wasm memory and code)")
        rows += [
            (runtime, f"apply {count} tenant files (local store)", applied, "s"),
            (runtime, f"plan {count} tenant files, nothing to do", planned, "s"),
            (runtime, f"host lookup, uncached, {count} tenants", after["uncached"], "ms"),
            (runtime, f"host lookup, cached: ratio at {count} vs 2 tenants", after["cached"] / before["cached"], "x"),
            (runtime, f"unknown host: ratio at {count} vs 2 tenants", after["unknown"] / before["unknown"], "x"),
            (runtime, f"runtime process memory: ratio at {count} vs 2 tenants", after["rss_sweep"] / before["rss"], "x"),
        ]
        if before["isolate"] is not None:
            rows += [
                (runtime, f"isolate memory: ratio at {count} vs 2 tenants",
                 after["isolate"] / before["isolate"], "x"),
                (runtime, f"isolate memory: ratio after {len(sweep)} distinct hosts (caches full) vs 2 tenants",
                 after["isolate_sweep"] / before["isolate"], "x"),
            ]
    finally:
        stack.stop()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--runtime", choices=["workers", "spin"], action="append")
    parser.add_argument("--n", type=int, default=300, help="hosts per lookup figure")
    args = parser.parse_args()
    for runtime in args.runtime or ["workers", "spin"]:
        run(runtime, args.count, args.n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
