"""Shape and layout ops: the data moves, the values do not change."""
from ..autograd.function import Op, sum_to_shape


class Reshape(Op):
    saves_inputs = False

    def forward(self, a, shape):
        self.in_shape = a.shape
        return a.reshape(shape)

    def backward(self, g):
        return g.reshape(self.in_shape)


class Permute(Op):
    saves_inputs = False

    def forward(self, a, axes):
        self.axes = axes
        return a.transpose(axes)

    def backward(self, g):
        inverse = [0] * len(self.axes)
        for i, ax in enumerate(self.axes):
            inverse[ax] = i
        return g.transpose(inverse)


class Expand(Op):
    saves_inputs = False

    def forward(self, a, shape):
        self.in_shape = a.shape
        return self.backend.xp.broadcast_to(a, shape)

    def backward(self, g):
        return sum_to_shape(g, self.in_shape)


class Repeat(Op):
    """PyTorch's repeat (NumPy's tile): the gradient sums over the copies."""
    saves_inputs = False

    def forward(self, a, reps):
        self.orig_shape = a.shape
        self.in_shape = (1,) * (len(reps) - a.ndim) + a.shape
        self.reps = reps
        return self.backend.xp.tile(a, reps)

    def backward(self, g):
        split = []
        for r, n in zip(self.reps, self.in_shape):
            split += [r, n]
        g = g.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return g.reshape(self.orig_shape)


class Cat(Op):
    saves_inputs = False

    def forward(self, *arrays, axis):
        self.axis = axis
        self.sizes = [a.shape[axis] for a in arrays]
        return self.backend.xp.concatenate(arrays, axis=axis)

    def backward(self, g):
        grads, start = [], 0
        index = [slice(None)] * g.ndim
        for n, needed in zip(self.sizes, self.needs_grad):
            index[self.axis] = slice(start, start + n)
            grads.append(g[tuple(index)] if needed else None)
            start += n
        return tuple(grads)


class Stack(Op):
    saves_inputs = False

    def forward(self, *arrays, axis):
        self.axis = axis
        return self.backend.xp.stack(arrays, axis=axis)

    def backward(self, g):
        index = [slice(None)] * g.ndim
        grads = []
        for i, needed in enumerate(self.needs_grad):
            index[self.axis] = i
            grads.append(g[tuple(index)] if needed else None)
        return tuple(grads)


class Flip(Op):
    saves_inputs = False

    def forward(self, a, axis):
        self.axis = axis
        return self.backend.xp.flip(a, axis=axis)

    def backward(self, g):
        return self.backend.xp.flip(g, axis=self.axis)


class Triangle(Op):
    """tril / triu over the last two axes; the gradient keeps the same triangle."""
    saves_inputs = False

    def forward(self, a, diagonal, upper):
        xp = self.backend.xp
        self.diagonal, self.upper = diagonal, upper
        return xp.triu(a, diagonal) if upper else xp.tril(a, diagonal)

    def backward(self, g):
        xp = self.backend.xp
        return xp.triu(g, self.diagonal) if self.upper else xp.tril(g, self.diagonal)


class Pad(Op):
    """Constant padding; `pads` is a per-axis list of (before, after), which
    may be negative (cropping), as in PyTorch's F.pad."""
    saves_inputs = False

    def forward(self, a, pads, value=0.0):
        xp = self.backend.xp
        self.in_shape = a.shape
        crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(pads, a.shape))
        a = a[crop]
        grow = [(max(lo, 0), max(hi, 0)) for lo, hi in pads]
        self.crop = crop
        self.inner = tuple(slice(lo, lo + n) for (lo, _), n in zip(grow, a.shape))
        return xp.pad(a, grow, mode="constant", constant_values=value)

    def backward(self, g):
        inner = g[self.inner]
        if inner.shape == self.in_shape:
            return inner
        grad = self.backend.xp.zeros(self.in_shape, dtype=g.dtype)
        grad[self.crop] = inner
        return grad
