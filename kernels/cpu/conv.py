"""im2col / col2im: lower a 2-D convolution (NCHW) to a batched matmul.

    cols[n, (c, i, j), (oh, ow)] = x[n, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]

with zeros where the index falls into the padding.  The row order (c, i, j)
matches ``weight.reshape(C_out, C*kh*kw)``, so ``conv2d(x, w) == W2d @ cols``.
``col2im`` is the exact adjoint (it sums overlapping windows), i.e. the
gradient of ``im2col`` -- and hence of a convolution -- w.r.t. its input.

The jitted kernels work on (N*C, ...) views and are parallel over N*C: each
(n, c) plane reads/writes only its own slice, so there are no write races.
"""
import numpy as np
from numba import njit, prange

__all__ = ["conv_output_size", "im2col", "col2im"]


def _pair(v):
    """Accept an int or a 2-sequence, return a (int, int) tuple."""
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    a, b = v
    return int(a), int(b)


def conv_output_size(size, k, stride=1, padding=0, dilation=1):
    """Output length of a convolution along one axis (PyTorch's formula)."""
    return (size + 2 * padding - dilation * (k - 1) - 1) // stride + 1


@njit(cache=True)
def _valid_range(off, s, n, limit):
    """[lo, hi) of o in [0, n) with 0 <= o*s + off < limit.

    Computing the in-bounds range up front keeps the inner loops branch-free,
    which is how the padding stays implicit without a per-element test.
    """
    lo = 0 if off >= 0 else (-off + s - 1) // s
    hi = (limit - 1 - off) // s + 1 if limit - 1 - off >= 0 else 0
    lo = min(lo, n)
    hi = max(min(hi, n), lo)
    return lo, hi


@njit(cache=True, parallel=True)
def _im2col_kernel(x, out, sh, sw, ph, pw, dh, dw):
    # x: (B, H, W); out: (B, kh, kw, OH, OW), fully overwritten here.
    B, H, W = x.shape
    kh, kw, OH, OW = out.shape[1], out.shape[2], out.shape[3], out.shape[4]
    for b in prange(B):
        for i in range(kh):
            oh0, oh1 = _valid_range(i * dh - ph, sh, OH, H)
            for j in range(kw):
                ow0, ow1 = _valid_range(j * dw - pw, sw, OW, W)
                for oh in range(OH):
                    row = out[b, i, j, oh]
                    if oh < oh0 or oh >= oh1:
                        row[:] = 0
                        continue
                    h = oh * sh - ph + i * dh
                    row[:ow0] = 0
                    row[ow1:] = 0
                    w = ow0 * sw - pw + j * dw
                    for ow in range(ow0, ow1):
                        row[ow] = x[b, h, w]
                        w += sw


@njit(cache=True, parallel=True)
def _col2im_kernel(cols, dx, sh, sw, ph, pw, dh, dw):
    # cols: (B, kh, kw, OH, OW); dx: (B, H, W), zero-initialised, accumulated.
    B, H, W = dx.shape
    kh, kw, OH, OW = cols.shape[1], cols.shape[2], cols.shape[3], cols.shape[4]
    for b in prange(B):
        for i in range(kh):
            oh0, oh1 = _valid_range(i * dh - ph, sh, OH, H)
            for j in range(kw):
                ow0, ow1 = _valid_range(j * dw - pw, sw, OW, W)
                for oh in range(oh0, oh1):
                    h = oh * sh - ph + i * dh
                    w = ow0 * sw - pw + j * dw
                    for ow in range(ow0, ow1):
                        dx[b, h, w] += cols[b, i, j, oh, ow]
                        w += sw


def _out_hw(H, W, kh, kw, stride, padding, dilation):
    OH = conv_output_size(H, kh, stride[0], padding[0], dilation[0])
    OW = conv_output_size(W, kw, stride[1], padding[1], dilation[1])
    if OH <= 0 or OW <= 0:
        raise ValueError(f"kernel ({kh}, {kw}) too large for input ({H}, {W}) "
                         f"with padding {padding}, dilation {dilation}")
    return OH, OW


def im2col(x, kh, kw, stride=1, padding=0, dilation=1):
    """(N, C, H, W) -> (N, C*kh*kw, OH*OW) patch matrix; output dtype = x.dtype."""
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    N, C, H, W = x.shape
    OH, OW = _out_hw(H, W, kh, kw, stride, padding, dilation)
    xb = np.ascontiguousarray(x).reshape(N * C, H, W)
    out = np.empty((N * C, kh, kw, OH, OW), dtype=x.dtype)
    _im2col_kernel(xb, out, *stride, *padding, *dilation)
    return out.reshape(N, C * kh * kw, OH * OW)


def col2im(cols, x_shape, kh, kw, stride=1, padding=0, dilation=1):
    """Adjoint of :func:`im2col`: (N, C*kh*kw, OH*OW) -> (N, C, H, W), summing overlaps."""
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    N, C, H, W = x_shape
    OH, OW = _out_hw(H, W, kh, kw, stride, padding, dilation)
    if cols.shape != (N, C * kh * kw, OH * OW):
        raise ValueError(f"cols shape {cols.shape} does not match "
                         f"{(N, C * kh * kw, OH * OW)} for x_shape {tuple(x_shape)}")
    cb = np.ascontiguousarray(cols).reshape(N * C, kh, kw, OH, OW)
    dx = np.zeros((N * C, H, W), dtype=cols.dtype)
    _col2im_kernel(cb, dx, *stride, *padding, *dilation)
    return dx.reshape(N, C, H, W)
