"""Tensor factories: tensor, zeros, ones, full, arange, rand, ... (PyTorch's
names and defaults: float32 unless a dtype is given or implied)."""
import math

import numpy as np

from . import dtypes
from .backend import get_backend
from .random import uniform_array, normal_array, randint_array
from .tensor import Tensor, _shape_arg


def _finish(array, backend, requires_grad):
    t = Tensor._make(array, backend, None)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _float_dtype(dtype):
    dt = dtypes.from_any(dtype) or dtypes.default_float
    return dt


def tensor(data, dtype=None, device=None, requires_grad=False):
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return Tensor(data, dtype=dtype, device=device)


def from_numpy(array):
    """A CPU tensor sharing memory with the NumPy array."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    dtypes.from_numpy(array.dtype)
    return Tensor._make(array, get_backend("cpu"), None)


def _filled(value, shape, dtype, device, requires_grad):
    backend = get_backend(device)
    dt = dtypes.from_any(dtype)
    if dt is None:
        dt = dtypes.from_numpy(np.asarray(value).dtype) if not isinstance(value, float) else None
        dt = dtypes.default_float if dt is None or dt.np == np.float64 else dt
        if dt.category == 1:
            dt = dtypes.int64
    return _finish(backend.xp.full(_shape_arg(shape), value, dtype=dt.np), backend, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _filled(0.0, size, _float_dtype(dtype), device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _filled(1.0, size, _float_dtype(dtype), device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if isinstance(fill_value, bool) and dtype is None:
        dtype = dtypes.bool_
    return _filled(fill_value, (size,) if isinstance(size, int) else tuple(size), dtype,
                   device, requires_grad)


def zeros_like(input, dtype=None, device=None, requires_grad=False):
    return zeros(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                 requires_grad=requires_grad)


def ones_like(input, dtype=None, device=None, requires_grad=False):
    return ones(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)


def empty_like(input, dtype=None, device=None, requires_grad=False):
    return zeros_like(input, dtype, device, requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):
    return full(input.shape, fill_value, dtype=dtype or input.dtype,
                device=device or input.device, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    values = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    dt = dtypes.from_any(dtype)
    if dt is None:
        dt = dtypes.default_float if any(isinstance(v, float) for v in values) else dtypes.int64
    backend = get_backend(device)
    start, end, step = values
    n = max(int(math.ceil((end - start) / step)), 0)
    # computed as start + i * step (like PyTorch) rather than by accumulation
    array = (backend.xp.arange(n, dtype=np.float64) * step + start).astype(dt.np) \
        if dt.is_floating_point else backend.xp.arange(start, end, step, dtype=dt.np)
    return _finish(array, backend, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    backend = get_backend(device)
    dt = _float_dtype(dtype)
    return _finish(backend.xp.linspace(start, end, int(steps), dtype=np.float64).astype(dt.np),
                   backend, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    backend = get_backend(device)
    return _finish(backend.xp.eye(n, m, dtype=_float_dtype(dtype).np), backend, requires_grad)


def _random_float_dtype(name, dtype):
    dt = _float_dtype(dtype)
    if not dt.is_floating_point:
        raise TypeError(f"{name}: expected a floating point dtype, got {dt.name}")
    return dt


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None):
    dt = _random_float_dtype("rand", dtype)
    backend = get_backend(device)
    array = uniform_array(backend, _shape_arg(size), 0.0, 1.0, dt.np)
    return _finish(array, backend, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None):
    dt = _random_float_dtype("randn", dtype)
    backend = get_backend(device)
    array = normal_array(backend, _shape_arg(size), 0.0, 1.0, dt.np)
    return _finish(array, backend, requires_grad)


def randint(low, high=None, size=None, dtype=None, device=None, requires_grad=False,
            generator=None):
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing the size argument")
    if high <= low:
        raise ValueError(f"randint: expected low < high, got low={low} and high={high}")
    backend = get_backend(device)
    dt = dtypes.from_any(dtype) or dtypes.int64
    array = randint_array(backend, low, high, _shape_arg((size,)) if not isinstance(size, int)
                          else (size,)).astype(dt.np)
    return _finish(array, backend, requires_grad)


def randperm(n, dtype=None, device=None):
    backend = get_backend(device)
    dt = dtypes.from_any(dtype) or dtypes.int64
    return _finish(backend.generator.permutation(n).astype(dt.np), backend, False)


def rand_like(input, dtype=None, device=None, requires_grad=False):
    return rand(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)


def randn_like(input, dtype=None, device=None, requires_grad=False):
    return randn(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                 requires_grad=requires_grad)
