"""Scale: many generated tenants in each runtime's local store (scripts/bench_tenants.py prints its
own lines); its figures join the summary with no goal of their own."""
from __future__ import annotations

import bench_tenants

from .report import Report
from .settings import N, RUNTIMES, TENANTS


def scale(report: Report) -> None:
    for runtime in RUNTIMES:
        for rt, what, figure, unit in bench_tenants.run(runtime, TENANTS, min(N, 300)):
            report.figure(rt, what, figure, unit, None, "- (bounded; ratios near 1)")
