"""Pointwise activations beyond the core elementwise ops (relu, sigmoid and
tanh live in `elementwise`). Gradients follow PyTorch's kernels, including
which side of a kink owns the kink point. Parameters arrive as Python
floats, so float32 inputs stay float32."""
from ..autograd.function import Op

_GELU_BETA = 0.7978845608028654  # sqrt(2 / pi)
_GELU_KAPPA = 0.044715


def stable_sigmoid(xp, a):
    """1 / (1 + exp(-a)) with exp of non-positive numbers only (no overflow)."""
    e = xp.exp(-abs(a))
    return xp.where(a >= 0, 1 / (1 + e), e / (1 + e))


def stable_softplus(xp, a):
    """log(1 + exp(a)) without overflow for large a."""
    return xp.maximum(a, 0) + xp.log1p(xp.exp(-abs(a)))


class LeakyRelu(Op):
    """x for x > 0, slope * x otherwise (the kink point takes the slope)."""
    saves_inputs = False

    def forward(self, a, negative_slope):
        self.positive, self.slope = a > 0, negative_slope
        return self.backend.xp.where(self.positive, a, a * negative_slope)

    def backward(self, g):
        return self.backend.xp.where(self.positive, g, g * self.slope)


class Hardtanh(Op):
    """clip(x, min_val, max_val); the gradient passes strictly inside."""
    saves_inputs = False

    def forward(self, a, min_val, max_val):
        self.inside = (a > min_val) & (a < max_val)
        return self.backend.xp.clip(a, min_val, max_val)

    def backward(self, g):
        return g * self.inside


class Elu(Op):
    """PyTorch's shared ELU kernel: scale * x for x > 0, else
    scale * alpha * (exp(x * input_scale) - 1). ELU, SELU and CELU differ
    only in the constants."""

    def forward(self, a, alpha, scale, input_scale):
        xp = self.backend.xp
        self.a, self.alpha, self.scale, self.input_scale = a, alpha, scale, input_scale
        neg = xp.expm1(xp.minimum(a, 0) * input_scale) * (alpha * scale)
        return xp.where(a > 0, a * scale, neg)

    def backward(self, g):
        xp, a = self.backend.xp, self.a
        coef = self.alpha * self.scale * self.input_scale
        neg = xp.exp(xp.minimum(a, 0) * self.input_scale) * coef
        return g * xp.where(a > 0, self.scale, neg)


class Gelu(Op):
    """x * Phi(x): exact (erf, a compiled kernel) or PyTorch's tanh form."""

    def forward(self, a, approximate):
        self.a, self.approximate = a, approximate
        if approximate == "none":
            return self.backend.gelu_forward(a)
        xp = self.backend.xp
        inner = _GELU_BETA * (a + _GELU_KAPPA * a * a * a)
        return 0.5 * a * (1 + xp.tanh(inner))

    def backward(self, g):
        a = self.a
        if self.approximate == "none":
            return self.backend.gelu_backward(g, a)
        xp = self.backend.xp
        a2 = a * a
        t = xp.tanh(_GELU_BETA * (a + _GELU_KAPPA * a2 * a))
        d_inner = _GELU_BETA * (1 + 3 * _GELU_KAPPA * a2)
        return g * (0.5 * a * (1 - t * t) * d_inner + 0.5 * (1 + t))


class Silu(Op):
    """x * sigmoid(x)."""

    def forward(self, a):
        self.a = a
        return a * stable_sigmoid(self.backend.xp, a)

    def backward(self, g):
        a = self.a
        s = stable_sigmoid(self.backend.xp, a)
        return g * (s * (1 + a * (1 - s)))


class Mish(Op):
    """x * tanh(softplus(x))."""

    def forward(self, a):
        xp = self.backend.xp
        self.a = a
        return a * xp.tanh(stable_softplus(xp, a))

    def backward(self, g):
        xp, a = self.backend.xp, self.a
        t = xp.tanh(stable_softplus(xp, a))
        return g * (t + a * stable_sigmoid(xp, a) * (1 - t * t))


class Softplus(Op):
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold."""

    def forward(self, a, beta, threshold):
        xp = self.backend.xp
        self.a, self.beta, self.threshold = a, beta, threshold
        bx = a * beta
        linear = bx > threshold
        # exp only of values at most `threshold`: the linear part never overflows
        soft = xp.log1p(xp.exp(xp.where(linear, 0, bx))) / beta
        return xp.where(linear, a, soft)

    def backward(self, g):
        xp = self.backend.xp
        bx = self.a * self.beta
        return g * xp.where(bx > self.threshold, 1, stable_sigmoid(xp, bx))


class LogSigmoid(Op):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))."""

    def forward(self, a):
        xp = self.backend.xp
        self.a = a
        return xp.minimum(a, 0) - xp.log1p(xp.exp(-abs(a)))

    def backward(self, g):
        return g * stable_sigmoid(self.backend.xp, -self.a)


class Hardsigmoid(Op):
    """relu6(x + 3) / 6; slope 1/6 strictly inside (-3, 3)."""
    saves_inputs = False

    def forward(self, a):
        self.inside = (a > -3) & (a < 3)
        return self.backend.xp.clip(a + 3, 0, 6) / 6

    def backward(self, g):
        return g * self.inside / 6


class Hardswish(Op):
    """x * relu6(x + 3) / 6; PyTorch's gradient: 0 up to and including -3,
    x/3 + 1/2 below 3, then 1."""

    def forward(self, a):
        self.a = a
        return a * self.backend.xp.clip(a + 3, 0, 6) / 6

    def backward(self, g):
        xp, a = self.backend.xp, self.a
        slope = xp.where(a <= -3, 0, xp.where(a < 3, a / 3 + 0.5, 1))
        return g * slope.astype(g.dtype, copy=False)
