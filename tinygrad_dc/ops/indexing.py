"""Indexing: getitem (basic and advanced), gather, index assignment.

Gradients of advanced indexing scatter back with an unbuffered add, so an
index that repeats accumulates its contributions."""
from numbers import Integral

from ..autograd.function import Op, sum_to_shape


def is_basic(key):
    """True when `key` uses only ints, slices, None and Ellipsis (a view)."""
    if not isinstance(key, tuple):
        key = (key,)
    for k in key:
        if not (k is None or k is Ellipsis or isinstance(k, (Integral, slice))) or \
                isinstance(k, bool):
            return False
    return True


class GetItem(Op):
    saves_inputs = False

    def forward(self, a, key):
        self.key, self.in_shape, self.dtype = key, a.shape, a.dtype
        out = a[key]
        if out.ndim == 0 and is_basic(key):
            # ints on every axis give a NumPy scalar (a copy); with `...` a 0-d view
            out = a[(key if isinstance(key, tuple) else (key,)) + (Ellipsis,)]
        return out

    def backward(self, g):
        xp = self.backend.xp
        grad = xp.zeros(self.in_shape, dtype=g.dtype)
        if is_basic(self.key):
            grad[self.key] = g
        else:
            xp.add.at(grad, self.key, g)
        return grad


def along_axis_index(xp, index, axis):
    """The full advanced index that `take_along_axis(a, index, axis)` reads,
    so a scatter-add can write to the same places."""
    grids = xp.ogrid[tuple(slice(n) for n in index.shape)]
    grids = list(grids) if isinstance(grids, (list, tuple)) else [grids]
    grids[axis] = index
    return tuple(grids)


class Gather(Op):
    saves_inputs = False

    def forward(self, a, index, axis):
        self.index, self.axis, self.in_shape = index, axis, a.shape
        xp = self.backend.xp
        if index.shape[:axis] + index.shape[axis + 1:] == a.shape[:axis] + a.shape[axis + 1:]:
            return xp.take_along_axis(a, index, axis=axis)
        # PyTorch lets the index be smaller than the input on the other axes
        return a[along_axis_index(xp, index, axis)]

    def backward(self, g):
        xp = self.backend.xp
        grad = xp.zeros(self.in_shape, dtype=g.dtype)
        xp.add.at(grad, along_axis_index(xp, self.index, self.axis), g)
        return grad


class SetItem(Op):
    """out = a with out[key] = value: the out-of-place form of `a[key] = value`
    that records history, used when a gradient has to flow through it."""
    saves_inputs = False

    def forward(self, a, value, key):
        self.key, self.value_shape = key, value.shape
        out = a.copy()
        out[key] = value
        return out

    def backward(self, g):
        ga = gv = None
        if self.needs_grad[0]:
            ga = g.copy()
            ga[self.key] = 0
        if self.needs_grad[1]:
            picked = g[self.key]
            if picked.ndim < len(self.value_shape):  # value had extra leading 1s
                picked = picked.reshape(self.value_shape)
            gv = sum_to_shape(picked, self.value_shape)
        return ga, gv
