"""Exact (erf-based) GELU, forward and backward, on arrays of any shape.

NumPy has no `erf`; `math.erf` compiles under Numba to the C library's erf,
which is correctly rounded to float64, so these match PyTorch's exact GELU.
The scalar math runs in float64 for every input dtype, then rounds once.

    gelu(x)  = x * Phi(x),            Phi(x) = (1 + erf(x / sqrt 2)) / 2
    gelu'(x) = Phi(x) + x * phi(x),   phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
"""
import math

import numpy as np
from numba import njit, prange

__all__ = ["gelu_forward", "gelu_backward"]

_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# Threads pay off only on large arrays; on small ones (and on a busy
# machine) waking a thread pool costs more than the work itself.
_PARALLEL_MIN_SIZE = 1 << 16


@njit(cache=True)
def _gelu(v):
    return 0.5 * v * (1.0 + math.erf(v * _SQRT1_2))


@njit(cache=True)
def _gelu_grad(v):
    cdf = 0.5 * (1.0 + math.erf(v * _SQRT1_2))
    return cdf + v * math.exp(-0.5 * v * v) * _INV_SQRT_2PI


@njit(cache=True)
def _gelu_fwd_serial(x, out):
    for i in range(x.shape[0]):
        out[i] = _gelu(np.float64(x[i]))


@njit(cache=True, parallel=True)
def _gelu_fwd_parallel(x, out):
    for i in prange(x.shape[0]):
        out[i] = _gelu(np.float64(x[i]))


@njit(cache=True)
def _gelu_bwd_serial(g, x, dx):
    for i in range(x.shape[0]):
        dx[i] = g[i] * _gelu_grad(np.float64(x[i]))


@njit(cache=True, parallel=True)
def _gelu_bwd_parallel(g, x, dx):
    for i in prange(x.shape[0]):
        dx[i] = g[i] * _gelu_grad(np.float64(x[i]))


def gelu_forward(x):
    """x * Phi(x), elementwise; output has x's shape and dtype."""
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    kernel = _gelu_fwd_parallel if flat.size >= _PARALLEL_MIN_SIZE else _gelu_fwd_serial
    kernel(flat, out)
    return out.reshape(x.shape)


def gelu_backward(grad, x):
    """grad * gelu'(x), elementwise; grad and x have the same shape."""
    if grad.shape != x.shape:
        raise ValueError(f"gelu_backward: grad shape {grad.shape} != x shape {x.shape}")
    flat = np.ascontiguousarray(x).reshape(-1)
    g = np.ascontiguousarray(grad, dtype=x.dtype).reshape(-1)
    dx = np.empty_like(flat)
    kernel = _gelu_bwd_parallel if flat.size >= _PARALLEL_MIN_SIZE else _gelu_bwd_serial
    kernel(g, flat, dx)
    return dx.reshape(x.shape)
