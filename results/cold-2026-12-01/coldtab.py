"""Cold-processing A/B table: every round of each version pooled (results/cold-2026-12-01)."""
import glob, json, statistics as st, sys

d = sys.argv[1]


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


for t in map(int, sys.argv[2:]):
    a, b = load("mem", t), load("enc", t)
    print(f"\n### {t} thread(s): throng median [min–p90] n (all rounds pooled), and throng ÷ (floor ÷ {t})\n")
    print("| op | before (`a12316e`) | ratio | after (`05515bc`) | ratio | after ÷ before |")
    print("|---|---|---:|---|---:|---:|")
    for o, c in sorted({(o, c) for (o, c, i) in a if i == "throng"}):
        ra, rb = a.get((o, c, "throng")), b.get((o, c, "throng"))
        fa, fb = a.get((o, c, "crypto-floor")), b.get((o, c, "crypto-floor"))
        if not (ra and rb):
            continue
        ratio = lambda r, fl: f"{st.median(r) / (st.median(fl) / t):.2f}" if fl else "–"
        print(f"| {o}@{c} | {fmt(ra)} | {ratio(ra, fa)} | {fmt(rb)} | {ratio(rb, fb)} | {st.median(rb) / st.median(ra):.2f} |")
