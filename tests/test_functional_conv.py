"""conv2d / conv1d, pooling and pad: finite-difference gradients over
hypothesis-drawn configurations, parity with torch.nn.functional (float64
tight, float32 loose) and errors."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, strategies as st

import tinygrad_dc as tg
import tinygrad_dc.nn.functional as F
import utils


# ---------------------------------------------------------------- conv2d
@st.composite
def conv_configs(draw):
    groups = draw(st.integers(1, 3))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    extent = [d * (kk - 1) + 1 - 2 * p for d, kk, p in zip(dilation, k, padding)]
    return dict(
        N=draw(st.integers(1, 2)), groups=groups,
        C=groups * draw(st.integers(1, 2)), O=groups * draw(st.integers(1, 2)),
        H=max(extent[0], 1) + draw(st.integers(0, 4)),
        W=max(extent[1], 1) + draw(st.integers(0, 4)),
        k=k, stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))), padding=padding,
        dilation=dilation, bias=draw(st.booleans()), seed=draw(st.integers(0, 2 ** 16)))


def _conv_arrays(c):
    rng = np.random.default_rng(c["seed"])
    arrays = [rng.standard_normal((c["N"], c["C"], c["H"], c["W"])),
              rng.standard_normal((c["O"], c["C"] // c["groups"]) + c["k"])]
    if c["bias"]:
        arrays.append(rng.standard_normal(c["O"]))
    return arrays


def _conv_fn(module, c):
    kw = dict(stride=c["stride"], padding=c["padding"], dilation=c["dilation"],
              groups=c["groups"])
    return lambda x, w, b=None: module.conv2d(x, w, b, **kw)


@given(conv_configs())
def test_conv2d_gradcheck(c):
    utils.check_grad(_conv_fn(F, c), *_conv_arrays(c))


@given(conv_configs())
def test_conv2d_parity_float64(c):
    utils.parity(_conv_fn(F, c), _conv_fn(TF, c), *_conv_arrays(c))


@given(conv_configs())
def test_conv2d_parity_float32(c):
    out = _conv_fn(F, c)(*[tg.tensor(a, dtype=tg.float32) for a in _conv_arrays(c)])
    assert out.dtype == tg.float32
    utils.parity(_conv_fn(F, c), _conv_fn(TF, c), *_conv_arrays(c), dtype=np.float32,
                 rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kernel,dilation",
                         [((3, 3), 1), ((2, 4), 1), ((3, 2), (2, 1)), ((1, 1), 2)])
def test_conv2d_same_and_valid_padding(kernel, dilation):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((3, 2) + kernel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about the padded copy for even kernels
        for mode in ("same", "valid"):
            utils.parity(lambda a, b: F.conv2d(a, b, padding=mode, dilation=dilation),
                         lambda a, b: TF.conv2d(a, b, padding=mode, dilation=dilation), x, w)
    out = F.conv2d(tg.tensor(x), tg.tensor(w), padding="same", dilation=dilation)
    assert out.shape[2:] == x.shape[2:]
    utils.check_grad(lambda a, b: F.conv2d(a, b, padding="same", dilation=dilation), x, w)


def test_conv2d_unbatched_input():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((3, 6, 5)), rng.standard_normal((4, 3, 2, 2))
    b = rng.standard_normal(4)
    utils.parity(lambda *t: F.conv2d(*t, stride=2, padding=1),
                 lambda *t: TF.conv2d(*t, stride=2, padding=1), x, w, b)
    assert F.conv2d(tg.tensor(x), tg.tensor(w)).shape == (4, 5, 4)


def test_conv2d_weight_only_and_input_only_gradients():
    rng = np.random.default_rng(2)
    x = tg.tensor(rng.standard_normal((2, 2, 5, 5)))
    w = tg.tensor(rng.standard_normal((3, 2, 3, 3)))
    w.requires_grad_()
    F.conv2d(x, w).sum().backward()
    assert x.grad is None and w.grad.shape == w.shape
    x.requires_grad_()
    w2 = tg.tensor(w.numpy())
    F.conv2d(x, w2, padding=1).sum().backward()
    assert x.grad.shape == x.shape and w2.grad is None


def test_conv2d_broadcast_upstream_gradient():
    """`.sum()` hands backward a zero-strided gradient; the BLAS path must cope."""
    rng = np.random.default_rng(3)
    utils.parity(lambda a, b: F.conv2d(a, b, padding=1).sum(),
                 lambda a, b: TF.conv2d(a, b, padding=1).sum(),
                 rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)))


@given(st.integers(1, 3), st.integers(1, 2), st.sampled_from([0, 1, "same", "valid"]),
       st.integers(1, 2), st.integers(0, 2 ** 16))
def test_conv1d(k, stride, padding, dilation, seed):
    if padding == "same":
        stride = 1
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((2, 4, 7)), rng.standard_normal((6, 2, k)), rng.standard_normal(6)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        utils.parity(lambda *t: F.conv1d(*t, **kw), lambda *t: TF.conv1d(*t, **kw), x, w, b)
        utils.parity(lambda *t: F.conv1d(*t, **kw), lambda *t: TF.conv1d(*t, **kw), x[0], w, b)
    utils.check_grad(lambda *t: F.conv1d(*t, **kw), x, w, b)


def test_conv2d_errors():
    x, w = tg.randn(2, 3, 8, 8), tg.randn(4, 3, 3, 3)
    with pytest.raises(tg.ShapeError, match=r"\(2, 4, 8, 8\).*3 channels, but got 4"):
        F.conv2d(tg.randn(2, 4, 8, 8), w)
    with pytest.raises(tg.ShapeError, match="3D .*4D.*\\(8, 8\\)"):
        F.conv2d(tg.randn(8, 8), w)
    with pytest.raises(tg.ShapeError, match="weight"):
        F.conv2d(x, tg.randn(4, 3, 3))
    with pytest.raises(tg.ShapeError, match=r"bias.*\(4,\)"):
        F.conv2d(x, w, tg.randn(3))
    with pytest.raises(tg.ShapeError, match="divisible by groups=3"):
        F.conv2d(tg.randn(2, 3, 8, 8), tg.randn(4, 1, 3, 3), groups=3)
    with pytest.raises(TypeError, match="float64.*float32"):
        F.conv2d(x.double(), w)
    with pytest.raises(ValueError, match="strided"):
        F.conv2d(x, w, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding"):
        F.conv2d(x, w, padding="full")
    with pytest.raises(ValueError, match="stride must be positive"):
        F.conv2d(x, w, stride=0)
    with pytest.raises(ValueError, match="padding must be non-negative"):
        F.conv2d(x, w, padding=-1)
    with pytest.raises(tg.ShapeError, match=r"\(4 x 4\).*\(5 x 5\)"):
        F.conv2d(tg.randn(1, 3, 4, 4), tg.randn(2, 3, 5, 5))
    with pytest.raises(TypeError, match="floating point"):
        F.conv2d(tg.tensor(np.ones((1, 3, 4, 4), dtype=np.int64)), w)


# ---------------------------------------------------------------- pooling
@st.composite
def pool_configs(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = tuple(draw(st.integers(0, kk // 2)) for kk in k)
    extent = [d * (kk - 1) + 1 for d, kk in zip(dilation, k)]
    return dict(N=draw(st.integers(1, 2)), C=draw(st.integers(1, 3)),
                H=extent[0] + draw(st.integers(0, 5)), W=extent[1] + draw(st.integers(0, 5)),
                k=k, stride=draw(st.one_of(st.none(),
                                           st.tuples(st.integers(1, 3), st.integers(1, 3)))),
                padding=padding, dilation=dilation, ceil_mode=draw(st.booleans()),
                count_include_pad=draw(st.booleans()),
                divisor_override=draw(st.sampled_from([None, None, 3])),
                seed=draw(st.integers(0, 2 ** 16)))


def _pool_input(c):
    # distinct values: the max is unique, so finite differences are clean
    rng = np.random.default_rng(c["seed"])
    n = c["N"] * c["C"] * c["H"] * c["W"]
    return (rng.permutation(n) * 0.1 + rng.uniform(-0.01, 0.01, n)).reshape(
        c["N"], c["C"], c["H"], c["W"])


def _max_fn(module, c):
    return lambda x: module.max_pool2d(x, c["k"], c["stride"], c["padding"], c["dilation"],
                                       c["ceil_mode"])


def _avg_fn(module, c):
    return lambda x: module.avg_pool2d(x, c["k"], c["stride"], c["padding"], c["ceil_mode"],
                                       c["count_include_pad"], c["divisor_override"])


@given(pool_configs())
def test_max_pool2d(c):
    x = _pool_input(c)
    utils.parity(_max_fn(F, c), _max_fn(TF, c), x)
    utils.parity(_max_fn(F, c), _max_fn(TF, c), x, dtype=np.float32)
    utils.check_grad(_max_fn(F, c), x)
    ours = F.max_pool2d(tg.tensor(x), c["k"], c["stride"], c["padding"], c["dilation"],
                        c["ceil_mode"], return_indices=True)[1]
    theirs = TF.max_pool2d(torch.tensor(x), c["k"], c["stride"], c["padding"], c["dilation"],
                           c["ceil_mode"], return_indices=True)[1]
    assert ours.dtype == tg.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@given(pool_configs())
def test_avg_pool2d(c):
    x = _pool_input(c)
    utils.parity(_avg_fn(F, c), _avg_fn(TF, c), x)
    utils.parity(_avg_fn(F, c), _avg_fn(TF, c), x, dtype=np.float32)
    utils.check_grad(_avg_fn(F, c), x)


def test_pool_unbatched_and_defaults():
    x = _pool_input(dict(N=1, C=2, H=7, W=6, seed=0))[0]
    utils.parity(lambda t: F.max_pool2d(t, 2), lambda t: TF.max_pool2d(t, 2), x)
    utils.parity(lambda t: F.avg_pool2d(t, 3, stride=[]), lambda t: TF.avg_pool2d(t, 3), x)
    out, idx = F.max_pool2d(tg.tensor(x), 2, return_indices=True)
    assert out.shape == idx.shape == (2, 3, 3)


@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 5), st.integers(1, 5),
       st.integers(0, 2 ** 16))
def test_adaptive_pools(H, W, OH, OW, seed):
    x = _pool_input(dict(N=2, C=2, H=H, W=W, seed=seed))
    for size in [(OH, OW), OH, (None, OW)]:
        for ours, theirs in [(F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d),
                             (F.adaptive_max_pool2d, TF.adaptive_max_pool2d)]:
            utils.parity(lambda t: ours(t, size), lambda t: theirs(t, size), x)
    utils.parity(lambda t: F.adaptive_avg_pool2d(t, (OH, OW)),
                 lambda t: TF.adaptive_avg_pool2d(t, (OH, OW)), x, dtype=np.float32)
    utils.check_grad(lambda t: F.adaptive_avg_pool2d(t, (OH, OW)), x)
    utils.check_grad(lambda t: F.adaptive_max_pool2d(t, (OH, OW)), x)
    idx = F.adaptive_max_pool2d(tg.tensor(x), (OH, OW), return_indices=True)[1]
    tidx = TF.adaptive_max_pool2d(torch.tensor(x), (OH, OW), return_indices=True)[1]
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())


def test_adaptive_avg_pool_unbatched_and_global():
    x = _pool_input(dict(N=1, C=3, H=5, W=7, seed=1))[0]
    utils.parity(lambda t: F.adaptive_avg_pool2d(t, 1), lambda t: TF.adaptive_avg_pool2d(t, 1), x)
    utils.parity(lambda t: F.adaptive_avg_pool2d(t, (2, 3)),
                 lambda t: TF.adaptive_avg_pool2d(t, (2, 3)), x)


def test_pool_errors():
    x = tg.randn(1, 2, 5, 5)
    with pytest.raises(ValueError, match=r"half of kernel size.*\(2, 2\).*\(3, 3\)"):
        F.max_pool2d(x, 3, padding=2)
    with pytest.raises(tg.ShapeError, match=r"\(1, 2, 2, 2\).*too small"):
        F.max_pool2d(tg.randn(1, 2, 2, 2), 3)
    with pytest.raises(tg.ShapeError, match=r"3D.*4D.*\(5, 5\)"):
        F.avg_pool2d(tg.randn(5, 5), 2)
    with pytest.raises(ValueError, match="divisor_override"):
        F.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(ValueError, match="kernel_size must be positive"):
        F.avg_pool2d(x, 0)
    with pytest.raises(ValueError, match="output_size"):
        F.adaptive_avg_pool2d(x, (0, 2))
    with pytest.raises(TypeError, match="output_size"):
        F.adaptive_max_pool2d(x, (1, 2, 3))


# ---------------------------------------------------------------- pad
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@given(data=st.data())
def test_pad(mode, data):
    k = data.draw(st.integers(1, 3), label="padded dims")
    ndim = data.draw(st.sampled_from([k + 1, k + 2]) if mode != "constant"
                     else st.integers(k, 4), label="ndim")
    shape = tuple(data.draw(st.integers(2, 4)) for _ in range(ndim))
    pads = []
    for n in reversed(shape[ndim - k:]):
        lo = data.draw(st.integers(-1, n - 1))
        hi = data.draw(st.integers(max(-1, 1 - n - lo), n - 1))  # non-empty output
        pads += [lo, hi]
    value = data.draw(st.sampled_from([None, 0.5])) if mode == "constant" else None
    x = utils.arrays(shape, seed=data.draw(st.integers(0, 99)))
    utils.parity(lambda t: F.pad(t, pads, mode, value), lambda t: TF.pad(t, pads, mode, value), x)
    utils.check_grad(lambda t: F.pad(t, pads, mode, value), x)


def test_pad_errors():
    x = tg.randn(1, 2, 3)
    with pytest.raises(ValueError, match="divisible by 2"):
        F.pad(x, (1, 2, 3))
    with pytest.raises(tg.ShapeError, match=r"padding length 8.*\(1, 2, 3\)"):
        F.pad(x, (1,) * 8)
    with pytest.raises(tg.ShapeError, match="negative output size"):
        F.pad(x, (-2, -2))
    with pytest.raises(tg.ShapeError, match=r"reflect padding \(3, 0\).*size 3"):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="mode"):
        F.pad(x, (1, 1), mode="wrap")
    with pytest.raises(tg.ShapeError, match="2D or 3D"):
        F.pad(tg.randn(1, 1, 2, 3), (1, 1), mode="replicate")
