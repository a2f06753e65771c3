"""nn.functional: linear."""
from ...tensor import Tensor, ShapeError
from ...autograd.function import check_same_device
from ...ops.nn_basic import Linear

__all__ = ["linear"]


def linear(input, weight, bias=None):
    """input @ weight.T + bias for input (*, in_features), weight
    (out_features, in_features) and bias (out_features,) -> (*, out_features).
    A 1-D weight (in_features,) without bias gives (*), as in PyTorch."""
    for name, t in (("input", input), ("weight", weight), ("bias", bias)):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"linear(): {name} must be a Tensor, got {type(t).__name__}")
    if weight.ndim == 1 and bias is None:
        return linear(input, weight.reshape(1, -1)).squeeze(-1)
    if weight.ndim != 2:
        raise ShapeError(f"linear(): weight must be 2-D (out_features, in_features), got shape "
                         f"{tuple(weight.shape)}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ShapeError(f"linear(): input shape {tuple(input.shape)} and weight shape "
                         f"{tuple(weight.shape)} don't fit: the last dim of input must equal "
                         f"in_features = {weight.shape[1]}")
    tensors = (input, weight) if bias is None else (input, weight, bias)
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ShapeError(f"linear(): bias shape {tuple(bias.shape)} must be (out_features,) = "
                         f"({weight.shape[0]},) for weight shape {tuple(weight.shape)}")
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1 or not input.is_floating_point():
        names = ", ".join(f"{n} {t.dtype.name}"
                          for n, t in zip(("input", "weight", "bias"), tensors))
        raise TypeError(f"linear(): expected floating point tensors of one dtype, got {names}")
    check_same_device(tensors)
    return Linear.apply(*tensors)
