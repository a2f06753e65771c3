"""The softmax step of scaled dot-product attention, forward and backward, on
the CPU.

Attention computes S = q @ k^T with a batched matmul; these kernels take over
from there, on S viewed as (B, L, S_len) (all leading dims flattened):

    attention_softmax_forward(scores, scale, causal)     -> probs
        probs[b, i, :] = softmax(scale * scores[b, i, :]), where with
        `causal` key j takes part in query row i only for j <= i
        (PyTorch's is_causal: the top-left aligned lower triangle). The
        masked keys get probability 0; no mask array is ever built.
    attention_softmax_backward(probs, grad, out_scale)    -> dlogits
        dlogits = out_scale * probs * (grad - sum_j(grad * probs)), the
        gradient through the softmax for the upstream `grad` = dL/dprobs
        (masked keys have probs 0, so their gradient is 0 by itself).

Both work in place (forward overwrites `scores`, backward overwrites `grad`)
and return that array: the caller's arrays are fresh matmul results, and a
second (B, L, S) array would double the step's memory. Sums and the row
maximum are carried in float64 for float32 input.

Rows are independent, so the parallel versions split the B * L rows across
threads; they are used only for large arrays, since waking a thread pool
costs more than small problems take (and far more on a busy machine).
"""
import numpy as np
from numba import njit, prange

__all__ = ["attention_softmax_forward", "attention_softmax_backward"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_PARALLEL_MIN_SIZE = 1 << 16


@njit(cache=True)
def _softmax_row(x, b, i, scale, n):
    """Softmax of scale * x[b, i, :n] in place; x[b, i, n:] set to 0."""
    m = -np.inf
    for j in range(n):
        v = scale * np.float64(x[b, i, j])
        if v > m:
            m = v
    total = 0.0
    if m == -np.inf:  # every kept logit is -inf (or none is kept): all zeros
        m = 0.0
    for j in range(n):
        e = np.exp(scale * np.float64(x[b, i, j]) - m)
        x[b, i, j] = e
        total += e
    inv = 1.0 / total if total != 0.0 else 0.0  # NaN spreads over its row
    for j in range(n):
        x[b, i, j] = x[b, i, j] * inv
    for j in range(n, x.shape[2]):
        x[b, i, j] = 0.0


@njit(cache=True)
def _fwd_serial(x, scale, causal):
    B, L, S = x.shape
    for b in range(B):
        for i in range(L):
            _softmax_row(x, b, i, scale, min(i + 1, S) if causal else S)


@njit(cache=True, parallel=True)
def _fwd_parallel(x, scale, causal):
    B, L, S = x.shape
    for r in prange(B * L):
        b, i = r // L, r % L
        _softmax_row(x, b, i, scale, min(i + 1, S) if causal else S)


@njit(cache=True)
def _softmax_grad_row(p, g, b, i, out_scale, n):
    """g[b, i, :] <- out_scale * p * (g - <g, p>) over the first n keys, 0 after."""
    dot = 0.0
    for j in range(n):
        dot += np.float64(g[b, i, j]) * p[b, i, j]
    for j in range(n):
        g[b, i, j] = out_scale * p[b, i, j] * (np.float64(g[b, i, j]) - dot)
    for j in range(n, g.shape[2]):
        g[b, i, j] = 0.0


@njit(cache=True)
def _bwd_serial(p, g, out_scale, causal):
    B, L, S = p.shape
    for b in range(B):
        for i in range(L):
            _softmax_grad_row(p, g, b, i, out_scale, min(i + 1, S) if causal else S)


@njit(cache=True, parallel=True)
def _bwd_parallel(p, g, out_scale, causal):
    B, L, S = p.shape
    for r in prange(B * L):
        b, i = r // L, r % L
        _softmax_grad_row(p, g, b, i, out_scale, min(i + 1, S) if causal else S)


def _check(name, *arrays):
    for a in arrays:
        if a.ndim != 3 or a.dtype not in _FLOATS or not a.flags.c_contiguous \
                or not a.flags.writeable:
            raise ValueError(f"{name}: expected writeable C-contiguous float32/float64 arrays "
                             f"of shape (B, L, S), got {a.dtype} {a.shape}")


def attention_softmax_forward(scores, scale, causal=False):
    """softmax(scale * scores) over the last axis of (B, L, S) `scores`, in
    place, with the causal mask applied on the fly when `causal`."""
    _check("attention_softmax_forward", scores)
    kernel = _fwd_parallel if scores.size >= _PARALLEL_MIN_SIZE else _fwd_serial
    kernel(scores, float(scale), bool(causal))
    return scores


def attention_softmax_backward(probs, grad, out_scale=1.0, causal=False):
    """The softmax's input gradient from its output `probs` and the upstream
    `grad` (both (B, L, S), one dtype), times `out_scale`; written into
    `grad`. `causal` only skips the keys that probs already zeroes."""
    _check("attention_softmax_backward", probs, grad)
    if probs.shape != grad.shape or probs.dtype != grad.dtype:
        raise ValueError(f"attention_softmax_backward: probs {probs.dtype} {probs.shape} and "
                         f"grad {grad.dtype} {grad.shape} differ")
    kernel = _bwd_parallel if probs.size >= _PARALLEL_MIN_SIZE else _bwd_serial
    kernel(probs, grad, float(out_scale), bool(causal))
    return grad
