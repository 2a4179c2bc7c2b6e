"""What each runtime adapter owes the core, checked end to end over HTTP on both runtimes:

* counters (`Platform::count`) live `window_s` seconds from their first increment — not in
  aligned windows that reset at a boundary — and concurrent increments are not lost: shown with
  private_key_jwt assertion ids (jti), whose counter window is the assertion's remaining lifetime;
* the runtime tells the core the client's address, and on the Spin route a client cannot choose
  it: shown with the per-address password throttle of legacy mode (Workers: cf-connecting-ip, set
  by Cloudflare's edge; the Spin route: spin-client-addr, set by the local TLS terminator as Spin's
  HTTP trigger does).

* the Host picks the tenant whatever its case, port or one trailing dot, and nothing else does;
* a body longer than the core's limit (src/http.rs MAX_BODY_BYTES) is refused with 413 whether it
  comes with a Content-Length or chunked, and the runtime goes on answering;
* a response's several Set-Cookie headers reach the browser as several headers;
* the shared cache: tests/e2e/test_signin.py::test_the_background_token_outlives_a_request.

The in-memory platform the unit tests use is held to the same contract in src/tests.rs.

The throttle test's clients have their own addresses (127.x.y.z), so the per-address counters it
fills do not throttle the other tests' sign-ins from 127.0.0.1.
"""
from __future__ import annotations

import http.client
import io
import json
import secrets
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
import requests

from test_foundation import audit_events
from test_oidc import HOST, token_request
from test_oidc_private_key_jwt import ASSERTION_TYPE, PK, assertion
from test_signin import PASSWORD, browser_at, emulator, get, legacy_form, loopback_address, post  # noqa: F401

# src/oidc/client_assertion.rs: an assertion is accepted until SKEW_SECS after its exp, and its jti
# counter lives (exp - now + SKEW_SECS) seconds.
SKEW_SECS = 60
# src/signin/throttle.rs
MAX_IP_ATTEMPTS = 20


def token_request_with(stack, client_assertion: str) -> requests.Response:
    """A token request whose client authentication passes or fails on the assertion alone: the code
    is made up, so an accepted assertion gets invalid_grant (client authentication comes first)."""
    return token_request(stack, {"grant_type": "authorization_code", "code": secrets.token_urlsafe(24),
                                 "redirect_uri": PK["redirect_uri"], "code_verifier": secrets.token_urlsafe(48),
                                 "client_assertion_type": ASSERTION_TYPE, "client_assertion": client_assertion})


def accepted(r: requests.Response) -> bool:
    return r.status_code == 400 and r.json()["error"] == "invalid_grant"


def replay_refused(r: requests.Response) -> bool:
    return (r.status_code == 401 and r.json()["error"] == "invalid_client"
            and "already used" in r.json()["error_description"])


def start_of_odd_second() -> int:
    """Waits for the start of an odd second (at most ~2 s) and returns it."""
    while True:
        now = time.time()
        second = int(now)
        if second % 2 == 1 and now - second < 0.25:
            return second
        time.sleep(min(0.05, (second + 1 - now) + 0.01))


def test_a_used_assertion_id_is_refused_for_its_whole_window(stack):
    """An assertion with 2 s of (skew-extended) life left gets a 2 s jti counter. Used at the start
    of an odd second and again a second later, it crosses an aligned 2 s boundary (s/2 changes)
    while the counter, counted from its first increment, still lives: the replay is refused."""
    s0 = start_of_odd_second()
    jwt = assertion(stack, exp=s0 - SKEW_SECS + 2, iat=None)
    first = token_request_with(stack, jwt)
    assert accepted(first), first.text
    time.sleep(max(0.0, s0 + 1.2 - time.time()))
    assert int(time.time()) == s0 + 1, "the machine is too slow for this timing"
    again = token_request_with(stack, jwt)
    assert replay_refused(again), again.text


def test_concurrent_uses_of_one_assertion_id_count_every_one(stack):
    """Twelve requests race with one assertion: exactly one is accepted."""
    jwt = assertion(stack)
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _: token_request_with(stack, jwt), range(12)))
    assert sum(accepted(r) for r in answers) == 1, [r.text for r in answers]
    assert all(accepted(r) or replay_refused(r) for r in answers), [r.text for r in answers]


def test_password_attempts_are_throttled_per_client_address(stack, emulator):
    """Legacy mode: 20 bad passwords from one address, each for another username (so no username
    is throttled), and that address is refused before iMIS is asked; another address is not. On
    the Spin route no address header a client sends changes its address."""
    url = stack.url("globex.localhost", "/signin")
    attacker_ip, other_ip = loopback_address(), loopback_address()
    attacker = browser_at(attacker_ip)
    p = legacy_form(stack, attacker)
    run = secrets.token_hex(4)
    for i in range(MAX_IP_ATTEMPTS):
        r = post(attacker, url, data={"p": p, "username": f"guess-{run}-{i}", "password": "wrong"})
        assert r.status_code == 401, (i, r.status_code)

    emulator.clear_log()
    spin = stack.runtime == "spin"
    for headers in [{}, {"spin-client-addr": f"{other_ip}:4242"}] if spin else [{}]:
        r = post(attacker, url, data={"p": p, "username": f"guess-{run}-last", "password": "wrong"},
                 headers=headers)
        assert r.status_code == 429 and "Too many unsuccessful attempts" in r.text, r.status_code
    assert not any(e["path"].endswith("/token") for e in emulator.log()), "nothing reaches iMIS"

    # Another address signs in (on the Spin route even when it claims to be the throttled one).
    other = browser_at(other_ip)
    p = legacy_form(stack, other, "/healthz")
    claim = {"spin-client-addr": f"{attacker_ip}:4242"} if spin else {}
    r = post(other, url, data={"p": p, "username": f"guess-{run}-other", "password": "wrong"}, headers=claim)
    assert r.status_code == 401, r.status_code
    r = post(other, url, data={"p": p, "username": "hsimpson", "password": PASSWORD}, headers=claim)
    assert (r.status_code, r.headers.get("location")) == (303, "/healthz"), r.status_code


@pytest.mark.parametrize("first, answered", [
    (b"GET /healthz HTTP/1.1\r\nHost: globex.localhost\r\n\r\n", 2),
    # A bare LF: one header line here, two (the second an address) for lenient parsers.
    (b"GET /healthz HTTP/1.1\r\nHost: globex.localhost\r\nx-a: 1\nspin-client-addr: 10.9.8.7:1\r\n\r\n", 0),
    # Two framings of one body.
    (b"POST /healthz HTTP/1.1\r\nHost: globex.localhost\r\nContent-Length: 5\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0),
], ids=["plain", "bare-lf", "cl-and-te"])
def test_the_spin_route_forwards_only_requests_it_can_frame(stack, first, answered):
    """The local TLS terminator rewrites spin-client-addr per request, so it must see each request
    as the runtime will: an ambiguous one is not forwarded, and the connection ends there."""
    if stack.runtime != "spin":
        pytest.skip("the Spin route's TLS terminator")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    second = b"GET /healthz HTTP/1.1\r\nHost: globex.localhost\r\nConnection: close\r\n\r\n"
    raw = socket.create_connection(("127.0.0.1", stack.idp_port), timeout=10)
    with ctx.wrap_socket(raw, server_hostname="globex.localhost") as tls:
        tls.sendall(first + second)
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 200") == answered, data[:300]


# ------------------------------------------------------------------ Host, body size, Set-Cookie

def raw_exchange(stack, request: bytes) -> bytes:
    """Sends `request` as is over TLS and returns everything the runtime answers (the request
    should say Connection: close)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", stack.idp_port), timeout=30)
    with ctx.wrap_socket(raw, server_hostname="acme.localhost") as tls:
        tls.sendall(request)
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    return data


class _Replay:
    """What http.client needs of a socket, over bytes already received."""

    def __init__(self, data: bytes):
        self._file = io.BytesIO(data)

    def makefile(self, *_args, **_kw):
        return self._file


def status_and_body(answer: bytes) -> tuple[int, bytes]:
    """Status and body of a raw HTTP/1.1 answer, de-chunked (Spin answers chunked)."""
    resp = http.client.HTTPResponse(_Replay(answer))
    resp.begin()
    return resp.status, resp.read()


@pytest.mark.parametrize("host, tenant", [
    ("acme.localhost", "acme"),
    ("ACME.LocalHost", "acme"),
    ("acme.localhost.", "acme"),
    ("Globex.Localhost.", "globex"),
    (None, "acme"),  # with the port, as browsers send it
], ids=["plain", "case", "trailing-dot", "globex", "port"])
def test_the_host_picks_the_tenant_whatever_its_case_port_or_trailing_dot(stack, host, tenant):
    host = host or f"acme.localhost:{stack.idp_port}"
    status, body = status_and_body(raw_exchange(
        stack, f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()))
    assert status == 200, body[:300]
    assert json.loads(body)["tenant"] == tenant


# (Not "acme.localhost%2e": workerd's URL parser decodes it to "acme.localhost.", the same name.)
@pytest.mark.parametrize("host", ["acme.localhost..", "acme.localhost.evil", "evil.acme.localhost",
                                  "acme", "acme.localhost_"])
def test_no_other_host_reaches_a_tenant(stack, host):
    status, body = status_and_body(raw_exchange(
        stack, f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()))
    # 400 where the runtime itself refuses the Host; otherwise the IdP's neutral 404.
    assert status in (400, 404), (status, body[:300])
    assert b'"tenant"' not in body
    if status == 404:
        assert b"Site not found" in body


# src/http.rs
MAX_BODY_BYTES = 256 * 1024


def test_a_body_over_the_limit_is_refused_and_the_runtime_goes_on(stack, emulator):
    url = stack.url("globex.localhost", "/signin")
    s = requests.Session()
    p = legacy_form(stack, s)
    emulator.clear_log()
    padding = "x" * MAX_BODY_BYTES
    r = post(s, url, data={"p": p, "username": "hsimpson", "password": PASSWORD, "pad": padding})
    assert r.status_code == 413 and "Request too large" in r.text, r.status_code
    # The same body without a length (chunked): the runtime stops reading it past the limit. It
    # answers 413 while the client is still sending, and closes. The local TLS front lingers to
    # take in the rest (scripts/tls_proxy.py), but `wasmtime serve` itself resets the connection
    # to it, and the answer is then lost in a few percent of tries (a race of the local
    # transport, not a choice of the IdP); so a connection closed mid-upload also counts as
    # refused. Either way nothing reaches iMIS and the runtime goes on (below).
    body = urlencode({"p": p, "username": "hsimpson", "password": PASSWORD, "pad": padding}).encode()
    chunks = (body[i:i + 16384] for i in range(0, len(body), 16384))
    try:
        r = post(s, url, data=chunks, headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 413 and "Request too large" in r.text, r.status_code
    except requests.ConnectionError as e:
        assert "Connection aborted" in str(e), e
    assert not any(e["path"].endswith("/token") for e in emulator.log()), "nothing reached iMIS"
    # Just under the limit is read, and the member signs in.
    r = post(s, url, data={"p": p, "username": "hsimpson", "password": PASSWORD,
                           "pad": "x" * (MAX_BODY_BYTES - 1024)})
    assert (r.status_code, r.headers.get("location")) == (303, "/"), r.status_code
    assert requests.get(stack.url("globex.localhost", "/healthz"), verify=False, timeout=30).status_code == 200


def test_several_set_cookie_headers_reach_the_browser_as_several_headers(stack):
    """A completed sign-in sets the session cookie and rewrites the pending list in one response."""
    s = requests.Session()
    p = legacy_form(stack, s)
    r = post(s, stack.url("globex.localhost", "/signin"), data={"p": p, "username": "hsimpson", "password": PASSWORD})
    assert r.status_code == 303, r.status_code
    cookies = r.raw.headers.getlist("Set-Cookie")
    names = sorted(c.split("=", 1)[0] for c in cookies)
    assert names == ["__Host-idp-pending", "__Host-idp-session"], cookies
    assert all("Secure" in c and "HttpOnly" in c and "Path=/" in c for c in cookies), cookies


def test_the_spin_store_sweeps_expired_entries(stack, client):
    """Workers KV expires keys itself; on Spin, one request in 64 walks the store a few keys further
    and deletes what has expired (adapters/spin/src/sweep.rs). Planted in the store's folder: an
    expired take-once value, a counter more than an hour past its window, and their live twins."""
    if stack.runtime != "spin":
        pytest.skip("Workers KV expires keys by itself")
    folder = stack.state / "spin-kv/volatile"
    now_ms = int(time.time() * 1000)
    tag = secrets.token_hex(4)

    def counter(expires_s: int) -> bytes:
        return bytes([0xC7, 0x01]) + expires_s.to_bytes(4, "big") + (1).to_bytes(2, "big")

    planted = {
        f"once:sweep-{tag}-dead": (now_ms - 1000).to_bytes(8, "big") + b"payload",
        f"once:sweep-{tag}-live": (now_ms + 3_600_000).to_bytes(8, "big") + b"payload",
        f"counter:sweep-{tag}-dead": counter(now_ms // 1000 - 7200),
        f"counter:sweep-{tag}-live": counter(now_ms // 1000 + 600),
    }
    for key, value in planted.items():
        (folder / key.encode().hex()).write_bytes(value)
    dead = [k for k in planted if k.endswith("-dead")]

    def present(key: str) -> bool:
        return (folder / key.encode().hex()).exists()

    for _ in range(2000):
        if not any(present(k) for k in dead):
            break
        assert client.get("globex.localhost", "/healthz").status_code == 200
    assert not any(present(k) for k in dead), "expired entries still in the store after 2000 requests"
    assert all(present(k) for k in planted if k.endswith("-live")), "a live entry was swept"
    assert (folder / f"once:sweep-{tag}-live".encode().hex()).read_bytes() == planted[f"once:sweep-{tag}-live"]
    swept = [e for e in audit_events(stack) if e["event"] == "store.swept"]
    assert swept and all(e["outcome"] == "success" for e in swept), swept
    # The configuration store holds only what the CLI wrote: the IdP's own keys never go there,
    # so the sweep's listing does not grow with the tenant count.
    written_by_idp = [bytes.fromhex(f.name).decode() for f in (stack.state / "spin-kv/default").iterdir()
                      if not f.name.startswith(".") and bytes.fromhex(f.name).decode().startswith(
                          ("once:", "counter:", "cache:"))]
    assert not written_by_idp, written_by_idp


@pytest.mark.parametrize("host", ["acme.localhost", "bench.localhost"])
def test_the_served_build_has_no_measurement_route(stack, host):
    """The in-runtime measurement route (src/bench) exists only in scripts/bench's own builds: the
    build served here answers it as any unknown path (a tenant's or the neutral 404), with no
    measurement run."""
    status, body = status_and_body(raw_exchange(
        stack, f"GET /__bench/cpu?op=rsa&n=1 HTTP/1.1\r\nHost: {host}:{stack.idp_port}\r\n"
               "Connection: close\r\n\r\n".encode()))
    assert status == 404, (status, body[:300])
    assert b'"ok"' not in body and b"signatures_per_op" not in body
