"""End-to-end fixtures: a real local edge runtime per runtime kind, with the iMIS emulator and the
demo tenants seeded through the admin CLI (scripts/stack.py does the work)."""
from __future__ import annotations

import os
import sys
import tempfile
import warnings
from pathlib import Path

import pytest
import requests
import urllib3

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import stack as stack_mod  # noqa: E402

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
RUNTIMES = os.environ.get("EDGE_IDP_RUNTIMES", "workers,spin").split(",")
ARTIFACTS = ROOT / "tests/artifacts"


@pytest.fixture(scope="session", params=RUNTIMES)
def stack(request):
    state = Path(tempfile.mkdtemp(prefix=f"edge-idp-{request.param}-"))
    s = stack_mod.Stack(request.param, state)
    try:
        s.start()
    except Exception:
        s.stop()
        raise
    yield s
    s.stop()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for log in s.logs.glob("*.log"):
        (ARTIFACTS / log.name).write_text(log.read_text(errors="replace"))


class Client:
    """HTTP to the IdP through 127.0.0.1 with an explicit Host header (no DNS needed)."""

    def __init__(self, stack):
        self.stack = stack
        self.session = requests.Session()
        self.session.verify = False

    def get(self, host: str, path: str, **kw) -> requests.Response:
        headers = {"Host": f"{host}:{self.stack.idp_port}", **kw.pop("headers", {})}
        return self.session.get(self.stack.origin + path, headers=headers, allow_redirects=False,
                                timeout=30, verify=False, **kw)

    def admin_token(self, tenant: str) -> str:
        """The token that opens `tenant`'s deep health check, derived from the stack's master key as
        the runtime and `edge-idp status` derive it (scripts/stack.py `healthz_admin_token`)."""
        return stack_mod.healthz_admin_token(self.stack.key, tenant)

    def deep_health(self, host: str, tenant: str) -> requests.Response:
        """`/healthz?deep=1` of `host` with `tenant`'s admin token."""
        return self.get(host, "/healthz?deep=1", headers={"Authorization": f"Bearer {self.admin_token(tenant)}"})

    def head(self, host: str, path: str) -> requests.Response:
        return self.session.head(self.stack.origin + path, headers={"Host": host}, timeout=30, verify=False)


@pytest.fixture
def client(stack):
    return Client(stack)
