"""Plain-NumPy reference versions of the conv/pool kernels (for tests and benchmarks).

Written independently of the jitted kernels: pad explicitly, then loop only over
the kh*kw kernel taps with whole-array strided slices.  Slow but obviously right.
Same signatures and return values as ``kernels.cpu.conv`` / ``kernels.cpu.pool``.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .conv import _pair, conv_output_size
from .pool import pool_output_size


def _taps(kh, kw, stride, dilation, OH, OW):
    """Yield (i, j, hs, ws): tap (i, j) and the padded-input slices it reads."""
    (sh, sw), (dh, dw) = stride, dilation
    for i in range(kh):
        for j in range(kw):
            yield (i, j, slice(i * dh, i * dh + sh * (OH - 1) + 1, sh),
                   slice(j * dw, j * dw + sw * (OW - 1) + 1, sw))


def im2col_ref(x, kh, kw, stride=1, padding=0, dilation=1):
    stride, (ph, pw), dilation = _pair(stride), _pair(padding), _pair(dilation)
    N, C, H, W = x.shape
    OH = conv_output_size(H, kh, stride[0], ph, dilation[0])
    OW = conv_output_size(W, kw, stride[1], pw, dilation[1])
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = np.empty((N, C, kh, kw, OH, OW), dtype=x.dtype)
    for i, j, hs, ws in _taps(kh, kw, stride, dilation, OH, OW):
        cols[:, :, i, j] = xp[:, :, hs, ws]
    return cols.reshape(N, C * kh * kw, OH * OW)


def im2col_strided(x, kh, kw, stride=1, padding=0, dilation=1):
    """The usual vectorised NumPy im2col: pad + sliding_window_view + one copy."""
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    N, C = x.shape[:2]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    win = sliding_window_view(xp, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    win = win[:, :, ::sh, ::sw, ::dh, ::dw]                 # (N, C, OH, OW, kh, kw)
    OH, OW = win.shape[2], win.shape[3]
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(N, C * kh * kw, OH * OW)


def col2im_ref(cols, x_shape, kh, kw, stride=1, padding=0, dilation=1):
    stride, (ph, pw), dilation = _pair(stride), _pair(padding), _pair(dilation)
    N, C, H, W = x_shape
    OH = conv_output_size(H, kh, stride[0], ph, dilation[0])
    OW = conv_output_size(W, kw, stride[1], pw, dilation[1])
    c = cols.reshape(N, C, kh, kw, OH, OW)
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    for i, j, hs, ws in _taps(kh, kw, stride, dilation, OH, OW):
        dxp[:, :, hs, ws] += c[:, :, i, j]      # slices of one tap never overlap
    return dxp[:, :, ph:ph + H, pw:pw + W]


def _pool_geometry(H, W, kh, kw, stride, padding, dilation, ceil_mode):
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    OH = pool_output_size(H, kh, sh, ph, dh, ceil_mode)
    OW = pool_output_size(W, kw, sw, pw, dw, ceil_mode)
    # ceil mode windows may run past the right padding: pad a bit more there.
    eh = max(0, (OH - 1) * sh + dh * (kh - 1) + 1 - (H + 2 * ph))
    ew = max(0, (OW - 1) * sw + dw * (kw - 1) + 1 - (W + 2 * pw))
    return OH, OW, ((0, 0), (0, 0), (ph, ph + eh), (pw, pw + ew))


def maxpool2d_forward_ref(x, kh, kw, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = (kh, kw) if stride is None else _pair(stride)
    padding, dilation = _pair(padding), _pair(dilation)
    N, C, H, W = x.shape
    OH, OW, pads = _pool_geometry(H, W, kh, kw, stride, padding, dilation, ceil_mode)
    xp = np.pad(x, pads, constant_values=-np.inf)
    # flat index into the unpadded plane of every padded position
    hh = np.arange(xp.shape[2])[:, None] - padding[0]
    ww = np.arange(xp.shape[3])[None, :] - padding[1]
    flat = hh * W + ww
    # PyTorch starts from (-inf, first in-bounds tap) of each window
    h0 = np.arange(OH) * stride[0] - padding[0]
    w0 = np.arange(OW) * stride[1] - padding[1]
    h0 = np.where(h0 < 0, h0 + -(h0 // dilation[0]) * dilation[0], h0)
    w0 = np.where(w0 < 0, w0 + -(w0 // dilation[1]) * dilation[1], w0)
    best = np.full((N, C, OH, OW), -np.inf)
    besti = np.broadcast_to(h0[:, None] * W + w0[None, :], best.shape).copy()
    for _, _, hs, ws in _taps(kh, kw, stride, dilation, OH, OW):
        v = xp[:, :, hs, ws]
        upd = (v > best) | np.isnan(v)
        best = np.where(upd, v, best)
        besti = np.where(upd, flat[hs, ws], besti)
    return best.astype(x.dtype), besti.astype(np.int64)


def maxpool2d_backward_ref(grad_out, argmax, x_shape):
    N, C, H, W = x_shape
    dx = np.zeros((N * C, H * W), dtype=grad_out.dtype)
    rows = np.repeat(np.arange(N * C), argmax[0, 0].size)
    np.add.at(dx, (rows, argmax.reshape(-1)), grad_out.reshape(-1))
    return dx.reshape(N, C, H, W)


def _avg_divisor(H, W, kh, kw, stride, padding, OH, OW, count_include_pad, divisor_override):
    if divisor_override is not None:
        return np.full((OH, OW), float(divisor_override))

    def axis(n, k, s, p, O):
        lo = np.arange(O) * s - p
        hi = np.minimum(lo + k, n + p)
        return (hi - lo) if count_include_pad else np.minimum(hi, n) - np.maximum(lo, 0)

    return np.outer(axis(H, kh, stride[0], padding[0], OH),
                    axis(W, kw, stride[1], padding[1], OW)).astype(np.float64)


def avgpool2d_forward_ref(x, kh, kw, stride=None, padding=0, ceil_mode=False,
                          count_include_pad=True, divisor_override=None):
    stride = (kh, kw) if stride is None else _pair(stride)
    padding = _pair(padding)
    N, C, H, W = x.shape
    OH, OW, pads = _pool_geometry(H, W, kh, kw, stride, padding, (1, 1), ceil_mode)
    xp = np.pad(x.astype(np.float64), pads)
    acc = np.zeros((N, C, OH, OW))
    for _, _, hs, ws in _taps(kh, kw, stride, (1, 1), OH, OW):
        acc += xp[:, :, hs, ws]
    div = _avg_divisor(H, W, kh, kw, stride, padding, OH, OW, count_include_pad, divisor_override)
    return (acc / div).astype(x.dtype)


def avgpool2d_backward_ref(grad_out, x_shape, kh, kw, stride=None, padding=0, ceil_mode=False,
                           count_include_pad=True, divisor_override=None):
    stride = (kh, kw) if stride is None else _pair(stride)
    padding = _pair(padding)
    N, C, H, W = x_shape
    OH, OW, pads = _pool_geometry(H, W, kh, kw, stride, padding, (1, 1), ceil_mode)
    div = _avg_divisor(H, W, kh, kw, stride, padding, OH, OW, count_include_pad, divisor_override)
    g = grad_out.astype(np.float64) / div
    dxp = np.zeros((N, C, H + sum(pads[2]), W + sum(pads[3])))
    for _, _, hs, ws in _taps(kh, kw, stride, (1, 1), OH, OW):
        dxp[:, :, hs, ws] += g
    ph, pw = padding
    return dxp[:, :, ph:ph + H, pw:pw + W].astype(grad_out.dtype)
