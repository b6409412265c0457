#!/usr/bin/env python3
"""The critical path of cold-processing samples at two threads (issue 16,
results/cold-placement-*):

    cold_critical_path.py SAMPLES PERF_SCRIPT

The inputs are described in cold_trace.py. For each sample whose signature
thread the kernel started on the other vCPU, it gives the medians of: the
time before the thread's fork (decoding and encoding the message,
sequential), the thread's life from fork to exit (the signature check,
with its start), and the time from the fork to the sample's end (the
longer of the check and the caller's staging, then the join and what
follows)."""
import statistics
import sys

from cold_trace import Trace, read_samples

# An exit may be stamped just after the sample's end (two clocks).
SLACK_S = 0.0002

trace = Trace(sys.argv[2])
total, before, signature, after = [], [], [], []
for start, ms in read_samples(sys.argv[1]):
    end = start + ms / 1e3
    spawn = trace.spawn(start, end + SLACK_S)
    if not spawn or spawn[1] == spawn[2]:
        continue
    fork, _, _, pid = spawn
    exits = [when for when, _, event, text in trace.between(start, end + SLACK_S)
             if event == "sched_switch" and f"prev_pid={pid} " in text and "prev_state=X" in text]
    if not exits:
        continue
    total.append(ms)
    before.append((fork - start) * 1e3)
    signature.append((exits[0] - fork) * 1e3)
    after.append((end - fork) * 1e3)


def m(v):
    return f"{statistics.median(v):.3f}"


print(f"n={len(total)} total {m(total)}  before the fork {m(before)}  "
      f"fork->signature thread exit {m(signature)}  fork->end {m(after)}")
