#!/usr/bin/env python3
"""Sends N identical POSTs at once (one thread and connection each) and prints
"sent=N ok=K" (K answers with status 200). Used by bench/cache.sh for the
coalescing figure; the node's own counters say how many reached it.

    python3 coalesce.py PORT BODY [N]
"""

import http.client
import sys
import threading


def main():
    port, body = int(sys.argv[1]), sys.argv[2].encode()
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(n)]
    for c in conns:
        c.connect()
    start = threading.Barrier(n)
    ok = []

    def one(c):
        start.wait()
        try:
            c.request("POST", "/", body, {"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            ok.append(r.status == 200)
        except OSError:
            ok.append(False)

    threads = [threading.Thread(target=one, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"sent={n} ok={sum(ok)}")


if __name__ == "__main__":
    main()
