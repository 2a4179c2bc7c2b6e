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
RUNTIMES = ("workers", "spin")
# Throughput on bare workerd (benchlib/workerd.py): "1" adds it to the run, "only" runs it alone.
WORKERD = os.environ.get("BENCH_WORKERD", "0")
