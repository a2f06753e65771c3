"""Timing helpers shared by the benchmarks: interleaved runs, medians."""
import os
import platform
import statistics
import time


def interleaved(fns, iters=30, warmup=3):
    """Time each callable in `fns` (a dict name -> fn), alternating between
    them every iteration so that machine noise hits all of them alike; the
    order flips every iteration, so neither always runs right after the
    other (caches, spinning thread pools). Returns name -> list of seconds."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    order = list(fns.items())
    for i in range(iters):
        for name, fn in (order if i % 2 == 0 else order[::-1]):
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


def cpu_model():
    """The CPU's model name from /proc/cpuinfo (Linux), else platform's."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_total_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 2 ** 20
    except OSError:
        pass
    return None


def numpy_blas():
    """NumPy's BLAS, e.g. 'scipy-openblas 0.3.31'."""
    import numpy
    try:
        info = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{info.get('name', '?')} {info.get('version', '')}".strip()
    except Exception:  # older NumPy: no dict mode
        return "unknown"


def torch_blas():
    """torch's BLAS, from its build configuration (e.g. 'mkl 2024.2 + oneDNN')."""
    import re
    import torch
    config = torch.__config__.show()
    found = re.search(r"BLAS_INFO=(\w+)", config)
    blas = found.group(1) if found else "unknown"
    mkl = re.search(r"Math Kernel Library Version ([\w.]+)", config)
    if blas == "mkl" and mkl:
        blas += f" {mkl.group(1)}"
    if "MKL-DNN" in config or "oneDNN" in config:
        blas += " + oneDNN"
    return blas


def versions():
    import numba
    import numpy
    import torch
    import tinygrad_dc
    return {"Python": platform.python_version(), "NumPy": numpy.__version__,
            "Numba": numba.__version__, "torch": torch.__version__,
            "tinygrad_dc": tinygrad_dc.__version__,
            "NumPy BLAS": numpy_blas(), "torch BLAS": torch_blas()}
