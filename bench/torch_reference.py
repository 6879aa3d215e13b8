"""The reference side of `Cluster.Bench torch`: the same ops timed from Python with PyTorch (Debian's
python3-torch, the same libtorch 1.13 the binding uses).

    /usr/bin/python3 torch_reference.py

Prints {"version": ...} and then serves one measurement per line on stdin, so that the benchmark
can alternate with its own on a machine whose speed drifts:
  "small OP ITERATIONS"  nanoseconds per call of OP (add, mul, matmul, view) on 4x4 float32, 1 thread
  "large N THREADS"      GFLOP/s of one N x N float32 matmul
"""
import json
import sys
import time

import torch

a = torch.ones(4, 4)
b = torch.ones(4, 4)
SMALL = {"add": lambda: torch.add(a, b), "mul": lambda: torch.mul(a, b), "matmul": lambda: torch.matmul(a, b),
         "view": lambda: a.view(-1)}
matrices = {}


def small(op, iterations):
    torch.set_num_threads(1)
    fn = SMALL[op]
    start = time.perf_counter_ns()
    for _ in range(iterations):
        fn()
    return (time.perf_counter_ns() - start) / iterations


def large(n, threads):
    torch.set_num_threads(threads)
    if n not in matrices:
        g = torch.Generator().manual_seed(0)
        matrices[n] = (torch.randn(n, n, generator=g), torch.randn(n, n, generator=g))
    x, y = matrices[n]
    start = time.perf_counter()
    torch.matmul(x, y)
    return 2 * n**3 / (time.perf_counter() - start) / 1e9


print(json.dumps({"version": torch.__version__}), flush=True)
for line in sys.stdin:
    kind, arg, value = line.split()
    print(small(arg, int(value)) if kind == "small" else large(int(arg), int(value)), flush=True)
