#!/usr/bin/env python3
"""The critical path of cold-processing samples at two threads (issue 16,
results/cold-placement-*):

    cold_critical_path.py SAMPLES PERF_SCRIPT

The inputs are those of cold_placement.py, but PERF_SCRIPT must hold the
sched_switch lines too. For each sample whose signature thread the kernel
started on the other vCPU, it gives the medians of: the time before the
thread's fork (decoding and encoding the message, sequential), the
thread's life from fork to exit (the signature check, with its start),
and the time from the fork to the sample's end (the longer of the check
and the caller's staging, then the join and what follows)."""
import bisect
import re
import statistics as st
import sys

samples = []
for l in open(sys.argv[1]):
    m=re.match(r"sample Instant \{ tv_sec: (\d+), tv_nsec: (\d+) \} ([\d.]+) ms", l)
    if m: samples.append((int(m[1])+int(m[2])/1e9, float(m[3])))
ev=[]
for l in open(sys.argv[2]):
    m=re.match(r'\s*(-?\d+) \[(\d+)\]\s+([\d.]+):\s+sched:(\w+): (.*)',l)
    if m and m[4] in ('sched_switch','sched_wakeup_new'): ev.append((float(m[3]), int(m[2]), m[4], m[5]))
ev.sort(); times=[e[0] for e in ev]
pre=[];sig=[];caller=[];tot=[]
for s,d in samples:
    i=bisect.bisect_left(times,s); j=bisect.bisect_right(times,s+d/1e3+0.0002)
    f=[e for e in ev[i:j] if e[2]=='sched_wakeup_new']
    if not f: continue
    if f[0][1]==int(re.search(r'target_cpu=(\d+)',f[0][3])[1]): continue
    pid=re.search(r' pid=(\d+)',f[0][3])[1]
    ex=[e for e in ev[i:j] if e[2]=='sched_switch' and f'prev_pid={pid} ' in e[3] and 'prev_state=X' in e[3]]
    if not ex: continue
    fork=f[0][0]; end=s+d/1e3
    pre.append((fork-s)*1e3); sig.append((ex[0][0]-fork)*1e3); caller.append((end-fork)*1e3); tot.append(d)
m=lambda v: f"{st.median(v):.3f}"
print(f"n={len(tot)} total {m(tot)}  before the fork {m(pre)}  fork->signature thread exit {m(sig)}  fork->end {m(caller)}")
