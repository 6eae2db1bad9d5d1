#!/usr/bin/env python3
"""Tables of a bench/pool.sh run (nodeward and HAProxy balancing three nodes).

    python3 bench/pool/summarise.py bench/run/pool-<id>      # or .../results.tsv
    python3 bench/pool/summarise.py --line "reqs=... rps=..."  # one run, one line

results.tsv rows: scenario, config, rep, then space-separated key=value fields
(wrk's ANCHOR line plus proxy_cpu_ticks, backend_cpu_ticks, clk_tck for the
throughput runs; victim, detect_ms, recover_ms, s200, snon200 for failover).
"""

import os
import statistics
import sys

PAIRS = (("gw-1t", "haproxy-1t"), ("gw-2t", "haproxy-2t"))
ORDER = ("gw-1t", "haproxy-1t", "gw-2t", "haproxy-2t")


def fields(text):
    out = {}
    for item in text.split():
        key, _, value = item.partition("=")
        try:
            out[key] = float(value)
        except ValueError:
            out[key] = value
    return out


def socket_errors(f):
    return int(sum(f.get(k, 0) for k in ("err_connect", "err_read", "err_write", "err_timeout")))


def measures(f):
    """The compared figures of one throughput run."""
    m = {"req/s": f["rps"], "p50": f["p50_us"] / 1000, "p99": f["p99_us"] / 1000}
    if "proxy_cpu_ticks" in f and f["reqs"] > 0:
        tck = f["clk_tck"]
        m["CPU/req"] = 1e6 * f["proxy_cpu_ticks"] / tck / f["reqs"]
        m["cores"] = f["proxy_cpu_ticks"] / tck / (f["duration_us"] / 1e6)
        if f["backend_cpu_ticks"] > 0:
            m["proxy/backend"] = f["proxy_cpu_ticks"] / f["backend_cpu_ticks"]
    return m


def line(text):
    f = fields(text)
    m = measures(f)
    s = f"{m['req/s']:.0f} req/s, p50 {m['p50']:.3f} ms, p99 {m['p99']:.3f} ms"
    if "CPU/req" in m:
        s += f", proxy {m['CPU/req']:.1f} µs/req ({m['cores']:.2f} cores)"
    if "snon200" in f:
        s += (f", {int(f['reqs'])} requests, {int(f['snon200'])} not 200, {socket_errors(f)} socket errors"
              f", {f['victim']} seen down after {int(f['detect_ms'])} ms, all up {int(f['recover_ms'])} ms after restart")
    elif f.get("non2xx") or socket_errors(f):
        s += f", non2xx {int(f.get('non2xx', 0))}, socket errors {socket_errors(f)}"
    return s


def med_range(values, fmt):
    if not values:
        return "-"
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def med(values, fmt):
    return fmt.format(statistics.median(values)) if values else "-"


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--line":
        print(line(sys.argv[2]))
        return 0
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = sys.argv[1]
    if os.path.isdir(path):
        path = os.path.join(path, "results.tsv")
    rows = {}
    with open(path, encoding="utf-8") as fh:
        for raw in fh:
            parts = raw.rstrip("\n").split("\t")
            if len(parts) == 4:
                rows.setdefault(parts[0], []).append((parts[1], parts[2], fields(parts[3])))

    thr = rows.get("throughput", [])
    if thr:
        print("Throughput (median over repetitions; req/s range in brackets)")
        print()
        print("| proxy | runs | median req/s (min–max) | p50 ms | p99 ms | proxy CPU µs/req | proxy cores | proxy÷backends CPU | non-2xx | socket errors |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for cfg in ORDER:
            ms = [measures(f) for c, _, f in thr if c == cfg]
            fs = [f for c, _, f in thr if c == cfg]
            if not ms:
                continue
            get = lambda k: [m[k] for m in ms if k in m]
            print(f"| {cfg} | {len(ms)} | {med_range(get('req/s'), '{:.0f}')} | {med(get('p50'), '{:.3f}')} | "
                  f"{med(get('p99'), '{:.3f}')} | {med(get('CPU/req'), '{:.1f}')} | {med(get('cores'), '{:.2f}')} | "
                  f"{med(get('proxy/backend'), '{:.2f}')} | {int(sum(f.get('non2xx', 0) for f in fs))} | "
                  f"{sum(socket_errors(f) for f in fs)} |")
        print()
        print("Paired ratios nodeward ÷ HAProxy, per repetition (the two ran back to back): median (min–max)")
        print()
        print("| pair | pairs | req/s | p99 | proxy CPU per request | proxy÷backends CPU |")
        print("|---|---:|---:|---:|---:|---:|")
        for ours, anchor in PAIRS:
            by_rep = {}
            for c, rep, f in thr:
                if c in (ours, anchor):
                    by_rep.setdefault(rep, {})[c] = measures(f)
            ratios = {k: [] for k in ("req/s", "p99", "CPU/req", "proxy/backend")}
            n = 0
            for pair in by_rep.values():
                if ours in pair and anchor in pair:
                    n += 1
                    for k in ratios:
                        a, b = pair[ours].get(k), pair[anchor].get(k)
                        if a is not None and b:
                            ratios[k].append(a / b)
            if n:
                cells = " | ".join(med_range(ratios[k], "{:.2f}") for k in ("req/s", "p99", "CPU/req", "proxy/backend"))
                print(f"| {ours} ÷ {anchor} | {n} | {cells} |")
        print()

    fo = rows.get("failover", [])
    if fo:
        print("Failover (one node SIGKILLed during the load; 'not 200' = answers with another status, from the wrk Lua hook;")
        print("socket errors = wrk connect/read/write/timeout errors; 'seen down' = when the proxy's own status first")
        print("showed the node out, polled every 0.5 s; 'all up' = after the restart, until the proxy used all three again)")
        print()
        print("| proxy | rep | victim | requests | req/s | not 200 | socket errors | p99 ms | max ms | seen down after ms | all up after restart ms |")
        print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for cfg in ORDER:
            for c, rep, f in fo:
                if c == cfg:
                    print(f"| {c} | {rep} | {f['victim']} | {int(f['reqs'])} | {f['rps']:.0f} | {int(f['snon200'])} | "
                          f"{socket_errors(f)} | {f['p99_us'] / 1000:.3f} | {f['max_us'] / 1000:.1f} | "
                          f"{int(f['detect_ms'])} | {int(f['recover_ms'])} |")
        print()
        print("| proxy | runs | requests (total) | not 200 (total) | socket errors (total) | failed per run: median (min–max) |")
        print("|---|---:|---:|---:|---:|---:|")
        for cfg in ORDER:
            fs = [f for c, _, f in fo if c == cfg]
            if not fs:
                continue
            failed = [int(f["snon200"]) + socket_errors(f) for f in fs]
            print(f"| {cfg} | {len(fs)} | {int(sum(f['reqs'] for f in fs))} | {int(sum(f['snon200'] for f in fs))} | "
                  f"{sum(socket_errors(f) for f in fs)} | {med_range(failed, '{:.0f}')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
