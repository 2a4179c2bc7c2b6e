"""The release wasm of each runtime: its size raw and gzipped, against the 1.0 MB gzip goal.
The IdP's bundle is what every request loads; the XML verifier's is loaded only for a signed
SAML POST-binding message (docs/xml-signing.md §6). Each is held to the goal."""
from __future__ import annotations

import gzip

from .report import Report
from .settings import ROOT

# The goal for what each runtime loads per isolate or instance, gzip, in MB (10^6 bytes).
GOAL_MB = 1.0


def bundle_sizes(report: Report) -> None:
    worker_wasm = next((ROOT / "build/worker").glob("*.wasm"))
    verifier_worker_wasm = next((ROOT / "build/xml-verifier-worker").glob("*.wasm"))
    bundles = (
        ("workers", "bundle (release wasm, gzip -9)", worker_wasm),
        ("workers", "XML verifier bundle (signed POST messages only)", verifier_worker_wasm),
        ("spin", "bundle (release wasm, gzip -9)", ROOT / "build/spin/edge_idp_spin.wasm"),
        ("spin", "XML verifier bundle (signed POST messages only)", ROOT / "build/spin/xml_verifier.wasm"),
    )
    for runtime, what, path in bundles:
        raw = path.read_bytes()
        packed = len(gzip.compress(raw, 9))
        report.line("bundle", f"{runtime + ':':8} {path.name:32} {len(raw) / 1024:.0f} KiB raw, "
                              f"{packed / 1024:.0f} KiB gzip")
        report.figure(runtime, what, packed / 1e6, "MB", GOAL_MB, f"<= {GOAL_MB} MB")
