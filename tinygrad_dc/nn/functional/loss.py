"""nn.functional: losses, with PyTorch's signatures, defaults and reductions.

Each function validates its arguments here, at the door (shapes, dtypes,
devices, class indices in range), then runs one fused op from
`tinygrad_dc.ops.loss`.
"""
import warnings

from ... import dtypes
from ...autograd.function import check_same_device
from ...autograd.grad_mode import is_grad_enabled
from ...ops import loss as L
from ...tensor import Tensor, ShapeError

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"]

_REDUCTIONS = ("none", "mean", "sum")


# ---------------------------------------------------------------- door checks
def _check_reduction(reduction, allowed=_REDUCTIONS):
    if reduction not in allowed:
        raise ValueError(f"{reduction!r} is not a valid value for reduction; expected one of "
                         f"{', '.join(repr(r) for r in allowed)}")


def _check_tensor(fn, name, value):
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn}: {name} must be a Tensor, got {type(value).__name__}")


def _check_floating(fn, name, t):
    if not t.dtype.is_floating_point:
        raise TypeError(f"{fn}: {name} must be a floating point tensor, got {t.dtype.name}")


def _broadcast_shape(a, b):
    """NumPy's broadcast of two shapes, or None when they don't broadcast."""
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and x != 1 and y != 1:
            return None
        out.append(y if x == 1 else x)
    return tuple(reversed(out))


def _common_float(fn, *tensors):
    """Cast to PyTorch's common dtype, which must be floating point."""
    target = tensors[0].dtype
    for t in tensors[1:]:
        target = dtypes.promote(target, t.dtype)
    if not target.is_floating_point:
        raise TypeError(f"{fn}: expected floating point inputs, got "
                        f"{' and '.join(t.dtype.name for t in tensors)}")
    return [t if t.dtype is target else t.to(target) for t in tensors]


def _constant(fn, name, t, like, shape=None):
    """A weight-like argument that takes no gradient (as in PyTorch): its
    array in `like`'s dtype, checked to broadcast to `shape` without growing it."""
    if t is None:
        return None
    _check_tensor(fn, name, t)
    if t.requires_grad and is_grad_enabled():
        raise RuntimeError(f"{fn} is not differentiable with respect to argument {name!r}; "
                           f"this input cannot have requires_grad=True (detach it)")
    _check_floating(fn, name, t)
    check_same_device((like, t))
    if shape is not None and _broadcast_shape(shape, t.shape) != tuple(shape):
        raise ShapeError(f"{fn}: {name} of shape {tuple(t.shape)} does not broadcast to the "
                         f"input's shape {tuple(shape)}")
    return t._data.astype(like._data.dtype, copy=False)


# ---------------------------------------------------------------- regression
def _pointwise(op, fn, input, target, reduction, **params):
    _check_tensor(fn, "input", input)
    _check_tensor(fn, "target", target)
    _check_reduction(reduction)
    if target.shape != input.shape:
        if _broadcast_shape(input.shape, target.shape) is None:
            raise ShapeError(f"{fn}: input of shape {tuple(input.shape)} and target of shape "
                             f"{tuple(target.shape)} cannot be broadcast together")
        warnings.warn(f"Using a target size ({tuple(target.shape)}) that is different to the "
                      f"input size ({tuple(input.shape)}). This will likely lead to incorrect "
                      f"results due to broadcasting. Please ensure they have the same size.",
                      stacklevel=3)
    check_same_device((input, target))
    input, target = _common_float(fn, input, target)
    return op.apply(input, target, reduction=reduction, **params)


def mse_loss(input, target, reduction="mean"):
    """Mean squared error, (input - target)^2."""
    return _pointwise(L.MSELoss, "mse_loss", input, target, reduction)


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error, |input - target|."""
    return _pointwise(L.L1Loss, "l1_loss", input, target, reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """Quadratic 0.5 d^2 / beta for |d| < beta, linear |d| - 0.5 beta beyond;
    beta = 0 is the L1 loss."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss does not support negative values for beta, got {beta}")
    if beta == 0:
        return _pointwise(L.L1Loss, "smooth_l1_loss", input, target, reduction)
    return _pointwise(L.SmoothL1Loss, "smooth_l1_loss", input, target, reduction, beta=beta)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """Quadratic 0.5 d^2 for |d| < delta, linear delta (|d| - 0.5 delta) beyond."""
    if not delta > 0:
        raise ValueError(f"huber_loss does not support non-positive values for delta, got {delta}")
    return _pointwise(L.HuberLoss, "huber_loss", input, target, reduction, delta=delta)


# ---------------------------------------------------------------- binary
def _binary_operands(fn, input, target, reduction):
    _check_tensor(fn, "input", input)
    _check_tensor(fn, "target", target)
    _check_reduction(reduction)
    if target.shape != input.shape:
        raise ShapeError(f"{fn}: target size {tuple(target.shape)} must be the same as the "
                         f"input size {tuple(input.shape)}")
    check_same_device((input, target))
    return _common_float(fn, input, target)


def _check_unit_interval(fn, name, t):
    data = t._data
    if (~((data >= 0) & (data <= 1))).any():
        raise ValueError(f"{fn}: all elements of {name} should be between 0 and 1")


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-w (y log x + (1 - y) log(1 - x)) for probabilities x; each log is
    clamped at -100 so x = 0 or 1 gives a finite loss (as PyTorch)."""
    fn = "binary_cross_entropy"
    input, target = _binary_operands(fn, input, target, reduction)
    _check_unit_interval(fn, "input", input)
    _check_unit_interval(fn, "target", target)
    w = _constant(fn, "weight", weight, input, input.shape)
    return L.BinaryCrossEntropy.apply(input, target, weight=w, reduction=reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """Sigmoid + binary cross entropy in one stable op; `pos_weight` weighs
    the positive term (broadcast along the last dim, one per class)."""
    fn = "binary_cross_entropy_with_logits"
    input, target = _binary_operands(fn, input, target, reduction)
    w = _constant(fn, "weight", weight, input, input.shape)
    pw = _constant(fn, "pos_weight", pos_weight, input, input.shape)
    return L.BinaryCrossEntropyWithLogits.apply(input, target, weight=w, pos_weight=pw,
                                                reduction=reduction)


def kl_div(input, target, reduction="mean", log_target=False):
    """KL divergence of `target` from log-probabilities `input`:
    target * (log target - input) elementwise. "batchmean" divides the sum by
    the batch size (the mathematical KL); "mean" by the element count."""
    fn = "kl_div"
    _check_reduction(reduction, _REDUCTIONS + ("batchmean",))
    input, target = _binary_operands(fn, input, target, "none")
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size. 'batchmean' divides only by the batch size, and aligns "
                      "with the KL div math definition.", stacklevel=2)
    denom = input.numel()
    if reduction == "batchmean":
        reduction, denom = "mean", (input.shape[0] if input.ndim else 1)
    return L.KLDiv.apply(input, target, log_target=bool(log_target), reduction=reduction,
                         denom=denom)


# ---------------------------------------------------------------- classes
def _class_input(fn, input, reduction):
    _check_tensor(fn, "input", input)
    _check_reduction(reduction)
    _check_floating(fn, "input", input)
    if input.ndim == 0:
        raise ShapeError(f"{fn}: input must have a class dimension: (C,), (N, C) or "
                         f"(N, C, d1, ...), got a 0-dim tensor")
    return input.shape[1] if input.ndim > 1 else input.shape[0]


def _class_weight(fn, weight, input, n_classes):
    if weight is None:
        return None
    _check_tensor(fn, "weight", weight)
    if tuple(weight.shape) != (n_classes,):
        raise ShapeError(f"{fn}: weight must hold one value per class, shape ({n_classes},), "
                         f"got {tuple(weight.shape)}")
    return _constant(fn, "weight", weight, input)


def _class_indices(fn, input, target, ignore_index, n_classes):
    """The validated target array of class indices, shaped (N, d...)."""
    _check_tensor(fn, "target", target)
    if target.dtype not in (dtypes.int64, dtypes.uint8):
        raise TypeError(f"{fn}: expected target dtype to be int64 (long) or uint8 class "
                        f"indices, or class probabilities shaped like the input "
                        f"{tuple(input.shape)}; got {target.dtype.name} of shape "
                        f"{tuple(target.shape)}")
    check_same_device((input, target))
    expected = () if input.ndim == 1 else (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != expected:
        raise ShapeError(f"{fn}: expected target of shape {expected} for input of shape "
                         f"{tuple(input.shape)}, got {tuple(target.shape)}")
    data = target._data.reshape((1,)) if input.ndim == 1 else target._data
    bad = (data != ignore_index) & ((data < 0) | (data >= n_classes))
    if bad.any():
        raise IndexError(f"{fn}: target {data[bad].reshape(-1)[0].item()} is out of bounds "
                         f"for {n_classes} classes (valid: 0 to {n_classes - 1}, or "
                         f"ignore_index={ignore_index})")
    return data


def _batched(input):
    """A (C,) input as a batch of one, (1, C)."""
    return input.reshape(1, -1) if input.ndim == 1 else input


def _unbatched(out, input, reduction):
    return out.reshape(()) if input.ndim == 1 and reduction == "none" else out


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of class indices given log-probabilities
    (N, C, d...): -weight[t] * input[t]; "mean" divides by the summed weights
    of the targets that are not `ignore_index`."""
    fn = "nll_loss"
    n_classes = _class_input(fn, input, reduction)
    w = _class_weight(fn, weight, input, n_classes)
    t = _class_indices(fn, input, target, ignore_index, n_classes)
    safe, row_weight, _ = L.class_index_weights(input._backend.xp, t, w, ignore_index,
                                                input._data.dtype)
    out = L.NLLLoss.apply(_batched(input), target=safe, row_weight=row_weight,
                          reduction=reduction)
    return _unbatched(out, input, reduction)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Cross entropy of logits (C,), (N, C) or (N, C, d1, ...) against class
    indices (int64, shaped like the input without its class dim) or class
    probabilities (floating, shaped like the input): log_softmax and NLL fused
    into one numerically stable op."""
    fn = "cross_entropy"
    n_classes = _class_input(fn, input, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{fn}: label_smoothing must be between 0.0 and 1.0, got "
                         f"{label_smoothing}")
    w = _class_weight(fn, weight, input, n_classes)
    _check_tensor(fn, "target", target)
    if target.shape == input.shape:
        return _probability_cross_entropy(input, target, w, ignore_index, reduction,
                                          float(label_smoothing))
    t = _class_indices(fn, input, target, ignore_index, n_classes)
    safe, row_weight, keep = L.class_index_weights(input._backend.xp, t, w, ignore_index,
                                                   input._data.dtype)
    out = L.CrossEntropyIndex.apply(_batched(input), target=safe, row_weight=row_weight,
                                    keep=keep, weight=w, smoothing=float(label_smoothing),
                                    reduction=reduction)
    return _unbatched(out, input, reduction)


def _probability_cross_entropy(input, target, weight, ignore_index, reduction, smoothing):
    fn = "cross_entropy"
    if not target.dtype.is_floating_point:
        raise TypeError(f"{fn}: a target shaped like the input {tuple(input.shape)} holds "
                        f"class probabilities and must be floating point, got "
                        f"{target.dtype.name}")
    if ignore_index >= 0:
        raise ValueError(f"{fn}: ignore_index={ignore_index} is not supported for class "
                         f"probability targets")
    check_same_device((input, target))
    if target.dtype is not input.dtype:
        target = target.to(input.dtype)
    out = L.CrossEntropyProbs.apply(_batched(input), _batched(target), weight=weight,
                                    smoothing=smoothing, reduction=reduction)
    return _unbatched(out, input, reduction)
