"""nn.functional linear, embedding, one_hot and dropout: finite-difference
gradients, parity with torch.nn.functional, reproducibility and errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, strategies as st

import tinygrad_dc as tg
import tinygrad_dc.nn.functional as F
import utils
from kernels.cpu import embedding_backward


# ---------------------------------------------------------------- linear
@given(lead=utils.shapes(min_dims=0, max_dims=3), n_in=st.integers(1, 5),
       n_out=st.integers(1, 5), bias=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_linear(lead, n_in, n_out, bias, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(lead + (n_in,)), rng.standard_normal((n_out, n_in))]
    if bias:
        arrays.append(rng.standard_normal(n_out))
    utils.check_grad(F.linear, *arrays)
    utils.parity(F.linear, TF.linear, *arrays)
    utils.parity(F.linear, TF.linear, *arrays, dtype=np.float32)
    assert F.linear(*[tg.tensor(a, dtype=tg.float32) for a in arrays]).dtype == tg.float32


def test_linear_one_dim_weight_and_partial_grads():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 4)), rng.standard_normal(4)
    utils.parity(F.linear, TF.linear, x, w)
    utils.parity(F.linear, TF.linear, x[0], w)
    # only the weight needs a gradient (a frozen input)
    xt, wt = tg.tensor(x), tg.tensor(rng.standard_normal((2, 4)), requires_grad=True)
    F.linear(xt, wt).sum().backward()
    np.testing.assert_allclose(wt.grad.numpy(), np.broadcast_to(x.sum(0), (2, 4)))
    assert xt.grad is None


def test_linear_errors():
    x, w = tg.randn(2, 3), tg.randn(4, 3)
    with pytest.raises(tg.ShapeError, match=r"\(2, 5\).*\(4, 3\)"):
        F.linear(tg.randn(2, 5), w)
    with pytest.raises(tg.ShapeError, match=r"bias shape \(3,\).*\(4,\)"):
        F.linear(x, w, tg.randn(3))
    with pytest.raises(tg.ShapeError, match="2-D"):
        F.linear(x, tg.randn(1, 4, 3))
    with pytest.raises(tg.ShapeError, match="2-D"):
        F.linear(x, tg.randn(3), tg.randn(()))
    with pytest.raises(TypeError, match="input float64, weight float32"):
        F.linear(x.double(), w)
    with pytest.raises(TypeError, match="Tensor"):
        F.linear(np.ones((2, 3)), w)


# ---------------------------------------------------------------- embedding
@given(idx_shape=utils.shapes(min_dims=1, max_dims=3), num=st.integers(1, 6),
       dim=st.integers(1, 4), padding_idx=st.sampled_from([None, 0, -1]),
       by_freq=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_embedding(idx_shape, num, dim, padding_idx, by_freq, seed):
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, num, idx_shape)  # small tables: repeated indices
    weight = rng.standard_normal((num, dim))
    kw = dict(padding_idx=padding_idx, scale_grad_by_freq=by_freq)
    utils.parity(lambda w: F.embedding(tg.tensor(idx), w, **kw),
                 lambda w: TF.embedding(torch.tensor(idx), w, **kw), weight)
    utils.parity(lambda w: F.embedding(tg.tensor(idx), w, **kw),
                 lambda w: TF.embedding(torch.tensor(idx), w, **kw), weight, dtype=np.float32)
    if padding_idx is None:  # the padding row's gradient is zero by design, not by calculus
        utils.check_grad(lambda w: F.embedding(tg.tensor(idx), w), weight)


def test_embedding_int32_indices_and_padding_row():
    w = tg.tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    idx = tg.tensor(np.array([[1, 3, 1], [0, 1, 3]], dtype=np.int32))
    out = F.embedding(idx, w, padding_idx=3)
    assert out.shape == (2, 3, 3)
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[:, 0], [1, 3, 0, 0])


def test_embedding_max_norm_renormalises_in_place():
    rng = np.random.default_rng(1)
    weight = rng.standard_normal((5, 4)) * 3
    idx = np.array([[0, 2], [2, 4]])
    ours, theirs = tg.tensor(weight, requires_grad=True), torch.tensor(weight, requires_grad=True)
    out_o = F.embedding(tg.tensor(idx), ours, max_norm=1.5, norm_type=3.0)
    out_t = TF.embedding(torch.tensor(idx), theirs, max_norm=1.5, norm_type=3.0)
    utils.assert_close(out_o, out_t)
    utils.assert_close(ours, theirs)  # the weight itself changed, rows 1 and 3 untouched
    np.testing.assert_array_equal(ours.numpy()[[1, 3]], weight[[1, 3]])
    out_o.sum().backward()
    out_t.sum().backward()
    utils.assert_close(ours.grad, theirs.grad)


def test_embedding_kernel_against_add_at():
    rng = np.random.default_rng(2)
    idx = rng.integers(0, 7, 50)
    g = rng.standard_normal((50, 3)).astype(np.float32)
    expected = np.zeros((7, 3), np.float32)
    np.add.at(expected, idx, g)
    np.testing.assert_allclose(embedding_backward(idx, g, 7), expected, rtol=1e-6)
    expected[5] = 0
    out = embedding_backward(idx, g, 7, padding_idx=5)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    with pytest.raises(ValueError, match="grad shape"):
        embedding_backward(idx, g[:3], 7)


def test_embedding_errors():
    w = tg.randn(5, 3)
    with pytest.raises(IndexError, match=r"index 5 is out of range.*\(5, 3\)"):
        F.embedding(tg.tensor([1, 5]), w)
    with pytest.raises(IndexError, match="index -1"):
        F.embedding(tg.tensor([-1]), w)
    with pytest.raises(TypeError, match="int64.*float32"):
        F.embedding(tg.tensor([1.0]), w)
    with pytest.raises(ValueError, match="padding_idx"):
        F.embedding(tg.tensor([1]), w, padding_idx=5)
    with pytest.raises(tg.ShapeError, match="2-D"):
        F.embedding(tg.tensor([1]), tg.randn(5))
    with pytest.raises(NotImplementedError, match="sparse"):
        F.embedding(tg.tensor([1]), w, sparse=True)


# ---------------------------------------------------------------- one_hot
def test_one_hot():
    idx = np.array([[0, 2], [3, 1]])
    for n in (-1, 4, 6):
        ours = F.one_hot(tg.tensor(idx), n)
        theirs = TF.one_hot(torch.tensor(idx), n)
        assert ours.dtype == tg.int64 and ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert F.one_hot(tg.tensor(np.zeros(0, dtype=np.int64)), 3).shape == (0, 3)
    assert F.one_hot(tg.tensor(2), 3).tolist() == [0, 0, 1]


def test_one_hot_errors():
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(tg.tensor([0, 3]), 3)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(tg.tensor([-1, 1]))
    with pytest.raises(RuntimeError, match="empty"):
        F.one_hot(tg.tensor(np.zeros(0, dtype=np.int64)))
    with pytest.raises(TypeError, match="int64"):
        F.one_hot(tg.tensor(np.array([1], dtype=np.int32)))


# ---------------------------------------------------------------- dropout
def test_dropout_reproducible_under_manual_seed():
    x = tg.randn(40, 50)
    tg.manual_seed(123)
    a = F.dropout(x, 0.3)
    tg.manual_seed(123)
    b = F.dropout(x, 0.3)
    c = F.dropout(x, 0.3)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(b.numpy(), c.numpy())


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_dropout_statistics_and_gradient(dtype):
    tg.manual_seed(0)
    p = 0.3
    x = tg.tensor(np.random.default_rng(0).uniform(1, 2, (200, 100)), dtype=dtype,
                  requires_grad=True)
    y = F.dropout(x, p)
    assert y.dtype == dtype
    kept = y.numpy() != 0
    assert abs(kept.mean() - (1 - p)) < 0.01
    np.testing.assert_allclose(y.numpy()[kept], x.numpy()[kept] / (1 - p), rtol=1e-6)
    y.backward(tg.ones_like(y))
    np.testing.assert_allclose(x.grad.numpy(), kept / (1 - p), rtol=1e-6)


def test_dropout_gradcheck_with_fixed_mask():
    def fn(t):
        tg.manual_seed(7)  # the same mask on every call
        return F.dropout(t, 0.4)
    utils.check_grad(fn, utils.arrays((4, 5), seed=1))


def test_dropout_identity_and_extremes():
    x = tg.randn(3, 4, requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    y = F.dropout(x, 1.0)
    assert np.all(y.numpy() == 0) and np.all(np.isfinite(y.numpy()))
    y.sum().backward()
    assert np.all(x.grad.numpy() == 0)


def test_dropout_inplace():
    tg.manual_seed(3)
    a = tg.randn(6, 7, requires_grad=True)
    b = a * 1.0
    out = F.dropout(b, 0.5, inplace=True)
    assert out is b
    assert np.any(b.numpy() == 0)
    b.backward(tg.ones_like(b))
    np.testing.assert_allclose(a.grad.numpy(), (b.numpy() != 0) * 2.0)
    with pytest.raises(RuntimeError, match="leaf"):
        F.dropout(tg.randn(3, requires_grad=True), 0.5, inplace=True)
    plain = tg.randn(50)
    before = plain.numpy().copy()
    F.dropout(plain, 0.5, inplace=True)
    assert np.any(plain.numpy() == 0) and np.any(plain.numpy() == before * 2)


@pytest.mark.parametrize("fn,shape,channel_dims", [
    (F.dropout2d, (4, 6, 3, 5), 2), (F.dropout1d, (4, 6, 5), 2), (F.dropout1d, (6, 5), 1),
    (F.dropout3d, (4, 6, 2, 3, 2), 2), (F.dropout3d, (6, 2, 3, 2), 1)])
def test_channel_dropout_zeroes_whole_channels(fn, shape, channel_dims):
    tg.manual_seed(5)
    x = tg.tensor(np.random.default_rng(0).uniform(1, 2, shape), requires_grad=True)
    y = fn(x, 0.5)
    planes = y.numpy().reshape(shape[:channel_dims] + (-1,))
    zero = (planes == 0).all(axis=-1)
    assert zero.any() and (~zero).any()
    assert ((planes != 0).all(axis=-1) | zero).all()  # each plane all kept or all dropped
    y.backward(tg.ones_like(y))
    np.testing.assert_allclose(x.grad.numpy(), (y.numpy() != 0) * 2.0)


def test_dropout2d_three_dims_warns_like_torch():
    with pytest.warns(UserWarning, match=r"\(N, C, L\)"):
        F.dropout2d(tg.randn(2, 3, 4))


def test_dropout_errors():
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        F.dropout(tg.randn(3), 1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout2d(tg.randn(1, 2, 3, 3), -0.1)
    with pytest.raises(TypeError, match="floating point"):
        F.dropout(tg.tensor([1, 2]), 0.5)
    with pytest.raises(tg.ShapeError, match=r"\(2, 3, 4, 5\)"):
        F.dropout1d(tg.randn(2, 3, 4, 5))
