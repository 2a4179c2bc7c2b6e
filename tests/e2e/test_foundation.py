"""Foundation, end to end on each runtime: tenants by Host, unknown and broken tenants, health with
and without iMIS, audit lines, response headers."""
from __future__ import annotations

import json
import time

from test_signin import emulator  # noqa: F401 — a fixture


def audit_events(stack) -> list[dict]:
    events = []
    for line in stack.runtime_output().splitlines():
        start = line.find('{"kind":"audit"')
        if start >= 0:
            try:
                events.append(json.loads(line[start:]))
            except json.JSONDecodeError:
                pass
    return events


def wait_for_event(stack, event: str, seconds: float = 10) -> dict:
    deadline = time.time() + seconds
    while time.time() < deadline:
        for e in audit_events(stack):
            if e["event"] == event:
                return e
        time.sleep(0.2)
    raise AssertionError(f"no audit event {event} in the runtime output")


def test_each_host_gets_its_own_tenant(client):
    acme = client.get("acme.localhost", "/healthz")
    globex = client.get("globex.localhost", "/healthz")
    assert acme.status_code == 200 and globex.status_code == 200
    assert acme.json() == {"status": "ok", "tenant": "acme", "config_version": 1}
    assert globex.json()["tenant"] == "globex"
    assert acme.headers["x-request-id"] != globex.headers["x-request-id"]


def test_home_pages_are_branded_per_tenant(client):
    acme = client.get("acme.localhost", "/")
    globex = client.get("globex.localhost", "/")
    assert acme.status_code == 200
    assert "Acme Professional Association" in acme.text and "#0b5394" in acme.text
    assert "Globex Engineers Society" in globex.text and "#7a1f2b" in globex.text
    csp = acme.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert acme.headers["x-content-type-options"] == "nosniff"


def test_real_hostnames_resolve_to_the_tenant(stack):
    import requests
    r = requests.get(stack.url("globex.localhost", "/healthz"), verify=False, timeout=30)
    assert r.json()["tenant"] == "globex"


def test_unknown_host_gets_a_plain_404(client):
    r = client.get("nobody.localhost", "/healthz")
    assert r.status_code == 404
    assert "Site not found" in r.text
    assert "nobody" not in r.text and "tenant" not in r.text.lower()


def test_unknown_path_gets_a_branded_404(client):
    r = client.get("acme.localhost", "/no/such/page")
    assert r.status_code == 404
    assert "Acme Professional Association" in r.text and "Page not found" in r.text


def test_head_has_no_body(client):
    r = client.head("acme.localhost", "/")
    assert r.status_code == 200 and r.content == b""


def test_broken_tenant_value_gives_503_and_an_audit_event(stack, client):
    stack.kv_put_raw("host:broken.localhost", '{"schema_version":1,"tenant":"broken"}')
    stack.kv_put_raw("tenant:broken", '{"schema_version":1,"id":"broken","name":"x"}')
    r = client.get("broken.localhost", "/healthz")
    assert r.status_code == 503
    assert "temporarily unavailable" in r.text
    event = wait_for_event(stack, "tenant.config_invalid")
    assert event["tenant"] == "broken" and event["outcome"] == "failure"
    assert event["request_id"] == r.headers["x-request-id"]


def test_deep_health_online_then_offline(stack, client):
    r = client.deep_health("acme.localhost", "acme")
    assert r.status_code == 200, r.text
    assert r.json()["imis"] == "online"
    g = client.deep_health("globex.localhost", "globex")
    assert g.json()["imis"] == "online", "the on-premises API path (Asi.Scheduler_iMIS) is used"
    stack.stop_emulator()
    try:
        r = client.deep_health("acme.localhost", "acme")
        assert r.status_code == 503
        body = r.json()
        assert body["imis"] == "offline" and body["tenant"] == "acme"
        assert wait_for_event(stack, "imis.unavailable")["tenant"] == "acme"
    finally:
        stack.start_emulator()
    r = client.deep_health("acme.localhost", "acme")
    assert r.json()["imis"] == "online", "a fresh emulator: the cached token is refused and renewed"


def test_deep_health_needs_the_tenant_admin_token(stack, client, emulator):
    emulator.clear_log()
    r = client.get("acme.localhost", "/healthz?deep=1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok" and body["tenant"] == "acme", body
    assert body["deep"] == "needs admin token" and "imis" not in body, body
    # Another tenant's token is as wrong as a made-up one.
    for r in [client.deep_health("acme.localhost", "globex"),
              client.get("acme.localhost", "/healthz?deep=1", headers={"Authorization": "Bearer not-the-token"})]:
        assert r.status_code == 401, r.text
        assert "imis" not in r.json(), r.text
    assert emulator.log() == [], "iMIS is asked only with the admin token"
    event = wait_for_event(stack, "healthz.admin_refused")
    assert event["tenant"] == "acme" and event["outcome"] == "refused", event


def test_no_secret_reaches_the_logs(stack, client):
    client.deep_health("acme.localhost", "acme")
    out = stack.runtime_output()
    admin_token = client.admin_token("acme")
    for secret in [stack.key, "Service-Passw0rd", "acme-saml-secret", "acme-oidc-secret", admin_token]:
        assert secret not in out
    assert audit_events(stack), "audit lines are visible in the runtime output"


def test_deep_health_times_out_on_a_hanging_imis(stack, client):
    import requests
    requests.post(f"{stack.imis_origin}/__emulator/faults", timeout=10,
                  json={"path_contains": "/api/User", "hang": True})
    try:
        r = client.deep_health("globex.localhost", "globex")
        assert r.status_code == 503
        # The reason stays in the audit log, even for an admin.
        assert r.json()["imis"] == "offline" and "imis_error" not in r.json()
    finally:
        requests.post(f"{stack.imis_origin}/__emulator/reset", timeout=10)
