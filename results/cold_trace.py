"""Reading the traced cold-processing loops of results/cold-placement-*
(shared by cold_placement.py and cold_critical_path.py).

SAMPLES is the stderr of `cold_process --print-samples` (lines `sample
Instant { tv_sec: S, tv_nsec: N } MS ms`); PERF_SCRIPT is `perf script -F
tid,cpu,time,event,trace` of a `perf sched record -k CLOCK_MONOTONIC` of
the same run (its sched_wakeup_new and sched_switch lines are read)."""
import bisect
import re


def read_samples(path):
    """Each sample's (start in s, CLOCK_MONOTONIC; wall time in ms)."""
    samples = []
    for line in open(path):
        m = re.match(r"sample Instant \{ tv_sec: (\d+), tv_nsec: (\d+) \} ([\d.]+) ms", line)
        if m:
            samples.append((int(m[1]) + int(m[2]) / 1e9, float(m[3])))
    return samples


class Trace:
    """The sched_wakeup_new and sched_switch events, in time order, each
    (time, vCPU, event, its trace text)."""

    def __init__(self, path):
        self.events = []
        for line in open(path):
            m = re.match(r"\s*-?\d+ \[(\d+)\]\s+([\d.]+):\s+sched:(sched_wakeup_new|sched_switch): (.*)", line)
            if m:
                self.events.append((float(m[2]), int(m[1]), m[3], m[4]))
        self.events.sort()
        self.times = [e[0] for e in self.events]

    def between(self, start, end):
        """The events from `start` to `end` (s), inclusive."""
        return self.events[bisect.bisect_left(self.times, start):bisect.bisect_right(self.times, end)]

    def spawn(self, start, end):
        """The first thread started between `start` and `end`: (time, the
        caller's vCPU, the new thread's vCPU, its pid), or None."""
        for when, cpu, event, text in self.between(start, end):
            if event == "sched_wakeup_new":
                target = int(re.search(r"target_cpu=(\d+)", text)[1])
                return when, cpu, target, re.search(r" pid=(\d+)", text)[1]
        return None

    def idle_at(self, cpu, t):
        """Whether `cpu` last switched to the idle task before `t`."""
        before = [text for when, c, event, text in self.events[:bisect.bisect_left(self.times, t)]
                  if c == cpu and event == "sched_switch"]
        return bool(before) and re.search(r"next_comm=(\S+)", before[-1])[1].startswith("swapper")
