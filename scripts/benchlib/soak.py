"""Soak: mixed SAML, OIDC and token-bridge traffic held on one runtime for a bounded time.

The other sections time one flow at a time; a soak asks whether the IdP keeps going under load
held for minutes: whether throughput and latency hold, whether any answer is wrong, and whether
the runtime's memory and the keys it keeps in its stores level off once their lifetimes and the
expiry sweeps catch up, or grow for as long as traffic comes.

Each of a fixed number of workers (threads) is a browser with jsmith signed in on acme, which
runs the three flows in turn, closed loop, as fast as the runtime answers:

* saml:   an HTTP-Redirect AuthnRequest to demo-sp, answered with the auto-submitting form whose
          SAMLResponse (decoded) has status Success, InResponseTo the request's ID, jsmith as
          NameID and a signature;
* oidc:   an authorization request of demo-rp (prompt=none, a 303 with a code), then the code
          exchanged at the token endpoint: a 200 whose id_token is a JWT for demo-rp;
* bridge: the demo vendor's silent signin (a one-time token) and its redemption at the user
          service: jsmith's user record;
* abandoned (one turn in ten): an authorization code and a one-time bridge token minted and never
          redeemed, as a relying party or vendor that fails mid-flow leaves them. They expire after
          60 s, so even a short run shows whether the expiry sweeps delete what nobody takes.

An answer counts as a success only when what the flow yields is there; anything else is an
error, with its message. Meanwhile the runtime process's resident memory (workerd, or wasmtime)
and the keys of its stores are sampled; on Workers the isolate's own memory (heap snapshots) is
read before the traffic, after the warm-up, at two thirds and at the end.

"Flat" is defined here, for memory and stored keys alike: after a warm-up (the first tenth of
the run, at most 60 s), the median of the samples of the run's last third exceeds the first
sample after the warm-up by at most FLAT_TOLERANCE (10%). It says whether something levels off
within the run, so a run shorter than what it stores lives (an authorization code 60 s, a SAML
replay counter 15 min, a refresh token 30 days) shows growth that is the lifetime at work; the
report says, by kind of key, how fast it grows, how long it lives, the level where it would stop
at that rate, and how much of it has expired yet is still there, which is what the sweeps are
for.
"""
from __future__ import annotations

import base64
import html
import http.client
import json
import os
import re
import secrets
import sqlite3
import statistics
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import requests
import websocket

import bench_tenants
import stack as stack_mod

from .cpu import runtime_cpu
from .latency import bridge_once, bridge_signin, bridge_signin_url
from .oidc import OidcBrowser
from .report import Report, p50_p99
from .saml import authn_request_query, saml_session, sso_page
from .tokens import RP_BASIC, RP_REDIRECT, TokenTarget

KINDS = ("saml", "oidc", "bridge")
# The turns each worker takes in order: the complete flows three times, then an abandoned one.
CYCLE = KINDS * 3 + ("abandoned",)
# HTTP requests to the IdP per operation of each kind (for memory per request).
REQUESTS = {"saml": 1, "oidc": 2, "bridge": 2, "abandoned": 2}
# How much the median of a figure's last third may exceed its first sample after the warm-up,
# and the figure still count as flat.
FLAT_TOLERANCE = 0.10
# The warm-up, excluded from latencies and throughput and before the baseline sample of "flat".
WARM_UP_SHARE, WARM_UP_MAX_S = 0.10, 60.0
# How many memory and store samples a run takes (at most one per 5 s).
SAMPLES = 36
# Distinct error messages kept for the report.
FIRST_ERRORS = 5
# How long an expired key may stay before its sweep: on Workers the alarm's period, on Spin a
# counter is kept an hour past its window (adapters/spin/src/sweep.rs); take-once values go at
# the next sweep step that reaches them.
SWEEP_LAG_S = {"workers": {"once": 60.0, "counter": 60.0}, "spin": {"once": 0.0, "counter": 3600.0}}
# How long a key is kept on purpose after its expiry: on Spin a counter an hour past its window.
KEPT_PAST_EXPIRY_S = {"spin": {"counter": 3600.0}}
# How long past its expiry a key may still be stored at the end of a soak for the sweeps to count
# as keeping up: two of the Workers alarm periods.
OVERDUE_GOAL_S = 120.0
# The OnceStore's alarm period once it has fired (adapters/worker/src/once_store.rs).
ALARM_PERIOD_S = 60.0

WHAT_SWEEPS = {
    "workers": "the OnceStore Durable Object's alarm (adapters/worker/src/once_store.rs): each write moves its "
               "shard's alarm to a second after that entry's expiry when that comes sooner (never later); "
               "then every 60 s while the shard holds entries; it deletes entries past their expiry. "
               "Config KV: written by the CLI only.",
    "spin": "a sweep step after 1 in 64 GET/HEAD responses (adapters/spin/src/sweep.rs): the next sixteenth "
            "(64 to 1,024 keys) of the volatile store's once:/counter: keys, deleting take-once values past "
            "their expiry and counters an hour past their window. The default store (config) is written by "
            "the CLI only.",
}


# -- the flows ------------------------------------------------------------------------------

class Member:
    """One worker's browser: jsmith signed in on acme (through the emulated RiSE page), with the
    vendor session and the token-endpoint connection it drives the three flows with."""

    def __init__(self, stack):
        self.stack = stack
        self.s = saml_session(stack)
        self.browser = OidcBrowser(stack, self.s)
        self.vendor = requests.Session()
        self.vendor.verify = False
        self.signin_url = bridge_signin_url(stack)
        self.target = TokenTarget(stack.idp_port, "acme.localhost", "/oidc/token", RP_BASIC, RP_REDIRECT)
        self.conn = self.target.conn()

    def run(self, kind: str) -> None:
        """One flow of `kind`; raises unless its answer is right."""
        {"saml": self.saml, "oidc": self.oidc, "bridge": self.bridge, "abandoned": self.abandoned}[kind]()

    def saml(self) -> None:
        request_id = f"_{secrets.token_hex(16)}"
        page = sso_page(self.stack, self.s, authn_request_query(self.stack, "demo-sp", self.stack.sp_origin,
                                                                request_id))
        check_saml_response(page, request_id)

    def oidc(self) -> None:
        code = self.browser.codes("demo-rp", RP_REDIRECT, 1)[0]
        try:
            status, body = self.target.exchange(self.conn, code)
        except (OSError, http.client.HTTPException):
            # A broken keep-alive connection: the next exchange gets a new one.
            self.conn.close()
            self.conn = self.target.conn()
            raise
        check_token_response(status, body)

    def bridge(self) -> None:
        _, _, user = bridge_once(self.stack, self.s, self.vendor, self.signin_url)
        check_bridge_user(user)

    def abandoned(self) -> None:
        """A code and a bridge token minted (each answer checked) and left to expire."""
        self.browser.codes("demo-rp", RP_REDIRECT, 1)
        bridge_signin(self.s, self.signin_url)


def check_saml_response(page: str, request_id: str) -> None:
    """The form's SAMLResponse answers `request_id` with Success, for jsmith, signed."""
    m = re.search(r'name="SAMLResponse" value="([^"]+)"', page)
    if not m:
        raise RuntimeError("SSO page without a SAMLResponse field")
    xml = base64.b64decode(html.unescape(m.group(1))).decode("utf-8", "replace")
    for what, ok in (("status Success", "urn:oasis:names:tc:SAML:2.0:status:Success" in xml),
                     ("InResponseTo", f'InResponseTo="{request_id}"' in xml),
                     ("NameID jsmith", re.search(r"NameID[^>]*>jsmith<", xml) is not None),
                     ("signature", "SignatureValue" in xml)):
        if not ok:
            raise RuntimeError(f"SAMLResponse without {what}: {xml[:200]}")


def check_token_response(status: int, body: bytes) -> None:
    """A 200 token response with an access token and an id_token issued to demo-rp."""
    if status != 200:
        raise RuntimeError(f"token endpoint answered {status}: {body[:200]!r}")
    answer = json.loads(body)
    parts = str(answer.get("id_token", "")).split(".")
    if len(parts) != 3 or not answer.get("access_token"):
        raise RuntimeError(f"token response without an id_token and access token: {body[:200]!r}")
    claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    aud = claims.get("aud")
    if "demo-rp" not in (aud if isinstance(aud, list) else [aud]) or not claims.get("sub"):
        raise RuntimeError(f"id_token not for demo-rp or without sub: {claims}")


def check_bridge_user(answer: requests.Response) -> None:
    """The user service's record is jsmith's."""
    user = answer.json()
    if user.get("username") != "jsmith" or not user.get("imis_id"):
        raise RuntimeError(f"bridge user record is not jsmith's: {answer.text[:200]}")


# -- the stores -----------------------------------------------------------------------------

@dataclass
class Stored:
    """The keys of a runtime's stores at one moment."""
    config: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    # Keys whose own expiry has passed but that are still stored.
    expired: Counter[str] = field(default_factory=Counter)
    # How long the oldest expired key of each kind has been past its expiry (s).
    overdue: dict[str, float] = field(default_factory=dict)
    # The longest time a key of each kind has yet to live (s): about its lifetime, when the
    # newest key of the kind was written just before.
    longest: dict[str, float] = field(default_factory=dict)
    # Workers: the shards' pending sweep alarms (seconds from now), their expired keys, and how
    # long the oldest of those has been past its expiry (s).
    alarms: dict[str, float] = field(default_factory=dict)
    expired_on: Counter[str] = field(default_factory=Counter)
    overdue_on: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Keys the IdP wrote itself (not the configuration)."""
        return sum(self.by_kind.values())

    def add(self, kind: str, exp_ms: float | None, now_ms: float) -> None:
        """Counts a key of `kind` that expires at `exp_ms` (None: never)."""
        self.by_kind[kind] += 1
        if exp_ms is None:
            return
        if exp_ms < now_ms:
            self.expired[kind] += 1
            self.overdue[kind] = max(self.overdue.get(kind, 0.0), (now_ms - exp_ms) / 1000)
        self.longest[kind] = max(self.longest.get(kind, 0.0), (exp_ms - now_ms) / 1000)


def kind_of(namespace: str, logical: str) -> str:
    """A key's kind: its namespace and the segments of its logical key before the tenant id
    (`once:oidc:code`, `counter:saml-req`), so that stores of both runtimes read alike."""
    parts = logical.split(":")
    head = []
    for part in parts:
        if part in stack_mod.DEMO_TENANTS:
            break
        head.append(part)
    return ":".join([namespace, *head[:2]])


def stored_keys(stack) -> Stored:
    """The keys in the stack's stores now, by kind."""
    return workers_stored(stack.state) if stack.runtime == "workers" else spin_stored(stack.state)


def workers_stored(state: Path) -> Stored:
    """wrangler dev persists the OnceStore Durable Object's shards as one SQLite file each
    (table `_cf_KV`, values in V8's serialization), their alarms in `metadata.sqlite`, and the
    configuration KV in miniflare's `_mf_entries`. Read through read-only connections: the
    files are in WAL mode, so reading never blocks workerd's writes."""
    out, now_ms = Stored(), time.time() * 1000
    do = state / "wrangler/v3/do/edge-idp-OnceStore"
    for db in sorted(do.glob("*.sqlite")):
        if db.name == "metadata.sqlite":
            for name, at_ns in query(db, "SELECT actor_name, scheduled_time FROM _cf_ALARM"):
                out.alarms[name] = at_ns / 1e9 - now_ms / 1000
            continue
        shard = next(iter(query(db, "SELECT name FROM __miniflare_do_name")), ("?",))[0]
        for key, value in query(db, "SELECT key, value FROM _cf_KV"):
            namespace, logical = ("counter", key[len("count:"):]) if key.startswith("count:") else ("once", key)
            exp = v8_exp(value)
            out.add(kind_of(namespace, logical), exp, now_ms)
            if exp is not None and exp < now_ms:
                out.expired_on[shard] += 1
                out.overdue_on[shard] = max(out.overdue_on.get(shard, 0.0), (now_ms - exp) / 1000)
    for db in (state / "wrangler/v3/kv/miniflare-KVNamespaceObject").glob("*.sqlite"):
        if db.name != "metadata.sqlite":
            out.config += sum(n for (n,) in query(db, "SELECT count(*) FROM _mf_entries"))
    return out


def query(db: Path, sql: str) -> list[tuple]:
    """The rows of `sql` in the SQLite file `db`, opened read-only; none if it has no such table
    yet (a shard created but not yet written)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def v8_exp(value: bytes) -> float | None:
    """The `exp` (ms since the epoch) of a OnceStore entry as V8 serializes it: the one-byte
    string "exp", then a double ('N', 8 bytes little-endian)."""
    at = value.find(b'"\x03expN')
    if at < 0 or len(value) < at + 14:
        return None
    return struct.unpack_from("<d", value, at + 6)[0]


def spin_stored(state: Path) -> Stored:
    """The local Spin route's stores are folders, one file per key named by the key's hex
    (tools/spin-kv-provider): `default` the configuration, `volatile` what the IdP writes."""
    out, now_ms = Stored(), time.time() * 1000
    kv = state / "spin-kv"
    out.config = sum(1 for _ in keys_in(kv / "default"))
    for key, path in keys_in(kv / "volatile"):
        namespace, _, logical = key.partition(":")
        try:
            value = path.read_bytes()
        except FileNotFoundError:
            continue  # taken or swept since the listing
        out.add(kind_of(namespace, logical), spin_exp(namespace, value, now_ms), now_ms)
    return out


def keys_in(folder: Path) -> Iterator[tuple[str, Path]]:
    """(key, file) for each key file of a local Spin store folder; lock and temporary files
    (dot names) are no keys."""
    for path in folder.iterdir() if folder.is_dir() else ():
        try:
            yield bytes.fromhex(path.name).decode(), path
        except ValueError:
            continue


def spin_exp(namespace: str, value: bytes, now_ms: float) -> float | None:
    """The expiry (ms since the epoch) of a volatile value (docs/kv-layout.md §3.2): a take-once
    value starts with it (8 bytes big-endian ms); a counter record has it in whole seconds after
    two magic bytes. A tombstone a taker left, dead as the sweep sees it, expires `now_ms`."""
    if namespace == "once":
        return now_ms if value == b"\0taken" or len(value) < 8 else float(struct.unpack(">Q", value[:8])[0])
    if namespace == "counter" and len(value) == 8 and value[:2] == b"\xc7\x01":
        return struct.unpack(">I", value[2:6])[0] * 1000.0
    return None


# -- the run --------------------------------------------------------------------------------

@dataclass
class Op:
    """One flow: when it ended (s since the start), its kind, its wall time (ms), its error."""
    at: float
    kind: str
    ms: float
    error: str | None


@dataclass
class Sample:
    """The runtime's resident memory (MB) and the IdP's stored keys, `at` s since the start."""
    at: float
    rss: float
    keys: int


def work(member: Member, first: int, start: float, deadline: float, ops: list[Op]) -> None:
    """A worker's loop: the turns of CYCLE from `first`, until `deadline`. An exception is an
    error of that flow; after one the worker pauses briefly, so that a runtime that is down is
    not asked in a tight loop."""
    i = first
    while time.perf_counter() < deadline:
        kind = CYCLE[i % len(CYCLE)]
        i += 1
        t0 = time.perf_counter()
        try:
            member.run(kind)
            error = None
        except Exception as e:  # noqa: BLE001 — every failure is a figure of the soak
            error = f"{kind}: {type(e).__name__}: {e}"[:300]
        t1 = time.perf_counter()
        ops.append(Op(t1 - start, kind, (t1 - t0) * 1000, error))
        if error:
            time.sleep(0.05)


def run_traffic(members: list[Member], seconds: float, sample: Callable[[float], None]) -> list[Op]:
    """Runs the workers for `seconds`, calling `sample(elapsed)` SAMPLES times meanwhile (and
    at the start and the end); every worker's operations, in no particular order."""
    start = time.perf_counter()
    deadline = start + seconds
    per_worker: list[list[Op]] = [[] for _ in members]
    threads = [threading.Thread(target=work, args=(m, i, start, deadline, per_worker[i]), daemon=True)
               for i, m in enumerate(members)]
    sample(0.0)
    for t in threads:
        t.start()
    every = max(5.0, seconds / SAMPLES)
    next_at = every
    while (now := time.perf_counter() - start) < seconds:
        time.sleep(max(0.0, min(next_at, seconds) - now))
        if time.perf_counter() - start < seconds - 1:
            sample(time.perf_counter() - start)
        next_at += every
    for t in threads:
        t.join(timeout=60)
    sample(time.perf_counter() - start)
    return [op for ops in per_worker for op in ops]


def growth(samples: list[tuple[float, float]], seconds: float, warm_up: float) -> tuple[float, float, float, float]:
    """Of (t, value) samples: the baseline (the first sample at or after the warm-up), the median
    and the highest value of the last third, and the last third's slope per minute (least
    squares). The median, not the peak, decides "flat": a runtime's memory moves with the
    requests in flight at the moment of a sample."""
    baseline = next((v for t, v in samples if t >= warm_up), samples[-1][1])
    last = [(t, v) for t, v in samples if t >= seconds * 2 / 3] or samples[-1:]
    values = [v for _, v in last]
    return baseline, statistics.median(values), max(values), slope(last) * 60


def slope(points: list[tuple[float, float]]) -> float:
    """The least-squares slope of `points` per unit of t (0 for fewer than two)."""
    if len(points) < 2:
        return 0.0
    mt = statistics.fmean(t for t, _ in points)
    mv = statistics.fmean(v for _, v in points)
    den = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (v - mv) for t, v in points) / den if den else 0.0


def flat_figure(report: Report, runtime: str, what: str, unit: str, samples: list[tuple[float, float]],
                seconds: float, warm_up: float) -> None:
    """A line and a summary row for a figure that should level off: the rise of its last third's
    median over its baseline, goal FLAT_TOLERANCE."""
    baseline, median, peak, rate = growth(samples, seconds, warm_up)
    rise = (median - baseline) / max(baseline, 1e-9) * 100
    verdict = "flat" if rise <= FLAT_TOLERANCE * 100 else "growing"
    report.line("soak", f"{runtime:7} {what}: start {samples[0][1]:.1f} {unit}, after warm-up {baseline:.1f}, "
                f"end {samples[-1][1]:.1f}; last third median {median:.1f} ({rise:+.1f}%), peak {peak:.1f}, "
                f"slope {rate:+.1f} {unit}/min -> {verdict}")
    report.figure(runtime, f"soak: {what}, last third vs after warm-up", rise, "%", FLAT_TOLERANCE * 100,
                  f"flat: median <= +{FLAT_TOLERANCE * 100:.0f}%")


def report_traffic(report: Report, runtime: str, ops: list[Op], seconds: float, warm_up: float) -> None:
    """Throughput, latency per kind and throughput by third (after the warm-up), errors over the
    whole run."""
    timed = [op for op in ops if op.at >= warm_up and not op.error]
    span = seconds - warm_up
    report.line("soak", f"{runtime:7} all kinds  {len(timed) / span:7.1f} ops/s  ({len(ops)} operations in "
                f"{seconds:.0f} s, {len(timed)} timed after a {warm_up:.0f} s warm-up)")
    report.figure(runtime, "soak: operations/s, all kinds", len(timed) / span, "ops/s", None, "- (highest sustained)")
    for kind in KINDS + ("abandoned",):
        times = [op.ms for op in timed if op.kind == kind]
        if not times:
            continue
        p50, p99 = p50_p99(times)
        rate = len(times) / span
        report.line("soak", f"{runtime:7} {kind:9} {rate:7.1f} ops/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms")
        if kind in KINDS:
            report.figure(runtime, f"soak: {kind} ops/s", rate, "ops/s", None, "-")
            report.figure(runtime, f"soak: {kind} latency p50", p50, "ms", None, "-")
            report.figure(runtime, f"soak: {kind} latency p99", p99, "ms", None, "-")
    thirds = [sum(1 for op in timed if warm_up + span * k / 3 <= op.at < warm_up + span * (k + 1) / 3) / (span / 3)
              for k in range(3)]
    report.line("soak", f"{runtime:7} ops/s by third: " + " / ".join(f"{t:.1f}" for t in thirds))
    errors = [op.error for op in ops if op.error]
    report.line("soak", f"{runtime:7} errors {len(errors)} of {len(ops)}")
    for message, n in Counter(errors).most_common(FIRST_ERRORS):
        report.line("soak", f"{runtime:7}   {n} x {message}")
    report.figure(runtime, "soak: errors", len(errors), "errors", 0, "0")


def life_text(seconds: float) -> str:
    """A duration in the unit that reads best."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def report_stores(report: Report, runtime: str, start: Stored, end: Stored, seconds: float) -> None:
    """The stored keys by kind at the start and the end: how fast each kind grew, how long its
    keys live, how many have expired yet are still stored, and the level where it would stop
    growing at this rate (rate x (lifetime + the sweep's lag)) if the sweeps keep up."""
    report.line("soak", f"{runtime:7} configuration keys {start.config} -> {end.config}")
    for kind in sorted(set(start.by_kind) | set(end.by_kind)):
        n0, n1 = start.by_kind[kind], end.by_kind[kind]
        rate = (n1 - n0) / seconds
        text = f"{runtime:7} stored {kind:24} {n0:6} -> {n1:6} ({rate:+6.1f}/s)"
        life = end.longest.get(kind)
        if life is not None:
            text += f"; past expiry at the end {end.expired[kind]}"
            if end.expired[kind]:
                text += f" (the oldest by {life_text(end.overdue[kind])})"
            lag = SWEEP_LAG_S[runtime].get(kind.split(":")[0], 0.0)
            if life > 0 and life + lag < seconds / 2:
                # Written and swept many times over within the run: its count is already its
                # level, and the net growth says nothing of how fast it is written.
                text += f"; lives up to {life_text(life)}: level within the run"
            elif life > 0 and rate > 0:
                text += (f"; lives up to {life_text(life)}: at this rate levels off near "
                         f"{rate * (life + lag):,.0f} after {life_text(life + lag)}")
        report.line("soak", text)
    report.figure(runtime, "soak: stored keys past their expiry, at the end", sum(end.expired.values()), "keys",
                  None, "- (what the sweeps have yet to delete)")
    # Keys that live longer than the run (replay counters, used-code markers) grow through any
    # run shorter than their lifetime; the sweeps keep up when nothing expired waits long.
    kept = KEPT_PAST_EXPIRY_S.get(runtime, {})
    overdue = max((late - kept.get(kind.split(":")[0], 0.0) for kind, late in end.overdue.items()), default=0.0)
    report.figure(runtime, "soak: the longest an expired key was still stored", max(overdue, 0.0), "s",
                  OVERDUE_GOAL_S, f"<= {OVERDUE_GOAL_S:.0f} s past the time its sweep may delete it")
    report_alarms(report, runtime, end)
    report.line("soak", f"{runtime:7} what sweeps expiry: {WHAT_SWEEPS[runtime]}")


def report_alarms(report: Report, runtime: str, end: Stored) -> None:
    """Workers: when each shard's sweep is due and the expired keys it holds. Every write brings
    its shard's alarm forward to its own expiry, so a shard due later than a minute holds only
    entries that live longer (a SAML replay counter 15 min, a used-code marker 1 h, a refresh
    token 30 days); expired keys there would mean the alarm was not brought forward."""
    if not end.alarms:
        return
    due = {name: s for name, s in end.alarms.items() if s <= ALARM_PERIOD_S + 1}
    later = {name: s for name, s in end.alarms.items() if name not in due}
    for what, shards in (("due within a minute", due), ("due later", later)):
        if not shards:
            continue
        expired = sum(end.expired_on[s] for s in shards)
        overdue = max((end.overdue_on.get(s, 0.0) for s in shards), default=0.0)
        # The later alarms, grouped to the minute, soonest first.
        whens = Counter(round(shards[s] / 60) * 60 for s in shards) if shards is later else Counter()
        report.line("soak", f"{runtime:7} {len(shards):2} shards with their sweep alarm {what}"
                    f"{''.join(f', {n} in {life_text(w)}' for w, n in sorted(whens.items()))}: "
                    f"{expired} expired keys, the oldest {life_text(overdue)} past its expiry")
    if later:
        report.line("soak", f"{runtime:7}   on the shards due later nothing expired is deleted before that alarm")


def sweeps_logged(stack) -> tuple[int, int, int]:
    """From the runtime's log: the sweep steps that deleted something (the Spin adapter logs
    only those, as `store.swept`), the keys they read and the keys they deleted."""
    steps = re.findall(r"deleted (\d+) expired of (\d+) entries read", stack.runtime_output())
    return len(steps), sum(int(read) for _, read in steps), sum(int(gone) for gone, _ in steps)


def report_memory(report: Report, runtime: str, samples: list[Sample], ops: list[Op], seconds: float,
                  warm_up: float, isolate: list[tuple[float, float | str | None]]) -> None:
    """The runtime process's RSS (flat or not, and per request) and, on Workers, the isolate's
    (flat or not, from its few snapshots)."""
    flat_figure(report, runtime, "runtime process RSS", "MB", [(s.at, s.rss) for s in samples], seconds, warm_up)
    requests_sent = sum(REQUESTS[op.kind] for op in ops)
    grown = samples[-1].rss - samples[0].rss
    report.line("soak", f"{runtime:7} RSS {grown:+.1f} MB over {requests_sent} requests to the IdP: "
                f"{grown * 1024 / max(requests_sent, 1):+.1f} KB per request")
    read = [(at, mb) for at, mb in isolate if isinstance(mb, float)]
    failed = [mb for _, mb in isolate if isinstance(mb, str)]
    if failed:
        report.line("soak", f"{runtime:7} isolate memory: {len(failed)} heap snapshot(s) not read: {failed[0]}")
    if len(read) >= 2:
        report.line("soak", f"{runtime:7} isolate memory (heap snapshots at "
                    + ", ".join(f"{at:.0f} s {mb:.2f} MB" for at, mb in read) + ")")
        flat_figure(report, runtime, "isolate memory", "MB", read, seconds, warm_up)


class Isolate:
    """Workers: the isolate's memory (heap snapshots) through one inspector connection held from
    before the traffic to after it. A connection opened only after a few minutes of traffic made
    wrangler dev's inspector proxy and workerd run out of file descriptors (20,000, then "Too many
    open files" in a loop) and the snapshot never came; over the held connection it takes seconds,
    the run's queued messages skipped. A snapshot that fails all the same is reported, not fatal."""

    def __init__(self, stack):
        self.ws = None
        self.asked = 0
        if stack.runtime == "workers":
            self.ws = websocket.create_connection(f"ws://127.0.0.1:{stack.inspector_port}/ws", timeout=120)

    def mb(self) -> float | str | None:
        """The isolate's memory in MB, None on Spin, or why it could not be read."""
        if self.ws is None:
            return None
        self.asked += 1
        try:
            return bench_tenants.heap_snapshot_mb(self.ws, self.asked)
        except Exception as e:  # noqa: BLE001 — reported instead of the figure
            return f"{type(e).__name__}: {e}"

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()


def warm(members: list[Member]) -> None:
    """One of each flow per worker, before anything is timed: caches, keys and connections."""
    for m in members:
        for kind in KINDS:
            m.run(kind)


def soak(stack, seconds: float, workers: int, report: Report) -> None:
    """Holds the mixed traffic on `stack` for `seconds` with `workers` workers and reports it."""
    r = stack.runtime
    report.line("soak", f"{r:7} {seconds:.0f} s, {workers} workers, turns {', '.join(CYCLE)}")
    members = [Member(stack) for _ in range(workers)]
    warm(members)
    warm_up = min(WARM_UP_MAX_S, seconds * WARM_UP_SHARE)
    isolate = Isolate(stack)
    try:
        # The isolate before the traffic, after the warm-up, at two thirds and at the end: a
        # snapshot pauses the isolate, so only a few.
        isolate_samples = [(0.0, isolate.mb())]
        marks = [warm_up, seconds * 2 / 3]
        store_start, swept_start = stored_keys(stack), sweeps_logged(stack)
        samples: list[Sample] = []
        cpu = runtime_cpu(stack)
        cpu0, own0 = cpu(), os.times()

        def sample(at: float) -> None:
            samples.append(Sample(at, bench_tenants.rss_mb(stack), stored_keys(stack).total))
            if marks and at >= marks[0] and isolate.ws is not None:
                marks.pop(0)
                isolate_samples.append((at, isolate.mb()))

        ops = run_traffic(members, seconds, sample)
        runtime_cores, own = (cpu() - cpu0) / seconds, os.times()
        driver_cores = (own.user + own.system - own0.user - own0.system) / seconds
        store_end, swept_end = stored_keys(stack), sweeps_logged(stack)
        report_traffic(report, r, ops, seconds, warm_up)
        isolate_samples.append((seconds, isolate.mb()))
    finally:
        isolate.close()
    report.line("soak", f"{r:7} CPU: runtime process {runtime_cores * 100:.0f}% of a core, this driver "
                f"{driver_cores * 100:.0f}% ({os.cpu_count()} cores in all, shared)")
    report_memory(report, r, samples, ops, seconds, warm_up, isolate_samples)
    flat_figure(report, r, "stored keys", "keys", [(s.at, float(s.keys)) for s in samples], seconds, warm_up)
    report_stores(report, r, store_start, store_end, seconds)
    if r == "spin":
        steps, read, gone = (b - a for a, b in zip(swept_start, swept_end))
        report.line("soak", f"{r:7} sweep steps that deleted something: {steps} (read {read} keys, deleted {gone})")
