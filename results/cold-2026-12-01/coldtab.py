import json,sys,statistics as st
d=sys.argv[1]
def load(f):
    rows={}
    for l in open(f):
        r=json.loads(l)
        if 'op' not in r or 'median_ms' not in r: continue
        rows[(r['op'],r.get('committer'),r['impl'])]=r
    return rows
for t in sys.argv[2:]:
    t=int(t)
    a=load(f"{d}/mem-t{t}.jsonl"); b=load(f"{d}/enc-t{t}.jsonl")
    print(f"\n### {t} thread(s): throng median [min–p90] n, and throng ÷ (floor ÷ {t}) in the same run\n")
    print("| op | before (`a12316e`) | ratio | after | ratio | after ÷ before |")
    print("|---|---|---:|---|---:|---:|")
    keys=sorted({(o,c) for (o,c,i) in a if i=='throng'})
    for o,c in keys:
        ra=a.get((o,c,'throng')); rb=b.get((o,c,'throng')); fa=a.get((o,c,'crypto-floor')); fb=b.get((o,c,'crypto-floor'))
        if not (ra and rb): continue
        f=lambda r:f"{r['median_ms']:.3f} [{r['min_ms']:.3f}–{r['p90_ms']:.3f}] n={len(r['samples'])}"
        ratio=lambda r,fl: f"{r['median_ms']/(fl['median_ms']/t):.2f}" if fl else "–"
        print(f"| {o}@{c} | {f(ra)} | {ratio(ra,fa)} | {f(rb)} | {ratio(rb,fb)} | {st.median(rb['samples'])/st.median(ra['samples']):.2f} |")
