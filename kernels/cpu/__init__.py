"""Numba-jitted CPU kernels on plain NumPy arrays (NCHW, float32/float64).

Convolution is lowered to ``W2d @ im2col(x)``; its input gradient is ``col2im``.
Plain-NumPy reference versions live in :mod:`kernels.cpu.reference`.
"""
from .activation import gelu_backward, gelu_forward
from .attention import attention_softmax_backward, attention_softmax_forward
from .conv import col2im, col2im_kn, conv_output_size, im2col, im2col_kn
from .embedding import embedding_backward
from .norm import (batch_norm_backward, batch_norm_forward, layer_norm_backward,
                   layer_norm_forward)
from .pool import (avgpool2d_backward, avgpool2d_forward, maxpool2d_backward,
                   maxpool2d_forward, pool_output_size)

__all__ = ["conv_output_size", "pool_output_size", "im2col", "col2im", "im2col_kn", "col2im_kn",
           "maxpool2d_forward", "maxpool2d_backward",
           "avgpool2d_forward", "avgpool2d_backward",
           "gelu_forward", "gelu_backward", "embedding_backward",
           "layer_norm_forward", "layer_norm_backward", "batch_norm_forward",
           "batch_norm_backward"]
