"""Helpers shared by the test files: gradient checks in MyGrad's style and
comparisons with PyTorch."""
import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_dc as tg


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4):
    """Draws a tuple of mutually broadcastable input shapes."""
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims,
                                             max_dims=max_dims, min_side=1,
                                             max_side=max_side).map(lambda s: s.input_shapes)


def arrays(shape, low=-3.0, high=3.0, away_from=None, margin=0.05, seed=0):
    """float64 values in [low, high], kept `margin` away from the points in
    `away_from` (non-differentiable points such as 0 for abs/relu)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, size=shape)
    for p in away_from or ():
        near = np.abs(x - p) < margin
        x = np.where(near, p + np.where(x >= p, margin, -margin) * 2, x)
    return x


def check_grad(fn, *arrays_in, atol=1e-6, rtol=1e-4, **kw):
    """gradcheck `fn` over float64 leaf tensors made from `arrays_in`, and check
    that inputs are not mutated and that gradients don't alias each other."""
    tensors = [tg.tensor(a, dtype=tg.float64, requires_grad=True) for a in arrays_in]
    before = [a.copy() for a in arrays_in]
    assert tg.autograd.gradcheck(fn, tuple(tensors), atol=atol, rtol=rtol, **kw)
    for t, b in zip(tensors, before):
        np.testing.assert_array_equal(t.numpy(), b, err_msg="the op mutated its input")
    # fresh backward: gradients are separate arrays, shaped like their inputs
    for t in tensors:
        t.grad = None
    out = fn(*tensors)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    total = None
    for o in outs:
        if o is not None and o.requires_grad:
            s = (o * tg.tensor(np.random.default_rng(1).standard_normal(o.shape))).sum()
            total = s if total is None else total + s
    if total is not None:
        total.backward()
        grads = [t.grad.numpy() for t in tensors if t.grad is not None]
        for t in tensors:
            if t.grad is not None:
                assert t.grad.shape == t.shape and t.grad.dtype == t.dtype
        for i in range(len(grads)):
            for j in range(i + 1, len(grads)):
                assert not np.shares_memory(grads[i], grads[j]), "gradients alias each other"
    return True


def to_torch(array, requires_grad=False):
    return torch.tensor(np.asarray(array), requires_grad=requires_grad)


def assert_close(ours, theirs, dtype=np.float64, rtol=None, atol=None):
    """Compare one of our tensors (or array) with a torch tensor (or array)."""
    a = ours.numpy() if isinstance(ours, tg.Tensor) else np.asarray(ours)
    b = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    tight = np.dtype(dtype) == np.float64
    np.testing.assert_allclose(a, b, rtol=rtol if rtol is not None else (1e-10 if tight else 1e-4),
                               atol=atol if atol is not None else (1e-10 if tight else 1e-5))


def parity(fn_ours, fn_torch, *arrays_in, dtype=np.float64, rtol=None, atol=None, grad=True):
    """Run the same function in both libraries on the same inputs; compare the
    outputs and (with a random upstream gradient) every input gradient."""
    ours = [tg.tensor(np.asarray(a, dtype=dtype), requires_grad=grad) for a in arrays_in]
    theirs = [torch.tensor(np.asarray(a, dtype=dtype), requires_grad=grad) for a in arrays_in]
    out_o, out_t = fn_ours(*ours), fn_torch(*theirs)
    assert_close(out_o, out_t, dtype, rtol, atol)
    if grad:
        up = np.random.default_rng(2).standard_normal(tuple(out_t.shape)).astype(dtype)
        out_o.backward(tg.tensor(up))
        out_t.backward(torch.tensor(up))
        for o, t in zip(ours, theirs):
            if t.grad is None:
                assert o.grad is None or np.all(o.grad.numpy() == 0)
            else:
                assert_close(o.grad, t.grad, dtype, rtol, atol)
