#!/usr/bin/env python3
"""Paired ratios of nodeward against HAProxy from run-anchors.sh results.

The anchor runs are interleaved: in each repetition every proxy runs once,
back to back, so a repetition's gw-1t / haproxy-1t ratio compares the two
under the same machine conditions. This prints, per scenario, the median of
those per-repetition ratios (and their range) for req/s, p99, proxy CPU per
request and proxy/backend CPU, over every results.tsv given.

    python3 bench/ratios.py bench/run/*/results.tsv
    python3 bench/ratios.py --ours gw-2t --anchor haproxy-2t bench/run/latest/results.tsv
"""

import argparse
import statistics
import sys


def parse(path):
    """Yields (run, scenario, config, rep, fields) for each line of a results.tsv."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 4:
                continue
            scenario, config, rep, rest = parts[0], parts[1], parts[2], parts[3]
            fields = {}
            for item in rest.split():
                key, _, value = item.partition("=")
                try:
                    fields[key] = float(value)
                except ValueError:
                    fields[key] = value
            yield path, scenario, config, rep, fields


def measures(f):
    """The compared figures of one run of one proxy, or None if incomplete."""
    try:
        reqs = f["reqs"]
        tck = f["clk_tck"]
        proxy = f["proxy_cpu_ticks"] / tck
        backend = f["backend_cpu_ticks"] / tck
        return {
            "req/s": f["rps"],
            "p99": f["p99_us"],
            "CPU/req": proxy / reqs,
            "proxy/backend CPU": proxy / backend if backend else float("nan"),
        }
    except (KeyError, ZeroDivisionError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ours", default="gw-1t")
    ap.add_argument("--anchor", default="haproxy-1t")
    ap.add_argument("results", nargs="+")
    args = ap.parse_args()

    runs = {}
    for path in args.results:
        try:
            rows = list(parse(path))
        except (OSError, UnicodeDecodeError) as e:
            print(f"{path}: cannot read it: {e}", file=sys.stderr)
            return 2
        for run, scenario, config, rep, fields in rows:
            if config in (args.ours, args.anchor):
                m = measures(fields)
                if m:
                    runs.setdefault((run, scenario, rep), {})[config] = m

    by_scenario = {}
    for (run, scenario, rep), pair in sorted(runs.items()):
        if args.ours in pair and args.anchor in pair:
            ratios = {k: pair[args.ours][k] / pair[args.anchor][k] for k in pair[args.ours]}
            by_scenario.setdefault(scenario, []).append(ratios)
    if not by_scenario:
        print(f"no repetition has both {args.ours} and {args.anchor}", file=sys.stderr)
        return 1

    print(f"| scenario | pairs | {args.ours} ÷ {args.anchor}: req/s | p99 | CPU per request | proxy÷backend CPU |")
    print("|---|---:|---:|---:|---:|---:|")
    for scenario, rows in by_scenario.items():
        cells = []
        for key in ("req/s", "p99", "CPU/req", "proxy/backend CPU"):
            values = [r[key] for r in rows]
            cells.append(f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})")
        print(f"| {scenario} | {len(rows)} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
