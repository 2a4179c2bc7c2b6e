"""Deployability without deploying: `wrangler deploy --dry-run` bundles within the Workers size
limit, and spin.toml passes a lint of what Spin requires."""
from __future__ import annotations

import gzip
import os
import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NPM_BIN = Path(os.environ.get("EDGE_IDP_TOOLS", Path.home() / ".cache/edge-idp-tools")) / "npm/node_modules/.bin"
WORKERS_FREE_LIMIT = 3 * 1024 * 1024  # compressed bundle


def test_wrangler_deploy_dry_run(tmp_path):
    out = subprocess.run(
        [str(NPM_BIN / "wrangler"), "deploy", "--dry-run", "--outdir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PATH": f"{NPM_BIN}:{os.environ['PATH']}", "WRANGLER_SEND_METRICS": "false"},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "--dry-run: exiting now" in out.stdout + out.stderr
    m = re.search(r"Total Upload: ([\d.]+) KiB / gzip: ([\d.]+) KiB", out.stdout + out.stderr)
    assert m, out.stdout
    assert float(m.group(2)) * 1024 < WORKERS_FREE_LIMIT
    wasm = list(tmp_path.rglob("*.wasm"))
    assert wasm and len(gzip.compress(wasm[0].read_bytes())) < WORKERS_FREE_LIMIT


def test_spin_manifest_lint():
    manifest = tomllib.loads((ROOT / "spin.toml").read_text())
    assert manifest["spin_manifest_version"] == 2
    triggers = manifest["trigger"]["http"]
    assert isinstance(triggers, list) and triggers
    for trigger in triggers:
        assert trigger["route"].startswith("/")
        component = manifest["component"][trigger["component"]]
        assert isinstance(component["key_value_stores"], list)
        assert {"default", "volatile"} <= set(component["key_value_stores"])
        hosts = component["allowed_outbound_hosts"]
        assert isinstance(hosts, list)
        assert all(re.match(r"^(https?|\*)://", h) for h in hosts), hosts
        assert (ROOT / component["source"]).exists(), "scripts/build --spin makes the component"
    assert isinstance(manifest["application"]["name"], str)


def test_binding_names_match_the_core():
    platform = (ROOT / "src/platform.rs").read_text()
    wrangler = tomllib.loads((ROOT / "wrangler.toml").read_text())
    kv = re.search(r'TENANTS_KV: &str = "(\w+)"', platform).group(1)
    once = re.search(r'ONCE_STORE: &str = "(\w+)"', platform).group(1)
    store = re.search(r'SPIN_STORE: &str = "(\w+)"', platform).group(1)
    volatile = re.search(r'SPIN_VOLATILE_STORE: &str = "(\w+)"', platform).group(1)
    assert [n["binding"] for n in wrangler["kv_namespaces"]] == [kv]
    assert [d["name"] for d in wrangler["durable_objects"]["bindings"]] == [once]
    spin = tomllib.loads((ROOT / "spin.toml").read_text())
    assert all({store, volatile} <= set(c["key_value_stores"]) for c in spin["component"].values())


def test_the_deployable_builds_leave_out_the_measurement_route():
    """scripts/bench's measurement route (src/bench, cargo feature `bench`) is never in what is
    deployed: its path is not in either deployable wasm."""
    worker = list((ROOT / "build/worker").rglob("*.wasm"))
    spin = ROOT / tomllib.loads((ROOT / "spin.toml").read_text())["component"]["edge-idp"]["source"]
    assert worker and spin.exists(), "scripts/build makes both"
    for wasm in [*worker, spin]:
        data = wasm.read_bytes()
        assert b"/saml/imis/callback" in data, f"{wasm}: not the IdP"
        assert b"__bench" not in data, f"{wasm} has the measurement route"
