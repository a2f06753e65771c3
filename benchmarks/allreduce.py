"""Gradient all-reduce throughput between 2 MPI processes: DistributedDataParallel's
bucketed reduction against a raw mpi4py Allreduce of the same bytes, in the
same run.

    python benchmarks/allreduce.py            # starts `mpiexec -n 2` itself
    python benchmarks/allreduce.py --json out.json

The model is an MLP of 24 Linear(1024, 1024) layers: 25.2M float32
parameters, 100.7 MB of gradients, which DDP's 25 MiB cap packs into 4
buckets. Rows, each timed on both ranks after a barrier (the slower rank's
time counts), alternating so that machine noise hits all alike:

- raw:     one `comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)` of all the bytes
- raw-4:   the same bytes as 4 raw Allreduce calls, the buckets' sizes
- ddp:     DDP's post-backward reduction: copy each grad, divided by the
           world size, into its bucket; one all-reduce per bucket; each
           .grad becomes its slice of the reduced bucket
- ddp-view: the same with gradient_as_bucket_view=True (the buckets are kept
           and reused; grads accumulated in place need no copy at all)

GB/s is the payload (gradient bytes) per second; the ratio is raw's time
over ddp's (target >= 0.8).
"""
import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

LAYERS, WIDTH = 24, 1024


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=20, help="timed repetitions per row")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--nprocs", type=int, default=2)
    p.add_argument("--json", default=None, help="also write the results here (rank 0)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def launch(args):
    """Run this file as an MPI job of args.nprocs processes."""
    import subprocess
    from tinygrad_dc.distributed.launch import mpiexec_command, mpiexec_env
    argv = [sys.executable, os.path.abspath(__file__), "--worker", "--iters", str(args.iters),
            "--warmup", str(args.warmup)]
    if args.json:
        argv += ["--json", os.path.abspath(args.json)]
    return subprocess.call(mpiexec_command(args.nprocs, argv), env=mpiexec_env())


def build(gradient_as_bucket_view):
    import numpy as np
    import tinygrad_dc as tg
    from tinygrad_dc import nn
    from tinygrad_dc.nn.parallel import DistributedDataParallel
    tg.manual_seed(0)
    model = nn.Sequential(*[nn.Linear(WIDTH, WIDTH) for _ in range(LAYERS)])
    ddp = DistributedDataParallel(model, gradient_as_bucket_view=gradient_as_bucket_view)
    rng = np.random.default_rng(1)
    for p in model.parameters():
        p.grad = tg.tensor(rng.standard_normal(p.shape, dtype=np.float32))
    return model, ddp


def worker(args):
    import numpy as np
    import tinygrad_dc.distributed as dist
    from mpi4py import MPI

    dist.init_process_group("mpi")
    comm, rank = MPI.COMM_WORLD, dist.get_rank()
    model, ddp = build(False)
    _, ddp_view = build(True)
    numel = sum(p.numel() for p in model.parameters())
    nbytes = numel * 4
    raw = np.random.default_rng(2).standard_normal(numel, dtype=np.float32)
    bounds = np.cumsum([0] + [b.numel for b in ddp._buckets])
    chunks = [raw[a:b] for a, b in zip(bounds[:-1], bounds[1:])]

    original = raw.copy()

    def raw_once():
        comm.Allreduce(MPI.IN_PLACE, raw, op=MPI.SUM)

    def raw_chunks():
        for c in chunks:
            comm.Allreduce(MPI.IN_PLACE, c, op=MPI.SUM)

    rows = {"raw": raw_once, "raw-4": raw_chunks, "ddp": ddp._reduce_gradients,
            "ddp-view": ddp_view._reduce_gradients}
    for _ in range(args.warmup):
        for fn in rows.values():
            raw[:] = original
            fn()
    times = {name: [] for name in rows}
    order = list(rows.items())
    for i in range(args.iters):
        for name, fn in (order if i % 2 == 0 else order[::-1]):
            raw[:] = original  # untimed: the sums would otherwise double every call
            comm.Barrier()
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    # the slower rank's time is the collective's time
    for name in times:
        local = np.array(times[name])
        comm.Allreduce(MPI.IN_PLACE, local, op=MPI.MAX)
        times[name] = local.tolist()
    if rank == 0:
        report(times, nbytes, numel, len(ddp._buckets), args)
    dist.destroy_process_group()


def report(times, nbytes, numel, nbuckets, args):
    import numpy as np
    from mpi4py import MPI
    med = {name: statistics.median(t) for name, t in times.items()}
    gbs = {name: nbytes / s / 1e9 for name, s in med.items()}
    ratio = med["raw"] / med["ddp"]
    ratio_view = med["raw"] / med["ddp-view"]
    print(f"all-reduce of {numel / 1e6:.1f}M float32 gradients ({nbytes / 1e6:.1f} MB) between "
          f"{args.nprocs} processes; {args.iters} timed iterations; DDP: {nbuckets} buckets of "
          f"<= 25 MiB")
    print(f"MPI: {MPI.Get_library_version().splitlines()[0].strip()}; mpi4py "
          f"{__import__('mpi4py').__version__}; NumPy {np.__version__}; "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
    print(f"{'row':10s} {'median ms':>10s} {'min ms':>8s} {'max ms':>8s} {'GB/s':>7s}")
    for name, t in times.items():
        print(f"{name:10s} {1e3 * med[name]:10.1f} {1e3 * min(t):8.1f} {1e3 * max(t):8.1f} "
              f"{gbs[name]:7.2f}")
    print(f"DDP bucketed / raw Allreduce throughput: {ratio:.2f} (target >= 0.80: "
          f"{'met' if ratio >= 0.8 else 'NOT met'}); with gradient_as_bucket_view: "
          f"{ratio_view:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"numel": numel, "bytes": nbytes, "buckets": nbuckets,
                       "iters": args.iters, "median_s": med, "GBps": gbs,
                       "ratio": ratio, "ratio_view": ratio_view, "times_s": times}, f, indent=1)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    return launch(args)


if __name__ == "__main__":
    sys.exit(main())
