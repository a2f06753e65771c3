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
    attention_forward(q, k, v, causal, scale) -> (out, lse)
    attention_backward(q, k, v, out, lse, dout, causal, scale) -> (dq, dk, dv)

Kernels compile lazily at their first launch, with libNVVM from the
``nvidia-cuda-nvcc-cu12`` wheel when it is installed and neither CUDA_HOME
nor CUDA_PATH names a toolkit (see :mod:`kernels.cuda.toolkit`; importing
this package arranges it, without changing the environment).

Tested against NumPy references under ``NUMBA_ENABLE_CUDASIM=1``
(tests/cuda_sim) and compiled to PTX for sm_80 and sm_90 (tests/test_cuda_ptx.py).
"""
from . import toolkit
from ._launch import SIMULATOR
from .attention import attention_backward, attention_forward
from .conv import conv2d_backward_input, conv2d_backward_weight, conv2d_forward
from .matmul import matmul
from .softmax import log_softmax, log_softmax_backward, softmax, softmax_backward

__all__ = ["SIMULATOR", "matmul", "softmax", "log_softmax", "softmax_backward",
           "log_softmax_backward", "conv2d_forward", "conv2d_backward_input",
           "conv2d_backward_weight", "attention_forward", "attention_backward"]

toolkit.use_pip_nvvm(required=False)
