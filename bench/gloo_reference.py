"""The reference for `Cluster.Bench train`'s all-reduce table: PyTorch's own torch.distributed Gloo all_reduce (sum,
float32) between two processes on loopback, as DDP runs it on CPU (Debian's python3-torch, the libtorch and Gloo the
binding uses).

    /usr/bin/python3 gloo_reference.py

Starts rank 1 as a second process, prints {"version": ...}, then answers one line per request on stdin:
  "MEGABYTES"  seconds of one all_reduce of that many MB, the slower rank's, best of 3 after a warm-up
"""
import json
import socket
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def measure(megabytes):
    tensor = torch.ones(megabytes << 18)
    dist.all_reduce(tensor)  # warm-up: the pairs' buffers are registered
    best = float("inf")
    for _ in range(3):
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(tensor)
        elapsed = torch.tensor([time.perf_counter() - start], dtype=torch.float64)
        dist.all_reduce(elapsed, op=dist.ReduceOp.MAX)
        best = min(best, elapsed.item())
    return best


def rank1(port):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=1, world_size=2)
    sizes = torch.zeros(1, dtype=torch.int64)
    while True:
        dist.broadcast(sizes, 0)
        if sizes.item() == 0:
            break
        measure(int(sizes.item()))
    dist.destroy_process_group()


def main():
    torch.set_num_threads(1)
    with socket.socket() as s:  # a free port for the rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    peer = mp.get_context("spawn").Process(target=rank1, args=(port,))
    peer.start()
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=2)
    print(json.dumps({"version": torch.__version__}), flush=True)
    for line in sys.stdin:
        megabytes = int(line)
        dist.broadcast(torch.tensor([megabytes], dtype=torch.int64), 0)
        print(measure(megabytes), flush=True)
    dist.broadcast(torch.zeros(1, dtype=torch.int64), 0)
    dist.destroy_process_group()
    peer.join()


if __name__ == "__main__":
    main()
