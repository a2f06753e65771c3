"""nn.init: PyTorch's weight initialisations, in place and outside the graph.

Every draw comes from the tensor's backend generator, so `tg.manual_seed`
makes initialisation reproducible.
"""
import math
import warnings

from ..autograd.grad_mode import no_grad
from ..random import normal_array, uniform_array
from ..tensor import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "orthogonal_", "sparse_"]

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
               "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (the std multiplier)."""
    if nonlinearity in _LINEAR_FNS:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _fill_from(tensor, array):
    """Copy `array` (same backend, any float dtype) into `tensor` outside the graph."""
    with no_grad():
        tensor.copy_(Tensor._make(array.reshape(tensor.shape), tensor._backend, None))
    return tensor


def uniform_(tensor, a=0.0, b=1.0):
    with no_grad():
        return tensor.uniform_(a, b)


def normal_(tensor, mean=0.0, std=1.0):
    with no_grad():
        return tensor.normal_(mean, std)


def constant_(tensor, val):
    with no_grad():
        return tensor.fill_(val)


def ones_(tensor):
    return constant_(tensor, 1.0)


def zeros_(tensor):
    with no_grad():
        return tensor.zero_()


def _norm_cdf(x):
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """Normal(mean, std) restricted to [a, b]: out-of-range draws are redrawn
    (from the normal when most of its mass is inside, else from a uniform
    proposal on [a, b] accepted by the normal's density), as PyTorch does."""
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    backend, xp = tensor._backend, tensor._backend.xp
    n = tensor.numel()
    out = xp.empty(n, dtype="float64")
    pending = xp.arange(n)
    from_normal = _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std) > 0.3
    log_peak = -0.5 * ((max(a, min(mean, b)) - mean) / std) ** 2
    while pending.size:
        if from_normal:
            draw = normal_array(backend, (pending.size,), mean, std, "float64")
            ok = (draw >= a) & (draw <= b)
        else:
            draw = uniform_array(backend, (pending.size,), a, b, "float64")
            log_pdf = -0.5 * ((draw - mean) / std) ** 2 - log_peak
            accept = uniform_array(backend, (pending.size,), 0.0, 1.0, "float64")
            ok = xp.log(accept) <= log_pdf
        out[pending[ok]] = draw[ok]
        pending = pending[~ok]
    return _fill_from(tensor, out)


def eye_(tensor):
    """The identity matrix (rectangular allowed) in a 2-D tensor."""
    if tensor.ndim != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported, got shape "
                         f"{tuple(tensor.shape)}")
    return _fill_from(tensor, tensor._backend.xp.eye(*tensor.shape))


def dirac_(tensor, groups=1):
    """The Dirac delta for a conv weight (3, 4 or 5 dims): the layer passes
    its input channels through unchanged, per group."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"Only tensors with 3, 4, or 5 dimensions are supported, got shape "
                         f"{tuple(tensor.shape)}")
    if tensor.shape[0] % groups != 0:
        raise ValueError(f"dim 0 must be divisible by groups ({tensor.shape[0]} by {groups})")
    xp = tensor._backend.xp
    out_per_group = tensor.shape[0] // groups
    channels = xp.arange(min(out_per_group, tensor.shape[1]))
    outs = (xp.arange(groups)[:, None] * out_per_group + channels[None, :]).ravel()
    ins = xp.tile(channels, groups)
    centre = tuple(s // 2 for s in tensor.shape[2:])
    array = xp.zeros(tensor.shape)
    array[(outs, ins) + centre] = 1
    return _fill_from(tensor, array)


def _calculate_fan_in_and_fan_out(tensor):
    if tensor.ndim < 2:
        raise ValueError(f"Fan in and fan out can not be computed for tensor with fewer than 2 "
                         f"dimensions (shape {tuple(tensor.shape)})")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(tensor, gain=1.0):
    """U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)) (Glorot)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)))


def _kaiming_std(tensor, a, mode, nonlinearity):
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """U(-b, b), b = gain * sqrt(3 / fan_mode) (He)."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """N(0, std^2), std = gain / sqrt(fan_mode) (He)."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))


def orthogonal_(tensor, gain=1):
    """A (semi-)orthogonal matrix, trailing dims flattened (Saxe et al.)."""
    if tensor.ndim < 2:
        raise ValueError(f"Only tensors with 2 or more dimensions are supported, got shape "
                         f"{tuple(tensor.shape)}")
    if tensor.numel() == 0:
        return tensor
    backend, xp = tensor._backend, tensor._backend.xp
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = normal_array(backend, (rows, cols), 0.0, 1.0, "float64")
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q = q * xp.sign(xp.diag(r))  # makes Q uniformly distributed (Mezzadri 2007)
    if rows < cols:
        q = q.T
    return _fill_from(tensor, q * gain)


def sparse_(tensor, sparsity, std=0.01):
    """N(0, std^2) with a fraction `sparsity` of each column set to zero."""
    if tensor.ndim != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported, got shape "
                         f"{tuple(tensor.shape)}")
    backend, xp = tensor._backend, tensor._backend.xp
    rows, cols = tensor.shape
    num_zeros = math.ceil(sparsity * rows)
    array = normal_array(backend, (rows, cols), 0.0, std, "float64")
    # an independent random permutation of the rows for every column
    zero_rows = xp.argsort(uniform_array(backend, (rows, cols), 0.0, 1.0, "float64"), axis=0)
    array[zero_rows[:num_zeros], xp.arange(cols)[None, :]] = 0
    return _fill_from(tensor, array)
