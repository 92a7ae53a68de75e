#!/usr/bin/python3
"""gloo's own all-reduce (PyTorch ProcessGroupGloo) at 2 local ranks on loopback: the peer of
tools/bench/allreduce.ts (issue 16, item 5).

    /usr/bin/python3 tools/bench/torch-peer/gloo_allreduce.py --floats 1024,16384,262144 [--iters 200,200,76]

Needs an interpreter with torch and gloo (Debian `python3-torch`: /usr/bin/python3; plain `python3` on
this VM lacks torch). Without --rank it is the launcher: it picks a free port on 127.0.0.1, starts two
ranks of itself (subprocesses, world 2, init_process_group('gloo', 'tcp://127.0.0.1:<port>', timeout
60 s)) and passes rank 0's single JSON line through to stdout:

    {"sizes": [{"bytes": .., "ms": .., "iters": ..}], "torch": "1.13..", "threads": 1, ...}

Each rank runs torch.set_num_threads(1) (and OMP_NUM_THREADS=1), so torch's intra-op pool is one
thread per rank; ProcessGroupGloo still runs each collective on its own worker thread, as the addon
runs gloo on a libuv worker thread. Per size: one warm-up all_reduce (sum) of a float32 tensor filled
with 1, then a fixed number of timed calls, the same on both ranks (default max(3, min(200,
round(2e7 / n))) like allreduce.ts; --iters overrides). ms = wall time of the timed calls / calls, on
rank 0.

Exit codes: 0 ok, 3 torch or its gloo backend is missing (the caller prints "skipped"), 1 anything
else (a rank failed or the run passed --timeout).
"""

import argparse
import json
import math
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta

NO_GLOO = 3


def default_iters(n: int) -> int:
    return max(3, min(200, math.floor(2e7 / n + 0.5)))


def parse_ints(s: str) -> list:
    return [int(x) for x in s.split(",") if x.strip()]


def rank_main(rank: int, world: int, port: int, floats: list, iters: list) -> int:
    try:
        import torch
        import torch.distributed as dist
    except ImportError as e:
        print(f"gloo_allreduce: no torch ({e})", file=sys.stderr)
        return NO_GLOO
    if not (dist.is_available() and dist.is_gloo_available()):
        print(f"gloo_allreduce: torch {torch.__version__} has no gloo backend", file=sys.stderr)
        return NO_GLOO
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=world,
        timeout=timedelta(seconds=60),
    )
    load0 = os.getloadavg()
    sizes = []
    for n, want in zip(floats, iters):
        buf = torch.ones(n, dtype=torch.float32)
        dist.all_reduce(buf)  # warm-up (also lines the two ranks up)
        t0 = time.perf_counter()
        for _ in range(want):
            dist.all_reduce(buf)
        ms = (time.perf_counter() - t0) * 1e3 / want
        sizes.append({"bytes": 4 * n, "ms": ms, "iters": want})
    dist.barrier()
    dist.destroy_process_group()
    if rank == 0:
        out = {
            "sizes": sizes,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "world": world,
            "backend": "gloo (torch.distributed ProcessGroupGloo, all_reduce SUM)",
            "loadavg": [load0[0], os.getloadavg()[0]],
        }
        print(json.dumps(out), flush=True)
    return 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(args, floats: list, iters: list) -> int:
    port = free_port()
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("GLOO_SOCKET_IFNAME", "lo")  # loopback, whatever the hostname resolves to
    cmd = [sys.executable, os.path.abspath(__file__), "--floats", ",".join(map(str, floats))]
    cmd += ["--iters", ",".join(map(str, iters)), "--world", str(args.world), "--port", str(port)]
    procs = [
        subprocess.Popen(cmd + ["--rank", str(r)], env=env, stdout=subprocess.PIPE if r == 0 else subprocess.DEVNULL)
        for r in range(args.world)
    ]
    deadline = time.monotonic() + args.timeout
    codes = [None] * args.world
    while any(c is None for c in codes):
        for i, p in enumerate(procs):
            codes[i] = p.poll()
        failed = [c for c in codes if c not in (None, 0)]
        if failed or time.monotonic() > deadline:
            for p in procs:
                if p.poll() is None:
                    p.kill()
            for p in procs:
                p.wait()
            if NO_GLOO in failed:
                return NO_GLOO
            why = f"a rank exited with {failed[0]}" if failed else f"timed out after {args.timeout} s"
            print(f"gloo_allreduce: {why}", file=sys.stderr)
            return 1
        time.sleep(0.05)
    stdout = procs[0].stdout.read().decode()
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        print("gloo_allreduce: rank 0 printed no JSON", file=sys.stderr)
        return 1
    print(lines[-1], flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--floats", default="1024,16384,262144,1048576", help="float32 element counts, comma-separated")
    ap.add_argument("--iters", default="", help="timed calls per size (default: max(3, min(200, round(2e7/n))))")
    ap.add_argument("--world", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=300.0, help="launcher: kill both ranks after this many seconds")
    ap.add_argument("--rank", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    floats = parse_ints(args.floats)
    iters = parse_ints(args.iters) if args.iters else [default_iters(n) for n in floats]
    if len(iters) != len(floats) or any(n <= 0 for n in floats) or any(k <= 0 for k in iters):
        ap.error("--floats and --iters need the same number of positive entries")
    if args.rank is None:
        return launch(args, floats, iters)
    return rank_main(args.rank, args.world, args.port, floats, iters)


if __name__ == "__main__":
    sys.exit(main())
