"""The sizes of a run, from the environment (scripts/bench describes each variable)."""
from __future__ import annotations

import os

import stack as stack_mod

ROOT = stack_mod.ROOT
N = int(os.environ.get("BENCH_N", "500"))
SAML_N = int(os.environ.get("BENCH_SAML_N", "200"))
OIDC_N = int(os.environ.get("BENCH_OIDC_N", "200"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
# Tenants generated for the scale figures (scripts/bench_tenants.py); 0 skips them.
TENANTS = int(os.environ.get("BENCH_TENANTS", "10000"))
# The runtimes to measure, comma-separated (both by default).
RUNTIMES = tuple(os.environ.get("BENCH_RUNTIMES", "workers,spin").split(","))
if not RUNTIMES or set(RUNTIMES) - {"workers", "spin"}:
    raise SystemExit(f"BENCH_RUNTIMES: workers, spin or both, not {os.environ['BENCH_RUNTIMES']!r}")
# BENCH_ONLY=soak runs only the soak, on a stack of its own per runtime.
ONLY = os.environ.get("BENCH_ONLY", "")
if ONLY not in ("", "soak"):
    raise SystemExit(f"BENCH_ONLY: only 'soak' is known, not {ONLY!r}")
# Seconds of mixed traffic after each runtime's other figures (0, the default, skips it; 600 when
# only the soak runs), and its concurrent workers.
SOAK_SECONDS = int(os.environ.get("BENCH_SOAK_SECONDS", "600" if ONLY == "soak" else "0"))
SOAK_WORKERS = int(os.environ.get("BENCH_SOAK_WORKERS", "8"))
# Throughput on bare workerd (benchlib/workerd.py): "1" adds it to the run, "only" runs it alone.
WORKERD = os.environ.get("BENCH_WORKERD", "0")
