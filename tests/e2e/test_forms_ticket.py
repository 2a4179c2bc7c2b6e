"""Legacy mode's silent sign-in end to end on each runtime: a member whose browser carries iMIS
2017's forms-authentication cookie (as iMIS sets it for the parent domain when it has an explicit
machineKey) is signed in without the form; any doubt about the cookie shows the form.

The tickets are made here with Python's `cryptography`, following ASP.NET's published layout: a
third implementation besides the IdP's and the published ASP.NET vectors of the unit tests."""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import struct
import time

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from test_signin import PASSWORD, browser, emulator, get, post, signed_in_as  # noqa: F401

# The globex demo tenant's <machineKey> (demo/tenants/globex/tenant.json): Framework45, HMACSHA256.
VALIDATION_KEY = bytes.fromhex("6F1C" * 32)
DECRYPTION_KEY = bytes.fromhex("A37B" * 16)
HOST = "globex.localhost"
UNIX_EPOCH_TICKS = 621_355_968_000_000_000


def derive(key: bytes) -> bytes:
    """SP 800-108 counter mode, HMAC-SHA512, label FormsAuthentication.Ticket, no context."""
    out, i = b"", 1
    while len(out) < len(key):
        msg = struct.pack(">I", i) + b"FormsAuthentication.Ticket\x00" + struct.pack(">I", len(key) * 8)
        out += hmac.new(key, msg, hashlib.sha512).digest()
        i += 1
    return out[: len(key)]


def net_string(s: str) -> bytes:
    units = s.encode("utf-16-le")
    n, prefix = len(units) // 2, b""
    while True:
        b, n = n & 0x7F, n >> 7
        prefix += bytes([b | 0x80 if n else b])
        if not n:
            return prefix + units


def ticket(name: str, issued: float | None = None, lifetime: float = 3600) -> bytes:
    issued = time.time() if issued is None else issued
    ticks = lambda t: struct.pack("<q", int(t * 10_000_000) + UNIX_EPOCH_TICKS)  # noqa: E731
    return (b"\x01\x02" + ticks(issued) + b"\xfe" + ticks(issued + lifetime) + b"\x00"
            + net_string(name) + net_string("") + net_string("/") + b"\xff")


def protect(serialized: bytes, validation_key=VALIDATION_KEY, decryption_key=DECRYPTION_KEY) -> str:
    """ASP.NET 4.5's protection: IV ‖ AES-CBC ‖ HMAC-SHA256(IV ‖ ciphertext), upper-case hex."""
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    enc = Cipher(algorithms.AES(derive(decryption_key)), modes.CBC(iv)).encryptor()
    body = iv + enc.update(padder.update(serialized) + padder.finalize()) + enc.finalize()
    return (body + hmac.new(derive(validation_key), body, hashlib.sha256).digest()).hex().upper()


def with_imis_cookie(value: str):
    s = browser()
    s.cookies.set("Login", value, domain=HOST, path="/")
    return s


def start(stack, s) -> tuple[int, str, str]:
    """A sign-in that waits for the member: (status, location, body) of the legacy page."""
    r = get(s, stack.url(HOST, "/signin?return=/healthz"))
    assert r.status_code == 303 and r.headers["location"].startswith("/signin?p="), r.text
    page = get(s, stack.url(HOST, r.headers["location"]))
    return page.status_code, page.headers.get("location", ""), page.text


def test_a_member_signed_in_to_imis_is_not_asked_for_the_password(stack, emulator):
    s = with_imis_cookie(protect(ticket("hsimpson")))
    status, location, _ = start(stack, s)
    assert (status, location) == (303, "/healthz")
    assert signed_in_as(stack, s, HOST) == "Homer Simpson"
    paths = [e["path"] for e in emulator.log()]
    assert any("/api/User" in p for p in paths), "the member is looked up in iMIS"
    out = stack.runtime_output()
    assert '"event":"signin.forms_ticket"' in out
    assert s.cookies.get("Login", domain=HOST) not in out, "the cookie is never logged"


def test_any_doubt_about_the_cookie_shows_the_form(stack, emulator):
    good = protect(ticket("hsimpson"))
    doubtful = {
        "tampered": good[:40] + ("0" if good[40] != "0" else "1") + good[41:],
        "another key": protect(ticket("hsimpson"), validation_key=bytes(64)),
        "expired": protect(ticket("hsimpson", issued=time.time() - 7200, lifetime=3600)),
        "older than the tenant's max age": protect(ticket("hsimpson", issued=time.time() - 9 * 3600,
                                                          lifetime=86400)),
        "issued in the future": protect(ticket("hsimpson", issued=time.time() + 3600)),
        "not a ticket": "hello",
        "empty name": protect(ticket("")),
    }
    for why, value in doubtful.items():
        s = with_imis_cookie(value)
        status, _, body = start(stack, s)
        assert status == 200 and 'id="signin-form"' in body, why
        assert signed_in_as(stack, s, HOST) is None, why
    assert '"outcome":"refused"' in stack.runtime_output()


def test_a_ticket_for_a_member_imis_does_not_know_signs_nobody_in(stack, emulator):
    s = with_imis_cookie(protect(ticket("no-such-member")))
    status, _, body = start(stack, s)
    assert status >= 400 and 'id="signin-form"' not in body
    assert signed_in_as(stack, s, HOST) is None


def test_a_forced_sign_in_shows_the_form_despite_the_cookie(stack, emulator):
    s = with_imis_cookie(protect(ticket("hsimpson")))
    r = get(s, stack.url(HOST, "/signin?return=/healthz&prompt=login"))
    assert r.status_code == 303
    page = get(s, stack.url(HOST, r.headers["location"]))
    assert page.status_code == 200 and 'id="signin-form"' in page.text
    assert signed_in_as(stack, s, HOST) is None
    # The form still works, and is what signs the member in.
    p = re.search(r'name="p" value="([^"]+)"', page.text).group(1)
    done = post(s, stack.url(HOST, "/signin"), data={"p": p, "username": "hsimpson", "password": PASSWORD})
    assert (done.status_code, done.headers["location"]) == (303, "/healthz")
