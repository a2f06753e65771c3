"""Flash-attention-style scaled dot-product attention, forward and backward.

Shapes: q (B, H, Tq, D), k and v (B, H, Tk, D), float32 or float64, with
D <= 128 (``MAX_HEAD_DIM``: the per-thread accumulators and the shared tiles
are sized by D).  ``causal`` masks key j for query i when j > i (PyTorch's
``is_causal``: the top-left aligned lower triangle).  The T x T score matrix
never exists in memory: K/V (or Q/dO) tiles stream through shared memory and
each thread keeps its own row's running statistics.

Forward -- one thread per query row, a block of BQ rows per (b, h):
    for each key tile (BK keys staged in shared memory):
        s_j   = scale * q . k_j                       (masked keys: -inf)
        m'    = max(m, max_j s_j)
        l     = l * exp(m - m') + sum_j exp(s_j - m')
        o     = o * exp(m - m') + sum_j exp(s_j - m') v_j
    out = o / l;  lse = m + log(l)          (the log-sum-exp the backward needs)
With causal masking a block stops at its last query's key, skipping the
upper triangle's tiles entirely.

Backward (FlashAttention-2's recomputation, split into two kernels so that
every output element has exactly one writer -- no atomics, deterministic):
    delta_i = dout_i . out_i
    p_ij    = exp(scale * q_i . k_j - lse_i)
    ds_ij   = p_ij * (dout_i . v_j - delta_i)
    dq_i    = scale * sum_j ds_ij k_j     -- one thread per query row, streams K/V
    dk_j    = scale * sum_i ds_ij q_i     -- one thread per key row, streams Q/dO
    dv_j    =         sum_i p_ij dout_i
The scores are recomputed in both kernels (twice the QK^T FLOPs of a fused
backward that uses atomics for dq), the price of having no atomics.

Shared rows are padded to D+1 words, so the threads of a warp reading their
own rows (stride D+1) hit distinct banks.  Tiles per D keep the static shared
memory under 48 KB (see :func:`default_tiles`).
"""
import functools
import math
from collections import namedtuple

import numba
import numpy as np
from numba import cuda

from . import _launch

__all__ = ["attention_forward", "attention_backward", "AttentionTiles", "default_tiles",
           "MAX_HEAD_DIM"]

MAX_HEAD_DIM = 128

_ROW_BLOCK = 32 if _launch.SIMULATOR else 128   # threads per block of the delta kernel

AttentionTiles = namedtuple("AttentionTiles", "bq bk")
AttentionTiles.__doc__ = "Query rows per block (bq) and keys per streamed tile (bk)."


def default_tiles(head_dim):
    """Largest tiles whose four (T, D+1) float32 shared arrays fit in 48 KB."""
    if _launch.SIMULATOR:
        return AttentionTiles(8, 8)
    t = 64 if head_dim <= 32 else 32 if head_dim <= 64 else 16
    return AttentionTiles(t, t)


@functools.lru_cache(maxsize=None)
def attention_kernels(dtype, D, tiles):
    """Forward, delta, dq and dk/dv kernels for one dtype, head dim and tile shape."""
    BQ, BK = tiles
    DP = D + 1
    nbtype = numba.from_dtype(np.dtype(dtype))
    zero = np.dtype(dtype).type(0)
    one = np.dtype(dtype).type(1)
    neg_inf = np.dtype(dtype).type(-np.inf)

    def load_rows(dst, src, b, h, t0, scale, nthreads):
        """dst[r, :D] = scale * src[b, h, t0 + r, :] (zeros past the end); block-wide."""
        T = src.shape[2]
        for e in range(cuda.threadIdx.x, dst.shape[0] * D, nthreads):
            r = e // D
            c = e - r * D
            v = zero
            if t0 + r < T:
                v = src[b, h, t0 + r, c] * scale
            dst[r, c] = v

    def dot(x, i, y, j):
        """x[i, :D] . y[j, :D]."""
        acc = zero
        for d in range(D):
            acc += x[i, d] * y[j, d]
        return acc

    load = cuda.jit(device=True)(load_rows)
    rowdot = cuda.jit(device=True)(dot)

    def forward(q, k, v, out, lse, scale, causal):
        Qs = cuda.shared.array((BQ, DP), nbtype)
        Ks = cuda.shared.array((BK, DP), nbtype)
        Vs = cuda.shared.array((BK, DP), nbtype)
        s = cuda.local.array(BK, nbtype)
        o = cuda.local.array(D, nbtype)
        t = cuda.threadIdx.x
        H, Tq, Tk = q.shape[1], q.shape[2], k.shape[2]
        for bh in range(cuda.blockIdx.y, q.shape[0] * H, cuda.gridDim.y):
            b = bh // H
            h = bh - b * H
            for q0 in range(cuda.blockIdx.x * BQ, Tq, cuda.gridDim.x * BQ):
                qi = q0 + t
                cuda.syncthreads()      # the previous tile's readers are done with Qs
                load(Qs, q, b, h, q0, scale, BQ)    # pre-scaled: s = (scale q) . k
                m = neg_inf
                l = zero
                for d in range(D):
                    o[d] = zero
                kend = Tk if not causal or q0 + BQ > Tk else q0 + BQ
                for k0 in range(0, kend, BK):
                    cuda.syncthreads()
                    load(Ks, k, b, h, k0, one, BQ)
                    load(Vs, v, b, h, k0, one, BQ)
                    cuda.syncthreads()
                    if qi < Tq and not (causal and k0 > qi):
                        mt = neg_inf
                        for j in range(BK):
                            sj = neg_inf
                            if k0 + j < Tk and not (causal and k0 + j > qi):
                                sj = rowdot(Qs, t, Ks, j)
                            s[j] = sj
                            if sj > mt:
                                mt = sj
                        mn = mt if mt > m else m
                        alpha = math.exp(m - mn)
                        l *= alpha
                        for d in range(D):
                            o[d] *= alpha
                        for j in range(BK):
                            p = math.exp(s[j] - mn)
                            l += p
                            for d in range(D):
                                o[d] += p * Vs[j, d]
                        m = mn
                if qi < Tq:
                    inv = one / l
                    for d in range(D):
                        out[b, h, qi, d] = o[d] * inv
                    lse[b, h, qi] = m + math.log(l)

    def delta(out, dout, dl):
        n = out.shape[0] * out.shape[1] * out.shape[2]
        H, T = out.shape[1], out.shape[2]
        for idx in range(cuda.grid(1), n, cuda.gridsize(1)):
            i = idx % T
            bh = idx // T
            b = bh // H
            h = bh - b * H
            acc = zero
            for d in range(D):
                acc += out[b, h, i, d] * dout[b, h, i, d]
            dl[b, h, i] = acc

    def backward_dq(q, k, v, dout, lse, dl, dq, scale, causal):
        Qs = cuda.shared.array((BQ, DP), nbtype)
        dOs = cuda.shared.array((BQ, DP), nbtype)
        Ks = cuda.shared.array((BK, DP), nbtype)
        Vs = cuda.shared.array((BK, DP), nbtype)
        acc = cuda.local.array(D, nbtype)
        t = cuda.threadIdx.x
        H, Tq, Tk = q.shape[1], q.shape[2], k.shape[2]
        for bh in range(cuda.blockIdx.y, q.shape[0] * H, cuda.gridDim.y):
            b = bh // H
            h = bh - b * H
            for q0 in range(cuda.blockIdx.x * BQ, Tq, cuda.gridDim.x * BQ):
                qi = q0 + t
                cuda.syncthreads()
                load(Qs, q, b, h, q0, scale, BQ)
                load(dOs, dout, b, h, q0, one, BQ)
                li = zero
                di = zero
                if qi < Tq:
                    li = lse[b, h, qi]
                    di = dl[b, h, qi]
                for d in range(D):
                    acc[d] = zero
                kend = Tk if not causal or q0 + BQ > Tk else q0 + BQ
                for k0 in range(0, kend, BK):
                    cuda.syncthreads()
                    load(Ks, k, b, h, k0, one, BQ)
                    load(Vs, v, b, h, k0, one, BQ)
                    cuda.syncthreads()
                    if qi < Tq:
                        for j in range(BK):
                            if k0 + j < Tk and not (causal and k0 + j > qi):
                                p = math.exp(rowdot(Qs, t, Ks, j) - li)
                                ds = p * (rowdot(dOs, t, Vs, j) - di)
                                for d in range(D):
                                    acc[d] += ds * Ks[j, d]
                if qi < Tq:
                    for d in range(D):
                        dq[b, h, qi, d] = acc[d] * scale

    def backward_dkdv(q, k, v, dout, lse, dl, dk, dv, scale, causal):
        Ks = cuda.shared.array((BK, DP), nbtype)
        Vs = cuda.shared.array((BK, DP), nbtype)
        Qs = cuda.shared.array((BQ, DP), nbtype)
        dOs = cuda.shared.array((BQ, DP), nbtype)
        Ls = cuda.shared.array(BQ, nbtype)
        Ds = cuda.shared.array(BQ, nbtype)
        gk = cuda.local.array(D, nbtype)
        gv = cuda.local.array(D, nbtype)
        t = cuda.threadIdx.x
        H, Tq, Tk = q.shape[1], q.shape[2], k.shape[2]
        for bh in range(cuda.blockIdx.y, q.shape[0] * H, cuda.gridDim.y):
            b = bh // H
            h = bh - b * H
            for k0 in range(cuda.blockIdx.x * BK, Tk, cuda.gridDim.x * BK):
                kj = k0 + t
                cuda.syncthreads()
                load(Ks, k, b, h, k0, one, BK)
                load(Vs, v, b, h, k0, one, BK)
                for d in range(D):
                    gk[d] = zero
                    gv[d] = zero
                # causal: queries before this key block never see its keys
                for q0 in range(k0 if causal else 0, Tq, BQ):
                    cuda.syncthreads()
                    load(Qs, q, b, h, q0, scale, BK)
                    load(dOs, dout, b, h, q0, one, BK)
                    for r in range(t, BQ, BK):
                        Ls[r] = lse[b, h, q0 + r] if q0 + r < Tq else zero
                        Ds[r] = dl[b, h, q0 + r] if q0 + r < Tq else zero
                    cuda.syncthreads()
                    if kj < Tk:
                        for i in range(BQ):
                            if q0 + i < Tq and not (causal and kj > q0 + i):
                                p = math.exp(rowdot(Qs, i, Ks, t) - Ls[i])
                                ds = p * (rowdot(dOs, i, Vs, t) - Ds[i])
                                for d in range(D):
                                    gv[d] += p * dOs[i, d]
                                    gk[d] += ds * Qs[i, d]   # Qs holds scale * q
                if kj < Tk:
                    for d in range(D):
                        dk[b, h, kj, d] = gk[d]
                        dv[b, h, kj, d] = gv[d]

    return {f.__name__: cuda.jit(f) for f in (forward, delta, backward_dq, backward_dkdv)}


def _validate(name, q, k, v, extra=()):
    dtype = _launch.check_float(name, q, k, v, *(a for _, a in extra))
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(f"{name}: expected q, k, v of shape (B, H, T, D), got "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    B, H, Tq, D = q.shape
    Tk = k.shape[2]
    if tuple(k.shape) != (B, H, Tk, D) or tuple(v.shape) != (B, H, Tk, D):
        raise ValueError(f"{name}: k and v must be (B, H, Tk, D) = (B, H, Tk, {D}) with q's "
                         f"B, H and D; got q {tuple(q.shape)}, k {tuple(k.shape)}, "
                         f"v {tuple(v.shape)}")
    if not 1 <= D <= MAX_HEAD_DIM:
        raise ValueError(f"{name}: head dim D={D} not supported (1 <= D <= {MAX_HEAD_DIM})")
    if Tk == 0 and Tq > 0:
        raise ValueError(f"{name}: no keys (k has shape {tuple(k.shape)}): softmax over "
                         f"an empty set")
    for label, a in extra:
        want = (B, H, Tq, D) if a.ndim == 4 else (B, H, Tq)
        if tuple(a.shape) != want:
            raise ValueError(f"{name}: {label} has shape {tuple(a.shape)}, expected {want}")
    return dtype, (int(B), int(H), int(Tq), int(Tk), int(D))


def _setup(q, causal, scale, tiles, D):
    dtype = np.dtype(q.dtype)
    scale = 1.0 / math.sqrt(D) if scale is None else float(scale)
    tiles = default_tiles(D) if tiles is None else AttentionTiles(*tiles)
    kernels = attention_kernels(dtype.type, D, tiles)
    return kernels, dtype.type(scale), int(bool(causal)), tiles


def attention_forward(q, k, v, causal=False, scale=None, tiles=None):
    """softmax(scale * q k^T [+ causal mask]) v, without the T x T matrix.

    Returns ``(out, lse)``: out (B, H, Tq, D) and the per-row log-sum-exp of
    the scaled, masked scores, lse (B, H, Tq), which the backward reuses.
    ``scale`` defaults to 1/sqrt(D), as in PyTorch.
    """
    dtype, (B, H, Tq, Tk, D) = _validate("attention_forward", q, k, v)
    out = _launch.empty(q, (B, H, Tq, D), dtype)
    lse = _launch.empty(q, (B, H, Tq), dtype)
    if out.size == 0:
        return out, lse
    kernels, scale, causal, tiles = _setup(q, causal, scale, tiles, D)
    launch = _launch.grid(_launch.blocks(Tq, tiles.bq), B * H)
    kernels["forward"][launch, tiles.bq](_launch.arg(q), _launch.arg(k), _launch.arg(v),
                                         _launch.arg(out), _launch.arg(lse), scale, causal)
    return out, lse


def attention_backward(q, k, v, out, lse, dout, causal=False, scale=None, tiles=None):
    """Gradients ``(dq, dk, dv)`` of :func:`attention_forward` given its ``out``, ``lse``
    and the upstream gradient ``dout`` (same ``causal`` and ``scale``)."""
    dtype, (B, H, Tq, Tk, D) = _validate("attention_backward", q, k, v,
                                         (("out", out), ("lse", lse), ("dout", dout)))
    dq = _launch.empty(q, q.shape, dtype)
    dk = _launch.empty(q, k.shape, dtype)
    dv = _launch.empty(q, v.shape, dtype)
    if dk.size == 0:
        return dq, dk, dv
    # (with no queries the kernels still run and write zero dk, dv)
    kernels, scale, causal, tiles = _setup(q, causal, scale, tiles, D)
    dl = _launch.empty(q, (B, H, Tq), dtype)
    a = [_launch.arg(x) for x in (q, k, v, dout, lse, dl)]
    n = B * H * Tq
    kernels["delta"][_launch.grid(_launch.blocks(n, _ROW_BLOCK)), _ROW_BLOCK](
        _launch.arg(out), a[3], a[5])
    kernels["backward_dq"][_launch.grid(_launch.blocks(Tq, tiles.bq), B * H), tiles.bq](
        *a, _launch.arg(dq), scale, causal)
    kernels["backward_dkdv"][_launch.grid(_launch.blocks(Tk, tiles.bk), B * H), tiles.bk](
        *a, _launch.arg(dk), _launch.arg(dv), scale, causal)
    return dq, dk, dv
