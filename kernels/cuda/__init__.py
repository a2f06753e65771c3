"""Numba CUDA kernels: GEMM, conv2d, softmax and flash attention.

Plain functions on device arrays (CuPy arrays, Numba device arrays, anything
with ``__cuda_array_interface__``; NumPy arrays under Numba's CUDA simulator),
float32 or float64; each returns arrays of its input's kind.  They know
nothing of tensors or autograd; the CUDA backend calls them by name.

    matmul(a, b, out=None)                           (..., M, K) @ (..., K, N)
    softmax(x), log_softmax(x)                       over the last axis
    softmax_backward(y, gy), log_softmax_backward(y, gy)
    conv2d_forward(x, w, stride, padding, dilation)
    conv2d_backward_input(gy, w, x_shape, stride, padding, dilation)
    conv2d_backward_weight(gy, x, w_shape, stride, padding, dilation)
    im2col(x, kh, kw, stride, padding, dilation)     the contracts of kernels.cpu's,
    col2im(cols, x_shape, kh, kw, stride, ...)       for the backend's Conv2d op
    attention_forward(q, k, v, causal, scale) -> (out, lse)
    attention_backward(q, k, v, out, lse, dout, causal, scale) -> (dq, dk, dv)

Kernels compile lazily at their first launch, with libNVVM from the
``nvidia-cuda-nvcc-cu12`` wheel when it is installed and neither CUDA_HOME
nor CUDA_PATH names a toolkit (see :mod:`kernels.cuda.toolkit`; importing
this package arranges it, without changing the environment).

Tested against NumPy references under ``NUMBA_ENABLE_CUDASIM=1``
(tests/cuda_sim) and compiled to PTX for sm_80 and sm_90 (tests/test_cuda_ptx.py).
"""
from . import _launch, toolkit
from . import conv as _conv
from ._launch import SIMULATOR
from .attention import attention_backward, attention_forward
from .conv import (conv2d_backward_input, conv2d_backward_weight, conv2d_forward,
                   conv_output_size)
from .matmul import matmul
from .softmax import log_softmax, log_softmax_backward, softmax, softmax_backward

__all__ = ["SIMULATOR", "matmul", "softmax", "log_softmax", "softmax_backward",
           "log_softmax_backward", "conv2d_forward", "conv2d_backward_input",
           "conv2d_backward_weight", "attention_forward", "attention_backward",
           "conv_output_size", "im2col", "col2im"]

toolkit.use_pip_nvvm(required=False)


def _geometry(x_shape, kh, kw, stride, padding, dilation):
    """The conv geometry of a (kh, kw) window over x_shape (any channel count)."""
    return _conv._Geometry(x_shape, (1, x_shape[1], kh, kw), stride, padding, dilation)


def im2col(x, kh, kw, stride=1, padding=0, dilation=1):
    """(N, C, H, W) -> (N, C*kh*kw, OH*OW) patch columns, zero in the padding:
    ``kernels.cpu.im2col``'s contract, on the device (a new array of x's kind)."""
    _launch.check_float("im2col", x)
    geo = _geometry(x.shape, kh, kw, stride, padding, dilation)
    cols = _launch.empty(x, (geo.N, geo.CKK, geo.L))
    return _conv.im2col(x, cols, geo) if cols.size else cols


def col2im(cols, x_shape, kh, kw, stride=1, padding=0, dilation=1):
    """The adjoint of :func:`im2col`: (N, C*kh*kw, OH*OW) -> x_shape, summing overlaps."""
    _launch.check_float("col2im", cols)
    geo = _geometry(x_shape, kh, kw, stride, padding, dilation)
    if tuple(cols.shape) != (geo.N, geo.CKK, geo.L):
        raise ValueError(f"col2im: cols has shape {tuple(cols.shape)}, expected "
                         f"{(geo.N, geo.CKK, geo.L)} for x_shape {tuple(x_shape)} and a "
                         f"({kh}, {kw}) window")
    dx = _launch.empty(cols, tuple(x_shape))
    return _conv.col2im(cols, dx, geo) if dx.size else dx
