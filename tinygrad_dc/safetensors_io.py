"""State dicts in the safetensors format, the interchange format that
PyTorch, JAX and Hugging Face read: `save_safetensors(state_dict, path)` and
`load_safetensors(path)`, through the `safetensors` package's NumPy API.

`safetensors` is an optional dependency, imported on first use.
"""
import collections.abc
import os

import numpy as np

from .serialization import atomic_path
from .tensor import Tensor

__all__ = ["save_safetensors", "load_safetensors"]


def _safetensors_numpy():
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError("reading and writing safetensors files needs the optional "
                          "'safetensors' package: pip install safetensors (or "
                          "pip install \"tinygrad_dc[safetensors]\")") from None
    return safetensors.numpy


def _host_arrays(state_dict):
    """name -> contiguous host array, validating everything before any I/O."""
    if not isinstance(state_dict, collections.abc.Mapping):
        raise TypeError(f"save_safetensors expects a dict of name -> Tensor, got "
                        f"{type(state_dict).__name__}")
    arrays = {}
    for name, value in state_dict.items():
        if not isinstance(name, str):
            raise TypeError(f"safetensors names must be str, got {type(name).__name__} "
                            f"({name!r})")
        if not isinstance(value, Tensor):
            raise TypeError(f"save_safetensors: state_dict[{name!r}] is a "
                            f"{type(value).__name__}, not a Tensor (the format holds a flat "
                            f"dict of tensors; use tinygrad_dc.save for anything else)")
        # the package writes from the raw pointer, so strided views must be copied first
        arrays[name] = np.ascontiguousarray(value.numpy())
    return arrays


def save_safetensors(state_dict, path, metadata=None):
    """Write a flat dict of name -> Tensor to `path` atomically. `metadata`
    is an optional dict of str -> str stored in the header."""
    st = _safetensors_numpy()
    arrays = _host_arrays(state_dict)
    if metadata is not None and not (
            isinstance(metadata, collections.abc.Mapping) and
            all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise TypeError(f"metadata must be a dict of str -> str, got {metadata!r}")
    with atomic_path(path) as tmp:
        st.save_file(arrays, tmp, metadata=None if metadata is None else dict(metadata))


def load_safetensors(path, device="cpu"):
    """Read a safetensors file as a dict of name -> Tensor on `device`."""
    st = _safetensors_numpy()
    path = os.fspath(path)
    try:
        arrays = st.load_file(path)
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except Exception as e:  # the package raises its own SafetensorError (and others)
        raise ValueError(f"{path}: not a readable safetensors file ({type(e).__name__}: "
                         f"{e})") from None
    return {name: Tensor(array, device=device) for name, array in arrays.items()}
