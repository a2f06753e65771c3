"""Layer norm and training-mode batch norm, forward and backward, on the CPU.

Each row of an (M, K) array (layer norm), or each channel of an (N, C, S)
array (batch norm), is read once for its statistics and once more to write
the output: no x_hat or other temporaries of the input's size. Sums are
carried in float64 for every input dtype; the statistics come back as float64
arrays. Backward recomputes x_hat = (x - mean) * invstd on the fly.

The loops are serial: at the sizes these layers see, starting threads costs
more than it saves, and on a busy machine far more. `fastmath` lets the sums
vectorize.

    layer_norm_forward(x, weight, bias, eps)        -> out, mean (M,), invstd (M,)
    layer_norm_backward(g, x, mean, invstd, weight) -> gx, gweight (K,), gbias (K,)
    batch_norm_forward(x, weight, bias, eps)        -> out, mean (C,), var (C,), invstd (C,)
    batch_norm_backward(g, x, mean, invstd, weight) -> gx, gweight (C,), gbias (C,)

`weight` and `bias` may be None (no affine). The variance is the biased
one (divided by the count), as normalization uses it. Backward gives the
input gradient for statistics computed from x itself, and the gradients of
y = x_hat * weight + bias for weight and bias.
"""
import numpy as np
from numba import njit

__all__ = ["layer_norm_forward", "layer_norm_backward", "batch_norm_forward",
           "batch_norm_backward"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# reassociation only: NaN and inf keep their meaning
_FAST = {"reassoc", "contract"}


def _prepare(*arrays):
    """C-contiguous float32/float64 arrays (others computed in float32)."""
    return [a if a is None else np.ascontiguousarray(
        a if a.dtype in _FLOATS else a.astype(np.float32)) for a in arrays]


def _affine_or_identity(weight, bias, n, dtype):
    # in x's dtype, so each kernel compiles for float32 and float64 only
    return (np.ones(n, dtype) if weight is None else weight.astype(dtype, copy=False),
            np.zeros(n, dtype) if bias is None else bias.astype(dtype, copy=False))


# ---------------------------------------------------------------- layer norm
@njit(cache=True, fastmath=_FAST)
def _layer_norm_fwd(x, w, b, eps, out, mean, invstd):
    M, K = x.shape
    for i in range(M):
        s = 0.0
        for j in range(K):
            s += x[i, j]
        m = s / K
        v = 0.0
        for j in range(K):
            d = x[i, j] - m
            v += d * d
        r = 1.0 / np.sqrt(v / K + eps)
        mean[i] = m
        invstd[i] = r
        for j in range(K):
            out[i, j] = (x[i, j] - m) * r * w[j] + b[j]


@njit(cache=True, fastmath=_FAST)
def _layer_norm_bwd(g, x, mean, invstd, w, gx, gw, gb):
    M, K = x.shape
    for i in range(M):
        m, r = mean[i], invstd[i]
        s_g = 0.0
        s_gx = 0.0
        for j in range(K):
            gv = g[i, j]
            xh = (x[i, j] - m) * r
            gh = gv * w[j]
            s_g += gh
            s_gx += gh * xh
            gw[j] += gv * xh
            gb[j] += gv
        s_g /= K
        s_gx /= K
        for j in range(K):
            xh = (x[i, j] - m) * r
            gx[i, j] = (g[i, j] * w[j] - s_g - xh * s_gx) * r


def layer_norm_forward(x, weight, bias, eps):
    """Normalize each row of x (M, K); then * weight + bias (each (K,) or None)."""
    dtype = x.dtype
    x, weight, bias = _prepare(x, weight, bias)
    M, K = x.shape
    w, b = _affine_or_identity(weight, bias, K, x.dtype)
    out = np.empty_like(x)
    mean, invstd = np.empty(M), np.empty(M)
    _layer_norm_fwd(x, w, b, float(eps), out, mean, invstd)
    return out.astype(dtype, copy=False), mean, invstd


def layer_norm_backward(g, x, mean, invstd, weight):
    return _backward(_layer_norm_bwd, g, x, mean, invstd, weight)


def _backward(kernel, g, x, mean, invstd, weight):
    """(grad_x, grad_weight, grad_bias) from a norm's backward kernel; the
    affine parameters run along axis 1 for both layer and batch norm."""
    dtype = x.dtype
    g, x, weight = _prepare(g, x, weight)
    K = x.shape[1]
    w, _ = _affine_or_identity(weight, None, K, x.dtype)
    gx = np.empty_like(x)
    gw, gb = np.zeros(K), np.zeros(K)
    kernel(g, x, mean, invstd, w, gx, gw, gb)
    return gx.astype(dtype, copy=False), gw.astype(dtype), gb.astype(dtype)


# ---------------------------------------------------------------- batch norm
@njit(cache=True, fastmath=_FAST)
def _batch_norm_fwd(x, w, b, eps, out, mean, var, invstd):
    N, C, S = x.shape
    count = N * S
    for c in range(C):
        s = 0.0
        for n in range(N):
            for k in range(S):
                s += x[n, c, k]
        m = s / count
        v = 0.0
        for n in range(N):
            for k in range(S):
                d = x[n, c, k] - m
                v += d * d
        v /= count
        r = 1.0 / np.sqrt(v + eps)
        mean[c], var[c], invstd[c] = m, v, r
        scale = r * w[c]
        shift = b[c] - m * scale
        for n in range(N):
            for k in range(S):
                out[n, c, k] = x[n, c, k] * scale + shift


@njit(cache=True, fastmath=_FAST)
def _batch_norm_bwd(g, x, mean, invstd, w, gx, gw, gb):
    N, C, S = x.shape
    count = N * S
    for c in range(C):
        m, r = mean[c], invstd[c]
        s_g = 0.0
        s_gx = 0.0
        for n in range(N):
            for k in range(S):
                gv = g[n, c, k]
                s_g += gv
                s_gx += gv * (x[n, c, k] - m)
        s_gx *= r  # sum of g * x_hat
        gb[c], gw[c] = s_g, s_gx
        scale = w[c] * r
        mean_g = s_g / count
        mean_gx = s_gx / count
        for n in range(N):
            for k in range(S):
                xh = (x[n, c, k] - m) * r
                gx[n, c, k] = scale * (g[n, c, k] - mean_g - xh * mean_gx)


def batch_norm_forward(x, weight, bias, eps):
    """Normalize each channel c of x (N, C, S) over N and S with the batch's
    mean and biased variance; then * weight[c] + bias[c]."""
    dtype = x.dtype
    x, weight, bias = _prepare(x, weight, bias)
    C = x.shape[1]
    w, b = _affine_or_identity(weight, bias, C, x.dtype)
    out = np.empty_like(x)
    mean, var, invstd = np.empty(C), np.empty(C), np.empty(C)
    _batch_norm_fwd(x, w, b, float(eps), out, mean, var, invstd)
    return out.astype(dtype, copy=False), mean, var, invstd


def batch_norm_backward(g, x, mean, invstd, weight):
    return _backward(_batch_norm_bwd, g, x, mean, invstd, weight)
