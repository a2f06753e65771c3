"""`tg.autograd.gradcheck` itself: it passes correct gradients, and names the
input, the worst element and both values when a backward is wrong, in the
element-by-element and in the directional (Chainer-style) modes."""
import re
import warnings

import numpy as np
import pytest

import tinygrad_dc as tg
from tinygrad_dc.autograd import GradcheckError


def leaf(values, dtype=tg.float64):
    return tg.tensor(np.asarray(values, dtype=np.float64), dtype=dtype, requires_grad=True)


def make_mul(wrong_at=None, factor=1.0):
    """x * y as a user Function; the gradient of y is off at flat index
    `wrong_at` (by `factor`) or everywhere when wrong_at == 'all'."""
    class Mul(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            gy = (g * x).numpy().copy()
            if wrong_at == "all":
                gy *= factor
            elif wrong_at is not None:
                gy.reshape(-1)[wrong_at] += factor
            return g * y, tg.tensor(gy)
    return Mul


def test_returns_true_on_correct_gradients():
    x, y = leaf([[0.5, -1.0, 2.0]]), leaf([[1.5], [2.0]])
    assert tg.autograd.gradcheck(lambda a, b: (a * b).tanh(), (x, y)) is True
    assert tg.autograd.gradcheck(make_mul().apply, (x, leaf([[3.0, 1.0, -2.0]])))
    # an output tuple with an integer part: (values, indices)
    assert tg.autograd.gradcheck(lambda a: a.max(1), leaf([[1.0, 3.0], [2.0, 0.5]]))
    assert tg.autograd.gradcheck(lambda a: a.exp(), leaf([1.0, 2.0]), mode="full")


def test_accepts_a_single_tensor_and_passes_other_values_through():
    x = leaf([0.3, 0.7])
    assert tg.autograd.gradcheck(lambda a, k: a ** k, (x, 3))
    assert tg.autograd.gradcheck(lambda a: a.sin(), x)


def test_leaves_inputs_and_their_grads_alone():
    x = leaf([0.3, 0.7])
    x.grad = tg.tensor([5.0, 6.0], dtype=tg.float64)
    before = x.numpy().copy()
    tg.autograd.gradcheck(lambda a: a * a, (x,))
    np.testing.assert_array_equal(x.numpy(), before)
    assert x.grad.tolist() == [5.0, 6.0]


def test_wrong_backward_names_input_index_element_and_values():
    x, y = leaf([[0.5, -1.0, 2.0], [1.0, 3.0, -0.5]]), leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    with pytest.raises(GradcheckError) as info:
        tg.autograd.gradcheck(make_mul(wrong_at=4, factor=0.5).apply, (x, y))
    msg = str(info.value)
    assert "input 1" in msg and "input 0" not in msg
    assert "(1, 1)" in msg  # flat index 4 of a 2x3 input
    numbers = [float(v) for v in re.findall(r"(?:analytic|numerical) (-?[\d.e+-]+)", msg)]
    assert len(numbers) == 2 and abs(numbers[0] - numbers[1]) > 0.1, msg
    assert "1 of 6" in msg and "atol" in msg


def test_wrong_gradient_of_first_input_is_reported_as_input_0():
    class BadSquare(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * x  # should be 2 * g * x

    with pytest.raises(GradcheckError, match=r"input 0.*worst at index \(2,\)"):
        tg.autograd.gradcheck(BadSquare.apply, (leaf([0.1, -0.2, 3.0]),))


def test_raise_exception_false_returns_false():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    assert tg.autograd.gradcheck(make_mul(wrong_at=0).apply, (x, y), raise_exception=False) is False
    assert tg.autograd.gradcheck(make_mul().apply, (x, y), raise_exception=False) is True


def test_warns_on_float32_inputs():
    x = leaf([1.0, 2.0], dtype=tg.float32)
    with pytest.warns(RuntimeWarning, match="input 0 is float32"):
        assert tg.autograd.gradcheck(lambda a: a * 3, (x,), eps=1e-2, atol=1e-2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tg.autograd.gradcheck(lambda a: a * 3, (leaf([1.0]),))


def test_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="no input requires grad"):
        tg.autograd.gradcheck(lambda a: a * 2, (tg.ones(2, dtype=tg.float64),))
    with pytest.raises(ValueError, match="mode"):
        tg.autograd.gradcheck(lambda a: a, leaf([1.0]), mode="fast")


def _counting(fn):
    calls = []

    def wrapped(*args):
        calls.append(1)
        return fn(*args)
    return wrapped, calls


def test_directional_mode_on_a_large_input():
    rng = np.random.default_rng(0)
    x, w = leaf(rng.standard_normal((100, 60))), leaf(rng.standard_normal((60, 80)) / 8)
    fn, calls = _counting(lambda a, b: (a @ b).tanh())
    assert tg.autograd.gradcheck(fn, (x, w))  # both > max_full_elements: directional
    assert len(calls) == 1 + 2 * 2  # one analytic pass, two evaluations per input
    fn, calls = _counting(lambda a: a.sin())
    assert tg.autograd.gradcheck(fn, leaf([1.0, 2.0]), mode="directional")
    assert len(calls) == 3


def test_directional_mode_detects_a_wrong_gradient():
    rng = np.random.default_rng(1)
    x, y = leaf(rng.standard_normal((80, 80))), leaf(rng.uniform(1, 2, (80, 80)))
    with pytest.raises(GradcheckError, match=r"input 1 \(shape \(80, 80\)\).*direction.*analytic"):
        tg.autograd.gradcheck(make_mul(wrong_at="all", factor=1.05).apply, (x, y))
    with pytest.raises(GradcheckError, match="input 1"):
        tg.autograd.gradcheck(make_mul(wrong_at="all", factor=0.0).apply,
                              (leaf([1.0, 2.0]), leaf([3.0, 4.0])), mode="directional")
