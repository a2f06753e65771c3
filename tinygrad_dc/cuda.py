"""`tinygrad_dc.cuda`: whether a GPU can be used, and synchronisation.

`is_available()` is True with a GPU that CuPy can see, or in simulation mode
(TINYGRAD_DC_CUDA_SIM=1 with NUMBA_ENABLE_CUDASIM=1: the CUDA backend on
NumPy arrays with the Numba kernels in Numba's simulator). It is fast: the
driver is asked once per process.
"""
from .backend import get_backend
from .backend.cuda import is_available, simulation_requested


def device_count():
    return 1 if is_available() else 0


def is_simulated():
    """True when device='cuda' runs in Numba's CUDA simulator, not on a GPU."""
    return is_available() and simulation_requested()


def get_device_name(device=None):
    if not is_available():
        get_backend("cuda")  # raises the DeviceError that says why
    if simulation_requested():
        return "Numba CUDA simulator"
    import cupy
    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def synchronize(device=None):
    """Wait until every kernel launched on the GPU has finished (a no-op without one)."""
    if is_available():
        get_backend("cuda").synchronize()


def manual_seed(seed):
    from .random import manual_seed as seed_all
    seed_all(seed)


manual_seed_all = manual_seed
