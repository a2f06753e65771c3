"""BENCHMARKS.md: the tables, the machine, the versions, the command and how
each figure was measured."""
import datetime
import math
import os

from benchmarks import threads
from benchmarks.common import cpu_model, memory_total_gib, versions
from benchmarks.run import LOSS_TOLERANCE, RSS_TARGET


def _num(x, fmt="{:.2f}"):
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else fmt.format(x)


def _time_cell(side, row):
    """median (min–max) in ms per iteration, or µs per op for W6."""
    if row.workload.per_op:
        scale, unit = 1e6 / row.ops_per_iter, " µs/op"
    else:
        scale, unit = 1e3, ""
    med, lo, hi = (v * scale for v in (side.median_s, side.min_s, side.max_s))
    digits = "{:.3g}" if med < 10 else "{:.1f}"
    return f"{digits.format(med)}{unit} ({digits.format(lo)}–{digits.format(hi)})"


def _mark(ok):
    return "✅" if ok else "❌"


def _throughput(row, device, peak):
    if not row.flops or row.workload.per_op:
        return "–"
    ours, theirs = row.flops / row.ours.median_s, row.flops / row.torch.median_s
    if device == "cuda":
        cell = f"{ours / 1e12:.2f} / {theirs / 1e12:.2f}"
        if peak:
            cell += f" ({100 * ours / (peak * 1e12):.0f}% / {100 * theirs / (peak * 1e12):.0f}%)"
        return cell
    return f"{ours / 1e9:.1f} / {theirs / 1e9:.1f}"


def timing_table(rows, device):
    peak = None
    unit = "GFLOP/s"
    if device == "cuda":
        from benchmarks.gpu import device_name, peak_for
        peak = peak_for(device_name())[0]
        unit = "TFLOP/s (% of FP32 peak)"
    lines = [f"| Row | Workload | tinygrad_dc ms median (min–max) | torch ms median (min–max) "
             f"| ours/torch | target | met | {unit} ours / torch |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        w = row.workload
        if row.error:
            lines.append(f"| {w.id} | {w.title} | FAILED | | | ≤ {w.target:g} | ❌ | |")
            continue
        lines.append(f"| {w.id} | {w.title} | {_time_cell(row.ours, row)} | "
                     f"{_time_cell(row.torch, row)} | **{row.ratio:.2f}** | ≤ {w.target:g} | "
                     f"{_mark(row.time_ok)} | {_throughput(row, device, peak)} |")
    return "\n".join(lines)


def startup_table(rows):
    lines = ["| Row | first call ours: empty Numba cache / warm cache / in this run (s) "
             "| first call torch: fresh / in this run (s) | import ours / torch (s) "
             "| peak RSS ours / torch (MiB) | RSS ratio | target | met "
             "| above import ours / torch (MiB) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        if row.error:
            continue
        o, t = row.ours, row.torch
        target = f"≤ {RSS_TARGET:g}" if row.workload.rss_target else "–"
        met = _mark(row.rss_ok) if row.workload.rss_target and not math.isnan(row.rss_ratio) else ""
        above_o = o.peak_rss_mib - o.rss_after_import_mib
        above_t = t.peak_rss_mib - t.rss_after_import_mib
        lines.append(
            f"| {row.workload.id} | {_num(o.cold_first_call_s, '{:.3f}')} / "
            f"{_num(o.fresh_first_call_s, '{:.3f}')} / {_num(o.first_call_s, '{:.3f}')} | "
            f"{_num(t.fresh_first_call_s, '{:.3f}')} / {_num(t.first_call_s, '{:.3f}')} | "
            f"{_num(o.import_s)} / {_num(t.import_s)} | "
            f"{_num(o.peak_rss_mib, '{:.0f}')} / {_num(t.peak_rss_mib, '{:.0f}')} | "
            f"{_num(row.rss_ratio)} | {target} | {met} | "
            f"{_num(above_o, '{:.0f}')} / {_num(above_t, '{:.0f}')} |")
    return "\n".join(lines)


def agreement_table(rows, tolerance):
    lines = [f"| Row | ours | torch | relative difference (≤ {tolerance:g}) |", "|---|---|---|---|"]
    for row in rows:
        if row.error:
            lines.append(f"| {row.workload.id} | | | ❌ {row.error} |")
            continue
        o = "product" if row.ours.output is None else f"{row.ours.output:.7g}"
        t = "product" if row.torch.output is None else f"{row.torch.output:.7g}"
        lines.append(f"| {row.workload.id} | {o} | {t} | {row.rel_diff:.2g} |")
    return "\n".join(lines)


def misses(rows):
    out = []
    for row in rows:
        w = row.workload
        if row.error:
            out.append(f"- **{w.id}**: failed ({row.error})")
            continue
        if not row.time_ok:
            out.append(f"- **{w.id}** time: ours/torch {row.ratio:.2f} > {w.target:g}")
        if not row.rss_ok:
            out.append(f"- **{w.id}** peak RSS: ours/torch {row.rss_ratio:.2f} > {RSS_TARGET:g}")
    return out


METHOD = """\
- **Same process, interleaved.** Each row builds the workload in torch and in
  tinygrad_dc, runs the first iteration of each (checked below), then
  `--warmup` untimed iterations of each, then `--iters` timed iterations
  alternating between the two frameworks, the order flipping every iteration,
  so that noise from other jobs on the machine hits both alike. Each sample is
  one full iteration (`time.perf_counter`); the table gives its median, min
  and max. W6 divides by the number of ops and reports µs per op.
- **Same data, same weights.** Inputs come from `numpy.random.default_rng(0)`;
  torch initialises the model under `torch.manual_seed(0)` and tinygrad_dc
  loads torch's initial state_dict (through NumPy arrays). The first
  iteration's outputs (the loss; the product for W0) must agree to a relative
  difference of `--tolerance` (max |ours − torch| / max |torch|), or the row
  fails and the runner exits non-zero.
- **Threads.** Both frameworks use the same count (`--threads`, default all
  cores): `OMP_NUM_THREADS`, `OPENBLAS_NUM_THREADS`, `MKL_NUM_THREADS` and
  `NUMBA_NUM_THREADS` are set before NumPy or torch load, then
  `torch.set_num_threads`, `numba.set_num_threads` and threadpoolctl (when
  installed) set each pool again at run time.
- **First call.** "in this run" is the first iteration in the benchmark
  process (earlier rows may already have compiled shared kernels). "warm
  cache" is the first iteration in a fresh process with Numba's on-disk cache
  as the earlier rows left it, i.e. what a user sees from the second run on;
  "empty Numba cache" points `NUMBA_CACHE_DIR` at an empty folder, so every
  kernel compiles: what a user sees once, after installing.
- **Peak RSS** cannot be split between two frameworks in one process, so each
  row runs again in one fresh process per framework (`benchmarks/child.py`,
  `--rss-iters` iterations), which imports only that framework and reads the
  kernel's high-water mark of its resident set (`VmHWM`, /proc/self/status;
  `getrusage`'s `ru_maxrss` can keep the parent's peak across fork + exec).
  "Peak RSS" is the whole process (interpreter, libraries, data, model,
  activations, optimizer state); "above import" subtracts the RSS measured
  right after the framework was imported, leaving what the workload itself
  used.
- **FLOP/s.** W0: 2n³ per product. W4: the six attention matmuls of forward
  and backward, 12·B·H·L²·d, counted dense (the causal mask's skipped half
  is not discounted). Training rows: torch's `FlopCounterMode` over one torch
  iteration (matmuls and convolutions, forward and backward; attention
  composed from matmuls for the count so that it is visible). The same count
  divides both frameworks' median time.
- **GPU** (`--device cuda`): both frameworks synchronise after every iteration;
  the fraction of peak is against the GPU's dense FP32 peak (torch keeps TF32
  off for float32 matmuls by default); see benchmarks/gpu.py for the table.
"""


def markdown(rows, args, command, torch, elapsed_s, load):
    v = versions()
    cores = threads.default_count()
    memory = memory_total_gib()
    device = args.device
    if device == "cuda":
        from benchmarks.gpu import device_name
        device = f"cuda ({device_name()})"
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load_text = ""
    if load[0] is not None:
        load_text = (f"; load average (1/5/15 min) {'/'.join(f'{x:.2f}' for x in load[0])} "
                     f"before, {'/'.join(f'{x:.2f}' for x in load[1])} after")
    parts = [
        "# Benchmarks: tinygrad_dc against PyTorch",
        "",
        "Generated by the benchmark runner (benchmarks/run.py); rerun it rather than editing "
        "this file.",
        "",
        f"- **Command:** `{command}`",
        f"- **Date:** {now}; device {device}; {args.iters} timed iterations after "
        f"{args.warmup} warm-up per framework; {elapsed_s / 60:.1f} min in all",
        f"- **Machine:** {cpu_model()}, {cores} cores available (os.cpu_count() "
        f"{os.cpu_count()})" + (f", {memory:.0f} GiB memory" if memory else "") + load_text,
        f"- **Threads:** {args.threads} for both frameworks ({threads.describe(torch)})",
        "- **Versions:** " + ", ".join(f"{k} {val}" for k, val in v.items()),
    ]
    if args.smoke:
        parts += ["", "**Smoke run: tiny shapes; the figures below mean nothing.**"]
    busiest = max((max(l[0], 0) for l in load if l is not None), default=0.0)
    if busiest > 0.5 * cores:
        parts += ["", f"**Busy machine:** the 1-minute load average reached {busiest:.1f} on "
                      f"{cores} cores while this ran (other jobs). A parallel region waits for "
                      "its slowest thread, and a thread that shares its core with another job "
                      "waits a scheduler time slice, so multi-threaded timings (both "
                      "frameworks) are slower and far noisier than on a quiet machine; compare "
                      "the min columns, or rerun with `--threads 1` or on a quiet machine."]
    parts += ["", "## Time per iteration", "", timing_table(rows, args.device), ""]
    parts += ["## Startup and memory (a fresh process per row and framework)", ""]
    if args.rss:
        parts += [startup_table(rows), ""]
    else:
        parts += ["Not measured (`--no-rss`).", ""]
    parts += ["## First-iteration agreement", "", agreement_table(rows, args.tolerance), ""]
    missed = misses(rows)
    parts += ["## Targets", "",
              "Ratios ours/torch of the median, same run: W0, W1 ≤ 1.0; W2–W5, W7 ≤ 1.2; "
              f"W6 ≤ 3 (µs per op); peak RSS ≤ {RSS_TARGET:g} on W1–W5 and W7.", ""]
    parts += (["Missed:", ""] + missed) if missed else ["All targets met in this run."]
    parts.append("")
    profiled = [row for row in rows if row.profile]
    if profiled:
        parts += ["## Where tinygrad_dc's time goes (rows off target)", ""]
        for row in profiled:
            parts += [f"### {row.workload.id}: {row.workload.title}", "", "```",
                      row.profile, "```", ""]
    notes = sorted({f"{row.workload.id}: {n}" for row in rows for n in row.notes})
    if notes:
        parts += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    parts += ["## How it is measured", "", METHOD]
    return "\n".join(parts)


__all__ = ["markdown", "LOSS_TOLERANCE"]
