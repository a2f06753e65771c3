"""Finite-difference gradient checks (float64) of every differentiable op of
the core Tensor API, over hypothesis-drawn shapes, in MyGrad's style.

`CASES` is a table: each entry draws shapes, parameters and float64 inputs
from hypothesis and returns `fn(m, *tensors)`, written once for both
libraries (`m` is `tinygrad_dc` or `torch`), so `test_parity_core.py`
replays the same table against PyTorch. `utils.check_grad` runs gradcheck
with a random upstream gradient and also checks that the op left its inputs
alone and that the gradients are separate arrays.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_dc as tg
import utils

CASES = {}  # name -> (draw(data) -> (fn, arrays), gradcheck keyword arguments)


def case(name, **check_kw):
    def register(draw):
        assert name not in CASES, name
        CASES[name] = (draw, check_kw)
        return draw
    return register


def arr(data, shape, low=-3.0, high=3.0, away=None, margin=0.1):
    """float64 values; `away` lists non-differentiable points to keep clear of."""
    seed = data.draw(st.integers(0, 2 ** 16), label="seed")
    return utils.arrays(tuple(shape), low, high, away, margin, seed)


def shape(data, min_dims=0, max_dims=3, min_side=1, max_side=4):
    return data.draw(utils.shapes(min_dims, max_dims, min_side, max_side), label="shape")


def dim_of(data, ndim, extra=0):
    """A dim (negative ones included) of a tensor with `ndim` (+ `extra`) dims."""
    n = max(ndim + extra, 1)
    return data.draw(st.integers(-n, n - 1), label="dim")


def positive(data, s):
    return arr(data, s, 0.5, 3.0)


# ------------------------------------------------------------------ binary ops
def _binary(name, fn, a_kw=None, b_kw=None):
    @case(name)
    def draw(data):
        sa, sb = data.draw(utils.broadcastable_shapes(2), label="shapes")
        return fn, [arr(data, sa, **(a_kw or {})), arr(data, sb, **(b_kw or {}))]


_NONZERO = dict(away=[0.0], margin=0.4)
_binary("add", lambda m, a, b: a + b)
_binary("add_alpha", lambda m, a, b: a.add(b, alpha=-2.5))
_binary("sub", lambda m, a, b: a - b)
_binary("mul", lambda m, a, b: a * b)
_binary("div", lambda m, a, b: a / b, b_kw=_NONZERO)
_binary("pow_tensor_tensor", lambda m, a, b: a ** b, dict(low=0.5, high=2.0),
        dict(low=-2.0, high=2.0))
_binary("pow_method", lambda m, a, b: a.pow(b), dict(low=0.5, high=2.0))
_binary("maximum", lambda m, a, b: m.maximum(a, b))
_binary("minimum", lambda m, a, b: m.minimum(a, b))
_binary("max_other", lambda m, a, b: a.max(b))


# ------------------------------------------------------------------ unary ops
def _unary(name, fn, low=-3.0, high=3.0, away=None, min_dims=0, max_dims=3, **check_kw):
    @case(name, **check_kw)
    def draw(data):
        return fn, [arr(data, shape(data, min_dims, max_dims), low, high, away)]


_unary("neg", lambda m, x: -x)
_unary("radd", lambda m, x: 2.5 + x)
_unary("rsub", lambda m, x: 2.5 - x)
_unary("rmul", lambda m, x: -1.5 * x)
_unary("rdiv", lambda m, x: 2.5 / x, away=[0.0])
_unary("pow_int_scalar", lambda m, x: x ** 3)
_unary("pow_square", lambda m, x: x.pow(2))
_unary("pow_half", lambda m, x: x ** 0.5, low=0.2)
_unary("pow_negative", lambda m, x: x ** -1.5, low=0.2)
_unary("rpow", lambda m, x: 2.0 ** x)
_unary("rpow_small_base", lambda m, x: 0.5 ** x)
_unary("exp", lambda m, x: x.exp())
_unary("log", lambda m, x: x.log(), low=0.1)
_unary("log1p", lambda m, x: x.log1p(), low=-0.8)
_unary("sqrt", lambda m, x: x.sqrt(), low=0.1)
_unary("rsqrt", lambda m, x: x.rsqrt(), low=0.2)
_unary("abs", lambda m, x: x.abs(), away=[0.0])
_unary("sin", lambda m, x: x.sin())
_unary("cos", lambda m, x: x.cos())
_unary("tanh", lambda m, x: x.tanh())
_unary("sigmoid", lambda m, x: x.sigmoid())
_unary("relu", lambda m, x: x.relu(), away=[0.0])
_unary("clamp", lambda m, x: x.clamp(-1.0, 1.5), away=[-1.0, 1.5])
_unary("clamp_min", lambda m, x: x.clamp(min=0.5), away=[0.5])
_unary("clamp_max", lambda m, x: x.clamp(max=-0.5), away=[-0.5])
_unary("module_functions", lambda m, x: m.exp(m.tanh(x)) + m.abs(m.sin(x)) * m.sigmoid(x),
       away=[0.0, np.pi, -np.pi])
_unary("clone", lambda m, x: x.clone())
_unary("contiguous", lambda m, x: x.transpose(0, -1).contiguous() * 2, min_dims=2)
_unary("T", lambda m, x: x.T, min_dims=2, max_dims=2)  # PyTorch deprecates .T beyond 2-D
_unary("to_float64", lambda m, x: x.to(m.float64) * x)
# through float32: a float64 central difference needs a step far above float32 rounding
_unary("to_float32", lambda m, x: x.to(m.float32), eps=1e-3, atol=1e-3, rtol=1e-3)
_unary("double_of_float", lambda m, x: x.float().double(), eps=1e-3, atol=1e-3, rtol=1e-3)


# ------------------------------------------------------------------ matmul
_MATMUL_SHAPES = {
    "1d@1d": lambda n, k, p, ba, bb: ((k,), (k,)),
    "1d@2d": lambda n, k, p, ba, bb: ((k,), (k, p)),
    "2d@1d": lambda n, k, p, ba, bb: ((n, k), (k,)),
    "2d@2d": lambda n, k, p, ba, bb: ((n, k), (k, p)),
    "batched_broadcast": lambda n, k, p, ba, bb: (ba + (n, k), bb + (k, p)),
    "1d@batched": lambda n, k, p, ba, bb: ((k,), bb + (k, p)),
    "batched@1d": lambda n, k, p, ba, bb: (ba + (n, k), (k,)),
}


def _matmul(kind, make):
    @case("matmul_" + kind)
    def draw(data):
        n, k, p = (data.draw(st.integers(1, 4), label=c) for c in "nkp")
        ba, bb = data.draw(utils.broadcastable_shapes(2, min_dims=0, max_dims=2, max_side=3),
                           label="batch")
        sa, sb = make(n, k, p, ba, bb)
        fn = (lambda m, a, b: a @ b) if kind != "2d@2d" else (lambda m, a, b: m.matmul(a, b))
        return fn, [arr(data, sa), arr(data, sb)]


for _kind, _make in _MATMUL_SHAPES.items():
    _matmul(_kind, _make)


# ------------------------------------------------------------------ indexing
_BASIC_KEYS = [0, -1, (slice(1, None),), (slice(None), None, slice(None, None, 2)),
               (Ellipsis, 1), (slice(1, 3), Ellipsis, None), (-1, slice(None, 1), 0),
               (None, Ellipsis), (slice(None, None, 3), 1)]


@case("getitem_basic")
def _(data):
    key = data.draw(st.sampled_from(_BASIC_KEYS), label="key")
    return (lambda m, x: x[key]), [arr(data, shape(data, 3, 3, 2, 4))]


@case("getitem_bool_mask")
def _(data):
    s = shape(data, 1, 3)
    k = data.draw(st.integers(1, len(s)), label="mask dims")
    mask = np.random.default_rng(data.draw(st.integers(0, 99))).random(s[:k]) < 0.5
    return (lambda m, x: x[m.tensor(mask)]), [arr(data, s)]


@case("getitem_index_tensor_repeats")
def _(data):
    s = shape(data, 1, 3, 2)
    idx_shape = shape(data, 1, 2, 2, 4)
    idx = np.random.default_rng(data.draw(st.integers(0, 99))).integers(-s[0], s[0], idx_shape)
    idx.flat[-1] = idx.flat[0]  # at least one repeated index: its gradients must add up
    return (lambda m, x: x[m.tensor(idx)]), [arr(data, s)]


@case("getitem_mixed_advanced")
def _(data):
    s = shape(data, 3, 3, 2)
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    i, j = rng.integers(0, s[1], 5), rng.integers(0, s[2], 5)
    kind = data.draw(st.sampled_from(["slice+tensors", "tensor+slice", "list"]))
    if kind == "slice+tensors":
        return (lambda m, x: x[:, m.tensor(i), m.tensor(j)]), [arr(data, s)]
    if kind == "tensor+slice":
        return (lambda m, x: x[1:, m.tensor(i)]), [arr(data, s)]
    return (lambda m, x: x[[0, 0, -1]]), [arr(data, s)]


# ------------------------------------------------------------------ shape ops
@case("reshape")
def _(data):
    s = shape(data)
    target = data.draw(st.sampled_from([(-1,), tuple(reversed(s)), (1,) + s, s + (1, 1)]))
    return (lambda m, x: x.reshape(target)), [arr(data, s)]


@case("view")
def _(data):
    s = shape(data, 1)
    return (lambda m, x: x.view(s[0], -1)), [arr(data, s)]


@case("flatten")
def _(data):
    s = shape(data, 0, 4)
    n = max(len(s), 1)
    start = data.draw(st.integers(-n, n - 1))
    end = data.draw(st.integers(start % n, n - 1))
    return (lambda m, x: x.flatten(start, end)), [arr(data, s)]


@case("unflatten")
def _(data):
    s = shape(data, 0, 2) + (4,)
    sizes = data.draw(st.sampled_from([(2, 2), (-1, 2), (4, 1), (1, -1)]))
    return (lambda m, x: x.unflatten(-1, sizes)), [arr(data, s)]


@case("squeeze")
def _(data):
    s = shape(data, 0, 4, 1, 2)
    n = max(len(s), 1)
    dims = data.draw(st.sampled_from([None, 0, -1, tuple(range(n))]))
    if dims is not None and len(s) == 0:
        dims = 0
    return (lambda m, x: x.squeeze() if dims is None else x.squeeze(dims)), [arr(data, s)]


@case("unsqueeze")
def _(data):
    s = shape(data)
    d = dim_of(data, len(s), extra=1)
    return (lambda m, x: x.unsqueeze(d)), [arr(data, s)]


@case("transpose")
def _(data):
    s = shape(data, 1)
    d0, d1 = dim_of(data, len(s)), dim_of(data, len(s))
    return (lambda m, x: x.transpose(d0, d1)), [arr(data, s)]


@case("permute")
def _(data):
    s = shape(data, 1)
    perm = data.draw(st.permutations(range(len(s))))
    return (lambda m, x: x.permute(*perm)), [arr(data, s)]


@case("expand")
def _(data):
    s = shape(data, 1, 3, 1, 2)
    target = tuple(3 if n == 1 else n for n in s)
    lead = data.draw(st.sampled_from([(), (2,)]))
    sizes = lead + tuple(-1 if n != 1 and i % 2 else t for i, (n, t) in enumerate(zip(s, target)))
    return (lambda m, x: x.expand(*sizes)), [arr(data, s)]


@case("repeat")
def _(data):
    s = shape(data, 0, 2)
    reps = tuple(data.draw(st.lists(st.integers(1, 3), min_size=max(len(s), 1),
                                    max_size=len(s) + 1)))
    return (lambda m, x: x.repeat(*reps)), [arr(data, s)]


@case("split")
def _(data):
    s = shape(data, 1, 3, 1, 5)
    d = dim_of(data, len(s))
    n = s[d]
    sections = data.draw(st.one_of(st.integers(1, 5), st.just([1, n - 1] if n > 1 else [1])))
    return (lambda m, x: x.split(sections, d)), [arr(data, s)]


@case("chunk")
def _(data):
    s = shape(data, 1, 3, 1, 5)
    d, chunks = dim_of(data, len(s)), data.draw(st.integers(1, 4))
    return (lambda m, x: x.chunk(chunks, d)), [arr(data, s)]


@case("cat")
def _(data):
    s = shape(data, 1)
    d = dim_of(data, len(s))
    k = data.draw(st.integers(1, 3))
    axis = d % len(s)
    shapes = [s[:axis] + (data.draw(st.integers(1, 3)),) + s[axis + 1:] for _ in range(k)]
    return (lambda m, *xs: m.cat(list(xs), dim=d)), [arr(data, sh) for sh in shapes]


@case("stack")
def _(data):
    s = shape(data)
    d = dim_of(data, len(s), extra=1)
    k = data.draw(st.integers(1, 3))
    return (lambda m, *xs: m.stack(xs, d)), [arr(data, s) for _ in range(k)]


@case("where")
def _(data):
    sc, sa, sb = data.draw(utils.broadcastable_shapes(3), label="shapes")
    cond = np.random.default_rng(data.draw(st.integers(0, 99))).random(sc) < 0.5
    return (lambda m, a, b: m.where(m.tensor(cond), a, b)), [arr(data, sa), arr(data, sb)]


@case("masked_fill")
def _(data):
    sm, sx = data.draw(utils.broadcastable_shapes(2).filter(
        lambda p: np.broadcast_shapes(*p) == tuple(p[1])), label="shapes")
    mask = np.random.default_rng(data.draw(st.integers(0, 99))).random(sm) < 0.5
    return (lambda m, x: x.masked_fill(m.tensor(mask), -2.0)), [arr(data, sx)]


@case("gather")
def _(data):
    s = shape(data, 1, 3)
    d = dim_of(data, len(s))
    idx_shape = tuple(data.draw(st.integers(1, 5)) if i == d % len(s) else
                      data.draw(st.integers(1, n)) for i, n in enumerate(s))
    idx = np.random.default_rng(data.draw(st.integers(0, 99))).integers(0, s[d], idx_shape)
    return (lambda m, x: x.gather(d, m.tensor(idx))), [arr(data, s)]


@case("tril_triu")
def _(data):
    s = shape(data, 2, 3)
    k = data.draw(st.integers(-2, 2))
    upper = data.draw(st.booleans())
    return (lambda m, x: x.triu(k) if upper else m.tril(x, k)), [arr(data, s)]


@case("flip")
def _(data):
    s = shape(data, 1)
    d = dim_of(data, len(s))
    return (lambda m, x: x.flip([d])), [arr(data, s)]


@case("constant_pad")  # movement.Pad, reached through F.pad
def _(data):
    s = shape(data, 2, 3, 2)
    pads = data.draw(st.sampled_from([(1, 1), (0, 2, 1, 0), (-1, 1, 2, -1), (1, -1)]))
    return (lambda m, x: m.nn.functional.pad(x, pads, value=0.5)), [arr(data, s)]


# ------------------------------------------------------------------ reductions
def _reduce_dims(data, s):
    """None, an int, or a tuple of distinct dims of a tensor of shape `s`."""
    n = len(s)
    if n == 0:
        return data.draw(st.sampled_from([None, 0, -1]))
    return data.draw(st.one_of(
        st.none(), st.integers(-n, n - 1),
        st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True).map(tuple)))


def _reduction(name, method, dim_required=False):
    @case(name)
    def draw(data):
        s = shape(data)
        dims, keepdim = _reduce_dims(data, s), data.draw(st.booleans())
        if dims is None and dim_required:
            dims = tuple(range(len(s)))
        fn = (lambda m, x: getattr(x, method)()) if dims is None else \
            (lambda m, x: getattr(x, method)(dims, keepdim=keepdim))
        return fn, [arr(data, s)]


_reduction("sum", "sum")
_reduction("mean", "mean")
_reduction("amax", "amax")
_reduction("amin", "amin")
_reduction("logsumexp", "logsumexp", dim_required=True)


@case("var_std")
def _(data):
    s = shape(data, 1, 3, 2)
    dims = data.draw(st.one_of(st.none(), st.integers(-len(s), len(s) - 1)))
    which = data.draw(st.sampled_from(["var", "std"]))
    style = data.draw(st.sampled_from(["default", "unbiased", "biased", "correction0",
                                       "correction2"]))
    count = int(np.prod(s)) if dims is None else s[dims]
    if style == "correction2" and count <= 2:
        style = "correction0"
    keepdim = data.draw(st.booleans())
    kw = {"default": {}, "unbiased": dict(unbiased=True), "biased": dict(unbiased=False),
          "correction0": dict(correction=0), "correction2": dict(correction=2)}[style]

    def fn(m, x):
        f = getattr(x, which)
        return f(**kw) if dims is None else f(dims, keepdim=keepdim, **kw)
    return fn, [arr(data, s)]


@case("max_min_whole")
def _(data):
    which = data.draw(st.sampled_from(["max", "min"]))
    return (lambda m, x: getattr(x, which)()), [arr(data, shape(data))]


@case("max_min_dim")
def _(data):
    s = shape(data, 1)
    d, keepdim = dim_of(data, len(s)), data.draw(st.booleans())
    which = data.draw(st.sampled_from(["max", "min"]))
    return (lambda m, x: getattr(x, which)(d, keepdim=keepdim)), [arr(data, s)]


@case("softmax_log_softmax")
def _(data):
    s = shape(data, 1)
    d = dim_of(data, len(s))
    log = data.draw(st.booleans())
    return (lambda m, x: x.log_softmax(d) if log else m.softmax(x, dim=d)), [arr(data, s)]


@case("cumsum")
def _(data):
    s = shape(data, 1)
    d = dim_of(data, len(s))
    return (lambda m, x: x.cumsum(d)), [arr(data, s)]


@case("norm")
def _(data):
    s = shape(data, 1)
    p = data.draw(st.sampled_from(["fro", 2, 1, 3, float("inf")]))
    dims = data.draw(st.one_of(st.none(), st.integers(-len(s), len(s) - 1)))
    keepdim = data.draw(st.booleans())
    fn = (lambda m, x: x.norm(p)) if dims is None else (lambda m, x: x.norm(p, dims, keepdim))
    return fn, [arr(data, s, away=[0.0])]


# ------------------------------------------------------------------ custom Function
_CUSTOM = {}


def scaled_cube(m):
    """y = scale * x**3 + w, as a user Function of library `m` (cached per library)."""
    if m not in _CUSTOM:
        class ScaledCube(m.autograd.Function):
            @staticmethod
            def forward(ctx, x, scale, w):
                ctx.save_for_backward(x)
                ctx.scale = scale
                return scale * x ** 3 + w

            @staticmethod
            def backward(ctx, grad):
                x, = ctx.saved_tensors
                gx = grad * 3 * ctx.scale * x ** 2 if ctx.needs_input_grad[0] else None
                return gx, None, grad.sum().reshape(1)
        _CUSTOM[m] = ScaledCube
    return _CUSTOM[m]


@case("custom_function")
def _(data):
    s = shape(data, 1)
    return (lambda m, x, w: scaled_cube(m).apply(x, -0.5, w)), [arr(data, s), arr(data, (1,))]


# ------------------------------------------------------------------ the test
@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_gradcheck(name, data):
    draw, check_kw = CASES[name]
    fn, arrays = draw(data)
    assert utils.check_grad(lambda *ts: fn(tg, *ts), *arrays, **check_kw)
    assert_graph_freed(fn, arrays)


def assert_graph_freed(fn, arrays):
    """After a backward without retain_graph every node of the graph is freed."""
    leaves = [tg.tensor(a, requires_grad=True) for a in arrays]
    out = fn(tg, *leaves)
    outs = [o for o in (out if isinstance(out, tuple) else (out,)) if o.requires_grad]
    nodes, pending = {}, [o.grad_fn for o in outs]
    while pending:  # every node of the graph, collected before backward unlinks them
        node = pending.pop()
        if node is not None and id(node) not in nodes:
            nodes[id(node)] = node
            pending.extend(p.grad_fn for p in node.parents)
    sum(o.sum() for o in outs).backward()
    for node in nodes.values():
        assert node.freed and not node.__dict__, f"{node.name} kept its saved state"
