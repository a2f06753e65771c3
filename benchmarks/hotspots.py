"""Where tinygrad_dc's time goes on one workload: cProfile over a few
iterations after warm-up, top functions by own time (or cumulative time).
torch is not loaded; the model keeps tinygrad_dc's own initialisation.

    python -m benchmarks.hotspots W7 [--iters 5] [--top 25] [--sort cumulative] [--smoke]
"""
import argparse
import cProfile
import pstats
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workload", help="a row id, e.g. W1, W6-fwbw, W0-2048")
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--sort", default="tottime", choices=("tottime", "cumulative", "ncalls"))
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args(argv)

    import tinygrad_dc as tg
    import tinygrad_dc.nn  # noqa: F401
    import tinygrad_dc.optim  # noqa: F401
    from benchmarks.workloads import BY_ID
    if args.workload not in BY_ID:
        raise SystemExit(f"unknown workload {args.workload!r}; choose from {', '.join(BY_ID)}")
    built = BY_ID[args.workload].build(tg, smoke=args.smoke)
    for _ in range(args.warmup):
        built.step()
    t0 = time.perf_counter()
    for _ in range(args.iters):
        built.step()
    print(f"{args.workload}: {(time.perf_counter() - t0) / args.iters * 1e3:.2f} ms/iter "
          "without the profiler")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.iters):
        built.step()
    profiler.disable()
    pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
