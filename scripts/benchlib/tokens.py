"""A token endpoint and the bench's clients of it, and the code -> token exchanges every OIDC
figure is made of (ours on each runtime, and oidc-provider's)."""
from __future__ import annotations

import base64
import http.client
import ssl
import threading
import time
from typing import Callable
from urllib.parse import urlencode

from .report import p50_p99

RP_REDIRECT = "https://demo-rp.localhost/callback"
ES_CLIENT = "bench-es"  # written into the rendered tenant folder by oidc.add_es256_client (bench only)
ES_REDIRECT = "https://bench-es.localhost/callback"
RP_BASIC = "Basic " + base64.b64encode(b"demo-rp:demo-rp-secret").decode()
ES_BASIC = "Basic " + base64.b64encode(f"{ES_CLIENT}:demo-rp-secret".encode()).decode()
# Sent before the timed requests to open each connection (TLS); the endpoint refuses it.
WARM_UP_CODE = "warm-up-not-a-code"


class TokenTarget:
    """A token endpoint and one client of it: where to POST, and how to authenticate."""

    def __init__(self, port: int, host: str, path: str, auth: str, redirect_uri: str):
        self.port, self.host, self.path, self.auth, self.redirect_uri = port, host, path, auth, redirect_uri

    def conn(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=ssl._create_unverified_context())

    def post(self, conn: http.client.HTTPSConnection, code: str) -> int:
        """Exchanges `code`; the answer's status."""
        return self.exchange(conn, code)[0]

    def exchange(self, conn: http.client.HTTPSConnection, code: str) -> tuple[int, bytes]:
        """Exchanges `code`: the answer's status and body (the token response, for a caller that
        checks what it got, not only that it got a 200)."""
        body = urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri})
        conn.request("POST", self.path, body=body, headers={
            "Host": self.host, "Content-Type": "application/x-www-form-urlencoded", "Authorization": self.auth})
        resp = conn.getresponse()
        return resp.status, resp.read()


def exchange_sequential(target: TokenTarget, codes: list[str],
                        cpu: Callable[[], float] | None = None) -> tuple[float, float, float, float]:
    """Exchanges `codes` one after the other on one keep-alive connection: CPU ms per exchange in
    the server process (`cpu()` read around the POSTs only; 0 without it), wall p50 and p99 (ms),
    and exchanges per second."""
    conn = target.conn()
    target.post(conn, WARM_UP_CODE)
    times = []
    c0 = cpu() if cpu else 0.0
    t_start = time.perf_counter()
    for code in codes:
        t0 = time.perf_counter()
        status = target.post(conn, code)
        times.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            raise RuntimeError(f"{target.path} answered {status}")
    elapsed = time.perf_counter() - t_start
    c1 = cpu() if cpu else 0.0
    conn.close()
    p50, p99 = p50_p99(times)
    return (c1 - c0) * 1000 / len(codes), p50, p99, len(codes) / elapsed


def exchange_concurrent(target: TokenTarget, codes: list[str], conc: int) -> float:
    """Exchanges per second with `conc` keep-alive connections working through `codes`."""
    lock, todo, failures = threading.Lock(), list(codes), []
    conns = [target.conn() for _ in range(conc)]
    for c in conns:
        target.post(c, WARM_UP_CODE)

    def work(conn) -> None:
        while True:
            with lock:
                if not todo:
                    return
                code = todo.pop()
            status = target.post(conn, code)
            if status != 200:
                failures.append(status)

    threads = [threading.Thread(target=work, args=(c,)) for c in conns]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    for c in conns:
        c.close()
    if failures:
        raise RuntimeError(f"{target.path} answered {failures[:5]} under concurrency {conc}")
    return len(codes) / elapsed
