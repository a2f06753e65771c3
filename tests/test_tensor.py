"""Tensor construction, conversion and housekeeping against PyTorch:
factories and their default dtypes, seeding, numpy/item/tolist/size, dtype
conversions, repr, setitem, and the errors raised for bad shapes, dtypes
and devices."""
import numpy as np
import pytest
import torch

import tinygrad_dc as tg
from tinygrad_dc.backend.cpu import CPUBackend


def _name(dtype):
    return dtype.name if isinstance(dtype, tg.dtype) else str(dtype).replace("torch.", "")


def assert_like_torch(ours, theirs, values=True):
    assert ours.shape == tuple(theirs.shape)
    assert _name(ours.dtype) == _name(theirs.dtype), f"{ours.dtype} vs torch {theirs.dtype}"
    assert ours.requires_grad == theirs.requires_grad
    if values:
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------ factories
FACTORIES = {
    "tensor_float": lambda m: m.tensor([[1.0, 2.0]]),
    "tensor_int": lambda m: m.tensor([1, 2]),
    "tensor_bool": lambda m: m.tensor([True]),
    "tensor_scalar": lambda m: m.tensor(3),
    "tensor_nested_mixed": lambda m: m.tensor([[1, 2.5], [3, 4]]),
    "tensor_dtype": lambda m: m.tensor([1, 2], dtype=m.float64, requires_grad=True),
    "tensor_numpy_float32": lambda m: m.tensor(np.ones(2, np.float32)),
    "tensor_numpy_int8": lambda m: m.tensor(np.ones(2, np.int8)),
    "tensor_device_kw": lambda m: m.tensor([1.0], device="cpu"),
    "zeros": lambda m: m.zeros(2, 3),
    "zeros_tuple_dtype": lambda m: m.zeros((2, 3), dtype=m.int32),
    "zeros_grad": lambda m: m.zeros(2, requires_grad=True),
    "ones": lambda m: m.ones(3, dtype=m.float16),
    "ones_scalar": lambda m: m.ones(()),
    "full_float": lambda m: m.full((2, 2), 1.5),
    "full_int": lambda m: m.full((2,), 7),
    "full_bool": lambda m: m.full((1,), False),
    "full_dtype": lambda m: m.full((2,), 2, dtype=m.float64, requires_grad=True),
    "empty_shape": lambda m: m.empty(2, 3).zero_(),
    "arange_stop": lambda m: m.arange(5),
    "arange_start_stop_step": lambda m: m.arange(1, 10, 3),
    "arange_float": lambda m: m.arange(0, 1, 0.1),
    "arange_negative_step": lambda m: m.arange(5, 0, -1.5),
    "arange_dtype": lambda m: m.arange(4, dtype=m.float64),
    "linspace": lambda m: m.linspace(-1, 1, 7),
    "linspace_dtype": lambda m: m.linspace(0, 10, 5, dtype=m.float64),
    "linspace_one": lambda m: m.linspace(2, 3, 1),
    "eye": lambda m: m.eye(3),
    "eye_rect": lambda m: m.eye(2, 4, dtype=m.int64),
    "zeros_like": lambda m: m.zeros_like(m.ones(2, 3, dtype=m.int32)),
    "zeros_like_dtype": lambda m: m.zeros_like(m.ones(2), dtype=m.float64, requires_grad=True),
    "ones_like": lambda m: m.ones_like(m.tensor([1.5], dtype=m.float64)),
    "from_numpy": lambda m: m.from_numpy(np.arange(6, dtype=np.int32).reshape(2, 3)),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_factories_match_torch(name):
    assert_like_torch(FACTORIES[name](tg), FACTORIES[name](torch))


RANDOM_FACTORIES = {
    "rand": lambda m: m.rand(2, 3),
    "rand_tuple": lambda m: m.rand((4,), dtype=m.float64),
    "randn": lambda m: m.randn(3, 2, requires_grad=True),
    "randn_dtype": lambda m: m.randn(5, dtype=m.float16),
    "randint": lambda m: m.randint(0, 5, (3, 4)),
    "randint_high_only": lambda m: m.randint(7, (5,)),
    "randint_dtype": lambda m: m.randint(-3, 3, (4,), dtype=m.int32),
    "randn_like": lambda m: m.randn_like(m.ones(2, dtype=m.float64)),
    "rand_like": lambda m: m.rand_like(m.ones(3, 2)),
    "randperm": lambda m: m.randperm(6),
}


@pytest.mark.parametrize("name", sorted(RANDOM_FACTORIES))
def test_random_factories_shape_dtype_and_range(name):
    ours, theirs = RANDOM_FACTORIES[name](tg), RANDOM_FACTORIES[name](torch)
    assert_like_torch(ours, theirs, values=False)
    v = ours.numpy()
    if name.startswith("rand") and not name.startswith(("randn", "randint", "randperm")):
        assert ((v >= 0) & (v < 1)).all()
    if name == "randint":
        assert ((v >= 0) & (v < 5)).all() and len(np.unique(v)) > 1
    if name == "randperm":
        assert sorted(v.tolist()) == list(range(6))


def test_random_distributions_look_right():
    tg.manual_seed(0)
    n = tg.randn(20000).numpy()
    u = tg.rand(20000).numpy()
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1) < 0.03
    assert abs(u.mean() - 0.5) < 0.01 and u.min() >= 0 and u.max() < 1
    x = tg.empty(20000).normal_(2.0, 0.5).numpy()
    assert abs(x.mean() - 2) < 0.02 and abs(x.std() - 0.5) < 0.02
    y = tg.empty(20000).uniform_(-3, -1).numpy()
    assert y.min() >= -3 and y.max() < -1


def test_random_factories_reject_integer_dtypes():
    for make in (lambda: tg.rand(2, dtype=tg.int64), lambda: tg.randn(2, dtype=tg.int32)):
        with pytest.raises(TypeError, match="floating point"):
            make()


def test_manual_seed_makes_draws_reproducible():
    def draws():
        return [tg.rand(3).numpy(), tg.randn(2, 2).numpy(), tg.randint(0, 100, (5,)).numpy(),
                tg.randperm(8).numpy(), tg.zeros(4).uniform_(-1, 1).numpy(),
                tg.zeros(4).normal_().numpy()]
    tg.manual_seed(123)
    first = draws()
    tg.manual_seed(123)
    second = draws()
    tg.manual_seed(124)
    third = draws()
    for a, b, c in zip(first, second, third):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
    assert tg.initial_seed() == 124


# ------------------------------------------------------------------ conversions
def test_numpy_item_tolist():
    x = tg.tensor([[1.5, 2.0], [3.0, 4.0]])
    a = x.numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    a[0, 0] = 9.0  # numpy() shares memory, as in PyTorch
    assert x[0, 0].item() == 9.0
    assert x.tolist() == [[9.0, 2.0], [3.0, 4.0]]
    assert tg.tensor(2.5).tolist() == 2.5
    assert type(tg.tensor([7]).item()) is int and type(tg.tensor(True).item()) is bool
    assert type(tg.tensor(1.5, dtype=tg.float64).item()) is float
    with pytest.raises(RuntimeError, match="6 elements"):
        tg.ones(2, 3).item()
    assert float(tg.tensor([2.5])) == 2.5 and int(tg.tensor(3)) == 3
    assert np.asarray(tg.tensor([1, 2])).tolist() == [1, 2]


def test_from_numpy_shares_and_tensor_copies():
    a = np.zeros(3)
    shared, copied = tg.from_numpy(a), tg.tensor(a)
    a[0] = 5.0
    assert shared[0].item() == 5.0 and copied[0].item() == 0.0
    assert shared.dtype == tg.float64
    with pytest.raises(TypeError, match="numpy.ndarray"):
        tg.from_numpy([1, 2])


def test_size_numel_dim_shape():
    x = tg.zeros(2, 3, 4)
    assert x.size() == (2, 3, 4) and x.shape == (2, 3, 4) and isinstance(x.shape, tuple)
    assert x.size(1) == 3 and x.size(-1) == 4
    assert x.numel() == 24 and x.dim() == 3 and x.ndim == 3 and len(x) == 2
    assert tg.tensor(1.0).dim() == 0 and tg.tensor(1.0).numel() == 1
    with pytest.raises(IndexError, match=r"\[-3, 2\].*3"):
        x.size(3)


@pytest.mark.parametrize("method, dtype", [("float", "float32"), ("double", "float64"),
                                           ("half", "float16"), ("long", "int64"),
                                           ("int", "int32"), ("bool", "bool")])
def test_dtype_conversion_methods(method, dtype):
    values = [[-1.5, 0.0], [2.7, 3.0]]
    ours = getattr(tg.tensor(values), method)()
    theirs = getattr(torch.tensor(values), method)()
    assert_like_torch(ours, theirs)


def test_to():
    x = tg.tensor([1.5, -2.5], requires_grad=True)
    assert x.to(tg.float32) is x and x.to("cpu") is x and x.float() is x
    y = x.to(tg.float64)
    assert y.dtype == tg.float64 and y.requires_grad and y.grad_fn is not None
    assert x.to("float64").dtype == tg.float64 and x.to(np.float16).dtype == tg.float16
    assert x.to(dtype=tg.int64).tolist() == [1, -2]
    assert x.to("cpu", tg.float64).dtype == tg.float64
    assert x.to(tg.tensor([1], dtype=tg.int32)).dtype == tg.int32
    assert x.cpu() is x and x.device == "cpu" and x.device.type == "cpu"
    assert x.detach().long().dtype == tg.int64
    (y * 2).sum().backward()
    assert x.grad.dtype == tg.float32 and x.grad.tolist() == [2.0, 2.0]
    with pytest.raises(TypeError, match="unexpected keyword"):
        x.to(devic="cpu")


def test_clone_and_contiguous():
    x = tg.arange(6.0).reshape(2, 3)
    c = x.clone()
    c[0, 0] = 100.0
    assert x[0, 0].item() == 0.0
    assert x.contiguous() is x
    t = x.T
    assert not t.is_contiguous() and t.contiguous().is_contiguous()
    assert t.contiguous().tolist() == t.tolist()


REPRS = {
    "float": lambda m: m.tensor([1.0, 2.5]),
    "whole_floats": lambda m: m.tensor([[1.0, -2.0], [3.0, 4.0]]),
    "int": lambda m: m.tensor([1, -20]),
    "bool": lambda m: m.tensor([True, False]),
    "all_true": lambda m: m.tensor([True]),
    "scalar": lambda m: m.tensor(3.25),
    "float64": lambda m: m.tensor([1.0, 2.0], dtype=m.float64),
    "int32": lambda m: m.tensor([1, 2], dtype=m.int32),
    "float16": lambda m: m.tensor([0.5], dtype=m.float16),
    "requires_grad": lambda m: m.tensor([1.0, 2.0], requires_grad=True),
    "small_and_large": lambda m: m.tensor([1e-5, 2.0]),
    "nan_inf": lambda m: m.tensor([1.5, float("nan"), float("inf")]),
    "empty": lambda m: m.zeros(0),
    "empty_2d": lambda m: m.zeros(2, 0),
    "empty_int": lambda m: m.zeros(0, dtype=m.int64),
}


@pytest.mark.parametrize("name", sorted(REPRS))
def test_repr_matches_torch(name):
    ours = repr(REPRS[name](tg)).replace("tinygrad_dc.", "torch.")
    assert ours == repr(REPRS[name](torch))


def test_repr_of_a_result_names_its_grad_fn():
    y = tg.tensor([1.0], requires_grad=True) * 2
    assert repr(y) == "tensor([2.], grad_fn=<MulBackward>)"


# ------------------------------------------------------------------ setitem
SETITEMS = {
    "int": (lambda m: 1, 7.0),
    "negative_int": (lambda m: -1, 7.0),
    "slice_row": (lambda m: (slice(1, None), 0), -1.0),
    "broadcast_row": (lambda m: slice(None), lambda m: m.tensor([1.0, 2.0, 3.0, 4.0])),
    "bool_mask": (lambda m: m.arange(12).reshape(3, 4) % 3 == 0, 0.5),
    "index_tensor": (lambda m: m.tensor([0, 2]), lambda m: m.tensor([[9.0], [8.0]])),
    "two_index_tensors": (lambda m: (m.tensor([0, 1]), m.tensor([3, 3])), 5.0),
    "list_index": (lambda m: [2, 0], lambda m: m.zeros(4)),
    "ellipsis_none": (lambda m: (Ellipsis, 2), lambda m: m.tensor([1, 2, 3])),  # int value cast
    "float64_value": (lambda m: (0, 0), lambda m: m.tensor(2.25, dtype=m.float64)),
}


@pytest.mark.parametrize("name", sorted(SETITEMS))
def test_setitem_matches_torch(name):
    key, value = SETITEMS[name]
    outs = []
    for m in (tg, torch):
        x = m.arange(12, dtype=m.float32).reshape(3, 4)
        x[key(m)] = value(m) if callable(value) else value
        outs.append(x)
    assert_like_torch(*outs)


def test_setitem_on_a_view_writes_through():
    x = tg.zeros(2, 3)
    row = x[1]
    row[1:] = 4.0
    assert x.tolist() == [[0.0, 0.0, 0.0], [0.0, 4.0, 4.0]]


def test_zero_dim_results_are_arrays_that_support_inplace():
    x = tg.arange(3.0)
    for t in (x[0], x.sum(), x.mean(), x.max(), x @ x, x.norm(), x.var(), tg.tensor(1.0) * 2,
              x.argmax(), x.sum() == 3):
        assert isinstance(t.numpy(), np.ndarray) and t.shape == ()
    s = x.sum()
    s += 1
    s.mul_(2)
    assert s.item() == 8.0
    first = x[0]
    first.add_(5)  # a 0-d view: writes through, as in PyTorch
    assert x.tolist() == [5.0, 1.0, 2.0]
    w = tg.tensor(2.0, requires_grad=True)
    (w * w).backward()
    w.grad.zero_()
    assert isinstance(w.grad.numpy(), np.ndarray) and w.grad.item() == 0.0


def test_views_share_memory_with_their_base():
    x = tg.zeros(2, 3)
    x.view(-1)[4] = 1.0
    x.T[0].fill_(7.0)
    x.unsqueeze(0).squeeze(0)[1, 2].add_(3)
    assert x.tolist() == [[7.0, 0.0, 0.0], [7.0, 1.0, 3.0]]


def test_setitem_bumps_version():
    x = tg.zeros(3)
    v = x._version
    x[0] = 1.0
    assert x._version == v + 1


# ------------------------------------------------------------------ errors
SHAPE_ERRORS = {
    "matmul": (lambda: tg.ones(2, 3) @ tg.ones(4, 5), ["(2, 3)", "(4, 5)"]),
    "matmul_batch": (lambda: tg.ones(2, 2, 3) @ tg.ones(3, 3, 5), ["(2, 2, 3)", "(3, 3, 5)"]),
    "matmul_0d": (lambda: tg.ones(2) @ tg.tensor(1.0), ["(2,)", "()"]),
    "broadcast_add": (lambda: tg.ones(2, 3) + tg.ones(4), ["(2, 3)", "(4,)"]),
    "broadcast_mul": (lambda: tg.ones(3) * tg.ones(2, 2), ["(3,)", "(2, 2)"]),
    "broadcast_compare": (lambda: tg.ones(3) < tg.ones(2), ["(3,)", "(2,)"]),
    "broadcast_maximum": (lambda: tg.maximum(tg.ones(3), tg.ones(2)), ["(3,)", "(2,)"]),
    "broadcast_where": (lambda: tg.where(tg.ones(3) > 0, tg.ones(2), 0.0), ["(3,)", "(2,)"]),
    "reshape": (lambda: tg.ones(2, 3).reshape(4, 2), ["[4, 2]", "6"]),
    "view_two_unknowns": (lambda: tg.ones(2, 3).view(-1, -1), ["[-1, -1]", "6"]),
    "cat": (lambda: tg.cat([tg.ones(2, 3), tg.ones(3, 4)], dim=1), ["(2, 3)", "(3, 4)"]),
    "cat_ndim": (lambda: tg.cat([tg.ones(2, 3), tg.ones(3)]), ["(2, 3)", "(3,)"]),
    "stack": (lambda: tg.stack([tg.ones(2), tg.ones(3)]), ["(2,)", "(3,)"]),
    "expand": (lambda: tg.ones(2, 3).expand(4, 3), ["(2, 3)", "[4, 3]"]),
    "permute": (lambda: tg.ones(2, 3).permute(0), ["(2, 3)"]),
    "split_sections": (lambda: tg.ones(5).split([2, 2]), ["[2, 2]", "5"]),
    "gather_ndim": (lambda: tg.ones(2, 3).gather(1, tg.zeros(2, dtype=tg.int64)),
                    ["(2,)", "(2, 3)"]),
    "setitem": (lambda: tg.ones(3).__setitem__(slice(None), tg.ones(2)), ["(2,)", "(3,)"]),
    "inplace_result": (lambda: tg.ones(3).add_(tg.ones(2, 3)), ["(2, 3)", "(3,)"]),
    "copy_": (lambda: tg.ones(3).copy_(tg.ones(4)), ["(4,)", "(3,)"]),
    "masked_fill_value": (lambda: tg.ones(2).masked_fill(tg.ones(2) > 0, tg.ones(2)), ["(2,)"]),
    "tril_1d": (lambda: tg.ones(3).tril(), ["(3,)"]),
    "expand_leading_minus_one": (lambda: tg.ones(2).expand(-1, 2), ["[-1, 2]", "(2,)"]),
}


@pytest.mark.parametrize("name", sorted(SHAPE_ERRORS))
def test_shape_errors_name_the_shapes(name):
    fn, parts = SHAPE_ERRORS[name]
    with pytest.raises(tg.ShapeError) as info:
        fn()
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, ValueError)
    for p in parts:
        assert p in str(info.value), f"{p!r} not in {str(info.value)!r}"


def test_dim_errors():
    with pytest.raises(IndexError, match=r"range.*\[-2, 1\].*5"):
        tg.ones(2, 3).sum(5)
    with pytest.raises(IndexError):
        tg.ones(2, 3).softmax(2)
    with pytest.raises(RuntimeError, match="multiple times"):
        tg.ones(2, 3).sum((0, -2))


def test_dtype_errors():
    with pytest.raises(TypeError, match="float128"):
        tg.zeros(2, dtype="float128")
    with pytest.raises(TypeError, match="complex128.*supported"):
        tg.tensor(np.array([1j]))
    with pytest.raises(TypeError, match="unsupported dtype"):
        tg.tensor(["a", "b"])
    with pytest.raises(ValueError, match="ragged"):
        tg.tensor([[1, 2], [3]])
    with pytest.raises(TypeError, match="int32"):
        tg.tensor([1, 2], dtype=tg.int32).add_(0.5)
    with pytest.raises(IndexError, match="long, int or bool"):
        tg.ones(3)[tg.tensor([0.0])]
    with pytest.raises(TypeError, match="bool mask.*float32"):
        tg.ones(3).masked_fill(tg.ones(3), 0.0)
    with pytest.raises(TypeError, match="integer"):
        tg.ones(3).gather(0, tg.zeros(3))


def test_cuda_unavailable_says_so():
    assert tg.cuda.is_available() is False
    for make in (lambda: tg.zeros(2, device="cuda"), lambda: tg.tensor([1.0], device="cuda"),
                 lambda: tg.ones(2).to("cuda"), lambda: tg.ones(2).cuda(),
                 lambda: tg.randn(2, device="cuda:0")):
        with pytest.raises(tg.DeviceError, match="cuda.*not available") as info:
            make()
        assert "install" in str(info.value).lower()
    with pytest.raises(tg.DeviceError, match="tpu"):
        tg.zeros(2, device="tpu")


@pytest.fixture
def other_device():
    """A tensor on a fake second device: a CPU backend that calls itself cuda."""
    fake = CPUBackend()
    fake.name = "cuda"
    return lambda array: tg.Tensor._make(np.asarray(array, dtype=np.float32), fake, None)


def test_mixing_devices_raises(other_device):
    gpu, cpu = other_device([1.0, 2.0]), tg.ones(2)
    assert gpu.device == "cuda"
    for fn in (lambda: cpu + gpu, lambda: gpu * cpu, lambda: cpu @ gpu, lambda: cpu < gpu,
               lambda: tg.cat([cpu, gpu]), lambda: tg.stack([gpu, cpu]),
               lambda: tg.where(cpu > 0, cpu, gpu), lambda: tg.maximum(cpu, gpu),
               lambda: cpu.__setitem__(0, gpu[0])):
        with pytest.raises(tg.DeviceError, match="cpu and cuda|cuda and cpu"):
            fn()
    with pytest.raises(tg.DeviceError, match="indices are on cuda"):
        cpu[tg.Tensor._make(np.array([0]), gpu._backend, None)]
    w = tg.ones(2, requires_grad=True)
    with pytest.raises(tg.DeviceError):
        (w * 2).backward(gpu)


# ------------------------------------------------------------------ PyTorch details
DETAILS = {
    "dtype_python_float_is_float64": lambda m: m.tensor([1, 2], dtype=float),
    "dtype_python_int": lambda m: m.ones(2, dtype=int),
    "dtype_python_bool": lambda m: m.tensor([1, 0], dtype=bool),
    "var_unbiased_positional": lambda m: m.tensor([1.0, 2.0, 4.0]).var(False),
    "std_unbiased_positional": lambda m: m.tensor([1.0, 2.0, 4.0]).std(False),
    "var_dim_unbiased": lambda m: m.arange(6.0).reshape(2, 3).var(1, False),
    "cat_skips_legacy_empty": lambda m: m.cat([m.ones(0), m.ones(2, 2), m.ones(0)]),
    "rmod": lambda m: 7 % m.tensor([2, 3]),
    "rfloordiv": lambda m: 7.5 // m.tensor([2.0, -2.0]),
    "chunk_fewer_pieces": lambda m: m.stack([c.sum() for c in m.arange(6.0).chunk(4)]),
    "empty_list_index": lambda m: m.ones(3)[[]],
    "masked_fill_keeps_int": lambda m: m.tensor([1, 2]).masked_fill(m.tensor([True, False]), 1.7),
    "clamp_int_with_float": lambda m: m.tensor([1, 5]).clamp(max=2.5),
    "div_trunc": lambda m: m.tensor([-7, 7]).div(2, rounding_mode="trunc"),
    "div_floor": lambda m: m.tensor([-7.0, 7.0]).div(2, rounding_mode="floor"),
}


@pytest.mark.parametrize("name", sorted(DETAILS))
def test_pytorch_details(name):
    assert_like_torch(DETAILS[name](tg), DETAILS[name](torch))


def test_small_pytorch_behaviours():
    assert (tg.ones(2) == None) is False and (tg.ones(2) != None) is True  # noqa: E711
    with pytest.raises(IndexError, match="out of bounds"):
        tg.arange(3.0).gather(0, tg.tensor([-1]))
    with pytest.raises(IndexError, match="non-zero size"):
        tg.ones(2, 0).amax(1)
    with pytest.raises(ValueError, match="greater than 0"):
        tg.ones(3).chunk(0)
    with pytest.raises(ValueError, match="Integers to negative integer powers"):
        tg.tensor([2]) ** -1


MODULE_FUNCTIONS = [
    ("exp", ()), ("log", ()), ("log1p", ()), ("sqrt", ()), ("rsqrt", ()), ("abs", ()),
    ("sin", ()), ("cos", ()), ("tanh", ()), ("sigmoid", ()), ("relu", ()), ("clamp", (0.5, 1.5)),
    ("pow", (2,)), ("sum", (1,)), ("mean", (0,)), ("var", (1,)), ("std", ()), ("max", ()),
    ("min", ()), ("amax", (0,)), ("amin", (1,)), ("argmax", (1,)), ("argmin", ()),
    ("logsumexp", (1,)), ("softmax", (1,)), ("log_softmax", (0,)), ("cumsum", (1,)),
    ("norm", ()), ("reshape", ((3, 2),)), ("flatten", ()), ("unflatten", (1, (3, 1))),
    ("squeeze", ()), ("unsqueeze", (1,)), ("transpose", (0, 1)), ("permute", ((1, 0),)),
    ("tril", ()), ("triu", (1,)), ("t", ()), ("clone", ()), ("detach", ()), ("neg", ()),
]


@pytest.mark.parametrize("name, args", MODULE_FUNCTIONS, ids=[n for n, _ in MODULE_FUNCTIONS])
def test_module_functions_are_the_methods(name, args):
    x = tg.tensor([[0.5, 1.0, 2.0], [1.5, 0.25, 3.0]])
    ours = getattr(tg, name)(x, *args)
    np.testing.assert_array_equal(ours.numpy(), getattr(x, name)(*args).numpy())
    theirs = getattr(torch, name)(torch.tensor(x.numpy()), *args)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_module_level_combinators():
    a, b = tg.tensor([[1.0, -2.0]]), tg.tensor([[0.5], [3.0]])
    assert tg.matmul(b, a).shape == (2, 2)
    assert tg.maximum(a, b).tolist() == [[1.0, 0.5], [3.0, 3.0]]
    assert tg.minimum(a, 0.0).tolist() == [[0.0, -2.0]]
    assert tg.where(a > 0, a, b).tolist() == [[1.0, 0.5], [1.0, 3.0]]
    assert [t.shape for t in tg.split(tg.ones(5), 2)] == [(2,), (2,), (1,)]
    assert [t.shape for t in tg.chunk(tg.ones(5), 2)] == [(3,), (2,)]
    assert tg.masked_fill(a, a < 0, 9.0).tolist() == [[1.0, 9.0]]
    assert tg.gather(a, 1, tg.tensor([[1, 1]])).tolist() == [[-2.0, -2.0]]
    assert tg.cat([a, a], 1).shape == (1, 4) and tg.stack([a, a]).shape == (2, 1, 2)
