#!/usr/bin/env python3
"""Medians per scenario and proxy of a bench/cache.sh results.tsv: req/s,
p50/p99, proxy CPU per request, calls that reached the node per 1,000
requests, and the coalescing figure (calls that reached the node out of 100).

    python3 bench/cache/summarise.py bench/run/cache-latest/results.tsv
"""

import statistics
import sys


def main():
    rows = {}
    for line in open(sys.argv[1], encoding="utf-8"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 4:
            continue
        fields = {}
        for item in parts[3].split():
            k, _, v = item.partition("=")
            try:
                fields[k] = float(v)
            except ValueError:
                fields[k] = v
        rows.setdefault((parts[0], parts[1]), []).append(fields)
    med = statistics.median
    print("| scenario | proxy | runs | req/s | p50 ms | p99 ms | proxy CPU µs/req | node calls per 1,000 req | non-2xx |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for (scen, proxy), fs in rows.items():
        if scen == "coalesce":
            continue
        cpu = [f["proxy_cpu_ticks"] / f["clk_tck"] / f["reqs"] * 1e6 for f in fs]
        calls = [f["node_calls"] / f["reqs"] * 1000 for f in fs]
        print(f"| {scen} | {proxy} | {len(fs)} | {med(f['rps'] for f in fs):.0f} | "
              f"{med(f['p50_us'] for f in fs) / 1000:.2f} | {med(f['p99_us'] for f in fs) / 1000:.2f} | "
              f"{med(cpu):.1f} | {med(calls):.0f} | {sum(f['non2xx'] for f in fs):.0f} |")
    print()
    print("| coalescing: 100 identical concurrent calls | runs | reached the node (each run) | answered 200 |")
    print("|---|---:|---|---|")
    for (scen, proxy), fs in rows.items():
        if scen == "coalesce":
            reached = ", ".join(str(int(f["reached_node"])) for f in fs)
            ok = ", ".join(str(int(f["ok"])) for f in fs)
            print(f"| {proxy} | {len(fs)} | {reached} | {ok} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
