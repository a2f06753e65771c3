"""Turning a list of samples into a batch (`default_collate`) and a single
sample's NumPy parts into tensors (`default_convert`), with PyTorch's rules:

    Tensor -> stacked Tensor        numpy array -> stacked Tensor
    float -> float64 Tensor         int / bool -> int64 / bool Tensor
    numpy scalar -> Tensor of its dtype       str, bytes -> left as a list
    Mapping -> same mapping type, collated per key
    namedtuple -> same namedtuple, collated per field
    tuple -> list (PyTorch's backward-compatible quirk), other sequences keep their type

`collate(batch, collate_fn_map=...)` is the extensible engine, as in PyTorch:
exact element types are looked up first, then subclasses in map order.
"""
import collections.abc
import copy
import re

import numpy as np

from ... import dtypes
from ...creation import from_numpy
from ...tensor import Tensor, stack

# NumPy dtypes that hold strings or Python objects cannot become tensors
_NOT_NUMERIC = re.compile(r"[SaUO]")

default_collate_err_msg_format = ("default_collate: batch must contain tensors, numpy arrays, "
                                  "numbers, dicts or lists; found {}")


def _is_numpy_value(data):
    kind = type(data)
    return kind.__module__ == "numpy" and kind.__name__ not in ("str_", "bytes_", "string_")


def default_convert(data):
    """NumPy arrays and scalars inside `data` become tensors (arrays share
    memory, as torch.as_tensor does); everything else is left as it is."""
    if isinstance(data, Tensor):
        return data
    if _is_numpy_value(data):
        if isinstance(data, np.ndarray) and _NOT_NUMERIC.search(data.dtype.str):
            return data
        return from_numpy(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def _rebuild_mapping(like, values):
    """`values` (a dict) in the mapping type of `like` where that is possible."""
    try:
        if isinstance(like, collections.abc.MutableMapping):
            clone = copy.copy(like)
            clone.update(values)
            return clone
        return type(like)(values)
    except TypeError:
        return values


def _rebuild_sequence(like, items):
    try:
        if isinstance(like, collections.abc.MutableSequence):
            clone = copy.copy(like)
            for i, item in enumerate(items):
                clone[i] = item
            return clone
        return type(like)(items)
    except TypeError:
        return items


def collate(batch, *, collate_fn_map=None):
    """Collate `batch` (a list of samples of one structure) recursively;
    leaves are handed to the function `collate_fn_map` gives for their type."""
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type, fn in collate_fn_map.items():
            if isinstance(elem, collate_type):
                return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {key: collate([d[key] for d in batch],
                                                    collate_fn_map=collate_fn_map)
                                       for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(collate(list(samples), collate_fn_map=collate_fn_map)
                           for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        sizes = [len(sample) for sample in batch]
        if any(size != sizes[0] for size in sizes):
            raise RuntimeError(f"each element in list of batch should be of equal size, got "
                               f"sizes {sorted(set(sizes))}")
        items = [collate(list(samples), collate_fn_map=collate_fn_map)
                 for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return items  # PyTorch's backward-compatible choice: tuples become lists
        return _rebuild_sequence(elem, items)
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def collate_tensor_fn(batch, *, collate_fn_map=None):
    return stack(batch, 0)  # raises ShapeError naming the first mismatched shapes


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    dtype = batch[0].dtype
    if _NOT_NUMERIC.search(dtype.str):
        raise TypeError(default_collate_err_msg_format.format(
            f"numpy arrays of dtype {dtype.str}, which cannot become tensors"))
    return collate([from_numpy(np.asarray(b)) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    return from_numpy(np.asarray(batch))


def collate_float_fn(batch, *, collate_fn_map=None):
    return Tensor(batch, dtype=dtypes.float64)


def collate_int_fn(batch, *, collate_fn_map=None):
    return Tensor(batch)  # int64, or bool when all are bools, or float32 when mixed with floats


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


default_collate_fn_map = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def default_collate(batch):
    """Stack a list of samples into a batch, recursing into dicts, tuples and
    lists (see the module docstring for the rules)."""
    return collate(batch, collate_fn_map=default_collate_fn_map)
