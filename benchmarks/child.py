"""One workload in one framework, in a fresh process: import time, first-call
time and peak resident memory.

Peak RSS cannot be split between two frameworks sharing a process, so the
runner starts this module once per (workload, framework). It loads only the
framework it measures, builds the workload with the initial weights the
parent saved (a NumPy .npz, no pickle), runs a few iterations and prints one
JSON line:

    python -m benchmarks.child --workload W1 --framework tinygrad_dc \
        [--weights W1.npz] [--iters 3] [--device cpu] [--smoke]

Peak RSS is the kernel's high-water mark of this process's resident set
(VmHWM in /proc/self/status). getrusage's ru_maxrss is not used on Linux:
across fork + exec it can keep the parent's, larger, peak.
"""
import argparse
import json
import os
import resource
import sys
import time

FRAMEWORKS = ("tinygrad_dc", "torch")


def _status_kib(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def current_rss_mib():
    kib = _status_kib("VmRSS")
    return None if kib is None else kib / 1024


def peak_rss_mib():
    kib = _status_kib("VmHWM")
    if kib is None:  # not Linux: ru_maxrss (bytes on macOS, KiB elsewhere)
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if sys.platform == "darwin":
            kib /= 1024
    return kib / 1024


def import_framework(name):
    if name == "torch":
        import torch
        return torch
    import tinygrad_dc
    import tinygrad_dc.nn  # noqa: F401  (lazy subpackages: load them now, inside the timing)
    import tinygrad_dc.optim  # noqa: F401
    return tinygrad_dc


def synchronizer(lib, device):
    if device != "cuda":
        return lambda: None
    return lib.cuda.synchronize


def measure(workload_id, framework, weights_path=None, iters=3, device="cpu", smoke=False,
            threads=None):
    t0 = time.perf_counter()
    lib = import_framework(framework)
    import_s = time.perf_counter() - t0
    if threads:
        from benchmarks.threads import apply_at_runtime
        apply_at_runtime(threads, lib if framework == "torch" else None)
    import numpy as np
    from benchmarks.workloads import BY_ID
    rss_after_import = current_rss_mib()

    weights = None
    if weights_path:
        with np.load(weights_path, allow_pickle=False) as archive:
            weights = {k: archive[k] for k in archive.files}
    built = BY_ID[workload_id].build(lib, device=device, smoke=smoke, weights=weights)
    sync = synchronizer(lib, device)

    t0 = time.perf_counter()
    built.step()
    sync()
    first_call_s = time.perf_counter() - t0
    for _ in range(max(iters - 1, 0)):
        built.step()
        sync()
    return {"workload": workload_id, "framework": framework, "import_s": import_s,
            "first_call_s": first_call_s, "rss_after_import_mib": rss_after_import,
            "peak_rss_mib": peak_rss_mib()}


def main(argv=None):
    ap = argparse.ArgumentParser(description="measure one workload in one framework")
    ap.add_argument("--workload", required=True)
    ap.add_argument("--framework", required=True, choices=FRAMEWORKS)
    ap.add_argument("--weights")
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--threads", type=int)
    args = ap.parse_args(argv)
    result = measure(args.workload, args.framework, args.weights, args.iters, args.device,
                     args.smoke, args.threads)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
