"""Ops beyond API.md's list that ported scripts use: prod, roll, log2/log10/
exp2 (gradient checks and torch parity) and the rounding family (no
gradient, as in torch; integers stay integers)."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import tinygrad_dc as tg
import utils


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), data=st.data())
def test_prod_gradcheck_and_parity_with_zeros(shape, data):
    dim = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    keepdim = data.draw(st.booleans())
    x = np.random.default_rng(len(shape)).uniform(0.5, 1.5, shape) * \
        np.where(np.random.default_rng(7).uniform(size=shape) < 0.5, 1, -1)
    if x.size > 1:
        x.flat[0] = 0.0  # a zero factor: the gradient is the product of the others
    if dim is None:
        fn_o, fn_t = (lambda t: t.prod()), (lambda t: t.prod())
    else:
        fn_o = fn_t = lambda t: t.prod(dim, keepdim=keepdim)
    utils.check_grad(fn_o, x)
    utils.parity(fn_o, fn_t, x)


def test_prod_of_integers_is_int64():
    x = tg.tensor([[1, 2], [3, 4]], dtype=tg.int32)
    assert x.prod().dtype == tg.int64 and x.prod().item() == 24
    np.testing.assert_array_equal(tg.prod(x, 0).numpy(), [3, 8])


@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), data=st.data())
def test_roll_gradcheck_and_parity(shape, data):
    ndim = len(shape)
    dims = data.draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                               st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                                        unique=True).map(tuple)))
    count = 1 if dims is None or isinstance(dims, int) else len(dims)
    shifts = data.draw(st.lists(st.integers(-7, 7), min_size=count, max_size=count))
    shifts = shifts[0] if count == 1 and not isinstance(dims, tuple) else tuple(shifts)
    x = np.random.default_rng(0).standard_normal(shape)
    fn = lambda t: t.roll(shifts, dims)  # noqa: E731
    utils.check_grad(fn, x)
    utils.parity(fn, fn, x)


@pytest.mark.parametrize("name", ["log2", "log10", "exp2"])
@given(shape=st.lists(st.integers(1, 4), max_size=3))
def test_log_exp_bases(name, shape):
    x = np.random.default_rng(1).uniform(0.2, 3.0, shape)
    fn = lambda t: getattr(t, name)()  # noqa: E731
    utils.check_grad(fn, x)
    utils.parity(fn, fn, x)
    utils.parity(fn, fn, x, dtype=np.float32, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["floor", "ceil", "trunc", "round"])
def test_rounding_matches_torch_and_keeps_integers(name):
    x = np.array([-2.5, -1.5, -0.4, 0.0, 0.5, 1.5, 2.5, 3.7])
    ours, theirs = getattr(tg.tensor(x), name)(), getattr(torch.tensor(x), name)()
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())  # round: half to even
    i = tg.tensor([-3, 0, 4])
    assert getattr(i, name)().dtype == tg.int64
    np.testing.assert_array_equal(getattr(tg, name)(i).numpy(), [-3, 0, 4])


def test_round_decimals_and_no_gradient_through_rounding():
    x = np.array([1.2345, -2.3456])
    np.testing.assert_allclose(tg.tensor(x).round(decimals=2).numpy(),
                               torch.tensor(x).round(decimals=2).numpy())
    w = tg.tensor(x, requires_grad=True)
    (w.floor() * w).sum().backward()  # the floor factor is a constant
    np.testing.assert_array_equal(w.grad.numpy(), np.floor(x))
