#!/usr/bin/env python3
"""Cold processing at two threads, sample by sample (issue 16,
results/cold-placement-*):

    cold_overlap.py COMPARE_T2_JSONL

For throng's cold rows, each sample's CPU time ÷ wall time (`cpu_samples`,
`samples`): about 1 when the signature check and the staging did not
overlap (one vCPU ran both), towards 2 when they did. Samples are split at
CPU ÷ wall = 1.25, and each part's median is given against floor ÷ 2 (the
crypto floor's median in the same file)."""
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1])]
threads = rows[0]["meta"]["threads"]
floor = {(r["op"], r.get("committer")): r["median_ms"] for r in rows[1:] if r.get("impl") == "crypto-floor"}
print(f"| op | floor ÷ {threads} (ms) | all: median ÷ bound, n | overlapped (CPU ÷ wall ≥ 1.25): median ms, ÷ bound, n | not overlapped: median ms, ÷ bound, n |")
print("|---|---:|---|---|---|")
for r in rows[1:]:
    if r.get("impl") != "throng" or not r.get("cpu_samples"):
        continue
    key = (r["op"], r.get("committer"))
    bound = floor[key] / threads
    pairs = list(zip(r["samples"], r["cpu_samples"]))
    both = [w for w, c in pairs if c / w >= 1.25]
    one = [w for w, c in pairs if c / w < 1.25]
    def part(v):
        if not v:
            return "n=0"
        m = statistics.median(v)
        return f"{m:.3f}, {m / bound:.2f}, n={len(v)}"
    print(f"| {key[0]}@{key[1]} | {bound:.3f} | {r['median_ms'] / bound:.2f}, n={len(pairs)} | {part(both)} | {part(one)} |")
