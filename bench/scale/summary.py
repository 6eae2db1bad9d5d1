#!/usr/bin/env python3
"""Summarises a bench/scale.sh run: medians over repetitions of resident
memory per idle connection (VmRSS and Pss growth divided by the connections
that got their answer), per client (many sources minus one source), and new
connections per second with the proxy's CPU per connection.

  python3 bench/scale/summary.py bench/run/scale-latest
"""
import csv
import statistics
import sys
from collections import defaultdict

run = sys.argv[1]
per_conn = defaultdict(list)
with open(f"{run}/idle.tsv") as f:
    for r in csv.DictReader(f, delimiter="\t"):
        ok = int(r["ok"] or 0)
        if ok == 0:
            continue
        key = (r["proto"], int(r["conns"]), r["sources"], r["proxy"])
        rss = (int(r["rss1_kib"]) - int(r["rss0_kib"])) * 1024 / ok
        pss = (int(r["pss1_kib"]) - int(r["pss0_kib"])) * 1024 / ok
        per_conn[key].append((rss, pss, ok))

print("## idle connections: bytes per connection (median of runs)")
print("| protocol | connections | sources | proxy | RSS B/conn | Pss B/conn | vs HAProxy (RSS) | runs | answered |")
print("|---|---:|---|---|---:|---:|---:|---:|---:|")
med = {}
for key in sorted(per_conn):
    vals = per_conn[key]
    rss = statistics.median(v[0] for v in vals)
    pss = statistics.median(v[1] for v in vals)
    med[key] = rss
    ha = (key[0], key[1], key[2], "haproxy")
    ratio = ""
    if ha in per_conn:
        ratio = "%.2f" % (rss / statistics.median(v[0] for v in per_conn[ha]))
    print(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | {rss:.0f} | {pss:.0f} | {ratio} | {len(vals)} | {min(v[2] for v in vals)} |")

print()
print("## per client address (many sources minus one source, RSS B per conn)")
print("| connections | proxy | B per client |")
print("|---:|---|---:|")
for (proto, n, sources, proxy), v in sorted(med.items()):
    if proto == "h1" and sources == "many" and (proto, n, "1", proxy) in med:
        print(f"| {n} | {proxy} | {v - med[(proto, n, '1', proxy)]:.0f} |")

print()
print("## new connections (connect, one request, close)")
print("| proxy | conns/s (client-bound) | proxy CPU µs per connection | runs |")
print("|---|---:|---:|---:|")
rates = defaultdict(list)
with open(f"{run}/rate.tsv") as f:
    for r in csv.DictReader(f, delimiter="\t"):
        conns, secs, ticks = int(r["conns"] or 0), float(r["secs"] or 0), int(r["cpu_ticks"] or 0)
        if conns and secs:
            rates[r["proxy"]].append((conns / secs, ticks * 10000 / conns))
for proxy, v in sorted(rates.items()):
    print(f"| {proxy} | {statistics.median(x[0] for x in v):.0f} | {statistics.median(x[1] for x in v):.1f} | {len(v)} |")
