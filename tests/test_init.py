"""nn.init: gains, fans, the distributions' bounds and spreads against
PyTorch's formulas, exact fills against PyTorch, and reproducibility."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import tinygrad_dc as tg
from tinygrad_dc import nn
from tinygrad_dc.nn import init

NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu", "selu",
                  "leaky_relu"]


def param(*shape, dtype=tg.float32):
    return nn.Parameter(tg.zeros(*shape, dtype=dtype))


@pytest.mark.parametrize("name", NONLINEARITIES)
def test_calculate_gain_matches_torch(name):
    assert init.calculate_gain(name) == torch.nn.init.calculate_gain(name)


def test_calculate_gain_leaky_relu_param_and_errors():
    for slope in (0, 0.2, 1, 3.0):
        assert init.calculate_gain("leaky_relu", slope) == \
            torch.nn.init.calculate_gain("leaky_relu", slope)
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")


@given(st.lists(st.integers(1, 5), min_size=2, max_size=5))
def test_fan_in_and_fan_out_match_torch(shape):
    ours = init._calculate_fan_in_and_fan_out(tg.zeros(*shape))
    assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))


def test_fan_needs_two_dims():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(tg.zeros(3))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(tg.zeros(3, 3), mode="fan_avg")


def test_fills_outside_the_graph_on_parameters():
    p = param(3, 4)
    for fn in (lambda t: init.uniform_(t, -1, 1), lambda t: init.normal_(t, 2.0, 0.5),
               lambda t: init.constant_(t, 0.3), init.ones_, init.zeros_, init.xavier_uniform_,
               init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_, init.eye_,
               init.orthogonal_, init.trunc_normal_, lambda t: init.sparse_(t, 0.5)):
        assert fn(p) is p
        assert p.requires_grad and p.is_leaf and p.grad_fn is None and p.dtype is tg.float32
    init.constant_(p, 0.3)
    assert np.allclose(p.numpy(), 0.3)
    init.ones_(p)
    assert np.all(p.numpy() == 1)
    init.zeros_(p)
    assert not p.numpy().any()


def _draw(fn, shape=(200, 300)):
    t = param(*shape, dtype=tg.float64)
    fn(t)
    return t.numpy()


def test_uniform_and_normal_statistics():
    x = _draw(lambda t: init.uniform_(t, -2.0, 3.0))
    assert x.min() >= -2.0 and x.max() <= 3.0
    assert abs(x.mean() - 0.5) < 0.05 and abs(x.std() - 5 / math.sqrt(12)) < 0.02
    x = _draw(lambda t: init.normal_(t, 1.5, 0.25))
    assert abs(x.mean() - 1.5) < 0.01 and abs(x.std() - 0.25) < 0.005


@pytest.mark.parametrize("shape", [(64, 96), (32, 16, 3, 3)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_xavier_bounds_and_std(shape, gain):
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    x = _draw(lambda t: init.xavier_uniform_(t, gain=gain), shape)
    bound = math.sqrt(3.0) * std
    assert np.abs(x).max() <= bound and np.abs(x).max() > 0.95 * bound
    assert abs(x.std() / std - 1) < 0.05
    x = _draw(lambda t: init.xavier_normal_(t, gain=gain), shape)
    assert abs(x.std() / std - 1) < 0.05 and abs(x.mean()) < 0.05 * std


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity,a", [("leaky_relu", 0), ("leaky_relu", math.sqrt(5)),
                                            ("relu", 0), ("tanh", 0)])
def test_kaiming_bounds_and_std(mode, nonlinearity, a):
    shape = (48, 24, 3, 3)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    fan = fan_in if mode == "fan_in" else fan_out
    std = torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    x = _draw(lambda t: init.kaiming_uniform_(t, a=a, mode=mode, nonlinearity=nonlinearity),
              shape)
    bound = math.sqrt(3.0) * std
    assert np.abs(x).max() <= bound and np.abs(x).max() > 0.95 * bound
    assert abs(x.std() / std - 1) < 0.05
    x = _draw(lambda t: init.kaiming_normal_(t, a=a, mode=mode, nonlinearity=nonlinearity),
              shape)
    assert abs(x.std() / std - 1) < 0.05


def test_kaiming_on_empty_tensor_warns():
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(tg.zeros(0, 3))
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_normal_(tg.zeros(3, 0))


def _truncated_moments(mean, std, a, b):
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: (1 + math.erf(z / math.sqrt(2))) / 2  # noqa: E731
    z = cdf(beta) - cdf(alpha)
    m = mean + std * (pdf(alpha) - pdf(beta)) / z
    var = std ** 2 * (1 + (alpha * pdf(alpha) - beta * pdf(beta)) / z
                      - ((pdf(alpha) - pdf(beta)) / z) ** 2)
    return m, math.sqrt(var)


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.5, 2.0, -1.0, 1.0),
                                          (0.0, 1.0, 1.0, 3.0), (0.0, 0.02, -0.04, 0.04)])
def test_trunc_normal_bounds_and_moments(mean, std, a, b):
    x = _draw(lambda t: init.trunc_normal_(t, mean, std, a, b))
    assert x.min() >= a and x.max() <= b
    m, s = _truncated_moments(mean, std, a, b)
    assert abs(x.mean() - m) < 0.02 * (b - a)
    assert abs(x.std() / s - 1) < 0.03


def test_trunc_normal_warns_for_far_mean():
    with pytest.warns(UserWarning, match="more than 2 std"):
        init.trunc_normal_(tg.zeros(10), mean=5.0, std=1.0, a=-1.0, b=1.0)


def test_eye_and_dirac_match_torch():
    for shape in [(3, 5), (4, 2)]:
        np.testing.assert_array_equal(init.eye_(param(*shape)).numpy(),
                                      torch.nn.init.eye_(torch.zeros(shape)).numpy())
    for shape, groups in [((4, 3, 3, 3), 1), ((6, 2, 3, 2), 2), ((4, 2, 5), 1),
                          ((2, 2, 3, 3, 3), 2)]:
        np.testing.assert_array_equal(
            init.dirac_(param(*shape), groups).numpy(),
            torch.nn.init.dirac_(torch.zeros(shape), groups).numpy())
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(tg.zeros(2, 2, 2))
    with pytest.raises(ValueError, match="divisible by groups"):
        init.dirac_(tg.zeros(3, 2, 3, 3), groups=2)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 2, 3)])
def test_orthogonal_is_orthogonal(shape):
    x = init.orthogonal_(param(*shape, dtype=tg.float64), gain=2.0).numpy()
    flat = x.reshape(shape[0], -1)
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(gram, 4.0 * np.eye(gram.shape[0]), atol=1e-12)
    with pytest.raises(ValueError, match="2 or more"):
        init.orthogonal_(tg.zeros(3))


def test_sparse_zeroes_each_column():
    x = init.sparse_(param(10, 7), sparsity=0.25, std=0.5).numpy()
    assert np.all((x == 0).sum(axis=0) == math.ceil(0.25 * 10))
    assert 0.2 < x[x != 0].std() < 0.9


def test_manual_seed_reproduces_initialisation():
    tg.manual_seed(123)
    first = [p.numpy().copy() for p in nn.Linear(5, 4).parameters()]
    first.append(init.trunc_normal_(tg.zeros(20)).numpy().copy())
    first.append(init.orthogonal_(tg.zeros(3, 3)).numpy().copy())
    tg.manual_seed(123)
    second = [p.numpy() for p in nn.Linear(5, 4).parameters()]
    second.append(init.trunc_normal_(tg.zeros(20)).numpy())
    second.append(init.orthogonal_(tg.zeros(3, 3)).numpy())
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    tg.manual_seed(124)
    assert not np.array_equal(nn.Linear(5, 4).weight.numpy(), first[0])
