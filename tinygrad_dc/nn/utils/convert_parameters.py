"""Flatten parameters into one vector and back (PyTorch's helpers)."""
from ...tensor import Tensor, cat

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_devices(parameters):
    devices = {p.device for p in parameters}
    if len(devices) > 1:
        raise RuntimeError(f"Found parameters on different devices ({sorted(devices)}); "
                           f"move them to one device first")


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated (differentiable)."""
    parameters = list(parameters)
    _check_devices(parameters)
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Point each parameter's data at its slice of `vec` (no graph)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected vec to be a Tensor, but got: {type(vec).__name__}")
    parameters = list(parameters)
    _check_devices(parameters + [vec])
    total = sum(p.numel() for p in parameters)
    if vec.ndim != 1 or vec.numel() != total:
        raise RuntimeError(f"vec of shape {tuple(vec.shape)} does not fit the parameters: they "
                           f"have {total} elements in all")
    pointer = 0
    for p in parameters:
        n = p.numel()
        p.data = vec[pointer:pointer + n].detach().reshape(p.shape)
        pointer += n
