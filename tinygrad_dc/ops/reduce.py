"""Reductions and the ops built on a reduction (softmax, logsumexp, cumsum).

`axis` is always a tuple of non-negative axes here (the Tensor methods
normalise it), or None for all axes."""
from ..autograd.function import Op
from ..backend import own_kernel


def expand_back(g, in_shape, axis, keepdim):
    """Broadcast a reduced gradient back over the reduced axes."""
    if not keepdim and axis is not None:
        shape = list(in_shape)
        for ax in axis:
            shape[ax] = 1
        g = g.reshape(shape)
    return g


def _count(shape, axis):
    n = 1
    for ax in (range(len(shape)) if axis is None else axis):
        n *= shape[ax]
    return n


class Sum(Op):
    saves_inputs = False

    def forward(self, a, axis=None, keepdim=False):
        self.in_shape, self.axis, self.keepdim = a.shape, axis, keepdim
        return a.sum(axis=axis, keepdims=keepdim)

    def backward(self, g):
        g = expand_back(g, self.in_shape, self.axis, self.keepdim)
        return self.backend.xp.broadcast_to(g, self.in_shape)


class Mean(Op):
    saves_inputs = False

    def forward(self, a, axis=None, keepdim=False):
        self.in_shape, self.axis, self.keepdim = a.shape, axis, keepdim
        return a.mean(axis=axis, keepdims=keepdim)

    def backward(self, g):
        g = expand_back(g, self.in_shape, self.axis, self.keepdim)
        n = _count(self.in_shape, self.axis)
        return self.backend.xp.broadcast_to(g / n if n else g, self.in_shape)


class Var(Op):
    """Variance with `correction` (1 = unbiased, PyTorch's default)."""

    def forward(self, a, axis=None, keepdim=False, correction=1):
        xp = self.backend.xp
        self.axis, self.keepdim = axis, keepdim
        self.centered = a - a.mean(axis=axis, keepdims=True)
        self.denom = max(_count(a.shape, axis) - correction, 0)
        with xp.errstate(divide="ignore", invalid="ignore"):
            return (self.centered ** 2).sum(axis=axis, keepdims=keepdim) / a.dtype.type(self.denom)

    def backward(self, g):
        g = expand_back(g, self.centered.shape, self.axis, self.keepdim)
        with self.backend.xp.errstate(divide="ignore", invalid="ignore"):
            return g * self.centered * (2 / self.centered.dtype.type(self.denom))


class Amax(Op):
    """max over axes; ties share the gradient evenly (PyTorch's amax/max())."""
    saves_output = True
    minimum = False

    def forward(self, a, axis=None, keepdim=False):
        self.a, self.axis, self.keepdim = a, axis, keepdim
        reduce = a.min if self.minimum else a.max
        self.out = reduce(axis=axis, keepdims=keepdim)
        return self.out

    def backward(self, g):
        a = self.a
        out = expand_back(self.out, a.shape, self.axis, self.keepdim)
        g = expand_back(g, a.shape, self.axis, self.keepdim)
        hits = (a == out) | ((a != a) & (out != out))  # NaN picks the NaNs
        hits = hits.astype(g.dtype)
        return g * hits / hits.sum(axis=self.axis, keepdims=True)


class Amin(Amax):
    minimum = True


class MaxDim(Op):
    """max/min along one axis returning values; the gradient goes to the
    index that was chosen (PyTorch's max(dim) semantics)."""
    saves_inputs = False

    def forward(self, a, axis, keepdim, indices):
        xp = self.backend.xp
        self.in_shape, self.axis, self.keepdim = a.shape, axis, keepdim
        self.indices = xp.expand_dims(indices, axis)
        out = xp.take_along_axis(a, self.indices, axis=axis)
        return out if keepdim else out.squeeze(axis)

    def backward(self, g):
        xp = self.backend.xp
        if not self.keepdim:
            g = xp.expand_dims(g, self.axis)
        grad = xp.zeros(self.in_shape, dtype=g.dtype)
        xp.put_along_axis(grad, self.indices, g, axis=self.axis)
        return grad


class LogSumExp(Op):
    saves_inputs = False

    def forward(self, a, axis, keepdim=False):
        xp = self.backend.xp
        self.axis, self.keepdim, self.in_shape = axis, keepdim, a.shape
        m = a.max(axis=axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        with xp.errstate(divide="ignore"):
            out = xp.log(xp.exp(a - m).sum(axis=axis, keepdims=True)) + m
        self.weights = xp.exp(a - out)  # softmax, what backward needs
        return out if keepdim else out.squeeze(axis)

    def backward(self, g):
        return expand_back(g, self.in_shape, self.axis, self.keepdim) * self.weights


class Softmax(Op):
    saves_inputs = False
    saves_output = True

    def forward(self, a, axis):
        xp = self.backend.xp
        self.axis = axis
        own = own_kernel(self.backend, "softmax")
        if own is not None:
            self.out = own(a, axis)
            return self.out
        e = xp.exp(a - a.max(axis=axis, keepdims=True))
        self.out = e / e.sum(axis=axis, keepdims=True)
        return self.out

    def backward(self, g):
        out = self.out
        own = own_kernel(self.backend, "softmax_backward")
        if own is not None:
            return own(out, g, self.axis)
        return out * (g - (g * out).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Op):
    saves_inputs = False
    saves_output = True

    def forward(self, a, axis):
        xp = self.backend.xp
        self.axis = axis
        own = own_kernel(self.backend, "log_softmax")
        if own is not None:
            self.out = own(a, axis)
            return self.out
        shifted = a - a.max(axis=axis, keepdims=True)
        self.out = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        return self.out

    def backward(self, g):
        own = own_kernel(self.backend, "log_softmax_backward")
        if own is not None:
            return own(self.out, g, self.axis)
        return g - self.backend.xp.exp(self.out) * g.sum(axis=self.axis, keepdims=True)


class Cumsum(Op):
    saves_inputs = False

    def forward(self, a, axis):
        self.axis = axis
        return a.cumsum(axis=axis)

    def backward(self, g):
        xp = self.backend.xp
        rev = xp.flip(g, axis=self.axis)
        return xp.flip(rev.cumsum(axis=self.axis), axis=self.axis)


class Prod(Op):
    """Product along one axis. The gradient of each factor is the product of
    all the others: exclusive cumulative products from the left and from the
    right, so zeros among the factors need no special case (out / x would
    divide by them)."""

    def forward(self, a, axis, keepdim=False):
        self.a, self.axis, self.keepdim = a, axis, keepdim
        return a.prod(axis=axis, keepdims=keepdim)

    def backward(self, g):
        xp = self.backend.xp
        a = xp.moveaxis(self.a, self.axis, -1)  # the product's axis last
        ones = xp.ones_like(a[..., :1])
        before = xp.cumprod(xp.concatenate([ones, a[..., :-1]], axis=-1), axis=-1)
        after = xp.cumprod(xp.concatenate([ones, a[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = xp.moveaxis(before * after, -1, self.axis)
        return expand_back(g, self.a.shape, (self.axis,), self.keepdim) * others


class Norm2(Op):
    """The 2-norm; its gradient x / norm is taken as 0 where the norm is 0."""
    saves_output = True

    def forward(self, a, axis=None, keepdim=False):
        xp = self.backend.xp
        self.a, self.axis, self.keepdim = a, axis, keepdim
        self.out = xp.sqrt((a * a).sum(axis=axis, keepdims=keepdim))
        return self.out

    def backward(self, g):
        xp = self.backend.xp
        out = expand_back(self.out, self.a.shape, self.axis, self.keepdim)
        g = expand_back(g, self.a.shape, self.axis, self.keepdim)
        safe = xp.where(out == 0, 1, out)
        return xp.where(out == 0, 0, g * self.a / safe)
