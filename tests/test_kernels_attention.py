"""The compiled attention softmax kernels (kernels/cpu/attention.py) against
their NumPy reference (the array-module versions in ops/attention.py)."""
import numpy as np
import pytest

from kernels.cpu import attention_softmax_backward, attention_softmax_forward
from kernels.cpu import attention as kernel_module
from tinygrad_dc.ops import attention as reference


def _scores(shape, seed, dtype):
    return (np.random.default_rng(seed).standard_normal(shape) * 3).astype(dtype)


def _tol(dtype):
    return dict(rtol=1e-12, atol=1e-14) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)


SHAPES = [(1, 1, 1), (2, 3, 5), (3, 5, 3), (1, 4, 4), (2, 1, 7), (1, 7, 1),
          (4, 128, 128)]  # the last one runs the parallel kernels


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_forward_and_backward_match_reference(shape, causal, dtype):
    x = _scores(shape, 0, dtype)
    scale = 0.37
    expected = reference.attention_softmax_forward(np, x, scale, causal)
    probs = attention_softmax_forward(x.copy(), scale, causal)
    assert probs.dtype == dtype and probs.shape == shape
    np.testing.assert_allclose(probs, expected, **_tol(dtype))
    np.testing.assert_allclose(probs.sum(-1), 1, **_tol(dtype))
    if causal:  # key j > i gets exactly 0
        L, S = shape[1:]
        assert not probs[:, ~reference.causal_keep(np, L, S)].any()
    g = _scores(shape, 1, dtype)
    expected_g = reference.attention_softmax_backward(np, probs, g, 1.7, causal)
    got = attention_softmax_backward(probs, g.copy(), 1.7, causal)
    np.testing.assert_allclose(got, expected_g, **_tol(dtype))


def test_forward_is_in_place_and_returns_its_argument():
    x = _scores((2, 3, 4), 0, np.float64)
    out = attention_softmax_forward(x, 1.0)
    assert out is x
    g = _scores((2, 3, 4), 1, np.float64)
    assert attention_softmax_backward(out, g) is g


def test_rows_of_minus_inf_give_zeros_and_zero_gradient():
    x = _scores((2, 3, 4), 0, np.float64)
    x[0, 1] = -np.inf
    x[1, 2, :2] = -np.inf
    expected = reference.attention_softmax_forward(np, x, 1.0)
    probs = attention_softmax_forward(x.copy(), 1.0)
    np.testing.assert_array_equal(probs[0, 1], 0)
    np.testing.assert_array_equal(probs[1, 2, :2], 0)
    np.testing.assert_allclose(probs, expected, rtol=1e-12)
    g = attention_softmax_backward(probs, _scores((2, 3, 4), 1, np.float64))
    np.testing.assert_array_equal(g[0, 1], 0)
    assert np.isfinite(g).all()


def test_large_logits_do_not_overflow():
    x = np.array([[[1000.0, 999.0, -1000.0]]])
    probs = attention_softmax_forward(x.copy(), 1.0)
    np.testing.assert_allclose(probs, reference.attention_softmax_forward(np, x, 1.0))
    assert np.isfinite(probs).all()


def test_nan_spreads_over_its_row_only():
    x = _scores((1, 2, 3), 0, np.float64)
    x[0, 0, 1] = np.nan
    probs = attention_softmax_forward(x, 1.0)
    assert np.isnan(probs[0, 0]).all() and np.isfinite(probs[0, 1]).all()


def test_empty_arrays():
    for shape in [(0, 2, 3), (2, 0, 3), (2, 3, 0)]:
        assert attention_softmax_forward(np.zeros(shape), 1.0).shape == shape
        assert attention_softmax_backward(np.zeros(shape), np.zeros(shape)).shape == shape


def test_serial_and_parallel_agree():
    x = _scores((3, 9, 11), 2, np.float64)
    a, b = x.copy(), x.copy()
    kernel_module._fwd_serial(a, 0.5, True)
    kernel_module._fwd_parallel(b, 0.5, True)
    np.testing.assert_array_equal(a, b)
    g1, g2 = _scores(x.shape, 3, np.float64), None
    g2 = g1.copy()
    kernel_module._bwd_serial(a, g1, 2.0, True)
    kernel_module._bwd_parallel(a, g2, 2.0, True)
    np.testing.assert_array_equal(g1, g2)


def test_bad_arrays_are_refused():
    x = _scores((2, 3, 4), 0, np.float64)
    with pytest.raises(ValueError, match="C-contiguous"):
        attention_softmax_forward(x.transpose(0, 2, 1), 1.0)
    with pytest.raises(ValueError, match="float32/float64"):
        attention_softmax_forward(x.astype(np.float16), 1.0)
    with pytest.raises(ValueError, match=r"\(B, L, S\)"):
        attention_softmax_forward(x[0], 1.0)
    with pytest.raises(ValueError, match="differ"):
        attention_softmax_backward(x, x[:, :2].copy())
