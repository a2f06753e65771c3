"""Scaled dot-product attention as one fused op, forward and backward.

    out = dropout(softmax(scale * q @ k^T  [+ mask])) @ v

for q (..., L, E), k (..., S, E), v (..., S, Ev); the leading (batch, head)
dims broadcast as in a matmul, and the whole computation is batched
matmuls over them. The mask is one of
  * none, or the causal one (key j takes part in query i only when j <= i,
    PyTorch's top-left aligned `is_causal`), applied without building it;
  * a bool array `keep` (True = take part), a parameter, not an input;
  * a float tensor added to the scaled scores, the op's fourth input (it
    gets a gradient when it requires one).
A row with no key taking part gets probability 0 everywhere (PyTorch's
"safe softmax"): its output and gradients are 0, not NaN.

Only the (..., L, S) probability matrix is kept for backward (plus, with
dropout, the bool keep-mask drawn from the backend's generator, so
`manual_seed` makes it reproducible):

    P   = softmax(Z),  Z = scale * q k^T + mask,   D = P * dropmask / (1 - p)
    dv  = D^T g        dD = g v^T       dP = dD * dropmask / (1 - p)
    dZ  = P * (dP - rowsum(dP * P))     dmask = dZ (summed to the mask's shape)
    dq  = scale * dZ k                  dk = scale * dZ^T q

The softmax step (and its backward) is the backend's kernel
`attention_softmax_forward/backward` where it has one (the CPU's compiled
kernels in kernels/cpu/attention.py, for float32/float64); otherwise the
array-module versions below, which share their signatures after `xp` and
are the kernels' reference.

A backend with flash-attention kernels of its own (`attention_forward` /
`attention_backward` on its class: the CUDA backend's) runs the common case
on them instead: (B, H, L, E) inputs of one batch shape, value as wide as
key, no explicit mask and no dropout. No (L, S) matrix exists there at all;
backward recomputes it from the saved row log-sum-exp.
"""
from ..autograd.function import Op, sum_to_shape

_KERNEL_DTYPES = ("float32", "float64")


# ---------------------------------------------------------------- array-module kernels
def causal_keep(xp, L, S):
    """The (L, S) bool mask of the causal attention: True where j <= i."""
    return xp.arange(S)[None, :] <= xp.arange(L)[:, None]


def attention_softmax_forward(xp, scores, scale, causal=False):
    """softmax(scale * scores) over the last axis of (B, L, S); rows whose
    logits are all -inf (or all masked) give zeros. float16 is computed in
    float32."""
    if scores.size == 0:
        return scores
    dtype = scores.dtype
    x = scores.astype(xp.float32) if dtype == xp.float16 else scores
    x = x * scale
    if causal:
        x = xp.where(causal_keep(xp, *x.shape[-2:]), x, -xp.inf)
    m = x.max(axis=-1, keepdims=True)
    m = xp.where(m == -xp.inf, 0, m)  # an all -inf row: exp(-inf) = 0 everywhere
    e = xp.exp(x - m)
    total = e.sum(axis=-1, keepdims=True)
    return (e / xp.where(total == 0, 1, total)).astype(dtype, copy=False)


def attention_softmax_backward(xp, probs, grad, out_scale=1.0, causal=False):
    """out_scale * probs * (grad - rowsum(grad * probs)); `causal` is
    accepted for the kernel's signature (probs are already 0 there)."""
    dot = (grad * probs).sum(axis=-1, keepdims=True)
    return (probs * (grad - dot)) * out_scale


_FALLBACKS = {f.__name__: f for f in (attention_softmax_forward, attention_softmax_backward)}


def _softmax_kernel(node, name, dtype):
    """The backend's compiled kernel `name` for float32/float64 arrays,
    else the array-module version above."""
    if dtype.name in _KERNEL_DTYPES:
        kernel = getattr(node.backend, name, None)
        if kernel is not None:
            return kernel
    fallback, xp = _FALLBACKS[name], node.xp
    return lambda *args: fallback(xp, *args)


def broadcast_shape(*shapes):
    """The shape that `shapes` broadcast to (NumPy's rules), or ValueError."""
    ndim = max(len(s) for s in shapes)
    out = []
    for i in range(ndim):
        sizes = {s[i - ndim + len(s)] for s in shapes if i - ndim + len(s) >= 0} - {1}
        if len(sizes) > 1:
            raise ValueError(f"shapes {', '.join(map(str, map(tuple, shapes)))} do not broadcast")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def _as_rows(xp, a):
    """a (..., L, S) as a C-contiguous (B, L, S) array (a view when it can be)."""
    return xp.ascontiguousarray(a).reshape((-1,) + a.shape[-2:])


# ---------------------------------------------------------------- op
class ScaledDotProductAttention(Op):
    """The fused attention op; inputs q, k, v and optionally a float mask."""

    def forward(self, q, k, v, *float_mask, scale, is_causal=False, keep=None, dropout_p=0.0):
        xp = self.xp
        self.flash = None
        if not float_mask and keep is None and dropout_p == 0 and self._has_flash(q, k, v):
            return self._flash_forward(q, k, v, scale, bool(is_causal))
        scores = xp.matmul(q, xp.swapaxes(k, -1, -2))  # (..., L, S), a fresh array
        mask = float_mask[0] if float_mask else None
        has_mask = mask is not None or keep is not None
        if has_mask:
            full = broadcast_shape(scores.shape, *(m.shape for m in (mask, keep) if m is not None))
            if full != scores.shape:  # the mask brings batch dims of its own
                scores = xp.broadcast_to(scores, full) * scores.dtype.type(scale)
            else:
                scores *= scores.dtype.type(scale)
            if mask is not None:
                scores += mask
            if keep is not None:
                xp.copyto(scores, -xp.inf, where=~keep)
        rows = _as_rows(xp, scores)
        probs = _softmax_kernel(self, "attention_softmax_forward", rows.dtype)(
            rows, 1.0 if has_mask else scale, bool(is_causal) and not has_mask)
        probs = probs.reshape(scores.shape)
        self.q, self.k, self.v, self.probs = q, k, v, probs
        self.scale, self.causal = scale, bool(is_causal) and not has_mask
        self.mask_shape = None if mask is None else mask.shape
        self.dropped = None
        if dropout_p > 0:
            keep_prob = 1.0 - dropout_p
            draw = "float64" if probs.dtype == xp.float64 else "float32"
            u = self.backend.generator.random(probs.shape, dtype=draw)
            self.dropped = u < keep_prob  # bool: a quarter of a float32 array
            # p == 1 drops everything (zeros, not 0 * inf)
            self.drop_scale = probs.dtype.type(1.0 / keep_prob if keep_prob > 0 else 0.0)
            return xp.matmul(probs * self.dropped * self.drop_scale, v)
        return xp.matmul(probs, v)

    def _has_flash(self, q, k, v):
        """Whether the backend has flash kernels and the shapes suit them.
        Asked of the class: the CPU backend's instance answers unknown names
        by importing its kernel package."""
        return (hasattr(type(self.backend), "attention_forward") and q.ndim == 4
                and q.shape[:2] == k.shape[:2] and k.shape == v.shape)

    def _flash_forward(self, q, k, v, scale, causal):
        out, lse = self.backend.attention_forward(q, k, v, causal, scale)
        # a copy: the output tensor may be written in place later (under no_grad)
        self.q, self.k, self.v, self.flash = q, k, v, (out.copy(), lse)
        self.scale, self.causal = scale, causal
        return out

    def backward(self, g):
        if self.flash is not None:
            out, lse = self.flash
            return self.backend.attention_backward(self.q, self.k, self.v, out, lse, g,
                                                   self.causal, self.scale)
        xp = self.xp
        q, k, v, probs = self.q, self.k, self.v, self.probs
        need_q, need_k, need_v = self.needs_grad[:3]
        need_mask = self.mask_shape is not None and self.needs_grad[3]
        dq = dk = dv = dmask = None
        weights = probs if self.dropped is None else probs * self.dropped * self.drop_scale
        if need_v:
            dv = sum_to_shape(xp.matmul(xp.swapaxes(weights, -1, -2), g), v.shape)
        del weights
        if not (need_q or need_k or need_mask):
            return dq, dk, dv, dmask
        dprobs = sum_to_shape(xp.matmul(g, xp.swapaxes(v, -1, -2)), probs.shape)
        if self.dropped is not None:
            dprobs = dprobs * self.dropped
            dprobs *= self.drop_scale
        # dZ for the mask; scale * dZ for q and k (folded into the kernel when no mask grad)
        out_scale = 1.0 if need_mask else self.scale
        # dprobs is a fresh array (a matmul's result): the kernel may overwrite it
        rows = _as_rows(xp, dprobs)
        dz = _softmax_kernel(self, "attention_softmax_backward", rows.dtype)(
            _as_rows(xp, probs), rows, out_scale, self.causal).reshape(probs.shape)
        if need_mask:
            dmask = sum_to_shape(dz, self.mask_shape)
            dmask = dmask.copy() if dmask is dz else dmask
            dz = dz * self.scale
        if need_q:
            dq = sum_to_shape(xp.matmul(dz, k), q.shape)
        if need_k:
            dk = sum_to_shape(xp.matmul(xp.swapaxes(dz, -1, -2), q), k.shape)
        return dq, dk, dv, dmask
