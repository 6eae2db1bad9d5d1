#!/usr/bin/env python3
"""Scale benchmark client (bench/scale.sh): opens N keep-alive connections to a
proxy on 127.0.0.1, each from its own loopback source address (or all from one),
makes one request on each, then holds them idle until stdin closes.

  idle_client.py --port P --conns N [--sources S] [--first K] [--h2]
  idle_client.py --port P --rate SECONDS [--sources S]     # new connections/s

Every connection goes to 127.0.0.1 only. In idle mode it prints
"READY ok=N failed=M" once every connection has its answer (the caller then
reads the proxy's memory) and exits when stdin reaches EOF. In rate mode it
prints "RATE conns=N secs=T failed=M".
"""
import argparse
import asyncio
import ssl
import sys
import time

BODY = b'{"command":"getNodeInfo"}'
H1_REQ = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
          b"X-IOTA-API-Version: 1\r\nContent-Length: %d\r\n\r\n" % len(BODY)) + BODY


def source(i, sources, first):
    """The i-th source address: 127.1.0.1 and up (or 127.0.0.1 for one source)."""
    if sources <= 1:
        return "127.0.0.1"
    n = first + (i % sources)
    return "127.%d.%d.%d" % (1 + (n >> 16) % 254, (n >> 8) & 255, 1 + (n & 255) % 254)


async def read_h1_answer(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return head.split(b" ", 2)[1]


def hpack_literal(name, value):
    """A header field as an HPACK literal without indexing (no Huffman)."""
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def frame(kind, flags, stream, payload):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def h2_request():
    fields = b"".join(hpack_literal(n, v) for n, v in [
        (b":method", b"POST"), (b":scheme", b"https"), (b":path", b"/"),
        (b":authority", b"localhost"), (b"content-type", b"application/json"),
        (b"x-iota-api-version", b"1"), (b"content-length", str(len(BODY)).encode())])
    return (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"")
            + frame(1, 4, 1, fields) + frame(0, 1, 1, BODY))


async def read_h2_answer(reader, writer):
    """Reads frames until stream 1 ends; ACKs the server's SETTINGS."""
    status = b"?"
    while True:
        hdr = await reader.readexactly(9)
        length = int.from_bytes(hdr[:3], "big")
        kind, flags = hdr[3], hdr[4]
        stream = int.from_bytes(hdr[5:9], "big") & 0x7FFFFFFF
        payload = await reader.readexactly(length)
        if kind == 4 and not flags & 1:
            writer.write(frame(4, 1, 0, b""))
        if kind == 7:
            raise ConnectionError("GOAWAY")
        if stream == 1 and kind == 1:
            status = b"h2"
        if stream == 1 and flags & 1 and kind in (0, 1):
            return status


async def one(i, args, ctx, held, counts):
    src = source(i, args.sources, args.first)
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            "127.0.0.1", args.port, local_addr=(src, 0), ssl=ctx,
            server_hostname="localhost" if ctx else None), 60)
        if args.h2:
            writer.write(h2_request())
            status = await asyncio.wait_for(read_h2_answer(reader, writer), 60)
        else:
            writer.write(H1_REQ)
            status = await asyncio.wait_for(read_h1_answer(reader), 60)
        counts[status] = counts.get(status, 0) + 1
        if held is None:
            writer.close()
        else:
            held.append((reader, writer))
        return True
    except Exception as e:  # noqa: BLE001 - counted and reported
        counts[type(e).__name__] = counts.get(type(e).__name__, 0) + 1
        return False


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--conns", type=int, default=0)
    p.add_argument("--sources", type=int, default=1)
    p.add_argument("--first", type=int, default=0, help="first source index (several clients)")
    p.add_argument("--h2", action="store_true", help="HTTP/2 over TLS (ALPN h2)")
    p.add_argument("--rate", type=float, default=0, help="seconds of connect-request-close")
    p.add_argument("--parallel", type=int, default=64)
    args = p.parse_args()
    ctx = None
    if args.h2:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
    counts = {}
    if args.rate:
        end = time.monotonic() + args.rate
        done = [0]

        async def worker(w):
            i = w
            while time.monotonic() < end:
                if await one(i, args, ctx, None, counts):
                    done[0] += 1
                i += args.parallel
        t0 = time.monotonic()
        await asyncio.gather(*(worker(w) for w in range(args.parallel)))
        secs = time.monotonic() - t0
        failed = sum(v for k, v in counts.items() if not isinstance(k, bytes))
        print("RATE conns=%d secs=%.2f failed=%d statuses=%s" % (done[0], secs, failed, counts), flush=True)
        return
    held = []
    sem = asyncio.Semaphore(args.parallel)

    async def guarded(i):
        async with sem:
            return await one(i, args, ctx, held, counts)
    results = await asyncio.gather(*(guarded(i) for i in range(args.conns)))
    ok = sum(results)
    print("READY ok=%d failed=%d statuses=%s" % (ok, len(results) - ok, counts), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    for _, w in held:
        w.close()


if __name__ == "__main__":
    asyncio.run(main())
