"""Deployability without deploying: `wrangler deploy --dry-run` bundles within the Workers size
limit, and spin.toml passes a lint of what Spin requires."""
from __future__ import annotations

import gzip
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NPM_BIN = Path(os.environ.get("EDGE_IDP_TOOLS", Path.home() / ".cache/edge-idp-tools")) / "npm/node_modules/.bin"
WORKERS_FREE_LIMIT = 3 * 1024 * 1024  # compressed bundle


@pytest.mark.parametrize("config", ["wrangler.toml", "wrangler.xml-verifier.toml"])
def test_wrangler_deploy_dry_run(tmp_path, config):
    out = subprocess.run(
        [str(NPM_BIN / "wrangler"), "deploy", "--dry-run", "--outdir", str(tmp_path), "-c", config],
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
    triggers = {t["component"]: t for t in manifest["trigger"]["http"]}
    assert set(triggers) == set(manifest["component"]), "every component has its trigger"
    # The IdP answers every path; the XML verifier is private (service chaining only).
    assert triggers["edge-idp"]["route"] == "/..."
    assert triggers["xml-verifier"]["route"] == {"private": True}
    for name, component in manifest["component"].items():
        assert (ROOT / component["source"]).exists(), f"scripts/build --spin makes {name}"
        for host in component.get("allowed_outbound_hosts", []):
            assert re.match(r"^(https?|\*)://", host), host
    idp = manifest["component"]["edge-idp"]
    assert isinstance(idp["key_value_stores"], list)
    assert {"default", "volatile"} <= set(idp["key_value_stores"])
    assert set(idp["variables"]) <= set(manifest["variables"])
    # The verifier reads no store, calls nothing and holds no secret.
    verifier = manifest["component"]["xml-verifier"]
    assert not {"key_value_stores", "allowed_outbound_hosts", "variables"} & set(verifier)
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
    verifier = re.search(r'XML_VERIFIER: &str = "(\w+)"', platform).group(1)
    verifier_url = re.search(r'SPIN_XML_VERIFIER_URL: &str = "([^"]+)"', platform).group(1)
    verifier_variable = re.search(r'SPIN_XML_VERIFIER_VARIABLE: &str = "(\w+)"', platform).group(1)
    verifier_worker = tomllib.loads((ROOT / "wrangler.xml-verifier.toml").read_text())
    assert wrangler["services"] == [{"binding": verifier, "service": verifier_worker["name"]}]
    spin = tomllib.loads((ROOT / "spin.toml").read_text())
    idp = spin["component"]["edge-idp"]
    assert {store, volatile} <= set(idp["key_value_stores"])
    # Service chaining: the verifier component's id is the host, and the IdP may call it.
    assert verifier_url == spin["variables"][verifier_variable]["default"]
    host = re.match(r"http://([\w-]+)\.spin\.internal/", verifier_url).group(1)
    assert host in spin["component"]
    assert f"http://{host}.spin.internal" in idp["allowed_outbound_hosts"]


def test_the_xml_verifier_has_no_public_address():
    """Only the IdP reaches the verifier: the Worker has no route and no workers.dev or preview
    URL, and the Spin component's route is private."""
    verifier_worker = tomllib.loads((ROOT / "wrangler.xml-verifier.toml").read_text())
    assert verifier_worker["workers_dev"] is False and verifier_worker["preview_urls"] is False
    assert not {"route", "routes"} & set(verifier_worker)
    spin = tomllib.loads((ROOT / "spin.toml").read_text())
    routes = [t["route"] for t in spin["trigger"]["http"] if t["component"] == "xml-verifier"]
    assert routes == [{"private": True}]


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


def test_the_idp_bundles_leave_the_xml_verifier_out():
    """xml-sec is only in the XML verifier's Worker and component (docs/xml-signing.md §6): the
    bundle every request loads does not carry it. One of its error texts marks it."""
    marker = b"XPath transform error"
    spin = ROOT / "build/spin"
    idp = [*(ROOT / "build/worker").rglob("*.wasm"), spin / "edge_idp_spin.wasm"]
    verifier = [*(ROOT / "build/xml-verifier-worker").rglob("*.wasm"), spin / "xml_verifier.wasm"]
    assert len(idp) == 2 and len(verifier) == 2, "scripts/build makes all four"
    for wasm in idp:
        assert marker not in wasm.read_bytes(), f"{wasm} carries xml-sec"
    for wasm in verifier:
        assert marker in wasm.read_bytes(), f"{wasm} is not the verifier"
