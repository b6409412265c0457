#!/usr/bin/env python3
"""floor_ratios.py: reads compare JSON lines and prints (1) every throng timing against the
crypto floor of the same run (below-the-floor check at one thread) and
(2) the issue targets against floor / threads. Usage: floor_ratios.py FILE..."""
import json, sys

def rows(path):
    meta, out = None, {}
    for line in open(path):
        r = json.loads(line)
        if 'meta' in r:
            meta = r['meta']; continue
        if r.get('median_ms') is None:  # sizes, and rows whose worker failed
            continue
        out[(r['impl'], r['op'], r.get('committer', '-'))] = r
    return meta, out

TARGETS = {'process_cold': 1.5, 'process_add_cold': 1.5, 'process_remove_cold': 1.5, 'server_build': 1.2}

for path in sys.argv[1:]:
    meta, rs = rows(path)
    t = meta['threads']
    print(f"\n## {path.split('/')[-1]}: {meta['members']} members, {t} thread(s), load average at the end {meta['load_average']}\n")
    print("| op | committer | throng median [min–p90] n | floor median [min–p90] n | ÷ floor median | ÷ floor min | ÷ floor CPU | ÷ (floor ÷ t) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    below, total = [], 0
    for (impl, op, c), r in sorted(rs.items(), key=lambda kv: (kv[0][1], kv[0][2])):
        if impl != 'throng':
            continue
        f = rs.get(('crypto-floor', op, c))
        if not f:
            continue
        total += 1
        med, mn, cpu = r['median_ms'] / f['median_ms'], r['min_ms'] / f['min_ms'], r['median_cpu_ms'] / f['median_cpu_ms']
        par = r['median_ms'] / (f['median_ms'] / t)
        tgt = TARGETS.get(op)
        mark = f" (target ≤ {tgt}: {'met' if par <= tgt else 'not met'})" if tgt else ''
        if t == 1 and (med < 1 or mn < 1):
            below.append(f"{op}@{c}: median {med:.2f}, min {mn:.2f}, CPU {cpu:.2f}")
        fmt = lambda x: f"{x['median_ms']:.4g} [{x['min_ms']:.4g}–{x['p90_ms']:.4g}] {x['runs']}"
        print(f"| {op} | {c} | {fmt(r)} | {fmt(f)} | {med:.2f} | {mn:.2f} | {cpu:.2f} | {par:.2f}{mark} |")
    if t == 1:
        print(f"\nthrong below the one-thread floor (median or min ratio < 1): {len(below)} of {total}")
    for b in below:
        print(f"- {b}")
