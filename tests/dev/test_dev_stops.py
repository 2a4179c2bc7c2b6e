"""`scripts/dev` stops cleanly whenever it is stopped: Ctrl-C (SIGINT to its process group, as a
terminal sends it) or SIGTERM (to the script alone, as `kill` or a closing terminal sends it), while
it is still starting as well as once it runs. Stopping must leave no emulator, runtime or demo site
holding a port, or the next `scripts/dev` fails; the last phase proves the next start works.

These run before the end-to-end suite (no runtime of the e2e fixtures is up yet), on the Workers
route, with ports and a state folder of their own.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import stack as stack_mod  # noqa: E402


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _holders(marker: str) -> list[str]:
    """Command lines of running processes that mention `marker` (this test's own excluded)."""
    found = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True).stdout
    return [line for line in found.splitlines() if "pytest" not in line and "pgrep" not in line]


@pytest.fixture(scope="module")
def dev():
    state = Path(tempfile.mkdtemp(prefix="edge-idp-dev-"))
    ports = {name: stack_mod.free_port() for name in
             ("EDGE_IDP_PORT", "IMIS_PORT", "VENDOR_PORT", "SP_PORT", "RP_PORT")}
    env = {**os.environ, **{k: str(v) for k, v in ports.items()}, "EDGE_IDP_STATE": str(state)}
    return state, ports, env


def _start(env: dict) -> subprocess.Popen:
    # Each phase is recognised by the log files of this start, not of an earlier one.
    shutil.rmtree(Path(env["EDGE_IDP_STATE"]) / "logs", ignore_errors=True)
    return subprocess.Popen([str(ROOT / "scripts/dev")], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(check, proc: subprocess.Popen, what: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert proc.poll() is None, f"scripts/dev exited before {what}:\n{proc.stdout.read()}"
        assert time.monotonic() < deadline, f"scripts/dev never reached {what}"
        time.sleep(0.1)


def _stop_and_check(proc: subprocess.Popen, how: str, ports: dict) -> str:
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=90)
    assert "did not stop on SIGTERM" not in out, out
    held = [f"{name}={port}" for name, port in ports.items() if not _free(port)]
    assert not held, f"ports still held after {how}: {held}\n{out}"
    for name in ("IMIS_PORT", "EDGE_IDP_PORT"):
        assert not _holders(f"127.0.0.1:{ports[name]}") and not _holders(f"--port {ports[name]}"), \
            f"a process still runs after {how}"
    return out


def test_ctrl_c_while_the_emulator_is_up_and_the_tenants_are_seeded(dev):
    state, ports, env = dev
    proc = _start(env)
    emulator_log = state / "logs/workers-imis-emulator.log"
    _wait_for(emulator_log.exists, proc, "starting the emulator")
    _stop_and_check(proc, "ctrl-c", ports)


def test_sigterm_while_the_runtime_starts(dev):
    state, ports, env = dev
    proc = _start(env)
    _wait_for((state / "logs/workers-wrangler.log").exists, proc, "starting wrangler dev")
    _stop_and_check(proc, "sigterm", ports)


def test_the_next_start_runs_and_sigterm_stops_it(dev):
    state, ports, env = dev
    proc = _start(env)
    lines: list[str] = []

    def running() -> bool:
        line = proc.stdout.readline()
        lines.append(line)
        return "is running" in line

    _wait_for(running, proc, "running")
    assert any(not _free(port) for port in ports.values())  # it does hold the ports while it runs
    out = _stop_and_check(proc, "sigterm", ports)
    assert "stopped" in out
