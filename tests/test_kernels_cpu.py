"""Numba CPU conv/pool kernels vs. their plain-NumPy references and vs. PyTorch."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from kernels.cpu import (avgpool2d_backward, avgpool2d_forward, col2im, conv_output_size,
                         im2col, maxpool2d_backward, maxpool2d_forward, pool_output_size)
from kernels.cpu import reference as ref


def _configs(n, seed):
    """Random odd-sized configs: kernel 1..4, stride 1..3, padding <= k//2, dilation 1..2."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        k = tuple(int(v) for v in rng.integers(1, 5, 2))
        c = dict(N=int(rng.integers(1, 3)), C=int(rng.integers(1, 4)),
                 H=int(rng.integers(2, 7)) * 2 + 1, W=int(rng.integers(2, 7)) * 2 + 1,
                 k=k, stride=tuple(int(v) for v in rng.integers(1, 4, 2)),
                 padding=tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k),
                 dilation=tuple(int(v) for v in rng.integers(1, 3, 2)),
                 ceil_mode=bool(rng.integers(0, 2)))
        eff = [d * (kk - 1) + 1 for d, kk in zip(c["dilation"], k)]
        if c["H"] + 2 * c["padding"][0] >= eff[0] and c["W"] + 2 * c["padding"][1] >= eff[1]:
            out.append(c)
    return out


CONV = _configs(10, 0)
POOL = _configs(10, 1)


def _ids(cfgs):
    return [f"{c['H']}x{c['W']}k{c['k']}s{c['stride']}p{c['padding']}d{c['dilation']}"
            f"{'c' if c['ceil_mode'] else ''}" for c in cfgs]


def _x(c, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal((c["N"], c["C"], c["H"], c["W"])).astype(dtype)


def _close(a, b, tol=1e-12):
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


# ------------------------------------------------------------------------ conv

@pytest.mark.parametrize("c", CONV, ids=_ids(CONV))
def test_im2col_col2im(c):
    x = _x(c)
    (kh, kw), geo = c["k"], (c["stride"], c["padding"], c["dilation"])
    cols = im2col(x, kh, kw, *geo)
    _close(cols, ref.im2col_ref(x, kh, kw, *geo), 0)
    _close(cols, ref.im2col_strided(x, kh, kw, *geo), 0)
    _close(cols, F.unfold(torch.from_numpy(x), (kh, kw), c["dilation"], c["padding"], c["stride"]), 0)

    y = np.random.default_rng(1).standard_normal(cols.shape)
    dx = col2im(y, x.shape, kh, kw, *geo)
    _close(dx, ref.col2im_ref(y, x.shape, kh, kw, *geo))
    _close(dx, F.fold(torch.from_numpy(y), (c["H"], c["W"]), (kh, kw),
                      c["dilation"], c["padding"], c["stride"]))
    # adjoint identity <im2col(x), y> == <x, col2im(y)>
    assert np.isclose(np.vdot(cols, y), np.vdot(x, dx), rtol=1e-12)


@pytest.mark.parametrize("c", CONV[:4], ids=_ids(CONV[:4]))
def test_conv2d_via_im2col(c):
    x = _x(c)
    (kh, kw), geo = c["k"], (c["stride"], c["padding"], c["dilation"])
    w = np.random.default_rng(2).standard_normal((5, c["C"], kh, kw))
    OH = conv_output_size(c["H"], kh, c["stride"][0], c["padding"][0], c["dilation"][0])
    OW = conv_output_size(c["W"], kw, c["stride"][1], c["padding"][1], c["dilation"][1])
    y = (w.reshape(5, -1) @ im2col(x, kh, kw, *geo)).reshape(c["N"], 5, OH, OW)
    _close(y, F.conv2d(torch.from_numpy(x), torch.from_numpy(w), None, *geo))


# ------------------------------------------------------------------------ pool

def _torch_grad(fn, x, g):
    xt = torch.from_numpy(x).requires_grad_()
    out = fn(xt)
    out.backward(torch.from_numpy(g))
    return out, xt.grad


@pytest.mark.parametrize("c", POOL, ids=_ids(POOL))
def test_maxpool(c):
    x = _x(c)
    x[..., ::3, ::2] = np.round(x[..., ::3, ::2])   # some ties -> first index must win
    (kh, kw), geo = c["k"], (c["stride"], c["padding"], c["dilation"], c["ceil_mode"])
    out, idx = maxpool2d_forward(x, kh, kw, *geo)
    assert idx.dtype == np.int64
    rout, ridx = ref.maxpool2d_forward_ref(x, kh, kw, *geo)
    _close(out, rout, 0)
    np.testing.assert_array_equal(idx, ridx)

    g = np.random.default_rng(3).standard_normal(out.shape)
    tout, tdx = _torch_grad(lambda t: F.max_pool2d(t, (kh, kw), *geo), x, g)
    _, tidx = F.max_pool2d(torch.from_numpy(x), (kh, kw), *geo, return_indices=True)
    _close(out, tout, 0)
    np.testing.assert_array_equal(idx, tidx.numpy())
    dx = maxpool2d_backward(g, idx, x.shape)
    _close(dx, ref.maxpool2d_backward_ref(g, idx, x.shape))
    _close(dx, tdx)


def test_maxpool_nan_and_inf():
    x = np.random.default_rng(4).standard_normal((2, 3, 7, 9))
    x[0, 0, 1, 1] = x[0, 0, 2, 2] = np.nan
    x[1, 2] = -np.inf                                  # all -inf plane
    x[1, 1, 3, 3:5] = np.nan
    out, idx = maxpool2d_forward(x, 3, 3, 2, 1, 1, True)
    tout, tidx = F.max_pool2d(torch.from_numpy(x), 3, 2, 1, 1, True, return_indices=True)
    np.testing.assert_array_equal(out, tout.numpy())    # NaN == NaN for assert_array_equal
    np.testing.assert_array_equal(idx, tidx.numpy())
    rout, ridx = ref.maxpool2d_forward_ref(x, 3, 3, 2, 1, 1, True)
    np.testing.assert_array_equal(out, rout)
    np.testing.assert_array_equal(idx, ridx)


@pytest.mark.parametrize("c", POOL, ids=_ids(POOL))
@pytest.mark.parametrize("include_pad,div", [(True, None), (False, None), (True, 5)])
def test_avgpool(c, include_pad, div):
    x = _x(c)
    (kh, kw) = c["k"]
    geo = (c["stride"], c["padding"], c["ceil_mode"], include_pad, div)
    out = avgpool2d_forward(x, kh, kw, *geo)
    _close(out, ref.avgpool2d_forward_ref(x, kh, kw, *geo))
    g = np.random.default_rng(5).standard_normal(out.shape)
    tout, tdx = _torch_grad(lambda t: F.avg_pool2d(t, (kh, kw), *geo), x, g)
    _close(out, tout)
    dx = avgpool2d_backward(g, x.shape, kh, kw, *geo)
    _close(dx, ref.avgpool2d_backward_ref(g, x.shape, kh, kw, *geo))
    _close(dx, tdx)


def test_ceil_mode_overhang():
    # 5 + 2*1 padding, k=2, s=3: the ceil-mode window overhangs the right padding,
    # so count_include_pad counts only the padding, not the overhang.
    x = _x(dict(N=1, C=2, H=5, W=5))
    for include_pad in (True, False):
        out = avgpool2d_forward(x, 2, 2, 3, 1, True, include_pad)
        _close(out, F.avg_pool2d(torch.from_numpy(x), 2, 3, 1, True, include_pad))
    x = _x(dict(N=1, C=2, H=6, W=6))
    out, idx = maxpool2d_forward(x, 3, 3, 2, 1, 1, True)
    tout, tidx = F.max_pool2d(torch.from_numpy(x), 3, 2, 1, 1, True, return_indices=True)
    _close(out, tout, 0)
    np.testing.assert_array_equal(idx, tidx.numpy())


# ------------------------------------------------------------------ misc

def test_output_sizes_match_torch():
    for c in CONV + POOL:
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = c["k"], c["stride"], c["padding"], c["dilation"]
        x = torch.zeros(1, 1, c["H"], c["W"])
        oh, ow = F.conv2d(x, torch.zeros(1, 1, kh, kw), None, c["stride"], c["padding"],
                          c["dilation"]).shape[2:]
        assert conv_output_size(c["H"], kh, sh, ph, dh) == oh
        assert conv_output_size(c["W"], kw, sw, pw, dw) == ow
        oh, ow = F.max_pool2d(x, c["k"], c["stride"], c["padding"], c["dilation"],
                              c["ceil_mode"]).shape[2:]
        assert pool_output_size(c["H"], kh, sh, ph, dh, c["ceil_mode"]) == oh
        assert pool_output_size(c["W"], kw, sw, pw, dw, c["ceil_mode"]) == ow
    # ceil mode drops a last window that would start in the right padding: 3 -> 2
    assert pool_output_size(5, 2, 3, padding=1, ceil_mode=True) == 2
    assert F.max_pool2d(torch.zeros(1, 1, 5, 5), 2, 3, 1, ceil_mode=True).shape[-1] == 2


def test_float32_keeps_dtype():
    c = CONV[0]
    x = _x(c, dtype=np.float32)
    (kh, kw), geo = c["k"], (c["stride"], c["padding"], c["dilation"])
    cols = im2col(x, kh, kw, *geo)
    assert cols.dtype == np.float32
    _close(cols, ref.im2col_ref(x, kh, kw, *geo), 0)
    assert col2im(cols, x.shape, kh, kw, *geo).dtype == np.float32

    out, idx = maxpool2d_forward(x, 3, 3, 2, 1)
    assert out.dtype == np.float32 and idx.dtype == np.int64
    assert maxpool2d_backward(out, idx, x.shape).dtype == np.float32
    a = avgpool2d_forward(x, 3, 3, 2, 1, ceil_mode=True)
    assert a.dtype == np.float32
    np.testing.assert_allclose(a, F.avg_pool2d(torch.from_numpy(x), 3, 2, 1, True).numpy(),
                               rtol=1e-6, atol=1e-6)
    assert avgpool2d_backward(a, x.shape, 3, 3, 2, 1, ceil_mode=True).dtype == np.float32


def test_noncontiguous_input_and_default_stride():
    x = _x(CONV[0]).transpose(0, 1, 3, 2)               # non-contiguous view
    _close(im2col(x, 2, 2, 1, 1, 1), ref.im2col_ref(np.ascontiguousarray(x), 2, 2, 1, 1, 1), 0)
    out, _ = maxpool2d_forward(x, 2, 2)                  # stride defaults to kernel size
    _close(out, F.max_pool2d(torch.from_numpy(np.ascontiguousarray(x)), 2), 0)


def test_bad_arguments_raise():
    x = np.zeros((1, 1, 5, 5))
    with pytest.raises(ValueError):
        im2col(x, 7, 7, 1, 0, 1)
    with pytest.raises(ValueError):
        maxpool2d_forward(x, 3, 3, 1, 2)                 # padding > k // 2
    with pytest.raises(ValueError):
        avgpool2d_forward(x, 3, 3, 1, 1, divisor_override=0)
