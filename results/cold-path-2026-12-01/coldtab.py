"""Cold-processing A/B table (results/cold-path-2026-12-01).

usage: coldtab.py DIR BEFORE:LABEL AFTER:LABEL THREADS...

Every round of each version is pooled. The floor's code is the same in both
builds, so its samples are pooled over both versions and rounds: one floor
per (op, committer, threads), against which both versions' ratios are taken.
"""
import glob, json, statistics as st, sys

d = sys.argv[1]
(va, la), (vb, lb) = (a.split(":", 1) for a in sys.argv[2:4])


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


for t in map(int, sys.argv[4:]):
    a, b = load(va, t), load(vb, t)
    print(f"\n### {t} thread(s): throng median [min–p90] n (both rounds pooled); ratio = throng ÷ (floor ÷ {t})\n")
    print(f"| op | floor (both builds) | {la} | ratio | {lb} | ratio | after ÷ before |")
    print("|---|---|---|---:|---|---:|---:|")
    for o, c in sorted({(o, c) for (o, c, i) in a if i == "throng"}):
        ra, rb = a.get((o, c, "throng")), b.get((o, c, "throng"))
        fl = a.get((o, c, "crypto-floor"), []) + b.get((o, c, "crypto-floor"), [])
        if not (ra and rb and fl):
            continue
        ratio = lambda r: f"{st.median(r) / (st.median(fl) / t):.2f}"
        print(f"| {o}@{c} | {fmt(fl)} | {fmt(ra)} | {ratio(ra)} | {fmt(rb)} | {ratio(rb)} | {st.median(rb) / st.median(ra):.2f} |")
