"""Elementwise ops. Binary ops take already-promoted arrays of one dtype and
may broadcast; `sum_to_shape` folds each gradient back to its input's shape."""
from ..autograd.function import Op, sum_to_shape


class Add(Op):
    saves_inputs = False

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, g):
        sa, sb = self.shapes
        return sum_to_shape(g, sa), sum_to_shape(g, sb)


class Sub(Op):
    saves_inputs = False

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, g):
        sa, sb = self.shapes
        return sum_to_shape(g, sa), (sum_to_shape(-g, sb) if self.needs_grad[1] else None)


class Mul(Op):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        a, b = self.a, self.b
        ga = sum_to_shape(g * b, a.shape) if self.needs_grad[0] else None
        gb = sum_to_shape(g * a, b.shape) if self.needs_grad[1] else None
        return ga, gb


class Div(Op):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        a, b = self.a, self.b
        gb_over = g / b
        ga = sum_to_shape(gb_over, a.shape) if self.needs_grad[0] else None
        gb = sum_to_shape(-gb_over * a / b, b.shape) if self.needs_grad[1] else None
        return ga, gb


class Pow(Op):
    saves_output = True

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a ** b
        return self.out

    def backward(self, g):
        a, b, xp = self.a, self.b, self.backend.xp
        ga = gb = None
        if self.needs_grad[0]:
            # b * a**(b-1), with 0 where b == 0 (even at a == 0, as PyTorch)
            with xp.errstate(divide="ignore", invalid="ignore"):
                local = xp.where(b == 0, 0, b * a ** (b - 1))
            ga = sum_to_shape(g * local, a.shape)
        if self.needs_grad[1]:
            # out * log(a), taken as 0 where a == 0 and b >= 0 (PyTorch's convention)
            with xp.errstate(divide="ignore", invalid="ignore"):
                local = xp.where((a == 0) & (b >= 0), 0, self.out * xp.log(a))
            gb = sum_to_shape(g * local, b.shape)
        return ga, gb


class Maximum(Op):
    def forward(self, a, b):
        self.a, self.b = a, b
        return self.backend.xp.maximum(a, b)

    def backward(self, g):
        return _select_grads(self, g, self.a > self.b)


class Minimum(Op):
    def forward(self, a, b):
        self.a, self.b = a, b
        return self.backend.xp.minimum(a, b)

    def backward(self, g):
        return _select_grads(self, g, self.a < self.b)


def _select_grads(node, g, a_wins):
    """max/min: the larger (smaller) input gets the gradient; ties split it."""
    a, b = node.a, node.b
    share = a_wins + 0.5 * (a == b)
    share = share.astype(g.dtype, copy=False)
    ga = sum_to_shape(g * share, a.shape) if node.needs_grad[0] else None
    gb = sum_to_shape(g * (1 - share), b.shape) if node.needs_grad[1] else None
    return ga, gb


class Where(Op):
    """where(cond, a, b); cond is a bool array passed as a parameter."""
    saves_inputs = False

    def forward(self, a, b, cond):
        self.cond = cond
        self.shapes = a.shape, b.shape
        return self.backend.xp.where(cond, a, b)

    def backward(self, g):
        cond, zero = self.cond, g.dtype.type(0)
        xp = self.backend.xp
        ga = sum_to_shape(xp.where(cond, g, zero), self.shapes[0]) if self.needs_grad[0] else None
        gb = sum_to_shape(xp.where(cond, zero, g), self.shapes[1]) if self.needs_grad[1] else None
        return ga, gb


class Neg(Op):
    saves_inputs = False

    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class Exp(Op):
    saves_inputs = False
    saves_output = True

    def forward(self, a):
        self.out = self.backend.xp.exp(a)
        return self.out

    def backward(self, g):
        return g * self.out


class Log(Op):
    def forward(self, a):
        self.a = a
        return self.backend.xp.log(a)

    def backward(self, g):
        return g / self.a


class Log1p(Op):
    def forward(self, a):
        self.a = a
        return self.backend.xp.log1p(a)

    def backward(self, g):
        return g / (1 + self.a)


class Sqrt(Op):
    saves_inputs = False
    saves_output = True

    def forward(self, a):
        self.out = self.backend.xp.sqrt(a)
        return self.out

    def backward(self, g):
        return g / (2 * self.out)


class Rsqrt(Op):
    saves_inputs = False
    saves_output = True

    def forward(self, a):
        self.out = 1 / self.backend.xp.sqrt(a)
        return self.out

    def backward(self, g):
        return g * (-0.5 * self.out ** 3)


class Abs(Op):
    def forward(self, a):
        self.a = a
        return abs(a)

    def backward(self, g):
        return g * self.backend.xp.sign(self.a)


class Sin(Op):
    def forward(self, a):
        self.a = a
        return self.backend.xp.sin(a)

    def backward(self, g):
        return g * self.backend.xp.cos(self.a)


class Cos(Op):
    def forward(self, a):
        self.a = a
        return self.backend.xp.cos(a)

    def backward(self, g):
        return -g * self.backend.xp.sin(self.a)


class Tanh(Op):
    saves_inputs = False
    saves_output = True

    def forward(self, a):
        self.out = self.backend.xp.tanh(a)
        return self.out

    def backward(self, g):
        return g * (1 - self.out * self.out)


class Sigmoid(Op):
    saves_inputs = False
    saves_output = True

    def forward(self, a):
        xp = self.backend.xp
        # exp of a non-positive number only: no overflow for large |a|
        e = xp.exp(-abs(a))
        self.out = xp.where(a >= 0, 1 / (1 + e), e / (1 + e))
        return self.out

    def backward(self, g):
        return g * (self.out * (1 - self.out))


class Relu(Op):
    saves_inputs = False
    saves_output = True

    def forward(self, a):
        self.out = self.backend.xp.maximum(a, 0)
        return self.out

    def backward(self, g):
        return g * (self.out > 0)


class Clamp(Op):
    """clamp(a, min, max): the gradient passes where min <= a <= max."""

    def forward(self, a, min=None, max=None):
        self.a, self.min, self.max = a, min, max
        return self.backend.xp.clip(a, min, max)

    def backward(self, g):
        a, lo, hi = self.a, self.min, self.max
        inside = (a >= lo) if lo is not None else None
        if hi is not None:
            inside = (a <= hi) if inside is None else inside & (a <= hi)
        return g * inside


class Cast(Op):
    """A dtype change; the gradient goes back in the input's dtype."""
    saves_inputs = False

    def forward(self, a, dtype):
        self.in_dtype = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return g.astype(self.in_dtype)


class Copy(Op):
    """clone() and contiguous(): a fresh array, gradient passes through."""
    saves_inputs = False

    def forward(self, a):
        return self.backend.xp.array(a, copy=True, order="C")

    def backward(self, g):
        return g


class ToDevice(Op):
    """A move between devices; the gradient moves back."""
    saves_inputs = False

    def forward(self, a, target):
        self.source = self.backend
        self.backend = target  # the output lives on the target device
        return target.from_numpy(self.source.to_numpy(a))

    def backward(self, g):
        return self.source.from_numpy(self.backend.to_numpy(g))
