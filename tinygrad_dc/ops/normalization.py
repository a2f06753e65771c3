"""Normalization ops: batch, layer and group norm, each one fused op with an
analytic backward.

All three standardize x over some axes, x_hat = (x - mean) * invstd with the
biased variance, then apply an optional affine y = x_hat * w + b. The affine
arrays come after x among the op's inputs, present or not as `has_weight` /
`has_bias` say.

The heavy lifting is four kernels, `layer_norm_forward/backward` (each row
of an (M, K) array) and `batch_norm_forward/backward` (each channel of an
(N, C, S) array, training statistics). The backend's compiled kernels are
used when it has them (the CPU's, in kernels/cpu/norm.py); otherwise the
array-module versions below, which share their signatures (after `xp`) and
serve as their reference.
"""
from ..autograd.function import Op


# ---------------------------------------------------------------- array-module kernels
def standardize(xp, x, axes, eps):
    """x_hat, mean, biased variance and 1/sqrt(var + eps) over `axes` (kept)."""
    mean = x.mean(axis=axes, keepdims=True)
    x_hat = x - mean
    var = (x_hat * x_hat).mean(axis=axes, keepdims=True)
    invstd = 1 / xp.sqrt(var + eps)
    x_hat *= invstd
    return x_hat, mean, var, invstd


def standardize_grad(g_hat, x_hat, invstd, axes):
    """Gradient through x_hat = (x - mean(x)) * invstd(x) when the statistics
    come from x itself, given g_hat = dL/dx_hat."""
    mean_g = g_hat.mean(axis=axes, keepdims=True)
    mean_gx = (g_hat * x_hat).mean(axis=axes, keepdims=True)
    return (g_hat - mean_g - x_hat * mean_gx) * invstd


def _affine(x_hat, weight, bias, shape):
    """x_hat * w + b with w, b reshaped to broadcast as `shape`."""
    out = x_hat if weight is None else x_hat * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def layer_norm_forward(xp, x, weight, bias, eps):
    x_hat, mean, _, invstd = standardize(xp, x, (1,), eps)
    return _affine(x_hat, weight, bias, (1, -1)), mean[:, 0], invstd[:, 0]


def layer_norm_backward(xp, g, x, mean, invstd, weight):
    invstd = invstd[:, None]
    x_hat = (x - mean[:, None]) * invstd
    g_hat = g if weight is None else g * weight
    return standardize_grad(g_hat, x_hat, invstd, (1,)), (g * x_hat).sum(0), g.sum(0)


def batch_norm_forward(xp, x, weight, bias, eps):
    x_hat, mean, var, invstd = standardize(xp, x, (0, 2), eps)
    return (_affine(x_hat, weight, bias, (1, -1, 1)), mean.reshape(-1), var.reshape(-1),
            invstd.reshape(-1))


def batch_norm_backward(xp, g, x, mean, invstd, weight):
    invstd = invstd.reshape(1, -1, 1)
    x_hat = (x - mean.reshape(1, -1, 1)) * invstd
    g_hat = g if weight is None else g * weight.reshape(1, -1, 1)
    return (standardize_grad(g_hat, x_hat, invstd, (0, 2)), (g * x_hat).sum((0, 2)),
            g.sum((0, 2)))


_FALLBACKS = {f.__name__: f for f in (layer_norm_forward, layer_norm_backward,
                                      batch_norm_forward, batch_norm_backward)}


def _kernel(node, name):
    """The backend's kernel `name`, else the array-module version above."""
    kernel = getattr(node.backend, name, None)
    if kernel is not None:
        return kernel
    fallback, xp = _FALLBACKS[name], node.xp
    return lambda *arrays: fallback(xp, *arrays)


# ---------------------------------------------------------------- ops
class _AffineNorm(Op):
    """Shared bookkeeping of the optional weight and bias inputs."""

    def _split_affine(self, affine, has_weight, has_bias):
        self.has_weight, self.has_bias = has_weight, has_bias
        weight = affine[0] if has_weight else None
        bias = affine[int(has_weight)] if has_bias else None
        return weight, bias

    def _grads(self, gx, gweight, gbias, param_shape):
        """(gx, [gweight], [gbias]) for the inputs this node has, each cast
        to the gradient's dtype (the kernels sum in float64)."""
        grads = [gx]
        for present, g in ((self.has_weight, gweight), (self.has_bias, gbias)):
            if present:
                grads.append(g.reshape(param_shape).astype(gx.dtype, copy=False))
        return tuple(grads)


class BatchNorm(_AffineNorm):
    """Per-channel normalization of (N, C, *) over N and the spatial axes.

    Training uses the batch's statistics and, when running arrays are given,
    updates them in place: new = (1 - momentum) * old + momentum * batch stat,
    with the unbiased batch variance (PyTorch's rule). Eval uses the running
    statistics, which are then constants of the gradient."""

    def forward(self, x, *affine, has_weight, has_bias, running_mean, running_var,
                training, momentum, eps):
        xp = self.xp
        n, c = x.shape[:2]
        weight, bias = self._split_affine(affine, has_weight, has_bias)
        self.in_shape, self.training, self.weight = x.shape, training, weight
        self.x = x.reshape(n, c, -1)
        if training:
            out, self.mean, var, self.invstd = _kernel(self, "batch_norm_forward")(
                self.x, weight, bias, eps)
            count = x.size // c
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += momentum * self.mean
            if running_var is not None:
                running_var *= 1 - momentum
                running_var += (momentum * count / (count - 1)) * var
            return out.reshape(x.shape)
        # eval: y = x * scale + shift per channel, scale = w * invstd
        self.mean = running_mean.astype(x.dtype)  # a copy: later updates don't reach it
        self.invstd = 1 / xp.sqrt(running_var.astype(x.dtype) + eps)
        scale = self.invstd if weight is None else self.invstd * weight
        shift = -self.mean * scale if bias is None else bias - self.mean * scale
        return (self.x * scale.reshape(1, c, 1) + shift.reshape(1, c, 1)).reshape(x.shape)

    def backward(self, g):
        g = g.reshape(self.x.shape)
        if self.training:
            gx, gw, gb = _kernel(self, "batch_norm_backward")(g, self.x, self.mean, self.invstd,
                                                              self.weight)
        else:
            shape = (1, -1, 1)
            scale = self.invstd if self.weight is None else self.invstd * self.weight
            gx = g * scale.reshape(shape)
            gw = (g * ((self.x - self.mean.reshape(shape)) * self.invstd.reshape(shape))).sum(
                (0, 2)) if self.has_weight else None
            gb = g.sum((0, 2))
        return self._grads(gx.reshape(self.in_shape), gw, gb, (-1,))


class LayerNorm(_AffineNorm):
    """Normalization over the trailing dims (the normalized shape, K elements
    in all), done on x viewed as (M, K); the affine has the normalized shape."""

    def forward(self, x, *affine, has_weight, has_bias, normalized_shape, eps):
        weight, bias = self._split_affine(affine, has_weight, has_bias)
        k = 1
        for n in normalized_shape:
            k *= n
        self.in_shape, self.normalized_shape = x.shape, normalized_shape
        self.rows = x.reshape(-1, k)
        self.weight = None if weight is None else weight.reshape(k)
        out, self.mean, self.invstd = _kernel(self, "layer_norm_forward")(
            self.rows, self.weight, None if bias is None else bias.reshape(k), eps)
        return out.reshape(x.shape)

    def backward(self, g):
        gx, gw, gb = _kernel(self, "layer_norm_backward")(
            g.reshape(self.rows.shape), self.rows, self.mean, self.invstd, self.weight)
        return self._grads(gx.reshape(self.in_shape), gw, gb, self.normalized_shape)


class GroupNorm(_AffineNorm):
    """(N, C, *) split into `num_groups` groups of channels, each group of
    each sample normalized over its channels and spatial positions (a layer
    norm of the rows of x viewed as (N * groups, -1)); the affine is per
    channel."""

    def forward(self, x, *affine, has_weight, has_bias, num_groups, eps):
        n, c = x.shape[:2]
        weight, bias = self._split_affine(affine, has_weight, has_bias)
        self.in_shape, self.weight = x.shape, weight
        self.rows = x.reshape(n * num_groups, -1)
        x_hat, self.mean, self.invstd = _kernel(self, "layer_norm_forward")(
            self.rows, None, None, eps)
        return _affine(x_hat.reshape(n, c, -1), weight, bias, (1, c, 1)).reshape(x.shape)

    def backward(self, g):
        n, c = self.in_shape[:2]
        g = g.reshape(n, c, -1)
        g_hat = g if self.weight is None else g * self.weight.reshape(1, c, 1)
        gx, _, _ = _kernel(self, "layer_norm_backward")(
            g_hat.reshape(self.rows.shape), self.rows, self.mean, self.invstd, None)
        gw = None
        if self.has_weight:
            x_hat = (self.rows - self.mean[:, None]) * self.invstd[:, None]
            gw = (g * x_hat.reshape(n, c, -1)).sum((0, 2))
        return self._grads(gx.reshape(self.in_shape), gw, g.sum((0, 2)), (c,))
