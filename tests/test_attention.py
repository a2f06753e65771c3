"""Attention: the fused scaled-dot-product op (gradient checks over drawn
shapes and masks, parity with PyTorch, dropout), MultiheadAttention and the
Transformer encoder (PyTorch's state_dicts load and give the same outputs
and gradients)."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, strategies as st

import tinygrad_dc as tg
from tinygrad_dc.ops import attention as attention_ops
from tinygrad_dc.nn.functional.attention import (multi_head_attention_forward,
                                                 scaled_dot_product_attention as sdpa)
from tinygrad_dc.nn.modules.attention import MultiheadAttention
from tinygrad_dc.nn.modules.transformer import TransformerEncoder, TransformerEncoderLayer
from tinygrad_dc.tensor import ShapeError
import utils

pytestmark = [
    # the tests mix bool and float masks on purpose, as PyTorch's own users do
    pytest.mark.filterwarnings("ignore:Support for mismatched:UserWarning"),
    # PyTorch's nested-tensor notices
    pytest.mark.filterwarnings("ignore:.*nested tensors.*:UserWarning"),
    pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning"),
    # a fully masked row in the explicit softmax (need_weights=True): NaN, as in PyTorch
    pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
]


# ---------------------------------------------------------------- drawn cases
KINDS = ["none", "causal", "bool", "float"]


@st.composite
def attention_cases(draw, kind):
    """Shapes of q, k, v and a mask of some kind: batch dims that broadcast
    (each tensor keeps a dim or has 1 there, or lacks leading dims), and a
    mask that broadcasts to the attention weights (..., L, S)."""
    batch = draw(st.lists(st.integers(1, 3), max_size=2))

    def sub(dims):
        kept = [d if draw(st.booleans()) else 1 for d in dims]
        return tuple(kept[draw(st.integers(0, len(kept))):])
    L, S, E, Ev = (draw(st.integers(1, 4)) for _ in range(4))
    q, k, v = sub(batch) + (L, E), sub(batch) + (S, E), sub(batch) + (S, Ev)
    weights_batch = np.broadcast_shapes(q[:-2], k[:-2])
    mask = None
    if kind in ("bool", "float"):
        # the full size is the simplest draw: a mask constant along S has no gradient
        mask = sub(weights_batch) + (1 if draw(st.booleans()) else L,
                                     1 if draw(st.booleans()) else S)
    return dict(q=q, k=k, v=v, kind=kind, mask=mask, seed=draw(st.integers(0, 1000)),
                scale=draw(st.sampled_from([None, 0.3])))


def _case_arrays(case):
    rng = np.random.default_rng(case["seed"])
    arrays = [rng.standard_normal(case[n]) for n in "qkv"]
    mask = None
    if case["kind"] == "bool":
        mask = rng.uniform(size=case["mask"]) < 0.7  # some rows may be fully masked
    elif case["kind"] == "float":
        mask = rng.standard_normal(case["mask"])
    return arrays, mask


def _ours(case, mask):
    def fn(q, k, v, *float_mask):
        m = float_mask[0] if float_mask else (None if mask is None else tg.tensor(mask))
        return sdpa(q, k, v, attn_mask=m, is_causal=case["kind"] == "causal",
                    scale=case["scale"])
    return fn


def _theirs(case, mask):
    def fn(q, k, v, *float_mask):
        m = float_mask[0] if float_mask else (None if mask is None else torch.tensor(mask))
        return TF.scaled_dot_product_attention(q, k, v, attn_mask=m,
                                               is_causal=case["kind"] == "causal",
                                               scale=case["scale"])
    return fn


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_sdpa_gradcheck(kind, data):
    case = data.draw(attention_cases(kind))
    arrays, mask = _case_arrays(case)
    if case["kind"] == "float":  # the float mask is an input with a gradient of its own
        utils.check_grad(_ours(case, None), *arrays, mask)
    else:
        utils.check_grad(_ours(case, mask), *arrays)


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_sdpa_matches_torch(kind, data):
    case = data.draw(attention_cases(kind))
    arrays, mask = _case_arrays(case)
    if case["kind"] == "float":
        arrays, mask = arrays + [mask], None
    utils.parity(_ours(case, mask), _theirs(case, mask), *arrays)
    utils.parity(_ours(case, mask), _theirs(case, mask), *arrays, dtype=np.float32,
                 rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("L,S", [(3, 5), (5, 3), (4, 4), (1, 3)])
def test_sdpa_causal_non_square_is_top_left_aligned(L, S):
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((2, L, 3)), rng.standard_normal((2, S, 3)), \
        rng.standard_normal((2, S, 2))
    utils.parity(lambda *t: sdpa(*t, is_causal=True),
                 lambda *t: TF.scaled_dot_product_attention(*t, is_causal=True), q, k, v)
    # the same as the explicit bool mask j <= i
    keep = np.tril(np.ones((L, S), bool))
    utils.parity(lambda *t: sdpa(*t, is_causal=True),
                 lambda *t: TF.scaled_dot_product_attention(*t, attn_mask=torch.tensor(keep)),
                 q, k, v)


def test_sdpa_fully_masked_rows_give_zeros_and_zero_grads():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s) for s in ((2, 4, 3), (2, 5, 3), (2, 5, 2)))
    keep = rng.uniform(size=(4, 5)) < 0.6
    keep[1] = False
    additive = np.where(keep, 0.0, -np.inf)
    for mask in (keep, additive):
        utils.parity(lambda *t: sdpa(*t, attn_mask=tg.tensor(mask)),
                     lambda *t: TF.scaled_dot_product_attention(*t, attn_mask=torch.tensor(mask)),
                     q, k, v)
        qt = tg.tensor(q, requires_grad=True)
        out = sdpa(qt, tg.tensor(k), tg.tensor(v), attn_mask=tg.tensor(mask))
        assert (out.numpy()[:, 1] == 0).all()
        out.sum().backward()
        assert (qt.grad.numpy()[:, 1] == 0).all()


def test_sdpa_float16_and_float32_mask_with_float64_inputs():
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal(s) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 3)))
    mask = rng.standard_normal((3, 5)).astype(np.float32)
    out = sdpa(*(tg.tensor(a) for a in (q, k, v)), attn_mask=tg.tensor(mask))
    ref = TF.scaled_dot_product_attention(*(torch.tensor(a) for a in (q, k, v)),
                                          attn_mask=torch.tensor(mask))
    assert out.dtype == tg.float64
    utils.assert_close(out, ref)
    half = sdpa(*(tg.tensor(a, dtype=tg.float16) for a in (q, k, v)), is_causal=True)
    ref = TF.scaled_dot_product_attention(*(torch.tensor(a) for a in (q, k, v)), is_causal=True)
    assert half.dtype == tg.float16
    utils.assert_close(half.float(), ref, np.float32, rtol=1e-2, atol=1e-2)


def test_sdpa_grouped_query_attention():
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal(s) for s in ((2, 6, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3)))
    for mask in (None, rng.standard_normal((6, 3, 5)), rng.standard_normal((2, 1, 3, 5))):
        extra = () if mask is None else (mask,)
        utils.parity(lambda q, k, v, *m: sdpa(q, k, v, *m, enable_gqa=True),
                     lambda q, k, v, *m: TF.scaled_dot_product_attention(q, k, v, *m,
                                                                         enable_gqa=True),
                     q, k, v, *extra)


def test_sdpa_array_module_path_matches_the_compiled_kernels(monkeypatch):
    """The path other backends take (the array-module softmax) gives the
    CPU kernels' results, forward and backward."""
    rng = np.random.default_rng(4)
    q, k, v = (rng.standard_normal(s) for s in ((2, 3, 4, 5), (2, 1, 6, 5), (2, 3, 6, 2)))
    keep = rng.uniform(size=(3, 4, 6)) < 0.6
    keep[0, 1] = False
    additive = rng.standard_normal((4, 6))

    def run():
        tensors = [tg.tensor(a, requires_grad=True) for a in (q, k, v, additive)]
        outs = [sdpa(*tensors[:3], is_causal=True), sdpa(*tensors[:3], attn_mask=tg.tensor(keep)),
                sdpa(*tensors[:3], attn_mask=tensors[3]), sdpa(*tensors[:3], scale=0.7)]
        sum((o * o).sum() for o in outs).backward()
        return [o.numpy() for o in outs] + [t.grad.numpy() for t in tensors]
    compiled = run()
    monkeypatch.setattr(attention_ops, "_KERNEL_DTYPES", ())
    for a, b in zip(run(), compiled):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_sdpa_is_one_node_and_keeps_one_weights_matrix():
    q = tg.randn(2, 3, 4, 5, requires_grad=True)
    out = sdpa(q, q, q, is_causal=True)
    node = out.grad_fn
    assert node.name == "ScaledDotProductAttentionBackward"
    big = [a for a in node.__dict__.values() if hasattr(a, "shape") and a.shape[-2:] == (4, 4)]
    assert len(big) == 1  # the probabilities, nothing else of size (..., L, S)


# ---------------------------------------------------------------- dropout
def test_sdpa_dropout_is_reproducible_and_its_gradient_uses_the_same_mask():
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal(s) for s in ((2, 4, 3), (2, 6, 3), (2, 6, 5)))
    p = 0.4
    # with value = identity the output is the dropped weights themselves: read the mask
    tg.manual_seed(7)
    weights = sdpa(tg.tensor(q), tg.tensor(k), tg.tensor(np.broadcast_to(np.eye(6), (2, 6, 6))),
                   dropout_p=p).numpy()
    keep = weights != 0
    assert 0 < keep.mean() < 1
    tg.manual_seed(7)
    again = sdpa(tg.tensor(q), tg.tensor(k), tg.tensor(np.broadcast_to(np.eye(6), (2, 6, 6))),
                 dropout_p=p).numpy()
    np.testing.assert_array_equal(weights, again)

    def theirs(q, k, v):
        w = torch.softmax(q @ k.transpose(-1, -2) / np.sqrt(3), -1)
        return (w * torch.tensor(keep) / (1 - p)) @ v

    def ours(q, k, v):
        tg.manual_seed(7)
        return sdpa(q, k, v, dropout_p=p)
    utils.parity(ours, theirs, q, k, v)


def test_sdpa_dropout_one_gives_zeros():
    q = tg.randn(2, 3, 4, requires_grad=True)
    out = sdpa(q, q, q, dropout_p=1.0)
    assert (out.numpy() == 0).all()
    out.sum().backward()
    assert np.isfinite(q.grad.numpy()).all()


# ---------------------------------------------------------------- sdpa errors
def test_sdpa_errors_name_the_problem():
    q = tg.randn(2, 3, 4)
    with pytest.raises(ShapeError, match="same E"):
        sdpa(q, tg.randn(2, 5, 3), tg.randn(2, 5, 3))
    with pytest.raises(ShapeError, match="same S"):
        sdpa(q, tg.randn(2, 5, 4), tg.randn(2, 6, 3))
    with pytest.raises(ShapeError, match="do not broadcast"):
        sdpa(q, tg.randn(3, 5, 4), tg.randn(3, 5, 4))
    with pytest.raises(TypeError, match="one floating point dtype"):
        sdpa(q, q.double(), q)
    with pytest.raises(ShapeError, match="at least 2-D"):
        sdpa(tg.randn(4), q, q)
    with pytest.raises(ValueError, match="is_causal"):
        sdpa(q, q, q, attn_mask=tg.ones(3, 3, dtype=tg.bool), is_causal=True)
    with pytest.raises(ShapeError, match=r"does not broadcast to the attention weights"):
        sdpa(q, q, q, attn_mask=tg.zeros(3, 1, 3, 3))
    with pytest.raises(TypeError, match="bool or a floating point"):
        sdpa(q, q, q, attn_mask=tg.zeros(3, 3, dtype=tg.int64))
    with pytest.raises(ValueError, match="between 0 and 1"):
        sdpa(q, q, q, dropout_p=1.5)


# ---------------------------------------------------------------- MultiheadAttention
def _load_from_torch(ours, theirs):
    """Copy a torch module's state_dict into ours, through NumPy."""
    assert list(ours.state_dict().keys()) == list(theirs.state_dict().keys())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def _compare_grads(ours, theirs, atol=1e-10):
    mine = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        if p.grad is None:
            assert mine[name].grad is None or not mine[name].grad.numpy().any(), name
            continue
        assert mine[name].grad is not None, name
        np.testing.assert_allclose(mine[name].grad.numpy(), p.grad.numpy(), rtol=1e-9, atol=atol,
                                   err_msg=name)


def _pair_mha(seed=0, **kw):
    torch.manual_seed(seed)
    theirs = torch.nn.MultiheadAttention(dtype=torch.float64, **kw)
    ours = MultiheadAttention(**kw).double()
    _load_from_torch(ours, theirs)
    return ours, theirs


def _run_both(ours, theirs, inputs, call_ours, call_theirs):
    """Forward both on float64 copies of `inputs` (a dict name -> array or
    None); compare outputs and weights, then backward a random projection of
    the output (and weights) and compare every gradient."""
    to = {n: None if a is None else tg.tensor(a, requires_grad=a.dtype.kind == "f")
          for n, a in inputs.items()}
    tt = {n: None if a is None else torch.tensor(a, requires_grad=a.dtype.kind == "f")
          for n, a in inputs.items()}
    out_o, out_t = call_ours(to), call_theirs(tt)
    out_o = out_o if isinstance(out_o, tuple) else (out_o,)
    out_t = out_t if isinstance(out_t, tuple) else (out_t,)
    rng = np.random.default_rng(5)
    loss_o = loss_t = 0
    for o, t in zip(out_o, out_t):
        assert (o is None) == (t is None)
        if t is None:
            continue
        assert tuple(o.shape) == tuple(t.shape)
        utils.assert_close(o, t, rtol=1e-9, atol=1e-11)
        up = rng.standard_normal(tuple(t.shape))
        up_o, up_t = tg.tensor(up), torch.tensor(up)
        if np.isnan(t.detach().numpy()).any():  # fully masked rows: NaN in both, skip them
            keep = ~np.isnan(t.detach().numpy())
            up_o, up_t = tg.tensor(np.where(keep, up, 0)), torch.tensor(np.where(keep, up, 0))
            o, t = o.masked_fill(tg.tensor(~keep), 0.0), t.masked_fill(torch.tensor(~keep), 0.0)
        loss_o = loss_o + (o * up_o).sum()
        loss_t = loss_t + (t * up_t).sum()
    loss_o.backward()
    loss_t.backward()
    _compare_grads(ours, theirs)
    for n in inputs:
        if tt[n] is not None and tt[n].grad is not None:
            utils.assert_close(to[n].grad, tt[n].grad, rtol=1e-9, atol=1e-11)


def _mha_inputs(rng, L, S, N, E, kdim, vdim, batch_first, unbatched=False):
    def seq(n, d):
        if unbatched:
            return rng.standard_normal((n, d))
        return rng.standard_normal((N, n, d) if batch_first else (n, N, d))
    return seq(L, E), seq(S, kdim), seq(S, vdim)


MHA_CONFIGS = [
    dict(),
    dict(batch_first=True),
    dict(bias=False),
    dict(kdim=3, vdim=5),
    dict(add_bias_kv=True),
    dict(add_zero_attn=True),
    dict(add_bias_kv=True, add_zero_attn=True, batch_first=True),
    dict(kdim=5, vdim=3, add_bias_kv=True, batch_first=True),
]


@pytest.mark.parametrize("config", MHA_CONFIGS, ids=lambda c: ",".join(c) or "default")
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_mha_cross_attention_matches_torch(config, need_weights, average):
    E, H, L, S, N = 8, 2, 3, 5, 2
    ours, theirs = _pair_mha(embed_dim=E, num_heads=H, **config)
    rng = np.random.default_rng(0)
    kdim, vdim = config.get("kdim", E), config.get("vdim", E)
    q, k, v = _mha_inputs(rng, L, S, N, E, kdim, vdim, config.get("batch_first", False))
    kpm = rng.uniform(size=(N, S)) < 0.3
    kpm[:, 0] = False  # no query sees no key: no NaN rows here
    mask = rng.standard_normal((L, S))
    kw = dict(need_weights=need_weights, average_attn_weights=average)
    _run_both(ours, theirs, dict(q=q, k=k, v=v, kpm=kpm, mask=mask),
              lambda t: ours(t["q"], t["k"], t["v"], key_padding_mask=t["kpm"],
                             attn_mask=t["mask"], **kw),
              lambda t: theirs(t["q"], t["k"], t["v"], key_padding_mask=t["kpm"],
                               attn_mask=t["mask"], **kw))


MASKS = ["none", "kpm_bool", "kpm_float", "attn_bool_2d", "attn_float_3d", "both_bool",
         "causal", "causal_kpm"]


@pytest.mark.parametrize("masks", MASKS)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_self_attention_masks_match_torch(masks, batch_first, need_weights):
    E, H, L, N = 6, 3, 4, 2
    ours, theirs = _pair_mha(seed=1, embed_dim=E, num_heads=H, batch_first=batch_first)
    rng = np.random.default_rng(1)
    x = _mha_inputs(rng, L, L, N, E, E, E, batch_first)[0]
    kpm = rng.uniform(size=(N, L)) < 0.4
    kpm[:, 0] = False
    causal = np.triu(np.ones((L, L), bool), 1)
    inputs = dict(x=x, kpm=None, mask=None)
    kw = dict(need_weights=need_weights)
    if masks.startswith("kpm") or masks in ("both_bool", "causal_kpm"):
        inputs["kpm"] = kpm if masks != "kpm_float" else np.where(kpm, -np.inf, 0.0)
    if masks == "attn_bool_2d" or masks == "both_bool":
        inputs["mask"] = rng.uniform(size=(L, L)) < 0.3
        inputs["mask"][:, 0] = False
    if masks == "attn_float_3d":
        inputs["mask"] = rng.standard_normal((N * H, L, L))
    if masks.startswith("causal"):
        inputs["mask"] = causal
        kw["is_causal"] = True
    _run_both(ours, theirs, inputs,
              lambda t: ours(t["x"], t["x"], t["x"], key_padding_mask=t["kpm"],
                             attn_mask=t["mask"], **kw),
              lambda t: theirs(t["x"], t["x"], t["x"], key_padding_mask=t["kpm"],
                               attn_mask=t["mask"], **kw))


def test_mha_fully_masked_query_rows_follow_torch():
    """need_weights=True takes the explicit softmax (NaN rows, as PyTorch);
    need_weights=False the fused attention (zeros, as PyTorch's SDPA)."""
    E, H, L, N = 4, 2, 3, 2
    ours, theirs = _pair_mha(embed_dim=E, num_heads=H)
    x = np.random.default_rng(2).standard_normal((L, N, E))
    mask = np.zeros((L, L), bool)
    mask[1] = True  # query 1 may attend to nothing
    for need_weights in (True, False):
        o, _ = ours(tg.tensor(x), tg.tensor(x), tg.tensor(x), attn_mask=tg.tensor(mask),
                    need_weights=need_weights)
        t, _ = theirs(torch.tensor(x), torch.tensor(x), torch.tensor(x),
                      attn_mask=torch.tensor(mask), need_weights=need_weights)
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_unbatched_matches_torch(need_weights):
    E, H, L, S = 6, 2, 3, 4
    ours, theirs = _pair_mha(seed=3, embed_dim=E, num_heads=H, kdim=4, vdim=5)
    rng = np.random.default_rng(3)
    q, k, v = _mha_inputs(rng, L, S, 1, E, 4, 5, False, unbatched=True)
    kpm = np.array([False, True, False, False])
    mask = rng.standard_normal((H, L, S))
    _run_both(ours, theirs, dict(q=q, k=k, v=v, kpm=kpm, mask=mask),
              lambda t: ours(t["q"], t["k"], t["v"], key_padding_mask=t["kpm"],
                             attn_mask=t["mask"], need_weights=need_weights),
              lambda t: theirs(t["q"], t["k"], t["v"], key_padding_mask=t["kpm"],
                               attn_mask=t["mask"], need_weights=need_weights))


@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_eval_matches_torch_inference(batch_first):
    """Eval mode under no_grad: PyTorch takes its native fast path there."""
    E, H, L, N = 8, 2, 5, 3
    ours, theirs = _pair_mha(seed=4, embed_dim=E, num_heads=H, dropout=0.5,
                             batch_first=batch_first)
    ours.eval(), theirs.eval()
    x = _mha_inputs(np.random.default_rng(4), L, L, N, E, E, E, batch_first)[0]
    kpm = np.zeros((N, L), bool)
    kpm[1, 3:] = True
    with tg.no_grad(), torch.no_grad():
        for need_weights in (True, False):
            o, wo = ours(tg.tensor(x), tg.tensor(x), tg.tensor(x), need_weights=need_weights,
                         key_padding_mask=tg.tensor(kpm))
            t, wt = theirs(torch.tensor(x), torch.tensor(x), torch.tensor(x),
                           need_weights=need_weights, key_padding_mask=torch.tensor(kpm))
            utils.assert_close(o, t, rtol=1e-9, atol=1e-11)
            if wt is not None:
                utils.assert_close(wo, wt, rtol=1e-9, atol=1e-11)
        # eval twice gives the same: no dropout
        a = ours(tg.tensor(x), tg.tensor(x), tg.tensor(x))[0].numpy()
        b = ours(tg.tensor(x), tg.tensor(x), tg.tensor(x))[0].numpy()
        np.testing.assert_array_equal(a, b)


def test_mha_dropout_in_training_is_reproducible():
    E, H, L, N = 8, 2, 4, 2
    mha = MultiheadAttention(E, H, dropout=0.5)
    x = tg.randn(L, N, E)
    outs = []
    for need_weights in (True, True, False, False):
        tg.manual_seed(11)
        outs.append(mha(x, x, x, need_weights=need_weights)[0].numpy())
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[2], outs[3])
    mha.eval()
    assert not np.allclose(outs[0], mha(x, x, x)[0].numpy())


@pytest.mark.parametrize("config", [dict(), dict(bias=False), dict(kdim=3, vdim=5),
                                    dict(add_bias_kv=True)])
def test_mha_parameters_and_init_follow_torch(config):
    E, H = 12, 3
    ours = MultiheadAttention(E, H, **config)
    theirs = torch.nn.MultiheadAttention(E, H, **config)
    mine = dict(ours.state_dict())
    assert list(mine) == list(theirs.state_dict())
    for name, t in theirs.state_dict().items():
        assert tuple(mine[name].shape) == tuple(t.shape), name
        assert mine[name].dtype == tg.float32
    assert repr(ours) == repr(theirs)
    if "kdim" not in config:
        bound = np.sqrt(6 / (E + 3 * E))  # xavier_uniform_ of (3E, E)
        w = ours.in_proj_weight.numpy()
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    if config.get("bias", True):
        assert not ours.in_proj_bias.numpy().any() and not ours.out_proj.bias.numpy().any()
    else:
        assert ours.in_proj_bias is None and ours.out_proj.bias is None
    if config.get("add_bias_kv"):
        assert ours.bias_k.shape == (1, 1, E) and ours.bias_k.numpy().std() > 0


def test_mha_errors():
    mha = MultiheadAttention(8, 2)
    with pytest.raises(ValueError, match="divisible"):
        MultiheadAttention(8, 3)
    with pytest.raises(ValueError, match="greater than 0"):
        MultiheadAttention(0, 2)
    x = tg.randn(3, 2, 8)
    with pytest.raises(ShapeError, match="embedding dimension of 8"):
        mha(tg.randn(3, 2, 6), tg.randn(3, 2, 6), tg.randn(3, 2, 6))
    with pytest.raises(ShapeError, match="should be"):
        mha(x, x, x, attn_mask=tg.zeros(3, 4))
    with pytest.raises(ShapeError, match="key_padding_mask"):
        mha(x, x, x, key_padding_mask=tg.zeros(2, 4, dtype=tg.bool))
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        mha(x, x, x, is_causal=True)
    with pytest.raises(TypeError, match="bool and floating"):
        mha(x, x, x, attn_mask=tg.zeros(3, 3, dtype=tg.int64))
    with pytest.warns(UserWarning, match="mismatched"):
        mha(x, x, x, attn_mask=tg.zeros(3, 3), key_padding_mask=tg.zeros(2, 3, dtype=tg.bool))


def test_multi_head_attention_forward_functional_matches_torch():
    E, H, L, N = 4, 2, 3, 2
    rng = np.random.default_rng(6)
    arrays = dict(x=rng.standard_normal((L, N, E)), w=rng.standard_normal((3 * E, E)),
                  b=rng.standard_normal(3 * E), ow=rng.standard_normal((E, E)),
                  ob=rng.standard_normal(E))

    def call(fn):
        return lambda t: fn(t["x"], t["x"], t["x"], E, H, t["w"], t["b"], None, None, False,
                            0.0, t["ow"], t["ob"])
    dummy = torch.nn.Module(), tg.nn.Module()
    _run_both(dummy[1], dummy[0], arrays, call(multi_head_attention_forward),
              call(TF.multi_head_attention_forward))


# ---------------------------------------------------------------- Transformer encoder
def _pair_encoder_layer(seed=0, **kw):
    torch.manual_seed(seed)
    torch_kw = dict(kw)
    if kw.get("activation") == "gelu_fn":
        torch_kw["activation"], kw["activation"] = TF.gelu, tg.nn.functional.gelu
    theirs = torch.nn.TransformerEncoderLayer(dtype=torch.float64, **torch_kw)
    ours = TransformerEncoderLayer(**kw).double()
    _load_from_torch(ours, theirs)
    return ours, theirs


@pytest.mark.parametrize("activation", ["relu", "gelu", "gelu_fn"])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_matches_torch(batch_first, norm_first, activation):
    d, nhead, ff, L, N = 8, 2, 12, 5, 3
    ours, theirs = _pair_encoder_layer(d_model=d, nhead=nhead, dim_feedforward=ff, dropout=0.0,
                                       activation=activation, batch_first=batch_first,
                                       norm_first=norm_first)
    rng = np.random.default_rng(7)
    src = rng.standard_normal((N, L, d) if batch_first else (L, N, d))
    kpm = np.zeros((N, L), bool)
    kpm[0, 3:] = True
    mask = rng.standard_normal((L, L))
    for masks in (dict(), dict(kpm=kpm), dict(mask=mask, kpm=kpm)):
        for m in (ours, theirs):
            m.zero_grad()
        _run_both(ours, theirs, dict(src=src, mask=masks.get("mask"), kpm=masks.get("kpm")),
                  lambda t: ours(t["src"], src_mask=t["mask"], src_key_padding_mask=t["kpm"]),
                  lambda t: theirs(t["src"], src_mask=t["mask"],
                                   src_key_padding_mask=t["kpm"]))


@pytest.mark.parametrize("bias", [True, False])
def test_encoder_layer_bias_false_and_keys(bias):
    ours = TransformerEncoderLayer(6, 2, 10, bias=bias)
    theirs = torch.nn.TransformerEncoderLayer(6, 2, 10, bias=bias)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [tuple(v.shape) for v in ours.state_dict().values()] == \
        [tuple(v.shape) for v in theirs.state_dict().values()]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_matches_torch_with_grads(batch_first, norm_first):
    d, nhead, L, N = 8, 2, 4, 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's nested-tensor notice
        torch.manual_seed(8)
        layer_t = torch.nn.TransformerEncoderLayer(d, nhead, 16, dropout=0.0,
                                                   batch_first=batch_first,
                                                   norm_first=norm_first, activation="gelu",
                                                   dtype=torch.float64)
        theirs = torch.nn.TransformerEncoder(layer_t, 2,
                                             norm=torch.nn.LayerNorm(d, dtype=torch.float64))
        layer_o = TransformerEncoderLayer(d, nhead, 16, dropout=0.0, batch_first=batch_first,
                                          norm_first=norm_first, activation="gelu")
        ours = TransformerEncoder(layer_o, 2, norm=tg.nn.LayerNorm(d)).double()
    assert list(ours.state_dict())[0] == "layers.0.self_attn.in_proj_weight"
    _load_from_torch(ours, theirs)
    rng = np.random.default_rng(9)
    src = rng.standard_normal((N, L, d) if batch_first else (L, N, d))
    kpm = np.zeros((N, L), bool)
    kpm[1, 2:] = True
    causal = np.triu(np.full((L, L), -np.inf), 1)
    for masks in (dict(kpm=kpm), dict(mask=causal), dict(mask=causal, causal=True)):
        for m in (ours, theirs):
            m.zero_grad()
        kw = dict(is_causal=True) if masks.get("causal") else {}
        _run_both(ours, theirs, dict(src=src, mask=masks.get("mask"), kpm=masks.get("kpm")),
                  lambda t: ours(t["src"], mask=t["mask"], src_key_padding_mask=t["kpm"], **kw),
                  lambda t: theirs(t["src"], mask=t["mask"], src_key_padding_mask=t["kpm"],
                                   **kw))


@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_eval_matches_torch_inference(batch_first):
    """Eval under no_grad: PyTorch's fast path, with nested tensors (zeros at
    the padded positions) when batch_first and a padding mask are given."""
    d, nhead, L, N = 8, 2, 5, 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(10)
        theirs = torch.nn.TransformerEncoder(
            torch.nn.TransformerEncoderLayer(d, nhead, 16, dropout=0.3, batch_first=batch_first,
                                             dtype=torch.float64), 2)
        ours = TransformerEncoder(TransformerEncoderLayer(d, nhead, 16, dropout=0.3,
                                                          batch_first=batch_first), 2).double()
    _load_from_torch(ours, theirs)
    ours.eval(), theirs.eval()
    rng = np.random.default_rng(11)
    src = rng.standard_normal((N, L, d) if batch_first else (L, N, d))
    kpm = np.zeros((N, L), bool)
    kpm[0, 3:] = True
    kpm[2, 1:] = True
    with tg.no_grad(), torch.no_grad():
        for mask in (None, kpm):
            o = ours(tg.tensor(src), src_key_padding_mask=None if mask is None else tg.tensor(mask))
            t = theirs(torch.tensor(src),
                       src_key_padding_mask=None if mask is None else torch.tensor(mask))
            utils.assert_close(o, t, rtol=1e-9, atol=1e-11)
    if batch_first:
        assert (o.numpy()[0, 3:] == 0).all()


def test_encoder_layer_float32_matches_torch():
    torch.manual_seed(12)
    theirs = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    ours = TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    _load_from_torch(ours, theirs)
    src = np.random.default_rng(12).standard_normal((2, 5, 8)).astype(np.float32)
    out = ours(tg.tensor(src, requires_grad=True))
    ref = theirs(torch.tensor(src, requires_grad=True))
    assert out.dtype == tg.float32
    utils.assert_close(out, ref, np.float32, rtol=1e-4, atol=1e-5)
    out.sum().backward()
    ref.sum().backward()
    for (name, p), (_, t) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-3, atol=1e-4,
                                   err_msg=name)


def test_encoder_layers_are_independent_deep_copies():
    layer = TransformerEncoderLayer(4, 2, 8)
    enc = TransformerEncoder(layer, 3, enable_nested_tensor=False)
    ids = {id(enc.layers[i].linear1.weight) for i in range(3)} | {id(layer.linear1.weight)}
    assert len(ids) == 4
    np.testing.assert_array_equal(enc.layers[2].linear1.weight.numpy(),
                                  layer.linear1.weight.numpy())
    with tg.no_grad():
        enc.layers[0].linear1.weight.fill_(1.0)
    assert not (enc.layers[1].linear1.weight.numpy() == 1).all()
    assert enc(tg.randn(3, 2, 4)).shape == (3, 2, 4)  # copies still live on the same device
    assert len(list(enc.parameters())) == 3 * len(list(layer.parameters()))


def test_encoder_layer_activation_choices():
    assert TransformerEncoderLayer(4, 2, activation="gelu").activation_relu_or_gelu == 2
    assert TransformerEncoderLayer(4, 2, activation=tg.nn.ReLU()).activation_relu_or_gelu == 1
    assert TransformerEncoderLayer(4, 2, activation=tg.tanh).activation_relu_or_gelu == 0
    with pytest.raises(RuntimeError, match="relu/gelu"):
        TransformerEncoderLayer(4, 2, activation="swish")


def test_encoder_warns_like_torch_about_nested_tensors():
    with pytest.warns(UserWarning, match="batch_first was not True"):
        TransformerEncoder(TransformerEncoderLayer(4, 2), 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TransformerEncoder(TransformerEncoderLayer(4, 2, batch_first=True), 1)
        TransformerEncoder(TransformerEncoderLayer(4, 2), 1, enable_nested_tensor=False)


def test_encoder_training_dropout_is_reproducible():
    enc = TransformerEncoder(TransformerEncoderLayer(8, 2, 16, dropout=0.5, batch_first=True),
                             2)
    x = tg.randn(2, 4, 8)
    tg.manual_seed(3)
    a = enc(x).numpy()
    tg.manual_seed(3)
    b = enc(x).numpy()
    np.testing.assert_array_equal(a, b)
    enc.eval()
    np.testing.assert_array_equal(enc(x).numpy(), enc(x).numpy())
