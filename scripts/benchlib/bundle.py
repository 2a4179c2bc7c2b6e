"""The release wasm of each runtime: its size raw and gzipped."""
from __future__ import annotations

import gzip
from pathlib import Path

from .report import Report
from .settings import ROOT


def size(path: Path) -> str:
    raw = path.read_bytes()
    return f"{len(raw) / 1024:.0f} KiB raw, {len(gzip.compress(raw, 9)) / 1024:.0f} KiB gzip"


def bundle_sizes(report: Report) -> None:
    worker_wasm = next((ROOT / "build/worker").glob("*.wasm"))
    report.line("bundle", f"workers: {size(worker_wasm)}")
    report.line("bundle", f"spin:    {size(ROOT / 'build/spin/edge_idp_spin.wasm')}")
