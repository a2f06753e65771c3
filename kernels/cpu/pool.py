"""Max / average 2-D pooling (NCHW), forward and backward, PyTorch semantics.

The loops mirror PyTorch's CPU kernels so edge cases agree exactly:

* output size: floor (or ceil with ``ceil_mode``) of the window count, and in
  ceil mode the last window must start inside the input or the left padding;
* max pool pads with -inf (padding never wins), ties go to the first element,
  a NaN in the window propagates (the last NaN's index is returned);
* avg pool divides by the window area clipped to input+padding
  (``count_include_pad``), by the in-input area otherwise, or by
  ``divisor_override``.

Kernels are parallel over N*C planes; backward passes scatter only into their
own plane, so accumulation needs no atomics.  Sums are carried in float64.
"""
import numpy as np
from numba import njit, prange

from .conv import _pair

__all__ = ["pool_output_size", "maxpool2d_forward", "maxpool2d_backward",
           "avgpool2d_forward", "avgpool2d_backward"]


def pool_output_size(size, k, stride, padding=0, dilation=1, ceil_mode=False):
    """Output length of a pooling along one axis (PyTorch's pooling_output_shape)."""
    span = size + 2 * padding - dilation * (k - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    # Ceil mode may add a window that would start in the right padding; PyTorch drops it.
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _check(H, W, k, stride, padding, dilation, ceil_mode):
    if padding[0] > k[0] // 2 or padding[1] > k[1] // 2:
        raise ValueError(f"padding {padding} must be at most half of kernel size {k}")
    OH = pool_output_size(H, k[0], stride[0], padding[0], dilation[0], ceil_mode)
    OW = pool_output_size(W, k[1], stride[1], padding[1], dilation[1], ceil_mode)
    if OH <= 0 or OW <= 0:
        raise ValueError(f"pooling window {k} too large for input ({H}, {W})")
    return OH, OW


def _args(kh, kw, stride, padding):
    # PyTorch's default stride is the kernel size.
    k = (int(kh), int(kw))
    return k, (k if stride is None else _pair(stride)), _pair(padding)


# ----------------------------------------------------------------- max pool

@njit(cache=True, parallel=True)
def _maxpool_fwd_kernel(x, out, idx, kh, kw, sh, sw, ph, pw, dh, dw):
    # x: (B, H, W); out, idx: (B, OH, OW).
    B, H, W = x.shape
    OH, OW = out.shape[1], out.shape[2]
    for b in prange(B):
        for oh in range(OH):
            h0 = oh * sh - ph
            h1 = min(h0 + (kh - 1) * dh + 1, H)
            while h0 < 0:      # skip taps that land in the top padding
                h0 += dh
            for ow in range(OW):
                w0 = ow * sw - pw
                w1 = min(w0 + (kw - 1) * dw + 1, W)
                while w0 < 0:
                    w0 += dw
                best = -np.inf
                besti = h0 * W + w0
                for h in range(h0, h1, dh):
                    for w in range(w0, w1, dw):
                        v = x[b, h, w]
                        # strict '>' keeps the first of equal maxima; isnan lets NaN win.
                        if v > best or np.isnan(v):
                            best = v
                            besti = h * W + w
                out[b, oh, ow] = best
                idx[b, oh, ow] = besti


@njit(cache=True, parallel=True)
def _maxpool_bwd_kernel(g, idx, dx):
    # g, idx: (B, OH*OW); dx: (B, H*W), zero-initialised.
    for b in prange(g.shape[0]):
        for o in range(g.shape[1]):
            dx[b, idx[b, o]] += g[b, o]


def maxpool2d_forward(x, kh, kw, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Max pool (N, C, H, W) -> (out, argmax); argmax is the int64 flat index h*W+w."""
    k, stride, padding = _args(kh, kw, stride, padding)
    dilation = _pair(dilation)
    N, C, H, W = x.shape
    OH, OW = _check(H, W, k, stride, padding, dilation, ceil_mode)
    xb = np.ascontiguousarray(x).reshape(N * C, H, W)
    out = np.empty((N * C, OH, OW), dtype=x.dtype)
    idx = np.empty((N * C, OH, OW), dtype=np.int64)
    _maxpool_fwd_kernel(xb, out, idx, *k, *stride, *padding, *dilation)
    return out.reshape(N, C, OH, OW), idx.reshape(N, C, OH, OW)


def maxpool2d_backward(grad_out, argmax, x_shape):
    """Scatter-add grad_out (N, C, OH, OW) to the argmax positions -> dx (N, C, H, W)."""
    N, C, H, W = x_shape
    if grad_out.shape != argmax.shape or grad_out.shape[:2] != (N, C):
        raise ValueError(f"grad_out {grad_out.shape} / argmax {argmax.shape} "
                         f"do not match x_shape {tuple(x_shape)}")
    g = np.ascontiguousarray(grad_out).reshape(N * C, -1)
    idx = np.ascontiguousarray(argmax, dtype=np.int64).reshape(N * C, -1)
    dx = np.zeros((N * C, H * W), dtype=grad_out.dtype)
    _maxpool_bwd_kernel(g, idx, dx)
    return dx.reshape(N, C, H, W)


# ----------------------------------------------------------------- avg pool

@njit(cache=True)
def _avg_window(o, s, p, k, n, include_pad):
    """Clipped window [lo, hi) along one axis and its divisor contribution."""
    lo = o * s - p
    hi = min(lo + k, n + p)    # may overhang the right padding in ceil mode
    size = hi - lo             # counts padding, not the overhang
    lo = max(lo, 0)
    hi = min(hi, n)
    return lo, hi, (size if include_pad else hi - lo)


@njit(cache=True, parallel=True)
def _avgpool_fwd_kernel(x, out, kh, kw, sh, sw, ph, pw, include_pad, divisor):
    B, H, W = x.shape
    OH, OW = out.shape[1], out.shape[2]
    for b in prange(B):
        for oh in range(OH):
            h0, h1, dvh = _avg_window(oh, sh, ph, kh, H, include_pad)
            for ow in range(OW):
                w0, w1, dvw = _avg_window(ow, sw, pw, kw, W, include_pad)
                if h0 >= h1 or w0 >= w1:
                    out[b, oh, ow] = 0
                    continue
                acc = 0.0
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        acc += x[b, h, w]
                out[b, oh, ow] = acc / (divisor if divisor != 0 else dvh * dvw)


@njit(cache=True, parallel=True)
def _avgpool_bwd_kernel(g, dx, kh, kw, sh, sw, ph, pw, include_pad, divisor):
    B, H, W = dx.shape
    OH, OW = g.shape[1], g.shape[2]
    for b in prange(B):
        for oh in range(OH):
            h0, h1, dvh = _avg_window(oh, sh, ph, kh, H, include_pad)
            for ow in range(OW):
                w0, w1, dvw = _avg_window(ow, sw, pw, kw, W, include_pad)
                if h0 >= h1 or w0 >= w1:
                    continue
                v = g[b, oh, ow] / (divisor if divisor != 0 else dvh * dvw)
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        dx[b, h, w] += v


def _avg_setup(x_shape, kh, kw, stride, padding, ceil_mode, divisor_override):
    k, stride, padding = _args(kh, kw, stride, padding)
    if divisor_override is not None and int(divisor_override) == 0:
        raise ValueError("divisor_override must be non-zero")
    H, W = x_shape[2], x_shape[3]
    OH, OW = _check(H, W, k, stride, padding, (1, 1), ceil_mode)
    # divisor 0 means "no override" inside the kernels (Numba wants one type).
    return k, stride, padding, OH, OW, int(divisor_override or 0)


def avgpool2d_forward(x, kh, kw, stride=None, padding=0, ceil_mode=False,
                      count_include_pad=True, divisor_override=None):
    """Average pool (N, C, H, W) -> (N, C, OH, OW); output dtype = x.dtype."""
    N, C, H, W = x.shape
    k, stride, padding, OH, OW, div = _avg_setup(
        x.shape, kh, kw, stride, padding, ceil_mode, divisor_override)
    xb = np.ascontiguousarray(x).reshape(N * C, H, W)
    out = np.empty((N * C, OH, OW), dtype=x.dtype)
    _avgpool_fwd_kernel(xb, out, *k, *stride, *padding, bool(count_include_pad), div)
    return out.reshape(N, C, OH, OW)


def avgpool2d_backward(grad_out, x_shape, kh, kw, stride=None, padding=0, ceil_mode=False,
                       count_include_pad=True, divisor_override=None):
    """Gradient of :func:`avgpool2d_forward` w.r.t. x -> (N, C, H, W)."""
    N, C, H, W = x_shape
    k, stride, padding, OH, OW, div = _avg_setup(
        x_shape, kh, kw, stride, padding, ceil_mode, divisor_override)
    if grad_out.shape != (N, C, OH, OW):
        raise ValueError(f"grad_out shape {grad_out.shape} != {(N, C, OH, OW)}")
    g = np.ascontiguousarray(grad_out).reshape(N * C, OH, OW)
    dx = np.zeros((N * C, H, W), dtype=grad_out.dtype)
    _avgpool_bwd_kernel(g, dx, *k, *stride, *padding, bool(count_include_pad), div)
    return dx.reshape(N, C, H, W)
