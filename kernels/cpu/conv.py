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

__all__ = ["conv_output_size", "im2col", "col2im", "im2col_kn", "col2im_kn"]


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
    # x: (N, C, H, W); out: (N, C, kh, kw, OH, OW), any strides (the K-by-NL
    # layout passes a transposed view), fully overwritten here.
    N, C, H, W = x.shape
    kh, kw, OH, OW = out.shape[2], out.shape[3], out.shape[4], out.shape[5]
    for b in prange(N * C):
        n, c = b // C, b % C
        for i in range(kh):
            oh0, oh1 = _valid_range(i * dh - ph, sh, OH, H)
            for j in range(kw):
                ow0, ow1 = _valid_range(j * dw - pw, sw, OW, W)
                for oh in range(OH):
                    row = out[n, c, i, j, oh]
                    if oh < oh0 or oh >= oh1:
                        row[:] = 0
                        continue
                    h = oh * sh - ph + i * dh
                    row[:ow0] = 0
                    row[ow1:] = 0
                    w = ow0 * sw - pw + j * dw
                    for ow in range(ow0, ow1):
                        row[ow] = x[n, c, h, w]
                        w += sw


@njit(cache=True, parallel=True)
def _col2im_kernel(cols, dx, sh, sw, ph, pw, dh, dw):
    # cols: (N, C, kh, kw, OH, OW), any strides; dx: (N, C, H, W), zeroed, accumulated.
    N, C, H, W = dx.shape
    kh, kw, OH, OW = cols.shape[2], cols.shape[3], cols.shape[4], cols.shape[5]
    for b in prange(N * C):
        n, c = b // C, b % C
        for i in range(kh):
            oh0, oh1 = _valid_range(i * dh - ph, sh, OH, H)
            for j in range(kw):
                ow0, ow1 = _valid_range(j * dw - pw, sw, OW, W)
                for oh in range(oh0, oh1):
                    h = oh * sh - ph + i * dh
                    w = ow0 * sw - pw + j * dw
                    for ow in range(ow0, ow1):
                        dx[n, c, h, w] += cols[n, c, i, j, oh, ow]
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
    N, C, OH, OW, geometry = _geometry(x.shape, kh, kw, stride, padding, dilation)
    out = np.empty((N, C, kh, kw, OH, OW), dtype=x.dtype)
    _im2col_kernel(np.ascontiguousarray(x), out, *geometry)
    return out.reshape(N, C * kh * kw, OH * OW)


def im2col_kn(x, kh, kw, stride=1, padding=0, dilation=1):
    """(N, C, H, W) -> (C*kh*kw, N*OH*OW): the patches of the whole batch side
    by side, so a convolution and both its gradients are single GEMMs with
    the batch inside the product (no per-sample products to sum)."""
    N, C, OH, OW, geometry = _geometry(x.shape, kh, kw, stride, padding, dilation)
    out = np.empty((C, kh, kw, N, OH, OW), dtype=x.dtype)
    _im2col_kernel(np.ascontiguousarray(x), out.transpose(3, 0, 1, 2, 4, 5), *geometry)
    return out.reshape(C * kh * kw, N * OH * OW)


def col2im(cols, x_shape, kh, kw, stride=1, padding=0, dilation=1):
    """Adjoint of :func:`im2col`: (N, C*kh*kw, OH*OW) -> (N, C, H, W), summing overlaps."""
    N, C, OH, OW, geometry = _geometry(x_shape, kh, kw, stride, padding, dilation)
    _check_cols("col2im", cols, (N, C * kh * kw, OH * OW), x_shape)
    dx = np.zeros((N, C) + tuple(x_shape[2:]), dtype=cols.dtype)
    _col2im_kernel(np.ascontiguousarray(cols).reshape(N, C, kh, kw, OH, OW), dx, *geometry)
    return dx


def col2im_kn(cols, x_shape, kh, kw, stride=1, padding=0, dilation=1):
    """Adjoint of :func:`im2col_kn`: (C*kh*kw, N*OH*OW) -> (N, C, H, W)."""
    N, C, OH, OW, geometry = _geometry(x_shape, kh, kw, stride, padding, dilation)
    _check_cols("col2im_kn", cols, (C * kh * kw, N * OH * OW), x_shape)
    dx = np.zeros((N, C) + tuple(x_shape[2:]), dtype=cols.dtype)
    view = np.ascontiguousarray(cols).reshape(C, kh, kw, N, OH, OW)
    _col2im_kernel(view.transpose(3, 0, 1, 2, 4, 5), dx, *geometry)
    return dx


def _geometry(x_shape, kh, kw, stride, padding, dilation):
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    N, C, H, W = x_shape
    OH, OW = _out_hw(H, W, kh, kw, stride, padding, dilation)
    return N, C, OH, OW, stride + padding + dilation


def _check_cols(name, cols, expected, x_shape):
    if tuple(cols.shape) != expected:
        raise ValueError(f"{name}: cols shape {tuple(cols.shape)} does not match "
                         f"{expected} for x_shape {tuple(x_shape)}")
