#!/usr/bin/env python3
"""A TLS terminator for the local Spin route: `wasmtime serve` speaks plain HTTP, while `Secure`
and `__Host-` cookies, https ACS URLs and real issuers need https. Accepts TLS on --listen and
forwards each HTTP/1.1 request to --backend unchanged (the Host header included) but for one
header: like Spin's HTTP trigger, it tells the component the client's address in
`spin-client-addr` ("ip:port" of the TCP peer), after removing any value the client sent — a client
must not choose its address (the per-address password throttle counts by it). Responses are piped
back unchanged.

Requests are framed strictly (Content-Length or chunked, never both; CRLF line ends; no obsolete
line folding): a request the proxy cannot frame unambiguously is not forwarded but ends the
connection, so nothing can be smuggled past the header rewrite.

    tls_proxy.py --listen 127.0.0.1:3000 --backend 127.0.0.1:3001 --cert cert.pem --key key.pem
"""
from __future__ import annotations

import argparse
import asyncio
import re
import ssl

CLIENT_ADDR = b"spin-client-addr"
MAX_HEAD = 64 * 1024
# How long a closing connection still takes in what the client sends (see `linger`).
LINGER_SECS = 2.0
REQUEST_LINE = re.compile(rb"[A-Z]+ [\x21-\x7e]+ HTTP/1\.[01]")
HEADER_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\x00\r\n]*?)[ \t]*")
CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})(?:;[^\x00\r\n]*)?")


class BadRequest(Exception):
    """A request that cannot be framed unambiguously."""


def peer_address(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    host, port = peer[0], peer[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def rewrite_head(head: bytes, client_addr: str) -> tuple[bytes, dict[bytes, list[bytes]]]:
    """The request head with `spin-client-addr` replaced, and its headers (lowercase names)."""
    lines = head.split(b"\r\n")
    if not REQUEST_LINE.fullmatch(lines[0]):
        raise BadRequest("request line")
    out, headers = [lines[0]], {}
    for line in lines[1:]:
        m = HEADER_LINE.fullmatch(line)
        if not m:
            raise BadRequest("header line")
        name = m.group(1).lower()
        headers.setdefault(name, []).append(m.group(2))
        if name != CLIENT_ADDR:
            out.append(line)
    out.append(CLIENT_ADDR + b": " + client_addr.encode())
    return b"\r\n".join(out) + b"\r\n\r\n", headers


def body_framing(headers: dict[bytes, list[bytes]]) -> int | None:
    """The body length (0 without a body), or None for a chunked body."""
    lengths = headers.get(b"content-length", [])
    codings = headers.get(b"transfer-encoding", [])
    if codings:
        if lengths or [c.lower() for c in codings] != [b"chunked"]:
            raise BadRequest("transfer-encoding")
        return None
    if not lengths:
        return 0
    if len(set(lengths)) != 1 or not lengths[0].isdigit():
        raise BadRequest("content-length")
    return int(lengths[0])


async def forward_chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        line = await reader.readuntil(b"\r\n")
        m = CHUNK_SIZE.fullmatch(line[:-2])
        if not m:
            raise BadRequest("chunk size")
        writer.write(line)
        size = int(m.group(1), 16)
        if size == 0:
            break
        writer.write(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise BadRequest("chunk end")
        writer.write(b"\r\n")
        await writer.drain()
    while True:  # trailer fields, then the empty line
        line = await reader.readuntil(b"\r\n")
        if line != b"\r\n" and not HEADER_LINE.fullmatch(line[:-2]):
            raise BadRequest("trailer")
        writer.write(line)
        if line == b"\r\n":
            break


async def forward_length(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, remaining: int) -> None:
    while remaining:
        data = await reader.read(min(remaining, 65536))
        if not data:
            raise asyncio.IncompleteReadError(b"", remaining)
        writer.write(data)
        remaining -= len(data)
        await writer.drain()


async def forward_requests(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                           client_addr: str) -> None:
    """Client -> backend, one request after another on the connection."""
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as e:
                if e.partial.strip():
                    raise BadRequest("truncated head") from e
                break  # the client closed the connection between requests
            head = head[:-4]
            while head.startswith(b"\r\n"):  # empty lines before a request are ignored
                head = head[2:]
            if not head:
                continue
            out, headers = rewrite_head(head, client_addr)
            length = body_framing(headers)
            writer.write(out)
            if length is None:
                await forward_chunked(reader, writer)
            else:
                await forward_length(reader, writer, length)
            await writer.drain()
    except (BadRequest, asyncio.LimitOverrunError, asyncio.IncompleteReadError, ValueError,
            ConnectionError, ssl.SSLError):
        writer.close()  # the backend connection, and with it the client's (see `handle`)
        return
    try:
        if writer.can_write_eof():
            writer.write_eof()
    except (OSError, RuntimeError):
        pass  # already closed


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Backend -> client, unchanged, until the backend closes."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
        pass


async def linger(reader: asyncio.StreamReader) -> None:
    """Reads and drops what the client still sends, for at most LINGER_SECS. A backend that
    refuses a request answers before the body is all sent (413) and closes; closing the client's
    connection while its body is still arriving resets it, and the client loses the answer. So,
    as a production front does (a "lingering close"), the rest is read first."""
    async def drop() -> None:
        while await reader.read(65536):
            pass
    try:
        await asyncio.wait_for(drop(), LINGER_SECS)
    except (asyncio.TimeoutError, ConnectionError, ssl.SSLError):
        pass


async def serve(listen: str, backend: str, ctx: ssl.SSLContext) -> None:
    bhost, bport = backend.rsplit(":", 1)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            breader, bwriter = await asyncio.open_connection(bhost, int(bport))
        except OSError:
            writer.close()
            return
        forward = asyncio.create_task(forward_requests(reader, bwriter, peer_address(writer)))
        await pipe(breader, writer)
        # The backend is done with the connection: stop forwarding, take in what the client
        # still sends, then close.
        forward.cancel()
        await asyncio.gather(forward, return_exceptions=True)
        bwriter.close()
        await linger(reader)
        try:
            writer.close()
        except Exception:  # noqa: BLE001 — already gone
            pass

    host, port = listen.rsplit(":", 1)
    server = await asyncio.start_server(handle, host, int(port), ssl=ctx, limit=MAX_HEAD)
    print(f"tls-proxy listening on https://{listen} -> http://{backend}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", required=True)
    parser.add_argument("--backend", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)
    asyncio.run(serve(args.listen, args.backend, ctx))


if __name__ == "__main__":
    main()
