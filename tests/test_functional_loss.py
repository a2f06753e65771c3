"""nn.functional losses: finite-difference gradient checks over drawn shapes
(float64), parity with PyTorch (forward and gradients, float64 tight and
float32 loose), numerical stability and errors at the door."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, strategies as st

import tinygrad_dc as tg
import tinygrad_dc.nn.functional as F
import utils

REDUCTIONS = ["mean", "sum", "none"]


def _quiet(fn):
    """Run fn with the broadcasting / 'mean' warnings silenced."""
    def run(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return fn(*args)
    return run


# ---------------------------------------------------------------- regression
POINTWISE = [
    ("mse", F.mse_loss, TF.mse_loss, {}),
    ("l1", F.l1_loss, TF.l1_loss, {}),
    ("smooth_l1", F.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.5}),
    ("smooth_l1_beta0", F.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.0}),
    ("smooth_l1_default", F.smooth_l1_loss, TF.smooth_l1_loss, {}),
    ("huber", F.huber_loss, TF.huber_loss, {"delta": 0.7}),
    ("huber_default", F.huber_loss, TF.huber_loss, {}),
]
KINKS = [0.0, 0.5, -0.5, 1.0, -1.0, 0.7, -0.7]  # |d| = beta / delta and d = 0


def _regression_pair(shapes, seed):
    """input and target of the drawn (broadcastable) shapes; the target is
    tiny, so d = input - target stays away from every kink."""
    x = utils.arrays(shapes[0], away_from=KINKS, seed=seed)
    y = utils.arrays(shapes[1], low=-0.01, high=0.01, seed=seed + 1)
    return x, y


@pytest.mark.parametrize("name,ours,theirs,kw", POINTWISE, ids=[p[0] for p in POINTWISE])
@given(shapes=utils.broadcastable_shapes(2), reduction=st.sampled_from(REDUCTIONS),
       seed=st.integers(0, 1000))
def test_pointwise_grad_and_parity(name, ours, theirs, kw, shapes, reduction, seed):
    x, y = _regression_pair(shapes, seed)
    fo = _quiet(lambda a, b: ours(a, b, reduction=reduction, **kw))
    ft = _quiet(lambda a, b: theirs(a, b, reduction=reduction, **kw))
    utils.check_grad(fo, x, y)
    utils.parity(fo, ft, x, y)
    utils.parity(fo, ft, x, y, dtype=np.float32)


def test_pointwise_kink_gradients_match_torch():
    # exactly at d = 0 and |d| = beta / delta the subgradients are PyTorch's
    x = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 2.0])
    y = np.zeros(6)
    for ours, theirs, kw in [(F.l1_loss, TF.l1_loss, {}),
                             (F.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.5}),
                             (F.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.0}),
                             (F.huber_loss, TF.huber_loss, {"delta": 1.0})]:
        utils.parity(lambda a, b: ours(a, b, **kw), lambda a, b: theirs(a, b, **kw), x, y)


def test_pointwise_broadcast_warns_and_mixed_dtypes_promote():
    x = tg.tensor(np.ones(3), dtype=tg.float32)
    with pytest.warns(UserWarning, match="target size"):
        out = F.mse_loss(x, tg.zeros(2, 3))
    assert out.item() == 1.0
    out = F.mse_loss(x, tg.tensor(np.zeros(3), dtype=tg.float64))
    assert out.dtype == tg.float64
    assert F.l1_loss(x, tg.tensor([1, 2, 3])).dtype == tg.float32


def test_pointwise_errors():
    x = tg.zeros(2, 3)
    with pytest.raises(ValueError, match="cannot be broadcast"):
        F.mse_loss(x, tg.zeros(4))
    with pytest.raises(ValueError, match="'avg' is not a valid value for reduction"):
        F.l1_loss(x, x, reduction="avg")
    with pytest.raises(TypeError, match="floating point"):
        F.mse_loss(tg.tensor([1, 2]), tg.tensor([1, 2]))
    with pytest.raises(TypeError, match="target must be a Tensor"):
        F.mse_loss(x, 1.0)
    with pytest.raises(ValueError, match="beta"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(ValueError, match="delta"):
        F.huber_loss(x, x, delta=0.0)


# ---------------------------------------------------------------- class indices
@st.composite
def class_problems(draw, max_classes=5):
    """Logits (N, C, d...) or (C,), targets with some ignored, options."""
    one_d = draw(st.booleans()) and draw(st.booleans())
    n_classes = draw(st.integers(1, max_classes))
    if one_d:
        shape, target_shape = (n_classes,), ()
    else:
        batch = draw(st.integers(1, 4))
        extra = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
        shape, target_shape = (batch, n_classes) + extra, (batch,) + extra
    seed = draw(st.integers(0, 1000))
    rng = np.random.default_rng(seed)
    ignore_index = draw(st.sampled_from([-100, 0]))
    target = rng.integers(0, n_classes, size=target_shape)
    if draw(st.booleans()):  # ignore some elements
        target = np.where(rng.random(target_shape) < 0.3, ignore_index, target)
    return dict(x=rng.normal(0, 2, size=shape), target=target.astype(np.int64),
                weight=rng.uniform(0.2, 2.0, n_classes) if draw(st.booleans()) else None,
                ignore_index=ignore_index, reduction=draw(st.sampled_from(REDUCTIONS)))


def _index_fns(ours, theirs, p, **extra):
    w, t = p["weight"], p["target"]
    kw = dict(ignore_index=p["ignore_index"], reduction=p["reduction"], **extra)

    def fo(x):
        return ours(x, tg.tensor(t), weight=None if w is None else tg.tensor(w, dtype=x.dtype),
                    **kw)

    def ft(x):
        return theirs(x, torch.tensor(t), weight=None if w is None else
                      torch.tensor(w, dtype=x.dtype), **kw)
    return fo, ft


def _all_ignored_mean(p):
    return p["reduction"] == "mean" and np.all(p["target"] == p["ignore_index"])


@given(p=class_problems(), smoothing=st.sampled_from([0.0, 0.0, 0.25, 1.0]))
def test_cross_entropy_index_grad_and_parity(p, smoothing):
    fo, ft = _index_fns(F.cross_entropy, TF.cross_entropy, p, label_smoothing=smoothing)
    if _all_ignored_mean(p):  # 0 / 0, checked on its own below
        return
    utils.check_grad(fo, p["x"])
    utils.parity(fo, ft, p["x"])
    utils.parity(fo, ft, p["x"], dtype=np.float32)


@given(p=class_problems())
def test_nll_loss_grad_and_parity(p):
    fo, ft = _index_fns(F.nll_loss, TF.nll_loss, p)
    if _all_ignored_mean(p):
        return
    utils.check_grad(fo, p["x"])
    utils.parity(fo, ft, p["x"])
    utils.parity(fo, ft, p["x"], dtype=np.float32)


def test_cross_entropy_is_one_fused_node():
    x = tg.randn(3, 4, requires_grad=True)
    out = F.cross_entropy(x, tg.tensor([0, 1, 3]))
    assert type(out.grad_fn).__name__ == "CrossEntropyIndex"
    assert out.grad_fn.parents == (x,)  # log_softmax and NLL are not separate nodes
    out = F.cross_entropy(x, tg.rand(3, 4))
    assert type(out.grad_fn).__name__ == "CrossEntropyProbs"


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((5, 7)), rng.integers(0, 7, 5)
    xt = tg.tensor(x, requires_grad=True)
    F.cross_entropy(xt, tg.tensor(t), reduction="sum").backward()
    p = np.exp(x - x.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(xt.grad.numpy(), p - np.eye(7)[t], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_huge_logits_are_stable(dtype, smoothing):
    x = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4], [5e3, -5e3, 1e4]], dtype=dtype)
    t = np.array([1, 2, 0])
    xt = tg.tensor(x, requires_grad=True)
    xT = torch.tensor(x, requires_grad=True)
    ours = F.cross_entropy(xt, tg.tensor(t), label_smoothing=smoothing)
    theirs = TF.cross_entropy(xT, torch.tensor(t), label_smoothing=smoothing)
    ours.backward()
    theirs.backward()
    assert np.isfinite(ours.item()) and np.all(np.isfinite(xt.grad.numpy()))
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-6)
    np.testing.assert_allclose(xt.grad.numpy(), xT.grad.numpy(), rtol=1e-6, atol=1e-7)
    # probability targets take the same path
    probs = np.full_like(x, 1 / 3)
    out = F.cross_entropy(tg.tensor(x), tg.tensor(probs))
    ref = TF.cross_entropy(torch.tensor(x), torch.tensor(probs))
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-6)


def test_cross_entropy_all_ignored_mean_is_nan_with_zero_grad():
    for fn, ref in [(F.cross_entropy, TF.cross_entropy), (F.nll_loss, TF.nll_loss)]:
        x = tg.randn(3, 4, requires_grad=True)
        out = fn(x, tg.tensor([-100, -100, -100]))
        assert np.isnan(out.item()) and np.isnan(ref(torch.randn(3, 4),
                                                     torch.tensor([-100] * 3)).item())
        out.backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))


def test_cross_entropy_uint8_targets_and_1d_input():
    x = np.random.default_rng(3).standard_normal((4, 3))
    ours = F.cross_entropy(tg.tensor(x), tg.tensor(np.array([0, 2, 1, 1], dtype=np.uint8)))
    theirs = TF.cross_entropy(torch.tensor(x), torch.tensor([0, 2, 1, 1]))
    utils.assert_close(ours, theirs)
    for red in REDUCTIONS:
        utils.parity(lambda a: F.cross_entropy(a, tg.tensor(2), reduction=red),
                     lambda a: TF.cross_entropy(a, torch.tensor(2), reduction=red), x[0])


# ---------------------------------------------------------------- class probabilities
@st.composite
def probability_problems(draw):
    n_classes = draw(st.integers(1, 5))
    if draw(st.booleans()) and draw(st.booleans()):
        shape = (n_classes,)
    else:
        shape = (draw(st.integers(1, 4)), n_classes) + tuple(
            draw(st.lists(st.integers(1, 3), max_size=2)))
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    t = rng.random(shape)
    if draw(st.booleans()):  # proper distributions; otherwise any non-negative weights
        t /= t.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)
    return dict(x=rng.normal(0, 2, size=shape), t=t,
                weight=rng.uniform(0.2, 2.0, n_classes) if draw(st.booleans()) else None,
                reduction=draw(st.sampled_from(REDUCTIONS)),
                smoothing=draw(st.sampled_from([0.0, 0.3])))


@given(p=probability_problems())
def test_cross_entropy_probabilities_grad_and_parity(p):
    w, kw = p["weight"], dict(reduction=p["reduction"], label_smoothing=p["smoothing"])

    def fo(x, t):
        return F.cross_entropy(x, t, weight=None if w is None else tg.tensor(w, dtype=x.dtype),
                               **kw)

    def ft(x, t):
        return TF.cross_entropy(x, t, weight=None if w is None else
                                torch.tensor(w, dtype=x.dtype), **kw)
    utils.check_grad(fo, p["x"], p["t"])  # the target is differentiable too
    utils.parity(fo, ft, p["x"], p["t"])
    utils.parity(fo, ft, p["x"], p["t"], dtype=np.float32)


# ---------------------------------------------------------------- class errors
def test_class_loss_errors():
    x = tg.randn(3, 4)
    with pytest.raises(ValueError, match=r"expected target of shape \(3,\).*got \(2,\)"):
        F.cross_entropy(x, tg.tensor([1, 2]))
    with pytest.raises(RuntimeError, match=r"expected target of shape \(3, 5\)"):
        F.cross_entropy(tg.randn(3, 4, 5), tg.tensor(np.zeros((3, 4), dtype=np.int64)))
    with pytest.raises(IndexError, match="target 7 is out of bounds for 4 classes"):
        F.cross_entropy(x, tg.tensor([1, 2, 7]))
    with pytest.raises(IndexError, match="target -1 is out of bounds"):
        F.nll_loss(x, tg.tensor([1, -1, 0]))
    with pytest.raises(TypeError, match="int64.*got int32"):
        F.cross_entropy(x, tg.tensor([1, 2, 3], dtype=tg.int32))
    with pytest.raises(TypeError, match="got float32 of shape"):
        F.cross_entropy(x, tg.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(TypeError, match="class probabilities and must be floating point"):
        F.cross_entropy(x, tg.zeros(3, 4, dtype=tg.int64))
    with pytest.raises(ValueError, match="ignore_index=1 is not supported"):
        F.cross_entropy(x, tg.rand(3, 4), ignore_index=1)
    with pytest.raises(ValueError, match=r"weight .* shape \(4,\), got \(3,\)"):
        F.cross_entropy(x, tg.tensor([1, 2, 3]), weight=tg.ones(3))
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
        F.cross_entropy(x, tg.tensor([1, 2, 3]), weight=tg.ones(4, requires_grad=True))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, tg.tensor([1, 2, 3]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="'batchmean' is not a valid value"):
        F.nll_loss(x, tg.tensor([1, 2, 3]), reduction="batchmean")
    with pytest.raises(TypeError, match="floating point"):
        F.cross_entropy(tg.tensor([[1, 2]]), tg.tensor([0]))
    with pytest.raises(ValueError, match="0-dim"):
        F.cross_entropy(tg.tensor(1.0), tg.tensor(0))


# ---------------------------------------------------------------- binary
@st.composite
def binary_problems(draw):
    shape = draw(utils.shapes(min_dims=1, max_dims=3))
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    last = (shape[-1],)
    return dict(shape=shape, rng=rng, reduction=draw(st.sampled_from(REDUCTIONS)),
                weight=rng.uniform(0.2, 2, draw(st.sampled_from([shape, last])))
                if draw(st.booleans()) else None,
                pos_weight=rng.uniform(0.2, 3, last) if draw(st.booleans()) else None)


def _opt(arr, lib, dtype):
    return None if arr is None else lib.tensor(np.asarray(arr, dtype=dtype))


@given(p=binary_problems())
def test_binary_cross_entropy_grad_and_parity(p):
    x = p["rng"].uniform(0.05, 0.95, p["shape"])
    y = p["rng"].uniform(0, 1, p["shape"])
    w, red = p["weight"], p["reduction"]

    def fo(a, b):
        return F.binary_cross_entropy(a, b, weight=_opt(w, tg, a.numpy().dtype), reduction=red)

    def ft(a, b):
        return TF.binary_cross_entropy(a, b, weight=_opt(w, torch, a.detach().numpy().dtype),
                                       reduction=red)
    utils.check_grad(fo, x, y)
    utils.parity(fo, ft, x, y)
    utils.parity(fo, ft, x, y, dtype=np.float32)


def test_binary_cross_entropy_clamps_log_at_minus_100():
    x, y = np.array([0.0, 1.0, 0.0, 1.0, 0.5]), np.array([1.0, 0.0, 0.0, 1.0, 0.3])
    ours = F.binary_cross_entropy(tg.tensor(x), tg.tensor(y), reduction="none")
    theirs = TF.binary_cross_entropy(torch.tensor(x), torch.tensor(y), reduction="none")
    utils.assert_close(ours, theirs)
    assert ours.numpy()[0] == 100.0
    # the input gradient stays finite at 0 and 1 (PyTorch's 1e-12 floor)
    utils.parity(lambda a: F.binary_cross_entropy(a, tg.tensor(y)),
                 lambda a: TF.binary_cross_entropy(a, torch.tensor(y)), x, rtol=1e-8, atol=1e-12)


@given(p=binary_problems())
def test_binary_cross_entropy_with_logits_grad_and_parity(p):
    x = p["rng"].normal(0, 3, p["shape"])
    y = p["rng"].uniform(0, 1, p["shape"])
    w, pw, red = p["weight"], p["pos_weight"], p["reduction"]

    def fo(a, b):
        dt = a.numpy().dtype
        return F.binary_cross_entropy_with_logits(a, b, weight=_opt(w, tg, dt), reduction=red,
                                                  pos_weight=_opt(pw, tg, dt))

    def ft(a, b):
        dt = a.detach().numpy().dtype
        return TF.binary_cross_entropy_with_logits(a, b, weight=_opt(w, torch, dt),
                                                   reduction=red, pos_weight=_opt(pw, torch, dt))
    utils.check_grad(fo, x, y)
    utils.parity(fo, ft, x, y)
    utils.parity(fo, ft, x, y, dtype=np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_with_logits_huge_logits(dtype):
    x = np.array([1e4, -1e4, 1e4, -1e4, 0.0], dtype=dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.5], dtype=dtype)
    pw = np.full(5, 2.0, dtype=dtype)
    for kw_o, kw_t in [({}, {}), ({"pos_weight": tg.tensor(pw)}, {"pos_weight": torch.tensor(pw)})]:
        xt, xT = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ours = F.binary_cross_entropy_with_logits(xt, tg.tensor(y), reduction="none", **kw_o)
        theirs = TF.binary_cross_entropy_with_logits(xT, torch.tensor(y), reduction="none", **kw_t)
        ours.sum().backward()
        theirs.sum().backward()
        assert np.all(np.isfinite(ours.numpy())) and np.all(np.isfinite(xt.grad.numpy()))
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(xt.grad.numpy(), xT.grad.numpy(), rtol=1e-6)


def test_binary_errors():
    x = tg.rand(3)
    with pytest.raises(ValueError, match=r"target size \(3, 1\) must be the same as the input"):
        F.binary_cross_entropy(x, tg.rand(3, 1))
    with pytest.raises(ValueError, match="target size"):
        F.binary_cross_entropy_with_logits(x, tg.rand(2))
    with pytest.raises(ValueError, match="elements of input should be between 0 and 1"):
        F.binary_cross_entropy(x + 1, x)
    with pytest.raises(ValueError, match="elements of target should be between 0 and 1"):
        F.binary_cross_entropy(x, x - 2)
    with pytest.raises(RuntimeError, match="argument 'weight'"):
        F.binary_cross_entropy(x, x, weight=tg.ones(3, requires_grad=True))
    with pytest.raises(RuntimeError, match="argument 'pos_weight'"):
        F.binary_cross_entropy_with_logits(x, x, pos_weight=tg.ones(3, requires_grad=True))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(2,\) does not broadcast"):
        F.binary_cross_entropy_with_logits(tg.rand(2, 3), tg.rand(2, 3), pos_weight=tg.ones(2))
    with tg.no_grad():  # without a graph a weight that requires grad is harmless
        F.binary_cross_entropy(x, x, weight=tg.ones(3, requires_grad=True))


# ---------------------------------------------------------------- kl_div
@given(shape=utils.shapes(min_dims=1, max_dims=3), seed=st.integers(0, 1000),
       reduction=st.sampled_from(REDUCTIONS + ["batchmean"]), log_target=st.booleans())
def test_kl_div_grad_and_parity(shape, seed, reduction, log_target):
    rng = np.random.default_rng(seed)
    x = np.log(rng.uniform(0.05, 1, shape))
    t = rng.uniform(0.05, 1, shape)
    if log_target:
        t = np.log(t)
    fo = _quiet(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target))
    ft = _quiet(lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target))
    utils.check_grad(fo, x, t)
    utils.parity(fo, ft, x, t)


def test_kl_div_zero_target_and_mean_warning():
    x, t = np.log([0.2, 0.3, 0.5]), np.array([0.0, 0.4, 0.6])
    ours = F.kl_div(tg.tensor(x), tg.tensor(t), reduction="sum")
    theirs = TF.kl_div(torch.tensor(x), torch.tensor(t), reduction="sum")
    utils.assert_close(ours, theirs)
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(tg.tensor(x), tg.tensor(t))
