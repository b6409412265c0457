#!/usr/bin/env python3
"""Where the kernel ran the signature check of each cold-processing sample
(issue 16, results/cold-placement-*):

    cold_placement.py SAMPLES PERF_SCRIPT

The inputs are described in cold_trace.py (2 vCPUs). A sample of a large
commit at two threads starts one scoped thread for the signature
(`PublicChecks::verify_with`); its sched_wakeup_new event names the vCPU
the caller was on and the one the kernel chose for the new thread. Samples
are split by whether the two were the same (the checks and the staging
then share one vCPU). For the samples started on the caller's vCPU it also
counts those in which the other vCPU was idle at the fork (its last switch
before it was to the idle task)."""
import statistics
import sys

from cold_trace import Trace, read_samples

samples = read_samples(sys.argv[1])
trace = Trace(sys.argv[2])
other_idle = 0
groups = {"same vCPU as the caller": [], "the other vCPU": [], "no thread started": []}
for start, ms in samples:
    spawn = trace.spawn(start, start + ms / 1e3)
    key = "no thread started" if not spawn else (
        "same vCPU as the caller" if spawn[1] == spawn[2] else "the other vCPU")
    groups[key].append(ms)
    if key == "same vCPU as the caller" and trace.idle_at(1 - spawn[1], spawn[0]):
        other_idle += 1
print(f"{len(samples)} samples; signature thread placed on:")
for key, v in groups.items():
    if v:
        v.sort()
        p90 = v[-(-len(v) * 9 // 10) - 1]  # nearest rank
        print(f"  {key}: n={len(v)}, min {v[0]:.3f} / median {statistics.median(v):.3f} / p90 {p90:.3f} ms")
    else:
        print(f"  {key}: n=0")
print(f"  of those on the caller's vCPU, the other vCPU was idle at the fork in {other_idle}")
