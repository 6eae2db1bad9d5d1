#!/usr/bin/env python3
"""Which of the pool's three nodes a proxy currently sends traffic to.

    state.py haproxy SOCKET P1 P2 P3   # HAProxy stats socket ("show stat")
    state.py nodeward P1 P2 P3 < status.json   # `nodeward gateway status --json`

Prints one line "node1=up node2=down node3=up requests=N1,N2,N3" (nodes in
port order P1 P2 P3; requests = what the proxy sent to each so far: HAProxy's
per-server session total, nodeward's per-backend request count). Exit 1 if
the proxy's state could not be read.
"""

import json
import socket
import sys


def haproxy(sock_path, ports):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(2)
    s.connect(sock_path)
    s.sendall(b"show stat\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    lines = data.decode().splitlines()
    header = lines[0].lstrip("# ").split(",")
    col = {name: i for i, name in enumerate(header)}
    nodes = {}
    for line in lines[1:]:
        f = line.split(",")
        if len(f) < len(header) or f[col["pxname"]] != "be_iri_node" or not f[col["svname"]].startswith("node"):
            continue
        up = f[col["status"]].startswith("UP")   # "UP", "UP 1/2" (going down) count as serving
        nodes[f[col["svname"]]] = (up, f[col["stot"]])
    return [nodes.get(f"node{i}", (False, "?")) for i in (1, 2, 3)]


def nodeward(ports):
    doc = json.load(sys.stdin)
    by_port = {}
    for up in doc.get("upstreams", []):
        for b in up.get("backends", []):
            port = b.get("address", "").rsplit(":", 1)[-1]
            by_port[port] = (bool(b.get("serving")), str(b.get("requests", "?")))
    return [by_port.get(p, (False, "?")) for p in ports]


def main():
    try:
        if sys.argv[1] == "haproxy":
            nodes = haproxy(sys.argv[2], sys.argv[3:6])
        else:
            nodes = nodeward(sys.argv[2:5])
    except (OSError, ValueError, IndexError, KeyError) as e:
        print(f"state unreadable: {e}")
        return 1
    states = " ".join(f"node{i}={'up' if up else 'down'}" for i, (up, _) in enumerate(nodes, 1))
    print(f"{states} requests={','.join(n for _, n in nodes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
