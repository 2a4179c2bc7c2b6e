"""CPU time read from /proc around requests, and the counts that price the runtime's share of it."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

import requests

import stack as stack_mod


def cpu_seconds(root: int, name: str) -> float:
    """User + system CPU time of the processes called `name` under `root`."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in stack_mod.descendants(root):
        try:
            text = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        if comm.startswith(name):
            fields = text.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def runtime_cpu(stack) -> Callable[[], float]:
    """Reads the CPU seconds of the runtime process (workerd under wrangler, or wasmtime)."""
    name = "workerd" if stack.runtime == "workers" else "wasmtime"
    return lambda: cpu_seconds(stack.runtime_proc.pid, name)


def request_cpu(stack, s: requests.Session, path: str, n: int, headers: dict | None = None) -> float:
    """CPU ms of the runtime process per request to `path`."""
    cpu = runtime_cpu(stack)
    for _ in range(20):
        s.get(stack.url("acme.localhost", path), timeout=30, verify=False, headers=headers)
    c0 = cpu()
    for _ in range(n):
        s.get(stack.url("acme.localhost", path), timeout=30, verify=False, headers=headers)
    return (cpu() - c0) * 1000 / n


class Counts:
    """Counts what requests cause at the edges the bench can see: audit lines in the runtime's log
    and calls the iMIS emulator answered."""

    def __init__(self, stack):
        self.stack = stack

    def start(self) -> None:
        time.sleep(0.3)
        self.lines = self.stack.runtime_output().count('"kind":"audit"')
        requests.delete(f"{self.stack.imis_origin}/__emulator/requests", timeout=10)

    def per(self, n: int) -> tuple[float, float]:
        """(audit lines, iMIS calls) per request over the last `n` requests since start()."""
        time.sleep(0.5)  # let the runtime's stdout reach the log file
        lines = self.stack.runtime_output().count('"kind":"audit"') - self.lines
        calls = len(requests.get(f"{self.stack.imis_origin}/__emulator/requests", timeout=10).json())
        return lines / n, calls / n
