"""nn.functional: attention, with PyTorch's signatures and semantics.

`scaled_dot_product_attention` validates its arguments here and runs one
fused op (`tinygrad_dc.ops.attention`). `multi_head_attention_forward` is
PyTorch's function of the same name, step for step: the projections, the
masks (PyTorch's "True = masked out" bool masks become -inf float masks),
then either the fused attention (need_weights=False) or, when the weights
are asked for, the explicit matmul / softmax / dropout chain that PyTorch
also uses there (so even the NaN rows of a fully masked query match).
"""
import math
import numbers
import warnings

from ... import dtypes
from ...autograd.function import check_same_device
from ...creation import zeros
from ...ops.attention import ScaledDotProductAttention, broadcast_shape
from ...tensor import Tensor, ShapeError, cat
from .conv import pad
from .dropout import dropout
from .linear import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _shape(t):
    return tuple(t.shape)


# ---------------------------------------------------------------- scaled dot product
def _check_qkv(query, key, value):
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention: {name} must be a Tensor, got "
                            f"{type(t).__name__}")
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise ShapeError(f"scaled_dot_product_attention: expected query, key and value to be at "
                         f"least 2-D, got shapes {_shape(query)}, {_shape(key)}, {_shape(value)}")
    if not (query.dtype == key.dtype == value.dtype) or not query.is_floating_point():
        raise TypeError(f"scaled_dot_product_attention: expected query, key and value of one "
                        f"floating point dtype, got {query.dtype.name}, {key.dtype.name} and "
                        f"{value.dtype.name}")
    check_same_device((query, key, value))
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ShapeError(f"scaled_dot_product_attention: query (..., L, E) {_shape(query)}, key "
                         f"(..., S, E) {_shape(key)} and value (..., S, Ev) {_shape(value)} "
                         f"don't fit: query and key need the same E, key and value the same S")


def _weights_shape(query, key, value):
    """The attention weights' shape (..., L, S), checking that the batch dims
    of query, key and value broadcast."""
    try:
        broadcast_shape(query.shape[:-2], key.shape[:-2], value.shape[:-2])
        return broadcast_shape(query.shape[:-2], key.shape[:-2]) + (query.shape[-2],
                                                                     key.shape[-2])
    except ValueError:
        raise ShapeError(f"scaled_dot_product_attention: the batch dims of query "
                         f"{_shape(query)}, key {_shape(key)} and value {_shape(value)} do not "
                         f"broadcast") from None


def _check_mask(attn_mask, query, weights_shape, is_causal):
    if not isinstance(attn_mask, Tensor):
        raise TypeError(f"scaled_dot_product_attention: attn_mask must be a Tensor or None, got "
                        f"{type(attn_mask).__name__}")
    if is_causal:
        raise ValueError("scaled_dot_product_attention: explicit attn_mask should not be set "
                         "when is_causal=True")
    if attn_mask.dtype is not dtypes.bool_ and not attn_mask.is_floating_point():
        raise TypeError(f"scaled_dot_product_attention: expected attn_mask of dtype bool or a "
                        f"floating point dtype, got {attn_mask.dtype.name}")
    check_same_device((query, attn_mask))
    try:
        fits = broadcast_shape(attn_mask.shape, weights_shape) == weights_shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"scaled_dot_product_attention: attn_mask of shape {_shape(attn_mask)} "
                         f"does not broadcast to the attention weights' shape {weights_shape} "
                         f"(..., L, S)")


def _group_heads(query, key, value, attn_mask):
    """Grouped-query attention without copies: query (..., Hq, L, E) viewed
    as (..., H, Hq/H, L, E) against key and value (..., H, 1, S, E)."""
    if query.ndim < 3 or key.ndim < 3 or value.ndim < 3:
        raise ShapeError(f"scaled_dot_product_attention(enable_gqa=True): expected query, key "
                         f"and value with a heads dim (-3), got shapes {_shape(query)}, "
                         f"{_shape(key)}, {_shape(value)}")
    hq, h = query.shape[-3], key.shape[-3]
    if value.shape[-3] != h or hq % h:
        raise ShapeError(f"scaled_dot_product_attention(enable_gqa=True): the query's heads "
                         f"({hq}) must be a multiple of the key's ({h}), and key and value must "
                         f"have the same number of heads ({h} and {value.shape[-3]})")
    group = hq // h
    query = query.reshape(*query.shape[:-3], h, group, *query.shape[-2:])
    key, value = key.unsqueeze(-3), value.unsqueeze(-3)
    if isinstance(attn_mask, Tensor) and attn_mask.ndim >= 3:
        heads = attn_mask.shape[-3]
        if heads not in (1, hq):
            raise ShapeError(f"scaled_dot_product_attention: attn_mask of shape "
                             f"{_shape(attn_mask)} does not broadcast over {hq} query heads")
        split = (h, group) if heads == hq else (1, 1)
        attn_mask = attn_mask.reshape(*attn_mask.shape[:-3], *split, *attn_mask.shape[-2:])
    return query, key, value, attn_mask


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(query @ key^T * scale + mask) @ value, with dropout on the
    attention weights.

    query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev);
    the leading dims broadcast. `attn_mask` broadcasts to (..., L, S): a bool
    mask says which keys take part (True), a float mask is added to the
    scores. `is_causal` lets query i see keys j <= i only. `scale` defaults
    to 1 / sqrt(E). Dropout (probability `dropout_p`) is always applied when
    dropout_p > 0: pass 0.0 in evaluation. A query that no key may see gets
    zeros (not NaN)."""
    _check_qkv(query, key, value)
    if not isinstance(dropout_p, numbers.Real) or not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    if scale is not None and not isinstance(scale, numbers.Real):
        raise TypeError(f"scaled_dot_product_attention: scale must be a number or None, got "
                        f"{type(scale).__name__}")
    E = query.shape[-1]
    scale = float(scale) if scale is not None else (1.0 / math.sqrt(E) if E else math.inf)
    grouped = enable_gqa and query.shape[-3:-2] != key.shape[-3:-2]
    if grouped:
        query, key, value, attn_mask = _group_heads(query, key, value, attn_mask)
    weights_shape = _weights_shape(query, key, value)
    if attn_mask is not None:
        _check_mask(attn_mask, query, weights_shape, is_causal)
    params = dict(scale=scale, is_causal=bool(is_causal), dropout_p=float(dropout_p))
    inputs = (query, key, value)
    if attn_mask is not None and attn_mask.dtype is dtypes.bool_:
        params["keep"] = attn_mask._data
    elif attn_mask is not None:
        inputs += (attn_mask if attn_mask.dtype is query.dtype else attn_mask.to(query.dtype),)
    out = ScaledDotProductAttention.apply(*inputs, **params)
    if grouped:  # (..., H, G, L, Ev) -> (..., H * G, L, Ev)
        out = out.reshape(*out.shape[:-4], -1, *out.shape[-2:])
    return out


# ---------------------------------------------------------------- multi-head attention
def _none_or_dtype(input):
    if input is None:
        return None
    if isinstance(input, Tensor):
        return input.dtype
    raise TypeError(f"expected a mask Tensor or None, got {type(input).__name__}")


def _canonical_mask(mask, mask_name, other_type, other_name, target_type, check_other=True):
    """A bool mask (True = masked out, PyTorch's MultiheadAttention meaning)
    as a float mask of `target_type` with -inf where it was True; a float
    mask as it is."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"{mask_name} must be a Tensor or None, got {type(mask).__name__}")
    is_float = mask.is_floating_point()
    if mask.dtype is not dtypes.bool_ and not is_float:
        raise TypeError(f"only bool and floating types of {mask_name} are supported, got "
                        f"{mask.dtype.name}")
    if check_other and other_type is not None and mask.dtype is not other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. "
                      f"Use same type for both instead.", stacklevel=3)
    if not is_float:
        mask = zeros(mask.shape, dtype=target_type, device=mask.device).masked_fill(
            mask, float("-inf"))
    return mask


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    """Whether the input is batched (3-D query) or not (2-D), checking that
    the other tensors' dims agree."""
    def fail(msg):
        raise ShapeError(f"multi_head_attention_forward: {msg}")
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            fail(f"for batched (3-D) query, expected key and value to be 3-D but got shapes "
                 f"{_shape(key)} and {_shape(value)}")
        if key_padding_mask is not None and key_padding_mask.ndim != 2:
            fail(f"for batched (3-D) query, expected key_padding_mask to be None or 2-D but got "
                 f"shape {_shape(key_padding_mask)}")
    elif query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            fail(f"for unbatched (2-D) query, expected key and value to be 2-D but got shapes "
                 f"{_shape(key)} and {_shape(value)}")
        if key_padding_mask is not None and key_padding_mask.ndim != 1:
            fail(f"for unbatched (2-D) query, expected key_padding_mask to be None or 1-D but "
                 f"got shape {_shape(key_padding_mask)}")
        if attn_mask is not None and attn_mask.ndim == 3:
            expected = (num_heads, query.shape[0], key.shape[0])
            if _shape(attn_mask) != expected:
                fail(f"expected attn_mask of shape {expected}, got {_shape(attn_mask)}")
    else:
        fail(f"query should be unbatched 2-D or batched 3-D, got shape {_shape(query)}")
    if attn_mask is not None and attn_mask.ndim not in (2, 3):
        fail(f"expected attn_mask to be None, 2-D or 3-D, got shape {_shape(attn_mask)}")
    return query.ndim == 3


def _in_projection_packed(q, k, v, w, b=None):
    """q, k, v through the packed (3E, E) in-projection: one matmul for
    self-attention, two for encoder-decoder attention (k is v), else three."""
    E = q.shape[-1]
    if k is v:
        if q is k:
            return linear(q, w, b).chunk(3, dim=-1)
        w_q, w_kv = w.split([E, 2 * E])
        b_q, b_kv = (None, None) if b is None else b.split([E, 2 * E])
        k_proj, v_proj = linear(k, w_kv, b_kv).chunk(2, dim=-1)
        return linear(q, w_q, b_q), k_proj, v_proj
    w_q, w_k, w_v = w.chunk(3)
    b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _in_projection(q, k, v, w_q, w_k, w_v, b_q=None, b_k=None, b_v=None):
    Eq, Ek, Ev = q.shape[-1], k.shape[-1], v.shape[-1]
    for name, t, shape in (("query weights", w_q, (Eq, Eq)), ("key weights", w_k, (Eq, Ek)),
                           ("value weights", w_v, (Eq, Ev)), ("query bias", b_q, (Eq,)),
                           ("key bias", b_k, (Eq,)), ("value bias", b_v, (Eq,))):
        if t is not None and _shape(t) != shape:
            raise ShapeError(f"multi_head_attention_forward: expected {name} of shape {shape}, "
                             f"got {_shape(t)}")
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _prepare_attn_mask(attn_mask, tgt_len, src_len, bsz, num_heads):
    """attn_mask as 3-D: (1, L, S) from (L, S), or (N * heads, L, S) as given."""
    expected = (tgt_len, src_len) if attn_mask.ndim == 2 else (bsz * num_heads, tgt_len, src_len)
    if _shape(attn_mask) != expected:
        raise ShapeError(f"multi_head_attention_forward: the shape of the {attn_mask.ndim}D "
                         f"attn_mask is {_shape(attn_mask)}, but should be {expected}")
    return attn_mask.unsqueeze(0) if attn_mask.ndim == 2 else attn_mask


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """PyTorch's multi-head attention on sequence-first input: query (L, N,
    E) or unbatched (L, E), key and value (S, N, E*) or (S, E*). Returns
    (output (L, N, E), weights (N, L, S) averaged over heads, or (N, heads,
    L, S), or None when need_weights is False). Bool masks: True = masked."""
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask",
                                       _none_or_dtype(attn_mask), "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the fused attention applies the causal mask itself
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype,
                                    check_other=False)
        if key_padding_mask is not None:
            is_causal = False  # the merged mask is no longer causal
    if embed_dim != embed_dim_to_check:
        raise ShapeError(f"multi_head_attention_forward: was expecting embedding dimension of "
                         f"{embed_dim_to_check}, but got {embed_dim} (query shape "
                         f"{_shape(query)})")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise ShapeError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise ShapeError(f"key's sequence and batch dims {_shape(key)[:2]} do not match "
                             f"value's {_shape(value)[:2]}")
    elif key.shape != value.shape:
        raise ShapeError(f"key shape {_shape(key)} does not match value shape {_shape(value)}")

    # in-projection
    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise ValueError("use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    else:
        for name, w in (("q_proj_weight", q_proj_weight), ("k_proj_weight", k_proj_weight),
                        ("v_proj_weight", v_proj_weight)):
            if w is None:
                raise ValueError(f"use_separate_proj_weight is True but {name} is None")
        b_q, b_k, b_v = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
        q, k, v = _in_projection(query, key, value, q_proj_weight, k_proj_weight,
                                 v_proj_weight, b_q, b_k, b_v)
    if attn_mask is not None:
        attn_mask = _prepare_attn_mask(attn_mask, tgt_len, src_len, bsz, num_heads)

    # learned bias key/value: one more key position
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise ValueError("bias cannot be added to static key or value.")
        k = cat([k, bias_k.repeat(1, bsz, 1)])
        v = cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    elif bias_k is not None or bias_v is not None:
        raise ValueError("bias_k and bias_v must be given together")

    # heads into the batch: (N * heads, seq, head_dim)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = _heads(k, static_k, "static_k", bsz * num_heads, head_dim)
    v = _heads(v, static_v, "static_v", bsz * num_heads, head_dim)

    if add_zero_attn:
        zero = zeros((bsz * num_heads, 1, head_dim), dtype=k.dtype, device=k.device)
        k = cat([k, zero], dim=1)
        v = cat([v, zero], dim=1)
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    src_len = k.shape[1]

    if key_padding_mask is not None:
        if _shape(key_padding_mask) != (bsz, src_len):
            raise ShapeError(f"expected key_padding_mask of shape {(bsz, src_len)} (batch, "
                             f"source length), got {_shape(key_padding_mask)}")
        key_padding_mask = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(
            -1, num_heads, -1, -1).reshape(bsz * num_heads, 1, src_len)
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask
    if not training:
        dropout_p = 0.0

    if need_weights:
        # PyTorch's explicit path: the weights are an output (and differentiable)
        if is_causal and attn_mask is None:
            raise RuntimeError("is_causal is not implemented for need_weights")
        q_scaled = q * math.sqrt(1.0 / float(head_dim))
        weights = q_scaled @ k.transpose(-2, -1)
        if attn_mask is not None:
            weights = attn_mask + weights
        weights = weights.softmax(dim=-1)
        if dropout_p > 0.0:
            weights = dropout(weights, p=dropout_p)
        out = (weights @ v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not is_batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights

    if attn_mask is not None:
        attn_mask = attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1 else \
            attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    if not is_batched:
        out = out.squeeze(1)
    return out, None


def _heads(x, static, name, batch_heads, head_dim):
    """(seq, N, E) -> (N * heads, seq, head_dim), or the given static tensor."""
    if static is None:
        return x.reshape(x.shape[0], batch_heads, head_dim).transpose(0, 1)
    if static.shape[0] != batch_heads or static.shape[2] != head_dim:
        raise ShapeError(f"expected {name} of shape ({batch_heads}, S, {head_dim}), got "
                         f"{_shape(static)}")
    return static
