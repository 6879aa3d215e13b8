"""The reference side of bench/Cluster.Bench: the same ops timed from Python with PyTorch
(Debian's python3-torch, the same libtorch 1.13 the binding uses). Prints one JSON object."""
import json
import sys
import time

import torch


def per_op_ns(fn, iterations, repeats=5):
    for _ in range(iterations // 10):
        fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(iterations):
            fn()
        best = min(best, (time.perf_counter_ns() - start) / iterations)
    return best


def matmul_gflops(n, threads, repeats=5):
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g)
    b = torch.randn(n, n, generator=g)
    torch.matmul(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def main():
    iterations, large_threads = int(sys.argv[1]), int(sys.argv[2])
    sizes = [int(s) for s in sys.argv[3].split(",")]
    torch.set_num_threads(1)
    a = torch.ones(4, 4)
    b = torch.ones(4, 4)
    small = {
        "add": per_op_ns(lambda: torch.add(a, b), iterations),
        "mul": per_op_ns(lambda: torch.mul(a, b), iterations),
        "matmul": per_op_ns(lambda: torch.matmul(a, b), iterations),
        "view": per_op_ns(lambda: a.view(-1), iterations),
    }
    large = {str(n): matmul_gflops(n, large_threads) for n in sizes}
    print(json.dumps({"version": torch.__version__, "small": small, "large": large}))


main()
