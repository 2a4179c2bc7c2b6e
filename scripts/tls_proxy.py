#!/usr/bin/env python3
"""A TLS terminator for the local Spin route: `wasmtime serve` speaks plain HTTP, while `Secure`
and `__Host-` cookies, https ACS URLs and real issuers need https. Accepts TLS on --listen and
pipes the bytes, unchanged (the Host header included), to --backend.

    tls_proxy.py --listen 127.0.0.1:3000 --backend 127.0.0.1:3001 --cert cert.pem --key key.pem
"""
from __future__ import annotations

import argparse
import asyncio
import ssl


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
        pass
    finally:
        try:
            writer.close()
        except Exception:  # noqa: BLE001 — already gone
            pass


async def serve(listen: str, backend: str, ctx: ssl.SSLContext) -> None:
    bhost, bport = backend.rsplit(":", 1)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            breader, bwriter = await asyncio.open_connection(bhost, int(bport))
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, bwriter), pipe(breader, writer))

    host, port = listen.rsplit(":", 1)
    server = await asyncio.start_server(handle, host, int(port), ssl=ctx)
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
