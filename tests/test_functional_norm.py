"""nn.functional normalization: gradient checks over drawn shapes (float64),
parity with PyTorch (outputs, gradients, running statistics), errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, strategies as st

import tinygrad_dc as tg
import tinygrad_dc.nn.functional as F
from tinygrad_dc.ops import normalization as N
import utils


@st.composite
def nc_shapes(draw, min_spatial=0, max_spatial=2):
    """(N, C, *spatial) with at least two values per channel."""
    spatial = tuple(draw(st.lists(st.integers(1, 3), min_size=min_spatial,
                                  max_size=max_spatial)))
    batch = draw(st.integers(1 if np.prod(spatial) > 1 else 2, 3))
    return (batch, draw(st.integers(1, 3))) + spatial


def _spread(rng, shape):
    """Values in [-3, 3] at least 6 / size apart: no group of them has a tiny
    variance, which would make float32 gradients mostly rounding noise."""
    n = int(np.prod(shape))
    return rng.permutation(np.linspace(-3, 3, n)).reshape(shape) + rng.uniform(0, 1e-3, shape)


def _inputs(shape, affine, seed):
    rng = np.random.default_rng(seed)
    c = shape[1]
    arrays = [_spread(rng, shape)]
    if affine:
        arrays += [rng.uniform(0.5, 1.5, c), rng.normal(0, 1, c)]
    return arrays


# ---------------------------------------------------------------- batch_norm
@given(shape=nc_shapes(), affine=st.booleans(), seed=st.integers(0, 1000))
def test_batch_norm_training_grad_and_parity(shape, affine, seed):
    arrays = _inputs(shape, affine, seed)
    c = shape[1]

    def fo(x, *wb):
        return F.batch_norm(x, None, None, *wb, training=True)

    def ft(x, *wb):
        return TF.batch_norm(x, None, None, *wb, training=True)
    utils.check_grad(fo, *arrays)
    utils.parity(fo, ft, *arrays)
    utils.parity(fo, ft, *arrays, dtype=np.float32, rtol=1e-3, atol=1e-4)
    # running statistics move as PyTorch's (unbiased variance)
    for dtype in (np.float64, np.float32):
        rm, rv = np.linspace(-1, 1, c).astype(dtype), np.linspace(0.5, 2, c).astype(dtype)
        ours = [tg.tensor(rm), tg.tensor(rv)]
        theirs = [torch.tensor(rm), torch.tensor(rv)]
        x = arrays[0].astype(dtype)
        F.batch_norm(tg.tensor(x), *ours, training=True, momentum=0.3)
        TF.batch_norm(torch.tensor(x), *theirs, training=True, momentum=0.3)
        for o, t in zip(ours, theirs):
            utils.assert_close(o, t, dtype)


@given(shape=nc_shapes(), affine=st.booleans(), seed=st.integers(0, 1000))
def test_batch_norm_eval_grad_and_parity(shape, affine, seed):
    arrays = _inputs(shape, affine, seed)
    rng = np.random.default_rng(seed + 1)
    rm, rv = rng.normal(0, 1, shape[1]), rng.uniform(0.5, 2, shape[1])

    def fo(x, *wb):
        dt = x.numpy().dtype
        return F.batch_norm(x, tg.tensor(rm.astype(dt)), tg.tensor(rv.astype(dt)), *wb)

    def ft(x, *wb):
        dt = x.detach().numpy().dtype
        return TF.batch_norm(x, torch.tensor(rm.astype(dt)), torch.tensor(rv.astype(dt)), *wb)
    utils.check_grad(fo, *arrays)
    utils.parity(fo, ft, *arrays)
    utils.parity(fo, ft, *arrays, dtype=np.float32, rtol=1e-3, atol=1e-4)


def test_batch_norm_weight_only_and_bias_only():
    x, w, b = _inputs((4, 3, 2), True, 0)
    utils.check_grad(lambda x, w: F.batch_norm(x, None, None, w, training=True), x, w)
    utils.check_grad(lambda x, b: F.batch_norm(x, None, None, bias=b, training=True), x, b)
    utils.parity(lambda x, b: F.batch_norm(x, None, None, bias=b, training=True),
                 lambda x, b: TF.batch_norm(x, None, None, bias=b, training=True), x, b)


def test_batch_norm_running_stats_follow_torch_over_steps():
    rng = np.random.default_rng(0)
    ours = [tg.zeros(3, dtype=tg.float64), tg.ones(3, dtype=tg.float64)]
    theirs = [torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)]
    versions = [t._version for t in ours]
    w = rng.uniform(0.5, 1.5, 3)
    for step in range(5):
        x = rng.normal(step, 1 + step, (4, 3, 2, 2))
        xo = tg.tensor(x, requires_grad=True)
        wo = tg.tensor(w, requires_grad=True)
        out = F.batch_norm(xo, *ours, wo, training=True, momentum=0.2)
        ref = TF.batch_norm(torch.tensor(x), *theirs, torch.tensor(w), training=True,
                            momentum=0.2)
        utils.assert_close(out, ref)
        out.sum().backward()  # the graph is unaffected by the in-place update
        for o, t in zip(ours, theirs):
            utils.assert_close(o, t)
    assert [t._version for t in ours] == [v + 5 for v in versions]
    # under no_grad training still updates, and eval then uses the statistics
    with tg.no_grad():
        F.batch_norm(tg.tensor(x), *ours, training=True)
    TF.batch_norm(torch.tensor(x), *theirs, training=True)
    utils.assert_close(F.batch_norm(tg.tensor(x), *ours), TF.batch_norm(torch.tensor(x), *theirs))


def test_batch_norm_is_one_fused_node():
    x = tg.randn(4, 3, 2, requires_grad=True)
    w, b = tg.ones(3, requires_grad=True), tg.zeros(3, requires_grad=True)
    out = F.batch_norm(x, None, None, w, b, training=True)
    assert type(out.grad_fn).__name__ == "BatchNorm" and out.grad_fn.parents == (x, w, b)
    out = F.layer_norm(x, (3, 2), tg.ones(3, 2, requires_grad=True))
    assert type(out.grad_fn).__name__ == "LayerNorm"


def test_batch_norm_errors():
    x = tg.randn(4, 3)
    with pytest.raises(ValueError, match=r"running_mean of shape \(3,\).*got \(4,\)"):
        F.batch_norm(x, tg.zeros(4), tg.ones(3))
    with pytest.raises(TypeError, match="weight is float64 but the input is float32"):
        F.batch_norm(x, tg.zeros(3), tg.ones(3), weight=tg.ones(3, dtype=tg.float64))
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\(1, 3\)"):
        F.batch_norm(tg.randn(1, 3), None, None, training=True)
    with pytest.raises(RuntimeError, match="must be given in evaluation mode"):
        F.batch_norm(x, None, None)
    with pytest.raises(ValueError, match="at least 2 dims"):
        F.batch_norm(tg.randn(3), None, None, training=True)
    with pytest.raises(TypeError, match="floating point"):
        F.batch_norm(tg.tensor([[1, 2], [3, 4]]), None, None, training=True)
    rm = tg.zeros(3)
    with pytest.raises(ValueError):
        F.batch_norm(tg.randn(1, 3), rm, tg.ones(3), training=True)
    assert rm._version == 0 and np.all(rm.numpy() == 0)  # nothing changed before the error


# ---------------------------------------------------------------- layer_norm
@st.composite
def layer_norm_cases(draw):
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    normalized = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=2)))
    if np.prod(normalized) == 1:  # a single value normalizes to 0 (gradient 0): widen it
        normalized = normalized[:-1] + (2,)
    return lead + normalized, normalized


@given(case=layer_norm_cases(), affine=st.sampled_from(["none", "weight", "both"]),
       seed=st.integers(0, 1000))
def test_layer_norm_grad_and_parity(case, affine, seed):
    shape, normalized = case
    rng = np.random.default_rng(seed)
    arrays = [_spread(rng, shape)]
    if affine != "none":
        arrays.append(rng.uniform(0.5, 1.5, normalized))
    if affine == "both":
        arrays.append(rng.normal(0, 1, normalized))
    arg = normalized[0] if len(normalized) == 1 else list(normalized)

    def fo(x, *wb):
        return F.layer_norm(x, arg, *wb)

    def ft(x, *wb):
        return TF.layer_norm(x, normalized, *wb)
    utils.check_grad(fo, *arrays)
    utils.parity(fo, ft, *arrays)
    utils.parity(fo, ft, *arrays, dtype=np.float32, rtol=1e-3, atol=1e-4)


def test_layer_norm_errors():
    x = tg.randn(2, 3)
    with pytest.raises(ValueError, match=r"normalized_shape=\[4\].*\[\*, 4\].*\(2, 3\)"):
        F.layer_norm(x, (4,))
    with pytest.raises(ValueError, match="normalized_shape"):
        F.layer_norm(x, (1, 2, 3))
    with pytest.raises(ValueError, match=r"weight of shape \(3,\)"):
        F.layer_norm(x, 3, weight=tg.ones(2))


# ---------------------------------------------------------------- group / instance norm
@st.composite
def group_cases(draw):
    groups = draw(st.integers(1, 3))
    channels = groups * draw(st.integers(1, 2))
    spatial = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    if channels // groups * int(np.prod(spatial)) == 1:
        spatial = spatial + (2,)
    return (draw(st.integers(1, 3)), channels) + spatial, groups


@given(case=group_cases(), affine=st.booleans(), seed=st.integers(0, 1000))
def test_group_norm_grad_and_parity(case, affine, seed):
    shape, groups = case
    arrays = _inputs(shape, affine, seed)
    ours, theirs = (lambda x, *wb: F.group_norm(x, groups, *wb),
                    lambda x, *wb: TF.group_norm(x, groups, *wb))
    utils.check_grad(ours, *arrays)
    utils.parity(ours, theirs, *arrays)
    utils.parity(ours, theirs, *arrays, dtype=np.float32, rtol=1e-3, atol=1e-4)


def test_group_norm_errors():
    with pytest.raises(ValueError, match=r"divisible by num_groups.*\(2, 6, 3\).*num_groups=4"):
        F.group_norm(tg.randn(2, 6, 3), 4)
    with pytest.raises(ValueError, match=r"bias of shape \(6,\)"):
        F.group_norm(tg.randn(2, 6, 3), 3, bias=tg.zeros(3))


@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm_parity_and_running_stats(use_input_stats):
    rng = np.random.default_rng(0)
    x, w, b = _spread(rng, (3, 2, 4)), rng.uniform(0.5, 1.5, 2), rng.normal(0, 1, 2)
    ours = [tg.tensor([0.1, -0.2], dtype=tg.float64), tg.tensor([1.0, 2.0], dtype=tg.float64)]
    theirs = [torch.tensor([0.1, -0.2], dtype=torch.float64),
              torch.tensor([1.0, 2.0], dtype=torch.float64)]
    utils.parity(lambda x, w, b: F.instance_norm(x, *ours, w, b, use_input_stats, 0.3),
                 lambda x, w, b: TF.instance_norm(x, *theirs, w, b, use_input_stats, 0.3),
                 x, w, b)
    for o, t in zip(ours, theirs):
        utils.assert_close(o, t)
    utils.check_grad(lambda x, w: F.instance_norm(x, weight=w), x, w)


# ---------------------------------------------------------------- normalize
@given(shape=utils.shapes(min_dims=2, max_dims=3), p=st.sampled_from([2.0, 1.0, 3.0]),
       dim=st.sampled_from([1, -1, 0]), seed=st.integers(0, 1000))
def test_normalize_grad_and_parity(shape, p, dim, seed):
    x = utils.arrays(shape, away_from=[0.0], seed=seed)
    utils.check_grad(lambda a: F.normalize(a, p, dim), x)
    utils.parity(lambda a: F.normalize(a, p, dim), lambda a: TF.normalize(a, p, dim), x)


def test_normalize_zero_vector_uses_eps():
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    utils.parity(lambda a: F.normalize(a), lambda a: TF.normalize(a), x)


# ---------------------------------------------------------------- kernels and fallbacks
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", [False, True])
def test_cpu_norm_kernels_match_array_module_versions(dtype, affine):
    from kernels.cpu import norm as K
    rng = np.random.default_rng(0)
    tight = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    for kind, shape in (("layer", (5, 7)), ("batch", (3, 4, 6)), ("batch", (5, 2, 1))):
        x = _spread(rng, shape).astype(dtype)
        g = rng.standard_normal(shape).astype(dtype)
        n = shape[1]
        w, b = (rng.uniform(0.5, 1.5, n).astype(dtype), rng.normal(0, 1, n).astype(dtype)) \
            if affine else (None, None)
        fwd, bwd = getattr(K, f"{kind}_norm_forward"), getattr(K, f"{kind}_norm_backward")
        ref_fwd = getattr(N, f"{kind}_norm_forward")
        ref_bwd = getattr(N, f"{kind}_norm_backward")
        ours, ref = fwd(x, w, b, 1e-5), ref_fwd(np, x, w, b, 1e-5)
        assert ours[0].dtype == dtype and ours[0].shape == shape
        for a, r in zip(ours, ref):
            np.testing.assert_allclose(a, r, **tight)
        grads = bwd(g, x, ours[1], ours[-1], w)
        for a, r in zip(grads, ref_bwd(np, g, x, ref[1], ref[-1], w)):
            assert a.dtype == dtype
            np.testing.assert_allclose(a, r, **tight)


def test_ops_without_backend_kernels_use_the_array_module(monkeypatch):
    # a backend without the compiled kernels (as CUDA may be) gets the xp path
    calls = []

    def fallback(node, name):
        calls.append(name)
        return lambda *arrays: N._FALLBACKS[name](node.xp, *arrays)
    monkeypatch.setattr(N, "_kernel", fallback)
    x, w, b = _inputs((4, 3, 2), True, 1)
    utils.parity(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                 lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True), x, w, b)
    utils.parity(lambda x, w, b: F.layer_norm(x, 2, w[:2], b[:2]),
                 lambda x, w, b: TF.layer_norm(x, (2,), w[:2], b[:2]), x, w, b)
    utils.parity(lambda x, w, b: F.group_norm(x, 3, w, b),
                 lambda x, w, b: TF.group_norm(x, 3, w, b), x, w, b)
    assert set(calls) == set(N._FALLBACKS)
