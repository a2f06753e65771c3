"""One thread count for both frameworks.

torch runs its own OpenMP pool and MKL; tinygrad_dc runs OpenBLAS (through
NumPy) and Numba's parallel kernels. The BLAS and OpenMP pools read their
size from the environment when the library loads, so `set_environment`
must run before NumPy is imported (benchmarks/__main__.py does that, and
the child processes get the variables in their environment);
`apply_at_runtime` then sets every pool again through the libraries' own
calls, which also covers a caller that imported NumPy first.

This module imports nothing heavy at load time.
"""
import os

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS")


def default_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# Idle threads sleep at once instead of spinning. Both frameworks run in one
# process, interleaved: a pool that spins after its call steals the cores
# from the other framework's next call. tinygrad_dc sets the same defaults
# on import, but torch (imported first here) reads them at its own import.
QUIET_POOLS = {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "4"}


def environment(count):
    return dict({name: str(count) for name in THREAD_VARIABLES}, **QUIET_POOLS)


def set_environment(count):
    os.environ.update(environment(count))


def apply_at_runtime(count, torch=None):
    """torch.set_num_threads, numba.set_num_threads and (when threadpoolctl
    is installed) the BLAS/OpenMP pools NumPy loaded."""
    import numba
    numba.set_num_threads(min(count, numba.config.NUMBA_NUM_THREADS))
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=count)
    except ImportError:
        pass  # the environment variables set before import still hold
    if torch is not None:
        torch.set_num_threads(count)


def describe(torch=None):
    """What each pool actually uses, for the report."""
    import numba
    parts = []
    if torch is not None:
        parts.append(f"torch intra-op {torch.get_num_threads()}")
    parts.append(f"Numba {numba.get_num_threads()}")
    try:
        from threadpoolctl import threadpool_info
        for pool in threadpool_info():
            parts.append(f"{pool.get('internal_api')} ({os.path.basename(pool.get('filepath', ''))})"
                         f" {pool.get('num_threads')}")
    except ImportError:
        parts.append("BLAS pools: threadpoolctl not installed, set by "
                     + ", ".join(THREAD_VARIABLES))
    return "; ".join(parts)
