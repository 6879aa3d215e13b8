"""Sums two Chrome traces of libtorch ops (ours from torch.autograd.profile in C#, the reference's
from torch.autograd.profiler in Python) by op name, as self time (an op's time minus the ops it
called), and prints them side by side, largest difference first.

    python3 bench/trace_summary.py OURS.json REFERENCE.json [ROWS]
"""
import json
import sys
from collections import defaultdict


def self_times(path):
    with open(path) as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    by_thread = defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            by_thread[(e.get("pid"), e.get("tid"))].append((float(e["ts"]), float(e["dur"]), e["name"]))
    totals = defaultdict(float)
    for spans in by_thread.values():
        spans.sort(key=lambda s: (s[0], -s[1]))
        stack = []  # [end, name, self time so far]
        def close(until):
            while stack and stack[-1][0] <= until:
                end, name, own = stack.pop()
                totals[name] += own
        for start, dur, name in spans:
            close(start)
            if stack:
                stack[-1][2] -= dur  # the parent did not spend this time itself
            stack.append([start + dur, name, dur])
        close(float("inf"))
    return totals


def main():
    ours, theirs = self_times(sys.argv[1]), self_times(sys.argv[2])
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    names = sorted(set(ours) | set(theirs), key=lambda n: -abs(ours.get(n, 0) - theirs.get(n, 0)))
    print(f"{'op':48} {'ours ms':>10} {'reference ms':>13} {'difference':>11}")
    for name in names[:rows]:
        a, b = ours.get(name, 0) / 1e3, theirs.get(name, 0) / 1e3
        print(f"{name[:48]:48} {a:10.1f} {b:13.1f} {a - b:11.1f}")
    print(f"{'all ops':48} {sum(ours.values()) / 1e3:10.1f} {sum(theirs.values()) / 1e3:13.1f}")


main()
