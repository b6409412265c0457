import json,sys,glob,statistics as st
d=sys.argv[1]; a,b=sys.argv[2],sys.argv[3]
rows={}
for v in (a,b):
    for f in sorted(glob.glob(f"{d}/{v}-*.jsonl")):
        for line in open(f):
            r=json.loads(line)
            if 'op' not in r: continue
            key=r['op']+('@'+r['committer'] if r.get('committer') else '')
            val=r.get('median_ms', r.get('bytes', r.get('value')))
            rows.setdefault(key,{}).setdefault(v,[]).append((val, r.get('samples',[])))
print(f"| op | {a}: run medians | {b}: run medians | {b}/{a} (median of pooled samples) |")
print("|---|---|---|---:|")
for k,vs in rows.items():
    def fmt(x): return ", ".join(f"{m:.3f}" if isinstance(m,float) else str(m) for m,_ in x)
    pa=[s for _,ss in vs.get(a,[]) for s in ss]; pb=[s for _,ss in vs.get(b,[]) for s in ss]
    ratio = f"{st.median(pb)/st.median(pa):.3f} (n={len(pa)}/{len(pb)})" if pa and pb else (f"{vs[b][0][0]/vs[a][0][0]:.3f}" if a in vs and b in vs and isinstance(vs[a][0][0],(int,float)) and vs[a][0][0] else "")
    print(f"| {k} | {fmt(vs.get(a,[]))} | {fmt(vs.get(b,[]))} | {ratio} |")
