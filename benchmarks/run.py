"""The benchmark runner: every workload in tinygrad_dc and in torch, in the
same process, interleaved; then one fresh process per workload and
framework for first-call time and peak memory; then BENCHMARKS.md.

    python -m benchmarks                    # everything, writes BENCHMARKS.md
    python -m benchmarks --only W1,W3       # some rows, printed (not written)
    python -m benchmarks --quick            # few iterations, a rough look
    python -m benchmarks --device cuda      # the GPU variant
    python -m benchmarks --profile          # + where our time goes, per row off target

See `python -m benchmarks --help` for the rest. Run it as a module from the
repository root (`python benchmarks/run.py` works too).
"""
import os
import sys

if __package__ in (None, ""):
    # `python benchmarks/run.py`: put the repository root, not benchmarks/
    # (whose module names could shadow the standard library's), on the path
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse  # noqa: E402
import cProfile  # noqa: E402
import gc  # noqa: E402
import math  # noqa: E402
import pstats  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Optional  # noqa: E402

from benchmarks import threads  # noqa: E402  (light: no NumPy)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_ITERS = 30
QUICK_ITERS = 5
RSS_TARGET = 1.5
LOSS_TOLERANCE = 1e-3


class LossMismatch(AssertionError):
    """The two frameworks' first-iteration outputs disagree."""


@dataclass
class Side:
    """One framework's figures for one row."""
    median_s: float = math.nan
    min_s: float = math.nan
    max_s: float = math.nan
    first_call_s: float = math.nan        # in this process (kernels may be cached by then)
    fresh_first_call_s: float = math.nan  # fresh process, on-disk Numba cache as found
    cold_first_call_s: float = math.nan   # fresh process, empty Numba cache (tinygrad_dc)
    import_s: float = math.nan
    peak_rss_mib: float = math.nan
    rss_after_import_mib: float = math.nan
    output: Optional[float] = None        # first-iteration loss (None for W0)


@dataclass
class Row:
    workload: object
    ours: Side = field(default_factory=Side)
    torch: Side = field(default_factory=Side)
    rel_diff: float = math.nan
    flops: Optional[float] = None
    ops_per_iter: int = 1
    iters: int = 0
    error: Optional[str] = None
    notes: list = field(default_factory=list)
    profile: Optional[str] = None

    @property
    def ratio(self):
        return self.ours.median_s / self.torch.median_s

    @property
    def rss_ratio(self):
        return self.ours.peak_rss_mib / self.torch.peak_rss_mib

    @property
    def time_ok(self):
        return self.error is None and self.ratio <= self.workload.target

    @property
    def rss_ok(self):
        if not self.workload.rss_target or math.isnan(self.rss_ratio):
            return True
        return self.rss_ratio <= RSS_TARGET


# ------------------------------------------------------------------ arguments
def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time tinygrad_dc against PyTorch on workloads W0-W7 (same process, "
                    "interleaved) and write BENCHMARKS.md.")
    ap.add_argument("--iters", type=int, default=None,
                    help=f"timed iterations per framework (default {DEFAULT_ITERS}; "
                         f"--quick: {QUICK_ITERS})")
    ap.add_argument("--warmup", type=int, default=None,
                    help="untimed iterations per framework before timing (default 3; --quick: 1)")
    ap.add_argument("--quick", action="store_true",
                    help=f"{QUICK_ITERS} iterations, 1 warm-up: a rough look, not a result")
    ap.add_argument("--only", help="comma-separated workloads or rows, e.g. W1,W3 or W0-2048")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--threads", type=int, default=None,
                    help="threads for both frameworks (default: all cores)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny shapes (checks the machinery; the figures mean nothing)")
    ap.add_argument("--no-rss", dest="rss", action="store_false",
                    help="skip the fresh processes (no peak RSS, no fresh first-call time)")
    ap.add_argument("--no-cold", dest="cold", action="store_false",
                    help="skip the fresh process with an empty Numba cache")
    ap.add_argument("--rss-iters", type=int, default=3,
                    help="iterations each fresh process runs (default 3)")
    ap.add_argument("--profile", action="store_true",
                    help="cProfile tinygrad_dc on each row that misses its time target and "
                         "add the top functions to the report")
    ap.add_argument("--tolerance", type=float, default=LOSS_TOLERANCE,
                    help="largest relative difference of the first-iteration outputs "
                         f"(default {LOSS_TOLERANCE:g})")
    ap.add_argument("--output", default=None,
                    help="where to write the report (default: BENCHMARKS.md at the repository "
                         "root for a full run; otherwise printed only)")
    args = ap.parse_args(argv)
    if args.iters is None:
        args.iters = QUICK_ITERS if (args.quick or args.smoke) else DEFAULT_ITERS
    if args.warmup is None:
        args.warmup = 1 if (args.quick or args.smoke) else 3
    if args.iters < 1 or args.warmup < 0:
        ap.error("--iters must be >= 1 and --warmup >= 0")
    if args.threads is None:
        args.threads = threads.default_count()
    complete = not (args.only or args.quick or args.smoke) and args.iters >= DEFAULT_ITERS
    if args.output is None and complete:
        name = "BENCHMARKS.md" if args.device == "cpu" else f"BENCHMARKS_{args.device.upper()}.md"
        args.output = os.path.join(REPO_ROOT, name)
    return args


# ------------------------------------------------------------------ helpers
def _synced(step, lib, device):
    if device != "cuda":
        return step

    def run():
        out = step()
        lib.cuda.synchronize()
        return out
    return run


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _scalar(out):
    from benchmarks.workloads import to_numpy
    value = to_numpy(out)
    return float(value) if value.size == 1 else None


def count_flops(built):
    """FLOPs of one torch training step, from torch's FlopCounterMode (which
    sees matmuls and convolutions, forward and backward). Attention runs
    composed for the count, as the fused CPU kernel is invisible to it."""
    from torch.utils.flop_counter import FlopCounterMode
    model = built.model
    composed = getattr(model, "composed_attention", None)
    if composed is not None:
        model.composed_attention = True
    try:
        with FlopCounterMode(display=False) as counter:
            built.step()
    finally:
        if composed is not None:
            model.composed_attention = composed
    return float(counter.get_total_flops()) or None


def _category(filename, func):
    """Where a profiled function's own time belongs, for the summary line."""
    if func == "matmul_arrays":
        return "BLAS matmul"  # `a @ b` is an operator: BLAS time lands in its caller
    path = filename.replace(os.sep, "/")
    if "/kernels/" in path:
        return "Numba kernels"
    if filename.startswith("~") or filename.startswith("<"):
        return "NumPy calls and builtins"
    if "/tinygrad_dc/" in path:
        return "tinygrad_dc functions (Python, inline NumPy operators)"
    return "other Python"


def profile_steps(step, median_s, top=15):
    """cProfile a few iterations of `step`: own time by category, then the
    top functions by own time."""
    n = int(min(20, max(3, math.ceil(1.0 / max(median_s, 1e-6)))))
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        step()
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt or 1e-30
    by_category = {}
    for (filename, _, func), (_, _, tottime, _, _) in stats.stats.items():
        key = _category(filename, func)
        by_category[key] = by_category.get(key, 0.0) + tottime
    categories = ", ".join(f"{name} {100 * t / total:.0f}%" for name, t in
                           sorted(by_category.items(), key=lambda kv: -kv[1]))
    entries = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    lines = [f"{n} iterations under cProfile, {total / n * 1e3:.1f} ms/iter (profiler overhead "
             "included)",
             f"own time by kind: {categories}",
             "top functions by own time:",
             f"{'own ms/iter':>11} {'own %':>6} {'cum ms/iter':>11} {'calls/iter':>10}  function"]
    for (filename, lineno, func), (_, ncalls, tottime, cumtime, _) in entries:
        lines.append(f"{tottime / n * 1e3:11.2f} {100 * tottime / total:6.1f} "
                     f"{cumtime / n * 1e3:11.2f} {ncalls / n:10.0f}  "
                     f"{_short_path(filename)}:{lineno}({func})")
    return "\n".join(lines)


def _short_path(filename):
    for marker in (REPO_ROOT + os.sep, "site-packages" + os.sep):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


# ------------------------------------------------------------------ in-process timing
def time_row(workload, args, torch, tg):
    row = Row(workload=workload, iters=args.iters)
    built_torch = workload.build(torch, device=args.device, smoke=args.smoke)
    built_ours = workload.build(tg, device=args.device, smoke=args.smoke,
                                weights=built_torch.weights)
    row.notes = built_ours.notes + built_torch.notes
    row.ops_per_iter = built_ours.ops_per_iter
    step_torch = _synced(built_torch.step, torch, args.device)
    step_ours = _synced(built_ours.step, tg, args.device)

    # the first iteration: both start from the same weights and data
    out_torch, row.torch.first_call_s = _timed(step_torch)
    out_ours, row.ours.first_call_s = _timed(step_ours)
    from benchmarks.workloads import relative_difference
    row.rel_diff = relative_difference(out_ours, out_torch)
    row.ours.output, row.torch.output = _scalar(out_ours), _scalar(out_torch)
    if not row.rel_diff <= args.tolerance:
        raise LossMismatch(
            f"{workload.id}: first-iteration outputs disagree: tinygrad_dc {row.ours.output}, "
            f"torch {row.torch.output}, relative difference {row.rel_diff:.3g} > "
            f"{args.tolerance:g}")

    row.flops = built_ours.flops
    if row.flops is None and built_torch.model is not None:
        row.flops = count_flops(built_torch)

    from benchmarks.common import interleaved, summary
    times = interleaved({"ours": step_ours, "torch": step_torch}, iters=args.iters,
                        warmup=args.warmup)
    for side, samples in ((row.ours, times["ours"]), (row.torch, times["torch"])):
        stats = summary(samples)
        side.median_s, side.min_s, side.max_s = stats["median"], stats["min"], stats["max"]
    if args.profile and not row.time_ok:
        row.profile = profile_steps(step_ours, row.ours.median_s)
    return row, built_torch.weights


# ------------------------------------------------------------------ fresh processes
def run_child(workload, framework, args, weights_path, cold=False):
    """benchmarks.child in a fresh interpreter; its JSON result."""
    env = dict(os.environ)
    env.update(threads.environment(args.threads))
    env["PYTHONPATH"] = REPO_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    cache_dir = None
    if cold:
        cache_dir = tempfile.mkdtemp(prefix="numba_cold_")
        env["NUMBA_CACHE_DIR"] = cache_dir  # empty: every kernel compiles
    cmd = [sys.executable, "-m", "benchmarks.child", "--workload", workload.id,
           "--framework", framework, "--iters", str(1 if cold else args.rss_iters),
           "--device", args.device, "--threads", str(args.threads)]
    if weights_path:
        cmd += ["--weights", weights_path]
    if args.smoke:
        cmd.append("--smoke")
    try:
        done = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                              timeout=1800)
    finally:
        if cache_dir:
            shutil.rmtree(cache_dir, ignore_errors=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[2:])} failed:\n{done.stderr[-2000:]}")
    import json
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_fresh(row, weights, args, scratch):
    import numpy as np
    weights_path = None
    if weights:
        weights_path = os.path.join(scratch, f"{row.workload.id}.npz")
        np.savez(weights_path, **weights)
    for framework, side in (("tinygrad_dc", row.ours), ("torch", row.torch)):
        result = run_child(row.workload, framework, args, weights_path)
        side.fresh_first_call_s = result["first_call_s"]
        side.import_s = result["import_s"]
        side.peak_rss_mib = result["peak_rss_mib"]
        side.rss_after_import_mib = result["rss_after_import_mib"]
    if args.cold:
        result = run_child(row.workload, "tinygrad_dc", args, weights_path, cold=True)
        row.ours.cold_first_call_s = result["first_call_s"]


# ------------------------------------------------------------------ main
def check_device(device):
    if device != "cuda":
        return
    from benchmarks.gpu import unavailable_reasons
    reasons = unavailable_reasons()
    if reasons:
        raise SystemExit("--device cuda cannot run on this machine:\n  - " + "\n  - ".join(reasons)
                         + "\nRun without --device (CPU) or on a machine with an NVIDIA GPU, "
                           "a CUDA build of torch and tinygrad_dc's CUDA extra.")


def _log(message):
    print(message, file=sys.stderr, flush=True)


def run(args, command):
    threads.set_environment(args.threads)  # no effect if NumPy is already loaded; see below
    import torch
    import tinygrad_dc as tg
    import tinygrad_dc.nn  # noqa: F401
    import tinygrad_dc.optim  # noqa: F401
    threads.apply_at_runtime(args.threads, torch)
    check_device(args.device)
    from benchmarks import report
    from benchmarks.workloads import select

    started = time.time()
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    rows, failures = [], []
    scratch = tempfile.mkdtemp(prefix="tinygrad_dc_bench_")
    try:
        for workload in select(args.only):
            _log(f"[{time.time() - started:6.0f}s] {workload.id}: {workload.title}")
            gc.collect()  # the previous row's garbage is not this row's cost
            try:
                row, weights = time_row(workload, args, torch, tg)
            except LossMismatch as e:
                _log(f"ERROR {e}")
                failures.append(str(e))
                rows.append(Row(workload=workload, error=str(e)))
                continue
            _log(f"         ours {row.ours.median_s * 1e3:.2f} ms, torch "
                 f"{row.torch.median_s * 1e3:.2f} ms, ratio {row.ratio:.2f}, "
                 f"output rel. diff {row.rel_diff:.2g}")
            if args.rss:
                try:
                    measure_fresh(row, weights, args, scratch)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    row.notes.append(f"fresh-process measurement failed: {e}")
                    _log(f"WARNING {workload.id}: {e}")
            rows.append(row)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    load_after = os.getloadavg() if hasattr(os, "getloadavg") else None
    text = report.markdown(rows, args, command, torch, elapsed_s=time.time() - started,
                           load=(load_before, load_after))
    if args.output:
        text += _kept_section(args.output)
        with open(args.output, "w") as f:
            f.write(text)
        _log(f"wrote {args.output}")
    else:
        print(text)
    if failures:
        raise SystemExit("first-iteration outputs disagree:\n  " + "\n  ".join(failures))
    return rows


# A section that another script measures (benchmarks/allreduce.py needs
# mpiexec) and that a rerun of this runner must not drop.
KEPT_SECTION = "## Distributed all-reduce"


def _kept_section(path):
    try:
        with open(path) as f:
            old = f.read()
    except OSError:
        return ""
    return "\n" + old[old.index(KEPT_SECTION):] if KEPT_SECTION in old else ""


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    command = " ".join(["python -m benchmarks"] + argv)
    return run(args, command)


if __name__ == "__main__":
    _early = parse_args(sys.argv[1:])
    threads.set_environment(_early.threads)  # before NumPy loads
    main()
