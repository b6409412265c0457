#!/usr/bin/env python3
"""Where the kernel ran the signature check of each cold-processing sample
(issue 16, results/cold-placement-*):

    cold_placement.py SAMPLES PERF_SCRIPT

SAMPLES is the stderr of `cold_process --print-samples` (lines `sample
Instant { tv_sec: S, tv_nsec: N } MS ms`); PERF_SCRIPT is `perf script -F
tid,cpu,time,event,trace` of a `perf sched record -k CLOCK_MONOTONIC` of
the same run (its sched_wakeup_new and sched_switch lines; 2 vCPUs). For
the samples started on the caller's vCPU it also counts those in which the
other vCPU was idle at the fork (its last switch before it was to the idle
task). A sample of a large commit at two threads starts one scoped
thread for the signature (`PublicChecks::verify_with`); its
sched_wakeup_new event names the vCPU the caller was on and the one the
kernel chose for the new thread. Samples are split by whether the two were
the same (the checks and the staging then share one vCPU)."""
import re
import statistics
import sys

samples = []
for line in open(sys.argv[1]):
    m = re.match(r"sample Instant \{ tv_sec: (\d+), tv_nsec: (\d+) \} ([\d.]+) ms", line)
    if m:
        samples.append((int(m[1]) + int(m[2]) / 1e9, float(m[3])))
spawns = []
last_switch = {}  # vCPU -> [(time, switched to idle)]
for line in open(sys.argv[2]):
    m = re.match(r"\s*\d+ \[(\d+)\]\s+([\d.]+):\s+sched:sched_wakeup_new:.*target_cpu=(\d+)", line)
    if m:
        spawns.append((float(m[2]), int(m[1]), int(m[3])))
    m = re.match(r"\s*-?\d+ \[(\d+)\]\s+([\d.]+):\s+sched:sched_switch:.*next_comm=(\S+)", line)
    if m:
        last_switch.setdefault(int(m[1]), []).append((float(m[2]), m[3].startswith("swapper")))


def idle_at(cpu, t):
    """Whether `cpu` last switched to the idle task before `t`."""
    before = [idle for when, idle in last_switch.get(cpu, []) if when < t]
    return bool(before) and before[-1]


other_idle = 0
groups = {"same vCPU as the caller": [], "the other vCPU": [], "no thread started": []}
for start, ms in samples:
    inside = [s for s in spawns if start <= s[0] <= start + ms / 1e3]
    key = "no thread started" if not inside else (
        "same vCPU as the caller" if inside[0][1] == inside[0][2] else "the other vCPU")
    groups[key].append(ms)
    if key == "same vCPU as the caller" and idle_at(1 - inside[0][1], inside[0][0]):
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
