"""The release wasm of each runtime: its size raw and gzipped, against the 1.0 MB gzip goal."""
from __future__ import annotations

import gzip
from pathlib import Path

from .report import Report
from .settings import ROOT

# The goal for what each runtime loads per isolate or instance, gzip, in MB (10^6 bytes).
GOAL_MB = 1.0


def bundle_sizes(report: Report) -> None:
    worker_wasm = next((ROOT / "build/worker").glob("*.wasm"))
    for runtime, path in (("workers", worker_wasm), ("spin", ROOT / "build/spin/edge_idp_spin.wasm")):
        raw = path.read_bytes()
        packed = len(gzip.compress(raw, 9))
        report.line("bundle", f"{runtime + ':':8} {len(raw) / 1024:.0f} KiB raw, {packed / 1024:.0f} KiB gzip")
        report.figure(runtime, "bundle (release wasm, gzip -9)", packed / 1e6, "MB", GOAL_MB,
                      f"<= {GOAL_MB} MB (docs/xml-signing.md §6: the XML-DSig verifier)")
