"""nn.functional: dropout, elementwise and channel-wise (inverted scaling:
kept values are divided by 1 - p, so evaluation needs no rescaling).

The masks come from the tensor's backend generator: `tg.manual_seed` makes
them reproducible."""
import numbers
import warnings

from ...tensor import Tensor, ShapeError
from ...ops.nn_basic import Dropout

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d"]


def _check(fn, input, p):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): input must be a Tensor, got {type(input).__name__}")
    if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not input.is_floating_point():
        raise TypeError(f"{fn}(): expected a floating point input, got {input.dtype.name}")


def _dropout(input, p, training, inplace, mask_shape):
    if not training or p == 0 or input.numel() == 0:
        return input  # PyTorch returns the input itself here
    fn = lambda t: Dropout.apply(t, p=float(p), mask_shape=mask_shape)  # noqa: E731
    return input._inplace(fn) if inplace else fn(input)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1 / (1 - p)."""
    _check("dropout", input, p)
    return _dropout(input, p, training, inplace, tuple(input.shape))


def _feature_dropout(input, p, training, inplace):
    """Whole channels (dim 1 of (N, C, *)) dropped together."""
    mask_shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _dropout(input, p, training, inplace, mask_shape)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) or (C, L) input."""
    _check("dropout1d", input, p)
    if input.ndim not in (2, 3):
        raise ShapeError(f"dropout1d: expected 2D or 3D input, but received input of shape "
                         f"{tuple(input.shape)}")
    if input.ndim == 2:  # unbatched: each row of (C, L) is a channel
        mask_shape = (input.shape[0], 1)
        return _dropout(input, p, training, inplace, mask_shape)
    return _feature_dropout(input, p, training, inplace)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) input. Like PyTorch, a 3-D input is
    taken as (N, C, L) (with a warning), not as an unbatched (C, H, W)."""
    _check("dropout2d", input, p)
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: received a {input.ndim}-D input (shape "
                      f"{tuple(input.shape)}); dropout2d expects 3D or 4D inputs",
                      UserWarning, stacklevel=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L)", UserWarning, stacklevel=2)
    return _feature_dropout(input, p, training, inplace)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, D, H, W) input; any other input is
    taken as unbatched (with a warning unless it is 4-D), as in PyTorch."""
    _check("dropout3d", input, p)
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: received a {input.ndim}-D input (shape "
                      f"{tuple(input.shape)}); dropout3d expects 4D or 5D inputs",
                      UserWarning, stacklevel=2)
    if input.ndim != 5:  # unbatched: dim 0 holds the channels
        mask_shape = (input.shape[0],) + (1,) * (input.ndim - 1)
        return _dropout(input, p, training, inplace, mask_shape)
    return _feature_dropout(input, p, training, inplace)
