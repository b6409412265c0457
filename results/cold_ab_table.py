"""Cold-processing A/B table from cold_ab_run.sh's files (results/cold-*).

usage: cold_ab_table.py [--floor-per-build] DIR BEFORE:LABEL AFTER:LABEL THREADS...

Every round of each version is pooled. The floor's code is the same in both
builds, so by default its samples are pooled over both versions and rounds:
one floor per (op, committer, threads), against which both versions'
ratios are taken. With --floor-per-build each version is taken against the
floor of its own runs (how cold-2026-12-01's tables were made).
"""
import glob, json, statistics as st, sys

args = sys.argv[1:]
per_build = args[0] == "--floor-per-build"
if per_build:
    args = args[1:]
d = args[0]
(va, la), (vb, lb) = (a.split(":", 1) for a in args[1:3])


def load(version, t):
    rows = {}
    for f in sorted(glob.glob(f"{d}/{version}-t{t}*.jsonl")):
        for line in open(f):
            r = json.loads(line)
            if "samples" in r:
                rows.setdefault((r["op"], r.get("committer"), r["impl"]), []).extend(r["samples"])
    return rows


def fmt(s):
    s = sorted(s)
    return f"{st.median(s):.3f} [{s[0]:.3f}–{s[min(len(s) - 1, (9 * len(s)) // 10)]:.3f}] n={len(s)}"


for t in map(int, args[3:]):
    a, b = load(va, t), load(vb, t)
    print(f"\n### {t} thread(s): throng median [min–p90] n (both rounds pooled); ratio = throng ÷ (floor ÷ {t})\n")
    if per_build:
        print(f"| op | {la} | ratio | {lb} | ratio | after ÷ before |")
        print("|---|---|---:|---|---:|---:|")
    else:
        print(f"| op | floor (both builds) | {la} | ratio | {lb} | ratio | after ÷ before |")
        print("|---|---|---|---:|---|---:|---:|")
    for o, c in sorted({(o, c) for (o, c, i) in a if i == "throng"}):
        ra, rb = a.get((o, c, "throng")), b.get((o, c, "throng"))
        fa, fb = a.get((o, c, "crypto-floor"), []), b.get((o, c, "crypto-floor"), [])
        if not (ra and rb):
            continue
        ratio = lambda r, fl: f"{st.median(r) / (st.median(fl) / t):.2f}" if fl else "–"
        change = f"{st.median(rb) / st.median(ra):.2f}"
        if per_build:
            print(f"| {o}@{c} | {fmt(ra)} | {ratio(ra, fa)} | {fmt(rb)} | {ratio(rb, fb)} | {change} |")
        else:
            fl = fa + fb
            print(f"| {o}@{c} | {fmt(fl)} | {fmt(ra)} | {ratio(ra, fl)} | {fmt(rb)} | {ratio(rb, fl)} | {change} |")
