"""tinygrad_dc: a readable deep learning engine that speaks PyTorch's dialect."""
import os as _os

# Two thread pools share the cores: OpenBLAS's (matmuls) and OpenMP's (the
# parallel Numba kernels). By default each keeps its idle threads spinning
# for a while after a call, so a kernel that follows a matmul (or the other
# way round) fights busy-waiting threads: a max-pool after a GEMM took 4x
# longer, a GEMM after a kernel 3x. Idle threads that sleep at once cost
# nothing measurable. Read when the libraries start, so set here, before
# NumPy and Numba load; a value the user set wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
_os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
from .dtypes import (DType as dtype, float16, float32, float64, half, double, int8, uint8,  # noqa: F401
                     int16, int32, int64, long, short, bool_ as bool)
from .dtypes import float, int  # noqa: F401,A001  (shadowing as torch does)
from .tensor import Tensor, ShapeError, device  # noqa: F401
from .backend import DeviceError  # noqa: F401
from .autograd import no_grad, enable_grad, set_grad_enabled, is_grad_enabled, inference_mode  # noqa: F401
from .random import manual_seed, initial_seed  # noqa: F401
from .creation import (tensor, as_tensor, from_numpy, zeros, ones, empty, full, zeros_like,  # noqa: F401
                       ones_like, empty_like, full_like, arange, linspace, eye, rand, randn,
                       randint, randperm, rand_like, randn_like)
from .functions import *  # noqa: F401,F403
from . import autograd, cuda, dtypes  # noqa: F401

__version__ = "0.1.0"


def __getattr__(name):
    # the heavier subpackages load on first use, keeping `import tinygrad_dc` fast
    import importlib
    if name in ("nn", "optim", "utils", "datasets", "distributed"):
        return importlib.import_module(f".{name}", __name__)
    if name in ("save", "load"):
        from . import serialization
        return getattr(serialization, name)
    if name in ("save_safetensors", "load_safetensors"):
        from . import safetensors_io
        return getattr(safetensors_io, name)
    raise AttributeError(f"module 'tinygrad_dc' has no attribute {name!r}")
