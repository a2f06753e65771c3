"""The core ops against PyTorch: forward values, dtypes, requires_grad and
input gradients on the same random inputs (float64 tight, float32 loose),
replaying the op table of `test_gradcheck_core.py`; then PyTorch's dtype
promotion rules and its gradients at ties and kinks."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import tinygrad_dc as tg
from test_gradcheck_core import CASES

TOL = {"float64": dict(rtol=1e-9, atol=1e-10), "float32": dict(rtol=2e-4, atol=2e-5)}


def _list(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _dtype_name(t):
    return t.dtype.name if isinstance(t, tg.Tensor) else str(t.dtype).replace("torch.", "")


def _close(ours, theirs, tol, what):
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), err_msg=what, **tol)


def run_parity(fn, arrays, dtype):
    """fn(m, *tensors) in both libraries: outputs (shape, dtype, values,
    requires_grad) and, with a random upstream gradient, the input grads."""
    ours = [tg.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    outs_o, outs_t = _list(fn(tg, *ours)), _list(fn(torch, *theirs))
    assert len(outs_o) == len(outs_t)
    names = {dtype} | {_dtype_name(t) for t in outs_t}
    tol = TOL["float64"] if names <= {"float64", "int64", "bool"} else TOL["float32"]
    for k, (o, t) in enumerate(zip(outs_o, outs_t)):
        assert o.shape == tuple(t.shape), f"output {k}: shape {o.shape} vs torch {tuple(t.shape)}"
        assert _dtype_name(o) == _dtype_name(t), f"output {k}: {o.dtype} vs torch {t.dtype}"
        assert o.requires_grad == t.requires_grad, f"output {k}: requires_grad differs"
        _close(o, t, tol, f"output {k}")
    pairs = [(o, t) for o, t in zip(outs_o, outs_t) if t.requires_grad]
    rng = np.random.default_rng(7)
    ups = [rng.standard_normal(tuple(t.shape)).astype(_dtype_name(t)) for _, t in pairs]
    torch.autograd.backward([t for _, t in pairs], [torch.tensor(u) for u in ups])
    for k, ((o, _), u) in enumerate(zip(pairs, ups)):
        o.backward(tg.tensor(u), retain_graph=k < len(pairs) - 1)
    for i, (o, t) in enumerate(zip(ours, theirs)):
        if t.grad is None:
            assert o.grad is None or not o.grad.numpy().any(), f"input {i}: torch has no grad"
        else:
            assert o.grad is not None, f"input {i}: no gradient, torch has one"
            assert o.grad.dtype.name == dtype
            _close(o.grad, t.grad, tol, f"gradient of input {i}")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_parity(name, dtype, data):
    draw, _ = CASES[name]
    fn, arrays = draw(data)
    run_parity(fn, arrays, dtype)


# ------------------------------------------------------------------ dtype promotion
def _i(m, values, dtype="int64"):
    return m.tensor(values, dtype=getattr(m, dtype))


PROMOTION = {
    "int+float_scalar": lambda m: _i(m, [1, 2]) + 1.5,
    "int+int_scalar": lambda m: _i(m, [1, 2]) + 3,
    "int32+int_scalar": lambda m: _i(m, [1, 2], "int32") + 3,
    "int32*float_scalar": lambda m: _i(m, [1, 2], "int32") * 0.5,
    "float16+float_scalar": lambda m: m.ones(2, dtype=m.float16) + 1.5,
    "int+float64_0dim": lambda m: _i(m, [1, 2]) + m.tensor(1.5, dtype=m.float64),
    "float32+float64_0dim": lambda m: m.ones(2) + m.tensor(1.5, dtype=m.float64),
    "float64_0dim+float32_0dim": lambda m: m.tensor(1.5, dtype=m.float64) + m.tensor(2.0),
    "int32+int64_0dim": lambda m: _i(m, [1, 2], "int32") + _i(m, 4),
    "int+float16": lambda m: _i(m, [1, 2]) + m.ones(2, dtype=m.float16),
    "int32+int64": lambda m: _i(m, [1, 2], "int32") + _i(m, [3, 4]),
    "uint8+int8": lambda m: _i(m, [1, 2], "uint8") + _i(m, [3, -4], "int8"),
    "float32+float64": lambda m: m.ones(2) * m.ones(2, dtype=m.float64),
    "bool+bool": lambda m: m.tensor([True, False]) + m.tensor([True, True]),
    "bool+int_scalar": lambda m: m.tensor([True, False]) + 1,
    "bool*float_scalar": lambda m: m.tensor([True, False]) * 2.5,
    "bool+int_tensor": lambda m: m.tensor([True, False]) + _i(m, [3, 4], "int32"),
    "int*bool_scalar": lambda m: _i(m, [3, 4]) * True,
    "int/int": lambda m: _i(m, [3, 4]) / _i(m, [2, 8]),
    "int/int_scalar": lambda m: _i(m, [3, 4]) / 2,
    "int_scalar/int": lambda m: 3 / _i(m, [3, 4]),
    "bool/bool": lambda m: m.tensor([True, False]) / m.tensor([True, True]),
    "float16/int": lambda m: m.ones(2, dtype=m.float16) / _i(m, [2, 4]),
    "int/float64_0dim": lambda m: _i(m, [3, 4]) / m.tensor(2.0, dtype=m.float64),
    "int//int": lambda m: _i(m, [7, -7]) // _i(m, [2, 2]),
    "int//float_scalar": lambda m: _i(m, [7, -7]) // 2.0,
    "float%int_scalar": lambda m: m.tensor([7.5, -7.5]) % 2,
    "int**int": lambda m: _i(m, [2, 3]) ** 2,
    "int**float": lambda m: _i(m, [2, 3]) ** 0.5,
    "int_scalar**int": lambda m: 2 ** _i(m, [2, 3]),
    "float_scalar**int": lambda m: 2.0 ** _i(m, [2, 3]),
    "float_0dim**int": lambda m: m.tensor(2.0) ** _i(m, [1, 2]),
    "numpy_float64_scalar": lambda m: m.ones(2) * np.float64(2.0),
    "numpy_int64_scalar_int32": lambda m: _i(m, [1, 2], "int32") * np.int64(2),
    "where_int_float_scalar": lambda m: m.where(m.tensor([True, False]), _i(m, [1, 2]), 0.5),
    "where_scalars": lambda m: m.where(m.tensor([True, False]), 1.0, 0.0),
    "cat_int_float": lambda m: m.cat([_i(m, [1]), m.tensor([2.5])]),
    "stack_int32_int64": lambda m: m.stack([_i(m, [1], "int32"), _i(m, [2])]),
    "maximum_int_float": lambda m: m.maximum(_i(m, [1, 5]), m.tensor([2.5, 3.0])),
    "sum_int32": lambda m: _i(m, [1, 2], "int32").sum(),
    "sum_bool": lambda m: m.tensor([True, True, False]).sum(),
    "sum_uint8_dim": lambda m: _i(m, [[200, 100]], "uint8").sum(1),
    "sum_float16": lambda m: m.ones(3, dtype=m.float16).sum(),
    "cumsum_int32": lambda m: _i(m, [1, 2], "int32").cumsum(0),
    "max_int": lambda m: _i(m, [1, 7, 3]).max(),
    "argmax": lambda m: m.tensor([[1.0, 3.0, 3.0]]).argmax(1),
    "clamp_int_float": lambda m: _i(m, [1, 5]).clamp(min=1.5),
    "clamp_int_int": lambda m: _i(m, [1, 5], "int32").clamp(2, 4),
    "exp_int": lambda m: _i(m, [1, 2]).exp(),
    "sqrt_int": lambda m: _i(m, [1, 4]).sqrt(),
    "abs_int": lambda m: _i(m, [-1, 4]).abs(),
    "neg_int": lambda m: -_i(m, [-1, 4], "int32"),
    "eq": lambda m: m.tensor([1.0, 2.0]) == m.tensor([1.0, 3.0]),
    "lt_scalar": lambda m: m.tensor([1.0, 2.0]) < 1.5,
    "ge_int_float": lambda m: _i(m, [1, 2]) >= m.tensor([1.5, 1.5]),
    "ne_bool": lambda m: m.tensor([True, False]) != True,  # noqa: E712
    "gt_float32_vs_float64_0dim": lambda m: m.tensor([0.1]) > m.tensor(0.1, dtype=m.float64),
    "eq_float32_python_scalar": lambda m: m.tensor([0.1]) == 0.1,
    "masked_fill_int_float": lambda m: _i(m, [1, 2]).masked_fill(m.tensor([True, False]), 3.7),
    "tensor_int_list": lambda m: m.tensor([1, 2]),
    "tensor_float_list": lambda m: m.tensor([1.0, 2]),
    "tensor_bool_list": lambda m: m.tensor([True, False]),
    "tensor_numpy_float64": lambda m: m.tensor(np.array([1.5])),
    "tensor_numpy_int32": lambda m: m.tensor(np.array([1], dtype=np.int32)),
    "tensor_python_float": lambda m: m.tensor(2.5),
    "from_numpy_float64": lambda m: m.from_numpy(np.array([1.5, 2.5])),
    "arange_int": lambda m: m.arange(5),
    "arange_float": lambda m: m.arange(0, 1, 0.25),
    "full_int": lambda m: m.full((2,), 3),
    "full_bool": lambda m: m.full((2,), True),
    "zeros_default": lambda m: m.zeros(2, 3),
    "ones_like_int": lambda m: m.ones_like(_i(m, [1, 2])),
    "linspace": lambda m: m.linspace(0, 1, 5),
    "eye": lambda m: m.eye(2, 3),
}


@pytest.mark.parametrize("name", sorted(PROMOTION))
def test_promotion(name):
    ours, theirs = PROMOTION[name](tg), PROMOTION[name](torch)
    assert ours.dtype.name == _dtype_name(theirs), f"{ours.dtype} vs torch {theirs.dtype}"
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["mean", "var", "norm"])
def test_float_only_reductions_reject_ints(name):
    x = tg.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="int64"):
        getattr(x, name)()
    with pytest.raises(RuntimeError):
        getattr(torch.tensor([1, 2, 3]), name)()


# ------------------------------------------------------------------ ties and kinks
TIES = {
    # amax / amin and max() / min() over everything spread the gradient evenly over ties
    "amax_dim": lambda m, x: x.amax(1),
    "amin_dims": lambda m, x: x.amin((0, 1), keepdim=True),
    "amax_all": lambda m, x: x.amax(),
    "max_all": lambda m, x: x.max(),
    "min_all": lambda m, x: x.min(),
    # max(dim) / min(dim): the gradient goes to the index chosen
    "max_dim": lambda m, x: x.max(1),
    "min_dim_keepdim": lambda m, x: x.min(0, keepdim=True),
    # maximum / minimum split ties in half
    "maximum_ties": lambda m, x: m.maximum(x, m.tensor(3.0, dtype=x.dtype)),
    "minimum_ties": lambda m, x: m.minimum(x, x.flip([1])),
    # clamp passes the gradient at its bounds; relu and abs give 0 at 0
    "clamp_bounds": lambda m, x: x.clamp(1.0, 3.0),
    "relu_zero": lambda m, x: (x - 1).relu(),
    "abs_zero": lambda m, x: (x - 3).abs(),
    "norm_zero": lambda m, x: (x * 0).norm(),
    "norm_dim_zero": lambda m, x: (x - x).norm(dim=1),
    "pow_zero_base": lambda m, x: (x * 0) ** 2.0,
    "pow_zero_exponent": lambda m, x: (x * 0) ** (x * 0),
    "logsumexp_equal": lambda m, x: x.logsumexp(1),
    "sqrt_of_square": lambda m, x: (x * x + 1).sqrt(),
}
_TIED = np.array([[1.0, 3.0, 3.0, 2.0], [3.0, 3.0, 3.0, 0.0], [1.0, 1.0, 2.0, 2.0]])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(TIES))
def test_ties_and_kinks(name, dtype):
    run_parity(TIES[name], [_TIED], dtype)


def test_max_dim_indices_match_torch_on_ties():
    for dim in (0, 1, -1):
        for which in ("max", "min", "argmax", "argmin"):
            o = getattr(tg.tensor(_TIED), which)(dim)
            t = getattr(torch.tensor(_TIED), which)(dim)
            o_idx, t_idx = (o, t) if which.startswith("arg") else (o.indices, t.indices)
            np.testing.assert_array_equal(o_idx.numpy(), t_idx.numpy())
            assert o_idx.dtype == tg.int64
