"""Timing helpers shared by the benchmarks: interleaved runs, medians."""
import os
import platform
import statistics
import time


def interleaved(fns, iters=30, warmup=3):
    """Time each callable in `fns` (a dict name -> fn), alternating between
    them every iteration so that machine noise hits all of them alike.
    Returns name -> list of seconds."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(iters):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def summary(samples):
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples)}


def machine_line():
    import numpy
    import torch
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, NumPy {numpy.__version__}, "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
