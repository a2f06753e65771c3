"""Softmax and log-softmax over the last axis, forward and backward.

One block per row (grid-stride over rows): each thread strides over the row's
columns, then the block combines the per-thread partials with a shared-memory
tree reduction -- the row max, then the sum of ``exp(x - max)``.  Subtracting
the max first keeps ``exp`` from overflowing, as in every stable softmax.

Shared-memory trees rather than warp shuffles: Numba's CUDA simulator has no
shuffles, and one code path means the code the simulator proves is the code
the GPU runs.  The tree costs log2(BLOCK) barrier steps per reduction, small
next to the row's memory traffic (each kernel reads the row 2-3 times; a row
of a few thousand floats stays in L1/L2 between the passes).

Backward formulas (y is the forward output, gy the upstream gradient):
    softmax:      gx = y * (gy - sum(gy * y))
    log_softmax:  gx = gy - exp(y) * sum(gy)
"""
import functools
import math

import numba
import numpy as np
from numba import cuda

from . import _launch

__all__ = ["softmax", "log_softmax", "softmax_backward", "log_softmax_backward",
           "DEFAULT_BLOCK"]

#: Most threads per row (a power of two, for the reduction tree); short rows
#: get the next power of two above their length, but at least a warp.
DEFAULT_BLOCK = 8 if _launch.SIMULATOR else 256
_MIN_BLOCK = 1 if _launch.SIMULATOR else 32

_SUM, _MAX = 0, 1


@cuda.jit(device=True)
def block_reduce(buf, v, op):
    """Combine one value per thread (sum or max) across the block; all threads get it.

    ``buf`` is a shared array of blockDim.x (a power of two) entries; every
    thread of the block must call this (it contains barriers).
    """
    t = cuda.threadIdx.x
    buf[t] = v
    cuda.syncthreads()
    s = buf.shape[0] // 2
    while s > 0:
        if t < s:
            if op == _MAX:
                if buf[t + s] > buf[t]:
                    buf[t] = buf[t + s]
            else:
                buf[t] = buf[t] + buf[t + s]
        cuda.syncthreads()
        s //= 2
    r = buf[0]
    # buf is reused by the caller's next reduction
    cuda.syncthreads()
    return r


@functools.lru_cache(maxsize=None)
def row_kernels(dtype, block):
    """The four row kernels for one dtype and block size, as a dict by name."""
    if block < 1 or block & (block - 1):
        raise ValueError(f"softmax block size must be a power of two, got {block}")
    nbtype = numba.from_dtype(np.dtype(dtype))
    zero = np.dtype(dtype).type(0)
    one = np.dtype(dtype).type(1)
    neg_inf = np.dtype(dtype).type(-np.inf)

    def row_max_sumexp(x, row, buf):
        t = cuda.threadIdx.x
        m = neg_inf
        for c in range(t, x.shape[1], block):
            if x[row, c] > m:
                m = x[row, c]
        m = block_reduce(buf, m, _MAX)
        s = zero
        for c in range(t, x.shape[1], block):
            s += math.exp(x[row, c] - m)
        return m, block_reduce(buf, s, _SUM)

    row_stats = cuda.jit(device=True)(row_max_sumexp)

    def softmax_fwd(x, y):
        buf = cuda.shared.array(block, nbtype)
        for row in range(cuda.blockIdx.x, x.shape[0], cuda.gridDim.x):
            m, s = row_stats(x, row, buf)
            inv = one / s
            for c in range(cuda.threadIdx.x, x.shape[1], block):
                y[row, c] = math.exp(x[row, c] - m) * inv

    def log_softmax_fwd(x, y):
        buf = cuda.shared.array(block, nbtype)
        for row in range(cuda.blockIdx.x, x.shape[0], cuda.gridDim.x):
            m, s = row_stats(x, row, buf)
            lse = m + math.log(s)
            for c in range(cuda.threadIdx.x, x.shape[1], block):
                y[row, c] = x[row, c] - lse

    def softmax_bwd(y, gy, gx):
        buf = cuda.shared.array(block, nbtype)
        for row in range(cuda.blockIdx.x, y.shape[0], cuda.gridDim.x):
            d = zero
            for c in range(cuda.threadIdx.x, y.shape[1], block):
                d += gy[row, c] * y[row, c]
            d = block_reduce(buf, d, _SUM)
            for c in range(cuda.threadIdx.x, y.shape[1], block):
                gx[row, c] = y[row, c] * (gy[row, c] - d)

    def log_softmax_bwd(y, gy, gx):
        buf = cuda.shared.array(block, nbtype)
        for row in range(cuda.blockIdx.x, y.shape[0], cuda.gridDim.x):
            s = zero
            for c in range(cuda.threadIdx.x, y.shape[1], block):
                s += gy[row, c]
            s = block_reduce(buf, s, _SUM)
            for c in range(cuda.threadIdx.x, y.shape[1], block):
                gx[row, c] = gy[row, c] - math.exp(y[row, c]) * s

    return {f.__name__: cuda.jit(f) for f in (softmax_fwd, log_softmax_fwd,
                                                softmax_bwd, log_softmax_bwd)}


def _run(name, kernel_name, inputs, block):
    dtype = _launch.check_float(name, *inputs)
    shapes = {tuple(a.shape) for a in inputs}
    if len(shapes) != 1:
        raise ValueError(f"{name}: inputs must have one shape, got "
                         f"{', '.join(str(tuple(a.shape)) for a in inputs)}")
    shape = tuple(int(s) for s in inputs[0].shape)
    if len(shape) == 0:
        raise ValueError(f"{name}: expected at least 1 dim (softmax is over the last axis), "
                         f"got a 0-d array")
    out = _launch.empty(inputs[0], shape, dtype)
    rows = int(np.prod(shape[:-1], dtype=np.int64))
    if rows == 0 or shape[-1] == 0:
        return out
    if block is None:
        block = min(DEFAULT_BLOCK, max(_MIN_BLOCK, 1 << (shape[-1] - 1).bit_length()))
    kernel = row_kernels(np.dtype(dtype).type, int(block))[kernel_name]
    args = [_launch.arg(a.reshape((rows, shape[-1]))) for a in inputs]
    kernel[_launch.grid(rows), int(block)](*args, _launch.arg(out.reshape((rows, shape[-1]))))
    return out


def softmax(x, block=None):
    """softmax(x) over the last axis; a new array of x's kind, shape and dtype."""
    return _run("softmax", "softmax_fwd", (x,), block)


def log_softmax(x, block=None):
    """log_softmax(x) over the last axis."""
    return _run("log_softmax", "log_softmax_fwd", (x,), block)


def softmax_backward(y, gy, block=None):
    """Gradient w.r.t. x of softmax, given its output ``y`` and the upstream ``gy``."""
    return _run("softmax_backward", "softmax_bwd", (y, gy), block)


def log_softmax_backward(y, gy, block=None):
    """Gradient w.r.t. x of log_softmax, given its output ``y`` and the upstream ``gy``."""
    return _run("log_softmax_backward", "log_softmax_bwd", (y, gy), block)
