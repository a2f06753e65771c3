"""nn.functional: normalization layers' functions, with PyTorch's signatures.

Arguments are validated here (shapes, dtypes, devices); batch, layer and
group norm each run one fused op from `tinygrad_dc.ops.normalization`.
"""
import numbers

from ...autograd.function import check_same_device
from ...autograd.grad_mode import no_grad
from ...ops import normalization as N
from ...tensor import Tensor, ShapeError

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "normalize"]


def _check_input(fn, input, min_dims):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
    if not input.dtype.is_floating_point:
        raise TypeError(f"{fn}: input must be a floating point tensor, got {input.dtype.name}")
    if input.ndim < min_dims:
        raise ShapeError(f"{fn}: expected an input with at least {min_dims} dims, got shape "
                         f"{tuple(input.shape)}")


def _check_param(fn, name, t, input, shape):
    """weight, bias or a running statistic: a tensor of `shape`, on the
    input's device and of its dtype (PyTorch does not mix them either)."""
    if t is None:
        return
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}: {name} must be a Tensor or None, got {type(t).__name__}")
    if tuple(t.shape) != tuple(shape):
        raise ShapeError(f"{fn}: expected {name} of shape {tuple(shape)} for input of shape "
                         f"{tuple(input.shape)}, got {tuple(t.shape)}")
    if t.dtype is not input.dtype:
        raise TypeError(f"{fn}: {name} is {t.dtype.name} but the input is {input.dtype.name}; "
                        f"convert one of them")
    check_same_device((input, t))


def _apply(op, input, weight, bias, **params):
    affine = [t for t in (weight, bias) if t is not None]
    return op.apply(input, *affine, has_weight=weight is not None, has_bias=bias is not None,
                    **params)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalize each channel of (N, C), (N, C, L) or (N, C, H, W).

    training=True normalizes with the batch mean and biased variance, and
    updates `running_mean` / `running_var` in place (when given) with
    `momentum` and the unbiased variance; training=False uses them."""
    fn = "batch_norm"
    _check_input(fn, input, 2)
    channels = (input.shape[1],)
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_param(fn, name, t, input, channels)
    if training:
        if input.numel() // max(input.shape[1], 1) <= 1:
            raise ValueError(f"{fn}: expected more than 1 value per channel when training, got "
                             f"input of shape {tuple(input.shape)}")
    elif running_mean is None or running_var is None:
        raise RuntimeError(f"{fn}: running_mean and running_var must be given in evaluation "
                           f"mode (training=False)")
    for t in (running_mean, running_var):
        if training and t is not None and t.requires_grad:
            raise RuntimeError(f"{fn}: the running statistics are updated in place and must "
                               f"not require grad")
    out = _apply(N.BatchNorm, input, weight, bias,
                 running_mean=None if running_mean is None else running_mean._data,
                 running_var=None if running_var is None else running_var._data,
                 training=bool(training), momentum=momentum, eps=eps)
    if training:
        for t in (running_mean, running_var):
            if t is not None:
                t._version += 1
    return out


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the trailing dims given by `normalized_shape`; weight
    and bias (if given) have that shape."""
    fn = "layer_norm"
    _check_input(fn, input, 1)
    shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) \
        else tuple(normalized_shape)
    if not shape or tuple(input.shape[input.ndim - len(shape):]) != shape \
            or len(shape) > input.ndim:
        raise ShapeError(f"{fn}: given normalized_shape={list(shape)}, expected input with "
                         f"shape [*, {', '.join(map(str, shape))}], but got input of shape "
                         f"{tuple(input.shape)}")
    _check_param(fn, "weight", weight, input, shape)
    _check_param(fn, "bias", bias, input, shape)
    return _apply(N.LayerNorm, input, weight, bias, normalized_shape=shape, eps=eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize (N, C, *) per sample over groups of C / num_groups channels
    (and all spatial positions); weight and bias are per channel."""
    fn = "group_norm"
    _check_input(fn, input, 2)
    channels = input.shape[1]
    if not isinstance(num_groups, numbers.Integral) or num_groups <= 0 \
            or channels % num_groups:
        raise ShapeError(f"{fn}: expected the number of channels to be divisible by "
                         f"num_groups, but got input of shape {tuple(input.shape)} and "
                         f"num_groups={num_groups}")
    _check_param(fn, "weight", weight, input, (channels,))
    _check_param(fn, "bias", bias, input, (channels,))
    return _apply(N.GroupNorm, input, weight, bias, num_groups=int(num_groups), eps=eps)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalize each channel of each sample over its spatial positions.

    As PyTorch does it: a batch norm of the input viewed as one sample with
    N * C channels; running statistics (if given) move toward the average of
    the per-sample statistics."""
    fn = "instance_norm"
    _check_input(fn, input, 3)
    n, c = input.shape[:2]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_param(fn, name, t, input, (c,))
    if use_input_stats and input.numel() // max(n * c, 1) <= 1:
        raise ValueError(f"{fn}: expected more than 1 spatial element when training, got "
                         f"input of shape {tuple(input.shape)}")
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    folded = input.reshape((1, n * c) + tuple(input.shape[2:]))

    def tiled(t):
        return None if t is None else t.repeat(n)
    with no_grad():
        stats = [tiled(t) for t in (running_mean, running_var)]
    out = batch_norm(folded, stats[0], stats[1], tiled(weight), tiled(bias), True,
                     momentum, eps)
    with no_grad():
        for t, s in zip((running_mean, running_var), stats):
            if t is not None:
                t.copy_(s.reshape(n, c).mean(0))
    return out.reshape(input.shape)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """input / max(||input||_p along dim, eps)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"normalize: input must be a Tensor, got {type(input).__name__}")
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)
