"""Launch helpers shared by the CUDA kernels: arrays in, arrays out, grid sizes.

The public kernels accept NumPy arrays (Numba's CUDA simulator, and the
backend's simulation mode), CuPy arrays, Numba device arrays, or anything else
with ``__cuda_array_interface__``; they return arrays of the same kind as their
first input, so CuPy in gives CuPy out.
"""
import importlib
import math

import numpy as np
from numba import cuda
from numba.core import config

#: True when ``NUMBA_ENABLE_CUDASIM=1`` was set before numba was first imported.
SIMULATOR = bool(config.ENABLE_CUDASIM)

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# Hardware limits on the grid: x up to 2**31-1 blocks, y and z up to 65535.
# The simulator runs every thread of every block as a Python thread (~0.25 ms
# each), so there the kernels' grid-stride loops cover the work with 2 blocks
# per axis: the same code paths (including the stride loops) at a fraction
# of the cost.
_GRID_MAX = (2, 2, 2) if SIMULATOR else (2 ** 31 - 1, 65535, 65535)


def grid(*blocks_needed):
    """Clamp the number of blocks wanted along x (, y, z) to the launch limits."""
    return tuple(max(1, min(int(n), cap)) for n, cap in zip(blocks_needed, _GRID_MAX))


def blocks(n, per_block):
    """Blocks needed to cover ``n`` items with ``per_block`` items each."""
    return math.ceil(n / per_block)


def check_float(name, *arrays):
    """All arrays float32 (or all float64): the kernels are typed per dtype."""
    dtypes = [np.dtype(a.dtype) for a in arrays]
    if dtypes[0] not in FLOAT_DTYPES or any(d != dtypes[0] for d in dtypes):
        raise TypeError(f"{name}: expected float32 or float64 arrays of one dtype, "
                        f"got {', '.join(str(d) for d in dtypes)}")
    return dtypes[0]


def empty(like, shape, dtype=None):
    """An uninitialised array of the same kind (NumPy / CuPy / Numba) as ``like``."""
    dtype = np.dtype(like.dtype if dtype is None else dtype)
    shape = tuple(int(s) for s in shape)
    if isinstance(like, np.ndarray):
        return np.empty(shape, dtype)
    module = type(like).__module__.split(".")[0]
    if module == "cupy":
        return importlib.import_module("cupy").empty(shape, dtype=dtype)
    return cuda.device_array(shape, dtype=dtype)


def check_out(name, out, shape, dtype):
    """A caller-supplied ``out`` must match exactly and be C-contiguous (it is reshaped)."""
    flags = getattr(out, "flags", None)  # NumPy/CuPy; Numba device arrays have a method
    contiguous = flags.c_contiguous if hasattr(flags, "c_contiguous") else out.is_c_contiguous()
    if tuple(out.shape) != tuple(shape) or np.dtype(out.dtype) != dtype or not contiguous:
        raise ValueError(f"{name}: out must be a C-contiguous {dtype} array of shape "
                         f"{tuple(shape)}, got {out.dtype} {tuple(out.shape)}"
                         f"{'' if contiguous else ' (not C-contiguous)'}")


def arg(a):
    """An array as a kernel argument.

    Numba synchronises the producer's stream on every launch for a foreign
    (``__cuda_array_interface__``) array unless told not to.  Both CuPy and
    these launches use the legacy default stream, which already orders them,
    so the import skips that per-launch synchronisation.
    """
    foreign = (not SIMULATOR and cuda.is_cuda_array(a)
               and not type(a).__module__.startswith("numba."))
    return cuda.as_cuda_array(a, sync=False) if foreign else a


def array_module(a):
    """NumPy or CuPy, for the rare host-side reshaping a wrapper needs."""
    if isinstance(a, np.ndarray):
        return np
    module = type(a).__module__.split(".")[0]
    if module == "cupy":
        return importlib.import_module(module)
    raise TypeError(f"expected a NumPy or CuPy array for this operation, got {type(a).__name__}")
