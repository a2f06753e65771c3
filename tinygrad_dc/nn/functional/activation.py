"""nn.functional: activations and the softmax family (PyTorch's signatures).

`inplace=True` rewrites the input's values (an error for a leaf that
requires grad, as in PyTorch)."""
import warnings

from ...tensor import Tensor, ShapeError, _normalize_dim
from ...ops import activation as A

__all__ = ["relu", "relu6", "leaky_relu", "gelu", "silu", "mish", "sigmoid", "tanh",
           "softmax", "softmin", "log_softmax", "softplus", "elu", "selu", "celu",
           "hardtanh", "hardsigmoid", "hardswish", "logsigmoid", "softsign", "tanhshrink",
           "glu", "threshold"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _check_float(name, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): input must be a Tensor, got {type(input).__name__}")
    if not input.is_floating_point():
        raise TypeError(f"{name}(): expected a floating point input, got {input.dtype.name} "
                        f"(shape {tuple(input.shape)})")


def _apply(input, inplace, fn):
    return input._inplace(fn) if inplace else fn(input)


def relu(input, inplace=False):
    if not isinstance(input, Tensor):
        raise TypeError(f"relu(): input must be a Tensor, got {type(input).__name__}")
    return _apply(input, inplace, Tensor.relu)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    _check_float("hardtanh", input)
    if min_val > max_val:
        raise ValueError(f"hardtanh(): min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    return _apply(input, inplace,
                  lambda t: A.Hardtanh.apply(t, min_val=float(min_val), max_val=float(max_val)))


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    _check_float("leaky_relu", input)
    return _apply(input, inplace,
                  lambda t: A.LeakyRelu.apply(t, negative_slope=float(negative_slope)))


def gelu(input, approximate="none"):
    _check_float("gelu", input)
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu(): approximate must be 'none' or 'tanh', got {approximate!r}")
    return A.Gelu.apply(input, approximate=approximate)


def silu(input, inplace=False):
    _check_float("silu", input)
    return _apply(input, inplace, A.Silu.apply)


def mish(input, inplace=False):
    _check_float("mish", input)
    return _apply(input, inplace, A.Mish.apply)


def sigmoid(input):
    return input.sigmoid()


def tanh(input):
    return input.tanh()


def _softmax_dim(name, dim, ndim):
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the "
                      f"call to include dim=X as an argument.", UserWarning, stacklevel=3)
        return 0 if ndim in (0, 1, 3) else 1
    return dim


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    return input.softmax(_softmax_dim("softmax", dim, input.ndim), dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    return (-input).softmax(_softmax_dim("softmin", dim, input.ndim), dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    return input.log_softmax(_softmax_dim("log_softmax", dim, input.ndim), dtype=dtype)


def softplus(input, beta=1.0, threshold=20.0):
    _check_float("softplus", input)
    if beta == 0:
        raise ValueError("softplus(): beta must be non-zero")
    return A.Softplus.apply(input, beta=float(beta), threshold=float(threshold))


def _elu(input, alpha, scale, input_scale, inplace):
    return _apply(input, inplace, lambda t: A.Elu.apply(
        t, alpha=float(alpha), scale=float(scale), input_scale=float(input_scale)))


def elu(input, alpha=1.0, inplace=False):
    _check_float("elu", input)
    return _elu(input, alpha, 1.0, 1.0, inplace)


def selu(input, inplace=False):
    _check_float("selu", input)
    return _elu(input, _SELU_ALPHA, _SELU_SCALE, 1.0, inplace)


def celu(input, alpha=1.0, inplace=False):
    _check_float("celu", input)
    if alpha == 0:
        raise ValueError("celu(): alpha must be non-zero (ZeroDivisionError in 1 / alpha)")
    return _elu(input, alpha, 1.0, 1.0 / alpha, inplace)


def hardsigmoid(input, inplace=False):
    _check_float("hardsigmoid", input)
    return _apply(input, inplace, A.Hardsigmoid.apply)


def hardswish(input, inplace=False):
    _check_float("hardswish", input)
    return _apply(input, inplace, A.Hardswish.apply)


def logsigmoid(input):
    _check_float("logsigmoid", input)
    return A.LogSigmoid.apply(input)


def softsign(input):
    _check_float("softsign", input)
    return input / (input.abs() + 1)


def tanhshrink(input):
    _check_float("tanhshrink", input)
    return input - input.tanh()


def glu(input, dim=-1):
    """a * sigmoid(b), where a and b are the two halves of input along dim."""
    _check_float("glu", input)
    if input.ndim == 0:
        raise ShapeError("glu(): does not support scalars because halving size must be even")
    axis = _normalize_dim(dim, input.ndim)
    if input.shape[axis] % 2:
        raise ShapeError(f"glu(): halving dimension must be even, but dimension {dim} is size "
                         f"{input.shape[axis]} (input shape {tuple(input.shape)})")
    a, b = input.chunk(2, axis)
    return a * b.sigmoid()


def threshold(input, threshold, value, inplace=False):
    """input where input > threshold, else value."""
    _check_float("threshold", input)
    return _apply(input, inplace, lambda t: t.masked_fill(t <= threshold, value))
