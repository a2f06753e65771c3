"""The backward engine and grad modes: deep graphs, freeing saved arrays,
accumulation, no_grad & co., in-place rules, custom Functions, retain_grad,
detach, autograd.grad, and graphs with shared subexpressions (vs PyTorch)."""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import tinygrad_dc as tg


def both(fn, *arrays):
    """Run fn(m, *leaves) in both libraries, backward from a random upstream
    gradient; return ((our output, our leaves), (torch's output, torch's leaves))."""
    results = []
    for m in (tg, torch):
        leaves = [m.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
        out = fn(m, *leaves)
        up = np.random.default_rng(0).standard_normal(tuple(out.shape))
        out.backward(m.tensor(up))
        results.append((out, leaves))
    return results


def assert_same_grads(ours, theirs):
    (out_o, leaves_o), (out_t, leaves_t) = ours, theirs
    np.testing.assert_allclose(out_o.numpy(), out_t.detach().numpy(), rtol=1e-10)
    for i, (o, t) in enumerate(zip(leaves_o, leaves_t)):
        if t.grad is None:
            assert o.grad is None, f"leaf {i} has a gradient, torch's has none"
            continue
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=f"gradient of leaf {i}")


# ------------------------------------------------------------------ the engine
def test_deep_chain_backpropagates_without_recursion():
    x = tg.tensor([1.0, -2.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = -y
    (y * tg.tensor([3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])


def test_deep_chain_without_backward_can_be_dropped():
    x = tg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = -y
    ref = weakref.ref(y._node)
    del y
    gc.collect()
    assert ref() is None


def test_saved_arrays_are_released_after_backward():
    x = tg.tensor(np.linspace(0.1, 1, 6), requires_grad=True)
    y = (x * 2).sin()  # Sin saved its input, which no tensor holds any more
    saved = weakref.ref(y._node.a)
    y.sum().backward()
    assert saved() is None
    assert y._node.freed


def test_saved_arrays_are_kept_with_retain_graph():
    x = tg.tensor(np.linspace(0.1, 1, 6), requires_grad=True)
    y = (x * 2).sin()
    saved = weakref.ref(y._node.a)
    y.sum().backward(retain_graph=True)
    assert saved() is not None
    first = x.grad.numpy().copy()
    y.sum().backward()  # works again, then frees
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)
    assert saved() is None


def test_backward_frees_memory():
    x = tg.randn(1000, requires_grad=True)
    tracemalloc.start()
    try:
        y = x
        for _ in range(20):  # 20 saved intermediates of 8 kB (float32 1000 -> sin saves input)
            y = (y * 1.01).sin()
        held = tracemalloc.get_traced_memory()[0]
        y.sum().backward()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert held - after > 20 * 4000, (held, after)


def test_second_backward_raises_clearly():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_gradients_accumulate_across_backward_calls():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    for k in range(1, 4):
        (x * x).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), k * 2 * x.numpy())
    x.grad = None
    (3 * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_grad_of_leaf_owns_its_memory():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    up = tg.tensor([5.0, 6.0])
    y = x.clone()
    y.backward(up)
    x.grad.zero_()
    np.testing.assert_array_equal(up.numpy(), [5.0, 6.0])


# ------------------------------------------------------------------ grad modes
def _records(fn):
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = fn(x)
    return y.requires_grad, y.grad_fn


def test_no_grad_context_records_nothing():
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = tg.tensor([1.0], requires_grad=True) * 2
        assert not y.requires_grad and y.grad_fn is None and y.is_leaf
        with tg.enable_grad():
            assert tg.is_grad_enabled()
            assert _records(lambda x: x * 2)[0]
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()


def test_grad_modes_restore_after_an_exception():
    with pytest.raises(ValueError):
        with tg.no_grad():
            raise ValueError
    assert tg.is_grad_enabled()


def test_grad_mode_decorators():
    @tg.no_grad()
    def called_form(x):
        return x * 2

    @tg.no_grad
    def bare_form(x):
        return x * 2

    @tg.set_grad_enabled(False)
    def set_form(x):
        return x * 2

    assert tg.is_grad_enabled()  # decorating changed nothing
    for f in (called_form, bare_form, set_form):
        assert _records(f) == (False, None), f.__name__
        assert tg.is_grad_enabled()
    assert called_form.__name__ == "called_form"

    @tg.enable_grad()
    def enabled(x):
        return x * 2
    with tg.no_grad():
        assert _records(enabled)[0]
        assert not tg.is_grad_enabled()


def test_set_grad_enabled_as_function_and_context():
    with tg.set_grad_enabled(False):
        assert _records(lambda x: x * 2) == (False, None)
    assert tg.is_grad_enabled()
    tg.set_grad_enabled(False)
    try:
        assert not tg.is_grad_enabled()
    finally:
        tg.set_grad_enabled(True)
    with tg.inference_mode():
        assert not tg.is_grad_enabled()


# ------------------------------------------------------------------ in-place rules
def test_inplace_on_saved_tensor_raises_at_backward():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    z = y.sin()  # saves y
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an in-place operation.*\(3,\)"):
        z.sum().backward()


def test_inplace_through_a_view_on_saved_tensor_raises_at_backward():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    z = y.sin()  # saves y
    with tg.no_grad():
        y[1:].mul_(3)  # writes into y's memory through a view
    with pytest.raises(RuntimeError, match="in-place"):
        z.sum().backward()


@pytest.mark.parametrize("op", ["exp", "sqrt", "rsqrt", "tanh", "sigmoid", "relu", "softmax",
                                "log_softmax", "amax", "norm", "pow"])
def test_writing_into_a_saved_output_raises_at_backward(op):
    x = tg.tensor([0.5, 1.0, 2.0], requires_grad=True)
    fn = {"softmax": lambda t: t.softmax(0), "log_softmax": lambda t: t.log_softmax(0),
          "amax": lambda t: t.amax(0, keepdim=True), "norm": lambda t: t.norm(dim=0, keepdim=True),
          "pow": lambda t: t ** 1.5}.get(op, lambda t: getattr(t, op)())
    y = fn(x)
    with tg.no_grad():
        y[0:1].mul_(3)  # into the array the op kept for its backward
    with pytest.raises(RuntimeError, match="modified by an in-place operation.*output"):
        y.sum().backward()
    y = fn(x)
    y += 1  # recorded in-place: the saved array stays intact, so this one is fine
    y.sum().backward()


def test_inplace_on_saved_constant_raises_at_backward():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    a = tg.ones(2)
    loss = (w * a).sum()  # Mul saved `a` for w's gradient
    a.mul_(3)
    with pytest.raises(RuntimeError, match="in-place"):
        loss.backward()


def test_inplace_on_an_unsaved_input_is_fine():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y + 1  # Add saves nothing
    y.mul_(10)
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_inplace_on_leaf_requiring_grad():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    for op in (lambda: w.add_(1), lambda: w.mul_(2), lambda: w.zero_(), lambda: w.copy_(w * 0)):
        with pytest.raises(RuntimeError, match="leaf.*no_grad"):
            op()
    with pytest.raises(RuntimeError, match="leaf"):
        w -= 1
    (w * w).sum().backward()
    with tg.no_grad():
        w -= 0.25 * w.grad
        w.mul_(2)
    np.testing.assert_allclose(w.numpy(), [1.0, 2.0])
    assert w.is_leaf and w.requires_grad and w.grad_fn is None


def test_augmented_assignment_on_non_leaf_vs_torch():
    def fn(m, a, r):
        h = a * 2
        h += r * a  # residual added in place
        h *= a
        h -= 1
        h /= 3
        return h.tanh()
    assert_same_grads(*both(fn, [0.5, -1.0, 2.0], [1.5, 0.25, -0.5]))


def test_inplace_keeps_object_and_records_history():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    h = a * 1
    same = h
    h += a
    assert h is same and h.grad_fn is not None
    out = h.clone()
    out.retain_grad()
    (out * out).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * (2 * a.numpy()) * 2)


def test_setitem_with_grad_value_records_history_vs_torch():
    def fn(m, v, base):
        x = m.zeros(5, dtype=m.float64)
        x[m.tensor([0, 2])] = v * 3
        x[3:] = base[:2].exp()
        x[1] = 7.0
        return x * m.arange(5, dtype=m.float64)
    assert_same_grads(*both(fn, [1.0, 2.0], [0.1, 0.2, 0.3]))


def test_setitem_on_non_leaf_vs_torch():
    def fn(m, a):
        h = a * 2
        h[1:3] = h[0] * 4  # reads and writes the same tensor
        h[m.tensor([True, False, False, True])] = 0.5
        return h.sin()
    assert_same_grads(*both(fn, [0.3, -0.2, 0.7, 1.1]))


def test_setitem_on_leaf_requiring_grad():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w[0] = 3.0
    with tg.no_grad():
        w[0] = 3.0
    assert w.tolist() == [3.0, 2.0] and w.is_leaf


def test_fill_and_copy_on_non_leaf_vs_torch():
    def fn(m, a, b):
        h = a * 2
        h.zero_()
        g = a * 3
        g.fill_(0.5)
        k = a * 4
        k.copy_(b[:1] * 2)  # broadcast copy; b gets the gradient, a's old value none
        return h + g * a + k * b
    assert_same_grads(*both(fn, [0.5, -1.0], [2.0, 3.0]))


def _view_mul(m, a, w):
    h = a * 2
    h[0].mul_(w)
    return h


def _view_chain_setitem(m, a, w):
    h = a * 2
    h[0][1] = w[0] * 5  # x[i][j] = v: the assignment reaches h through the view h[0]
    return h


def _flat_view_add(m, a, w):
    h = a * 2
    h.view(-1)[2:4].add_(w[:2])
    return h


def _transposed_view(m, a, w):
    h = a * 2
    h.T[1].mul_(3)
    return h * h


def _build_elementwise(m, a, w):
    z = m.zeros(2, 3, dtype=m.float64)
    for i in range(2):
        for j in range(3):
            z[i][j] = a[i, j] * w[j]
    return z


def _view_of_view(m, a, w):
    h = a.sin()
    v = h[1]
    v += w
    v.relu_()
    return h + v.sum()


def _column_zero(m, a, w):
    h = a * w
    h[:, 0].zero_()
    return h


@pytest.mark.parametrize("fn", [_view_mul, _view_chain_setitem, _flat_view_add, _transposed_view,
                                _build_elementwise, _view_of_view, _column_zero])
def test_inplace_on_a_view_writes_through_to_its_base_vs_torch(fn):
    a = [[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]]
    assert_same_grads(*both(fn, a, [0.2, 0.4, 0.6]))


def test_inplace_on_a_view_of_a_leaf_requiring_grad():
    w = tg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf.*no_grad"):
        w[0].mul_(2)
    with pytest.raises(RuntimeError, match="view of a leaf"):
        w.view(3, 1)[1] = tg.tensor([2.0], requires_grad=True)
    assert w.tolist() == [1.0, 1.0, 1.0] and w.is_leaf
    with tg.no_grad():
        w[0].mul_(2)
        w.view(3, 1)[1] = 5.0
    assert w.tolist() == [2.0, 5.0, 1.0]


def test_copy_does_not_alias_the_source():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    x = tg.zeros(2)
    x.copy_(w)
    with tg.no_grad():
        x.zero_()
    assert w.tolist() == [1.0, 2.0]


def test_inplace_with_grad_keeps_dtype():
    h = tg.ones(2, requires_grad=True) * 1
    h.mul_(tg.tensor([2.0, 3.0], dtype=tg.float64))
    assert h.dtype == tg.float32
    h.sum().backward()


# ------------------------------------------------------------------ custom Function
class MulAdd(tg.autograd.Function):
    """(x * y + shift, x - y): two outputs, a non-tensor argument."""

    @staticmethod
    def forward(ctx, x, shift, y):
        ctx.save_for_backward(x, y)
        ctx.shift = shift
        ctx.seen_needs = ctx.needs_input_grad
        return x * y + shift, x - y

    @staticmethod
    def backward(ctx, g_prod, g_diff):
        x, y = ctx.saved_tensors
        gx = g_prod * y + g_diff if ctx.needs_input_grad[0] else None
        gy = g_prod * x - g_diff if ctx.needs_input_grad[2] else None
        return gx, None, gy


def test_custom_function_two_outputs():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.tensor([3.0, 5.0], requires_grad=True)
    prod, diff = MulAdd.apply(x, 10.0, y)
    np.testing.assert_allclose(prod.numpy(), [13.0, 20.0])
    assert prod.grad_fn is not None and prod.requires_grad
    (2 * prod + 3 * diff).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * y.numpy() + 3)
    np.testing.assert_allclose(y.grad.numpy(), 2 * x.numpy() - 3)


def test_custom_function_one_output_used():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.tensor([3.0, 5.0], requires_grad=True)
    _, diff = MulAdd.apply(x, 0.0, y)  # the unused output gets a zero gradient
    diff.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])
    np.testing.assert_allclose(y.grad.numpy(), [-1.0, -1.0])


def test_custom_function_needs_input_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.tensor([3.0, 5.0])
    prod, _ = MulAdd.apply(x, 0.0, y)
    assert prod.grad_fn.ctx.seen_needs == (True, False, False)
    prod.sum().backward()
    assert y.grad is None


def test_custom_function_under_no_grad_and_without_grad_inputs():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.no_grad():
        prod, _ = MulAdd.apply(x, 0.0, x)
    assert not prod.requires_grad
    prod, _ = MulAdd.apply(tg.ones(2), 0.0, tg.ones(2))
    assert not prod.requires_grad and prod.grad_fn is None


def test_custom_function_saved_tensors_freed():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    prod, _ = MulAdd.apply(x, 0.0, x)
    ctx = prod.grad_fn.ctx
    prod.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        ctx.saved_tensors


def test_custom_function_bad_backward_errors():
    class TooFew(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    class BadShape(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, g):
            return g.reshape(1)

    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="TooFew.backward returned 1 gradients.*2 arguments"):
        TooFew.apply(x, x).sum().backward()
    with pytest.raises(RuntimeError, match=r"shape \(1,\).*shape \(2,\)"):
        BadShape.apply(x).backward()


def test_custom_function_same_array_for_two_inputs_does_not_alias():
    class Twice(tg.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            shared = g * 2
            return shared, shared

    a = tg.tensor([1.0], requires_grad=True)
    b = tg.tensor([1.0], requires_grad=True)
    Twice.apply(a, b).sum().backward()
    a.grad.add_(100)
    assert b.grad.tolist() == [2.0]


# ------------------------------------------------------------------ backward(gradient=...)
def test_backward_gradient_shape_checks():
    x = tg.tensor([[1.0, 2.0]], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"scalar outputs.*\(1, 2\)"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"gradient has shape \(2,\).*\(1, 2\)"):
        y.backward(tg.tensor([1.0, 1.0]))
    y.backward(tg.tensor([[1.0, -1.0]]))
    np.testing.assert_allclose(x.grad.numpy(), [[2.0, -2.0]])
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.ones(2).sum().backward()


def test_backward_on_a_leaf():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    up = tg.tensor([3.0, 4.0])
    x.backward(up)
    assert x.grad.tolist() == [3.0, 4.0]
    x.grad.zero_()
    assert up.tolist() == [3.0, 4.0]


# ------------------------------------------------------------------ retain_grad, detach
def test_retain_grad_on_non_leaf():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    z = x * 3
    y.retain_grad()
    (y * y + z).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), 2 * y.numpy())
    assert z.grad is None
    np.testing.assert_allclose(x.grad.numpy(), 3 * 2 * y.numpy() + 3)


def test_retain_grad_on_a_tensor_used_twice():
    # the retained .grad is a copy: its accumulation must not leak into the
    # gradient still on its way to x
    (out, leaves), (out_t, leaves_t) = both(
        lambda m, a: _retained(m, a), [1.0, 2.0])
    np.testing.assert_allclose(leaves[0].grad.numpy(), leaves_t[0].grad.numpy())


def _retained(m, a):
    y = a * 2
    y.retain_grad()
    return y * y + y


def test_retain_grad_on_the_root():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.backward(tg.tensor([1.0, 5.0]))
    assert y.grad.tolist() == [1.0, 5.0]


def test_detach():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert np.shares_memory(d.numpy(), y.numpy())
    (y * d).sum().backward()  # d is a constant
    np.testing.assert_allclose(x.grad.numpy(), 2 * d.numpy())
    z = x * 2
    z.detach_()
    assert z.is_leaf and not z.requires_grad


def test_requires_grad_only_on_floats():
    for make in (lambda: tg.tensor([1, 2], requires_grad=True),
                 lambda: tg.tensor([True], requires_grad=True),
                 lambda: tg.arange(3).requires_grad_(),
                 lambda: tg.zeros(2, dtype=tg.int32, requires_grad=True)):
        with pytest.raises(RuntimeError, match="floating point"):
            make()
    with pytest.raises(RuntimeError, match="leaf"):
        (tg.ones(1, requires_grad=True) * 2).requires_grad_(False)


def test_integer_results_carry_no_grad():
    x = tg.tensor([1.5, 2.5], requires_grad=True)
    for out in (x.long(), x.to(tg.int32), x.bool(), x > 1, x.argmax(), x.max(0).indices):
        assert not out.requires_grad and out.grad_fn is None
    assert x.double().requires_grad


# ------------------------------------------------------------------ graph shapes
def test_diamond_and_shared_subexpressions_vs_torch():
    def fn(m, a, b):
        s = a * b           # shared subexpression
        left = s.exp()
        right = s.sin() * a
        top = left + right  # diamond
        return top * s + (top - s).tanh() * b
    assert_same_grads(*both(fn, [0.1, -0.4, 0.3], [1.2, 0.5, -0.7]))


def test_same_tensor_many_times_vs_torch():
    def fn(m, a):
        return a * a * a + a / (a * a + 1) - m.maximum(a, a.flip([0])) + m.stack([a, a, a]).sum(0)
    assert_same_grads(*both(fn, [0.5, -1.5, 2.0]))


def _inplace_mul(m, a, b):
    h = a + b
    h.mul_(b)
    return h


def _setitem_row(m, a, b):
    h = a + b
    h[0] = a[0].sin()
    return h


def _views_inplace(m, a, b):
    h = a + b
    h[1:].mul_(b[1:])
    h.T[0].add_(0.5)
    return h


# name -> (number of inputs, fn(m, *inputs)); shapes (3, 4) and (3, 1) mix freely
_GRAPH_OPS = {
    "add": (2, lambda m, a, b: a + b),
    "sub": (2, lambda m, a, b: a - b),
    "mul": (2, lambda m, a, b: a * b),
    "maximum": (2, lambda m, a, b: m.maximum(a, b * 0.9)),
    "sin": (1, lambda m, a: a.sin()),
    "tanh": (1, lambda m, a: a.tanh()),
    "scale": (1, lambda m, a: a * 0.5),
    "sum_keepdim": (1, lambda m, a: a.sum(-1, keepdim=True) * 0.25),
    "flip": (1, lambda m, a: a.flip([0])),
    "softmax": (1, lambda m, a: a.softmax(0)),
    "inplace_mul": (2, _inplace_mul),
    "setitem": (2, _setitem_row),
    "views_inplace": (2, _views_inplace),
}


def test_node_reached_before_its_consumer_is_processed_last():
    # regression: `a` is both a direct input of the root and an input of
    # a.sin(); its backward must wait for both gradients, in either order
    for fn in (lambda m, x: (lambda a: a + a.sin())(x * 2),
               lambda m, x: (lambda a: a.sin() + a)(x * 2),
               lambda m, x: (lambda a: a * (a.exp() + a).tanh())(x * 2)):
        assert_same_grads(*both(fn, [0.3, -0.7]))


@settings(max_examples=max(60, settings.default.max_examples))
@given(program=st.lists(st.tuples(st.sampled_from(sorted(_GRAPH_OPS)),
                                  st.lists(st.integers(0, 100), min_size=2, max_size=2)),
                        min_size=1, max_size=12),
       outputs=st.lists(st.integers(0, 100), min_size=1, max_size=3))
def test_random_graphs_with_shared_nodes_vs_torch(program, outputs):
    """Random programs whose steps reuse earlier values any number of times:
    diamonds, shared subexpressions and in-place steps, against PyTorch."""
    def fn(m, a, b):
        nodes = [a, b]
        for name, picks in program:
            arity, op = _GRAPH_OPS[name]
            nodes.append(op(m, *(nodes[p % len(nodes)] for p in picks[:arity])))
        total = nodes[-1].sum()
        for k, p in enumerate(outputs):
            total = total + (nodes[p % len(nodes)] * (k + 1.5)).sum()
        return total
    rng = np.random.default_rng(len(program))
    assert_same_grads(*both(fn, rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (3, 1))))


def test_gradient_flows_only_where_needed():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0, 4.0])
    (a * b).sum().backward()
    assert b.grad is None and a.grad.tolist() == [3.0, 4.0]


# ------------------------------------------------------------------ autograd.grad
def test_autograd_grad_leaves_dot_grad_alone():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0, 4.0], requires_grad=True)
    h = a * b
    ga, gh = tg.autograd.grad((h * h).sum(), [a, h])
    np.testing.assert_allclose(ga.numpy(), 2 * h.numpy() * b.numpy())
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy())
    assert a.grad is None and b.grad is None


def test_autograd_grad_unused_and_retain():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0], requires_grad=True)
    y = (a * a).sum()
    with pytest.raises(RuntimeError, match="input 1.*allow_unused"):
        tg.autograd.grad(y, [a, b], retain_graph=True)
    ga, gb = tg.autograd.grad(y, [a, b], allow_unused=True, retain_graph=True)
    assert gb is None and ga.tolist() == [2.0, 4.0]
    (ga2,) = tg.autograd.grad(y, a)
    assert ga2.tolist() == [2.0, 4.0]
