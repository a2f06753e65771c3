"""2-D convolution (NCHW, groups=1) as im2col + the tiled GEMM, and its two gradients.

    forward:        y[n]  = W2d @ cols[n]               W2d  = w.reshape(Cout, C*kh*kw)
    input grad:     dx    = col2im(W2d^T @ gy[n])        (a gather, no atomics)
    weight grad:    dW2d  = sum_n gy[n] @ cols[n]^T      (one GEMM reducing over n)

``cols[n, (c, i, j), (oh, ow)] = x[n, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]``
(zero in the padding), the layout of ``kernels.cpu.im2col``.  The transposes
are GEMM flags, not copies.  ``col2im`` is written as a gather: one thread
per input pixel sums the columns that read it, so no two threads write the
same address and no atomics are needed (deterministic sums, too).

Why im2col + GEMM rather than a direct kernel -- ResNet-18's 3x3 conv
128->128 on 28x28, batch 32, stride 1, pad 1, fp32, on an H100 SXM
(67 TFLOP/s fp32 without tensor cores, 3.35 TB/s HBM3):
* FLOPs: 2 * N*Cout*OH*OW * C*kh*kw = 2 * 32*128*784 * 1152 = 7.40 GFLOP:
  110 us at peak; a SIMT GEMM such as this one reaches a third of peak at
  best, ~330 us.
* Bytes a direct kernel must move at least: x 12.8 MB + w 0.6 MB + y 12.8 MB
  = 26.3 MB, 8 us.  im2col adds the column matrix, 32*1152*784*4 B =
  115.6 MB, written once and read once: +231 MB, +69 us of traffic.
* So even with the columns materialised the GEMM runs at 7.40 GFLOP /
  257 MB = 29 FLOP/byte, above the H100's ridge point (67e12 / 3.35e12 =
  20 FLOP/byte): the layer stays compute-bound and im2col costs ~20% on top
  of the GEMM.  A direct kernel could win that back only with a GEMM-quality
  inner loop plus per-tap index arithmetic in every load, i.e. a second
  tuned GEMM; here the one tuned GEMM (and CuPy's cuBLAS, which the backend
  may route large products to) serves conv, linear and attention alike.
* Memory: the columns are a workspace of N*C*kh*kw*OH*OW elements; batches
  are processed in chunks so it stays under ``WORKSPACE_BYTES`` (256 MiB by
  default; 115.6 MB here, one chunk).
"""
import functools

import numpy as np
from numba import cuda

from . import _launch
from .matmul import gemm

__all__ = ["conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
           "conv_output_size", "im2col", "col2im", "WORKSPACE_BYTES"]

#: Upper bound on the im2col workspace; larger batches are done in chunks.
WORKSPACE_BYTES = 256 * 2 ** 20

_BLOCK = 32 if _launch.SIMULATOR else 256


def _pair(v, name):
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    try:
        a, b = v
        return int(a), int(b)
    except (TypeError, ValueError):
        raise ValueError(f"conv2d: {name} must be an int or a pair of ints, got {v!r}") from None


def conv_output_size(size, k, stride=1, padding=0, dilation=1):
    """Output length along one axis (PyTorch's formula)."""
    return (size + 2 * padding - dilation * (k - 1) - 1) // stride + 1


@functools.lru_cache(maxsize=None)
def conv_kernels(dtype):
    """The im2col and col2im kernels for one dtype, as a dict by name."""
    zero = np.dtype(dtype).type(0)

    def im2col_kernel(x, cols, kh, kw, OW, sh, sw, ph, pw, dh, dw):
        H, W = x.shape[2], x.shape[3]
        CKK, L = cols.shape[1], cols.shape[2]
        total = x.shape[0] * CKK * L
        for idx in range(cuda.grid(1), total, cuda.gridsize(1)):
            # consecutive threads -> consecutive output pixels: coalesced writes
            l = idx % L
            t = idx // L
            r = t % CKK
            n = t // CKK
            oh = l // OW
            ow = l - oh * OW
            j = r % kw
            i = (r // kw) % kh
            c = r // (kh * kw)
            h = oh * sh - ph + i * dh
            w = ow * sw - pw + j * dw
            v = zero
            if h >= 0 and h < H and w >= 0 and w < W:
                v = x[n, c, h, w]
            cols[n, r, l] = v

    def col2im_kernel(cols, dx, kh, kw, OH, OW, sh, sw, ph, pw, dh, dw):
        C, H, W = dx.shape[1], dx.shape[2], dx.shape[3]
        total = dx.shape[0] * C * H * W
        for idx in range(cuda.grid(1), total, cuda.gridsize(1)):
            w = idx % W
            t = idx // W
            h = t % H
            t = t // H
            c = t % C
            n = t // C
            acc = zero
            for i in range(kh):
                hh = h + ph - i * dh        # = oh * sh for the output row that reads (h, tap i)
                if hh >= 0 and hh % sh == 0 and hh // sh < OH:
                    oh = hh // sh
                    for j in range(kw):
                        ww = w + pw - j * dw
                        if ww >= 0 and ww % sw == 0 and ww // sw < OW:
                            acc += cols[n, (c * kh + i) * kw + j, oh * OW + ww // sw]
            dx[n, c, h, w] = acc

    return {f.__name__: cuda.jit(f) for f in (im2col_kernel, col2im_kernel)}


class _Geometry:
    """Validated shapes and hyper-parameters of one convolution."""

    def __init__(self, x_shape, w_shape, stride, padding, dilation):
        if len(x_shape) != 4 or len(w_shape) != 4:
            raise ValueError(f"conv2d: expected 4-D input (N, C, H, W) and weight "
                             f"(Cout, C, kh, kw), got {tuple(x_shape)} and {tuple(w_shape)}")
        self.N, self.C, self.H, self.W = (int(s) for s in x_shape)
        self.Cout, Cw, self.kh, self.kw = (int(s) for s in w_shape)
        if Cw != self.C:
            raise ValueError(f"conv2d: input {tuple(x_shape)} has {self.C} channels but weight "
                             f"{tuple(w_shape)} expects {Cw} (groups=1)")
        self.sh, self.sw = _pair(stride, "stride")
        self.ph, self.pw = _pair(padding, "padding")
        self.dh, self.dw = _pair(dilation, "dilation")
        if min(self.sh, self.sw, self.dh, self.dw) < 1 or min(self.ph, self.pw) < 0:
            raise ValueError(f"conv2d: need stride >= 1, dilation >= 1, padding >= 0; got "
                             f"stride={stride}, padding={padding}, dilation={dilation}")
        self.OH = conv_output_size(self.H, self.kh, self.sh, self.ph, self.dh)
        self.OW = conv_output_size(self.W, self.kw, self.sw, self.pw, self.dw)
        if self.OH < 1 or self.OW < 1:
            raise ValueError(f"conv2d: input {tuple(x_shape)} padded by {padding} is smaller "
                             f"than the dilated kernel {tuple(w_shape[2:])} (dilation "
                             f"{dilation}); the output would be {self.OH}x{self.OW}")
        self.CKK = self.C * self.kh * self.kw
        self.L = self.OH * self.OW
        self.params = (self.sh, self.sw, self.ph, self.pw, self.dh, self.dw)

    def chunks(self, itemsize, workspace_bytes):
        """Batch ranges whose columns fit in the workspace (at least one sample each).

        An empty batch gives one empty range, so a weight gradient still runs
        (and writes zeros)."""
        per_sample = max(1, self.CKK * self.L * itemsize)
        step = max(1, int(workspace_bytes) // per_sample)
        if self.N == 0:
            return [(0, 0)]
        return [(n0, min(n0 + step, self.N)) for n0 in range(0, self.N, step)]


def im2col(x, cols, geo):
    """Fill ``cols`` (n, C*kh*kw, OH*OW) from ``x`` (n, C, H, W)."""
    kernel = conv_kernels(np.dtype(x.dtype).type)["im2col_kernel"]
    n = cols.shape[0] * cols.shape[1] * cols.shape[2]
    kernel[_launch.grid(_launch.blocks(n, _BLOCK)), _BLOCK](
        _launch.arg(x), _launch.arg(cols), geo.kh, geo.kw, geo.OW, *geo.params)
    return cols


def col2im(cols, dx, geo):
    """dx (n, C, H, W) = the adjoint of im2col applied to ``cols``."""
    kernel = conv_kernels(np.dtype(dx.dtype).type)["col2im_kernel"]
    n = dx.shape[0] * dx.shape[1] * dx.shape[2] * dx.shape[3]
    kernel[_launch.grid(_launch.blocks(n, _BLOCK)), _BLOCK](
        _launch.arg(cols), _launch.arg(dx), geo.kh, geo.kw, geo.OH, geo.OW, *geo.params)
    return dx


def conv2d_forward(x, w, stride=1, padding=0, dilation=1, workspace_bytes=None, tiles=None):
    """y = conv2d(x, w): x (N, C, H, W), w (Cout, C, kh, kw) -> y (N, Cout, OH, OW). No bias."""
    dtype = _launch.check_float("conv2d_forward", x, w)
    g = _Geometry(x.shape, w.shape, stride, padding, dilation)
    y = _launch.empty(x, (g.N, g.Cout, g.OH, g.OW), dtype)
    if y.size == 0:
        return y
    w2d = w.reshape((1, g.Cout, g.CKK))
    y3 = y.reshape((g.N, g.Cout, g.L))
    for n0, n1 in g.chunks(dtype.itemsize, workspace_bytes or WORKSPACE_BYTES):
        cols = im2col(x[n0:n1], _launch.empty(x, (n1 - n0, g.CKK, g.L), dtype), g)
        gemm(w2d, cols, y3[n0:n1], tiles=tiles)
    return y


def conv2d_backward_input(gy, w, x_shape, stride=1, padding=0, dilation=1,
                          workspace_bytes=None, tiles=None):
    """dx (x_shape) of conv2d given gy (N, Cout, OH, OW) and w (Cout, C, kh, kw)."""
    dtype = _launch.check_float("conv2d_backward_input", gy, w)
    g = _Geometry(x_shape, w.shape, stride, padding, dilation)
    _check_gy("conv2d_backward_input", gy, g)
    dx = _launch.empty(gy, (g.N, g.C, g.H, g.W), dtype)
    if dx.size == 0:
        return dx
    w2d = w.reshape((1, g.Cout, g.CKK))
    gy3 = gy.reshape((g.N, g.Cout, g.L))
    for n0, n1 in g.chunks(dtype.itemsize, workspace_bytes or WORKSPACE_BYTES):
        dcols = _launch.empty(gy, (n1 - n0, g.CKK, g.L), dtype)
        gemm(w2d, gy3[n0:n1], dcols, trans_a=True, tiles=tiles)
        col2im(dcols, dx[n0:n1], g)
    return dx


def conv2d_backward_weight(gy, x, w_shape, stride=1, padding=0, dilation=1,
                           workspace_bytes=None, tiles=None):
    """dw (w_shape) of conv2d given gy (N, Cout, OH, OW) and x (N, C, H, W)."""
    dtype = _launch.check_float("conv2d_backward_weight", gy, x)
    g = _Geometry(x.shape, w_shape, stride, padding, dilation)
    _check_gy("conv2d_backward_weight", gy, g)
    dw = _launch.empty(x, (g.Cout, g.C, g.kh, g.kw), dtype)
    if dw.size == 0:
        return dw
    dw3 = dw.reshape((1, g.Cout, g.CKK))
    gy3 = gy.reshape((g.N, g.Cout, g.L))
    for chunk, (n0, n1) in enumerate(g.chunks(dtype.itemsize, workspace_bytes or WORKSPACE_BYTES)):
        cols = im2col(x[n0:n1], _launch.empty(x, (n1 - n0, g.CKK, g.L), dtype), g)
        gemm(gy3[n0:n1], cols, dw3, trans_b=True, reduce_batch=True, accumulate=chunk > 0,
             tiles=tiles)
    return dw


def _check_gy(name, gy, g):
    expected = (g.N, g.Cout, g.OH, g.OW)
    if tuple(gy.shape) != expected:
        raise ValueError(f"{name}: grad_output has shape {tuple(gy.shape)}, expected {expected} "
                         f"for input ({g.N}, {g.C}, {g.H}, {g.W}) and weight "
                         f"({g.Cout}, {g.C}, {g.kh}, {g.kw})")
