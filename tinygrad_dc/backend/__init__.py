"""Backends: one per device. Each exposes `xp` (its array module) and the
named kernels the ops call; ops never import NumPy or CuPy themselves.

Adding a device means adding one module here with a class that has the same
attributes as `CPUBackend`.
"""


class DeviceError(RuntimeError):
    """A device was asked for that cannot be used, or devices were mixed."""


_backends = {}


def normalize_device(device):
    """'cpu', 'cuda', 'cuda:0' or an object with a `.type` (e.g. a Device)."""
    if device is None:
        return "cpu"
    name = getattr(device, "type", device)
    if not isinstance(name, str):
        raise TypeError(f"device must be a string like 'cpu' or 'cuda', got {device!r}")
    name = name.lower()
    if name.startswith("cuda"):
        if name not in ("cuda", "cuda:0"):
            raise DeviceError(f"device {device!r}: only one GPU ('cuda' or 'cuda:0') is supported")
        return "cuda"
    if name != "cpu":
        raise DeviceError(f"unknown device {device!r}; expected 'cpu' or 'cuda'")
    return name


def get_backend(device="cpu"):
    name = normalize_device(device)
    backend = _backends.get(name)
    if backend is None:
        if name == "cpu":
            from .cpu import CPUBackend
            backend = CPUBackend()
        else:
            from .cuda import CUDABackend
            backend = CUDABackend()  # raises DeviceError when no GPU is usable
        from ..random import initial_seed
        if initial_seed() is not None:
            backend.seed(initial_seed())
        _backends[name] = backend
    return backend


def own_kernel(backend, name):
    """`backend.<name>` when the backend implements it, else None: for ops whose
    default is an array-module expression but which a backend may run on its
    own kernels (the CUDA backend's matmul and softmax). Asked of the class,
    because an instance may answer unknown names by importing its kernel
    package (the CPU backend does), which costs microseconds an op can't spare."""
    return getattr(backend, name) if hasattr(type(backend), name) else None


def loaded_backends():
    return list(_backends.values())
