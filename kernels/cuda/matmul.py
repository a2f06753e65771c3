"""Tiled shared-memory GEMM: ``matmul(a, b)`` for (..., M, K) @ (..., K, N).

Each block computes a BM x BN tile of the output; its (BN/TN) x (BM/TM)
threads each hold a TM x TN register tile, so a value loaded into shared
memory is reused TM (or TN) times from registers.  Per K step of width BK the
block stages A[m0:m0+BM, k0:k0+BK] and B[k0:k0+BK, n0:n0+BN] in shared memory
(zero-filled past the edges, which is how any M, N, K works, not only tile
multiples).  A thread's outputs are strided by the thread-grid size
(``m0 + ty + i*TY``) so that a warp reads consecutive shared-memory words
(no bank conflicts) and writes consecutive output columns (coalesced).

Default tiles on a GPU: 64 x 64 x 16 with 4 x 4 per thread (256 threads,
8.3 KB of shared memory).  Loads pick their thread-to-element mapping from
the operand's strides, so transposed views are read coalesced too.

One kernel serves three callers:
* plain batched products, broadcasting an operand whose batch is 1;
* ``trans_a`` / ``trans_b``: read an operand as its transpose (the conv
  backward passes ``W^T`` and ``cols^T`` this way, without copies);
* ``reduce_batch``: out = sum over the batch of a[i] @ b[i] (the conv weight
  gradient), and ``accumulate``: out += ... (to sum over batch chunks).
"""
import functools
from collections import namedtuple

import numba
import numpy as np
from numba import cuda

from . import _launch

__all__ = ["GemmTiles", "matmul", "gemm", "DEFAULT_TILES"]

GemmTiles = namedtuple("GemmTiles", "bm bn bk tm tn")
GemmTiles.__doc__ = "Block tile (bm x bn), K step bk, per-thread register tile (tm x tn)."

# The simulator pays per thread, not per FLOP: fewer, fatter threads there.
DEFAULT_TILES = GemmTiles(16, 16, 8, 4, 4) if _launch.SIMULATOR else GemmTiles(64, 64, 16, 4, 4)


@functools.lru_cache(maxsize=None)
def gemm_kernel(dtype, tiles):
    """The GEMM kernel for one dtype (``np.float32``/``np.float64``) and tile shape."""
    BM, BN, BK, TM, TN = tiles
    if BM % TM or BN % TN:
        raise ValueError(f"GemmTiles {tiles}: bm must be a multiple of tm and bn of tn")
    TX, TY = BN // TN, BM // TM
    NT = TX * TY
    # +1 column of padding: the mapping that walks a tile column-wise would
    # otherwise hit one bank with the whole warp.  (Shapes of shared arrays
    # must be compile-time constants, hence computed out here.)
    AW, BW = BM + 1, BN + 1
    nbtype = numba.from_dtype(np.dtype(dtype))
    zero = np.dtype(dtype).type(0)

    def gemm(a, b, out, trans_a, trans_b, reduce_batch, accumulate):
        As = cuda.shared.array((BK, AW), nbtype)
        Bs = cuda.shared.array((BK, BW), nbtype)
        acc = cuda.local.array((TM, TN), nbtype)
        ra = cuda.local.array(TM, nbtype)
        rb = cuda.local.array(TN, nbtype)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        tid = ty * TX + tx
        M = out.shape[1]
        N = out.shape[2]
        K = a.shape[1] if trans_a else a.shape[2]
        # Which logical axis of each operand is contiguous in memory decides
        # the load order: consecutive threads then read consecutive addresses.
        sa_r, sa_c = (a.strides[2], a.strides[1]) if trans_a else (a.strides[1], a.strides[2])
        sb_r, sb_c = (b.strides[2], b.strides[1]) if trans_b else (b.strides[1], b.strides[2])
        a_k_fast = sa_c <= sa_r
        b_n_fast = sb_c <= sb_r
        na = a.shape[0]
        nb = b.shape[0]
        for z in range(cuda.blockIdx.z, out.shape[0], cuda.gridDim.z):
            lo = 0 if reduce_batch else z
            hi = (na if na > nb else nb) if reduce_batch else z + 1
            for m0 in range(cuda.blockIdx.y * BM, M, cuda.gridDim.y * BM):
                for n0 in range(cuda.blockIdx.x * BN, N, cuda.gridDim.x * BN):
                    for i in range(TM):
                        for j in range(TN):
                            acc[i, j] = zero
                    for bz in range(lo, hi):
                        ia = bz if na > 1 else 0
                        ib = bz if nb > 1 else 0
                        for k0 in range(0, K, BK):
                            for e in range(tid, BM * BK, NT):
                                if a_k_fast:
                                    r = e // BK
                                    c = e - r * BK
                                else:
                                    c = e // BM
                                    r = e - c * BM
                                m = m0 + r
                                k = k0 + c
                                v = zero
                                if m < M and k < K:
                                    v = a[ia, k, m] if trans_a else a[ia, m, k]
                                As[c, r] = v
                            for e in range(tid, BK * BN, NT):
                                if b_n_fast:
                                    r = e // BN
                                    c = e - r * BN
                                else:
                                    c = e // BK
                                    r = e - c * BK
                                k = k0 + r
                                n = n0 + c
                                v = zero
                                if k < K and n < N:
                                    v = b[ib, n, k] if trans_b else b[ib, k, n]
                                Bs[r, c] = v
                            cuda.syncthreads()
                            for kk in range(BK):
                                for i in range(TM):
                                    ra[i] = As[kk, ty + i * TY]
                                for j in range(TN):
                                    rb[j] = Bs[kk, tx + j * TX]
                                for i in range(TM):
                                    for j in range(TN):
                                        acc[i, j] += ra[i] * rb[j]
                            # the next K step overwrites the tiles
                            cuda.syncthreads()
                    for i in range(TM):
                        m = m0 + ty + i * TY
                        if m < M:
                            for j in range(TN):
                                n = n0 + tx + j * TX
                                if n < N:
                                    if accumulate:
                                        out[z, m, n] += acc[i, j]
                                    else:
                                        out[z, m, n] = acc[i, j]

    return cuda.jit(gemm)


def gemm(a, b, out, trans_a=False, trans_b=False, reduce_batch=False, accumulate=False,
         tiles=None):
    """Launch the GEMM on 3-D operands: out[z] (+)= op(a[z]) @ op(b[z]).

    ``a`` is (Ba, M, K) (or (Ba, K, M) with ``trans_a``), ``b`` is (Bb, K, N)
    (or (Bb, N, K) with ``trans_b``); a batch of 1 broadcasts.  ``out`` is
    (max(Ba, Bb), M, N), or (1, M, N) with ``reduce_batch``.  Shapes are the
    caller's responsibility (the public functions check them); returns ``out``.
    """
    tiles = DEFAULT_TILES if tiles is None else GemmTiles(*tiles)
    Bo, M, N = out.shape
    if Bo == 0 or M == 0 or N == 0:
        return out
    kernel = gemm_kernel(np.dtype(out.dtype).type, tiles)
    launch = _launch.grid(_launch.blocks(N, tiles.bn), _launch.blocks(M, tiles.bm), Bo)
    threads = (tiles.bn // tiles.tn, tiles.bm // tiles.tm)
    kernel[launch, threads](_launch.arg(a), _launch.arg(b), _launch.arg(out), int(trans_a),
                            int(trans_b), int(reduce_batch), int(accumulate))
    return out


def _batch3(x, batch_shape, core):
    """View ``x`` (..., r, c) as (B, r, c) with B = 1 or prod(batch_shape)."""
    x_batch = tuple(x.shape)[:-2]
    if all(s == 1 for s in x_batch):
        return x.reshape((1,) + core)
    if x_batch == batch_shape:
        return x.reshape((-1,) + core)
    # Mixed broadcasting such as (2, 1) with (1, 3): materialise this operand.
    xp = _launch.array_module(x)
    return xp.ascontiguousarray(xp.broadcast_to(x, batch_shape + core)).reshape((-1,) + core)


def matmul(a, b, out=None, tiles=None):
    """``a @ b`` for (..., M, K) and (..., K, N) float arrays with NumPy batch broadcasting.

    Returns a new (broadcast batch..., M, N) array of the kind of ``a`` (or
    fills ``out`` of that shape).  ``tiles`` overrides :data:`DEFAULT_TILES`.
    """
    dtype = _launch.check_float("matmul", a, b)
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"matmul: both operands need at least 2 dims, got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    M, K = (int(s) for s in tuple(a.shape)[-2:])
    K2, N = (int(s) for s in tuple(b.shape)[-2:])
    if K != K2:
        raise ValueError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} are not aligned "
                         f"(inner dims {K} != {K2})")
    try:
        batch = tuple(int(s) for s in np.broadcast_shapes(tuple(a.shape)[:-2],
                                                          tuple(b.shape)[:-2]))
    except ValueError:
        raise ValueError(f"matmul: batch dims of {tuple(a.shape)} and {tuple(b.shape)} "
                         f"do not broadcast") from None
    shape = batch + (M, N)
    if out is None:
        out = _launch.empty(a, shape, dtype)
    else:
        _launch.check_out("matmul", out, shape, dtype)
    if 0 in shape:
        return out
    out3 = out.reshape((-1, M, N))
    gemm(_batch3(a, batch, (M, K)), _batch3(b, batch, (K, N)), out3, tiles=tiles)
    return out
