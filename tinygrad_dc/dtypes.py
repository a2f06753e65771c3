"""Dtype objects and PyTorch's type-promotion rules.

A `DType` wraps the NumPy dtype that stores the data (CuPy uses the same
dtype objects). Promotion follows PyTorch, not NumPy: an int tensor combined
with a float takes the float's type, and a Python scalar or a 0-dim tensor
only decides the result when it is of a higher category (bool < int < float).
"""
import numpy as np

# the module defines dtypes named float and int; keep the Python types at hand
_pyfloat, _pyint, _pybool = type(1.0), type(1), type(True)


class DType:
    __slots__ = ("name", "np", "itemsize", "is_floating_point", "category")

    def __init__(self, name, np_dtype, category):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == 2
        self.category = category  # 0 bool, 1 integer, 2 floating

    def __repr__(self):
        return f"tinygrad_dc.{self.name}"

    def __reduce__(self):
        return (from_any, (self.name,))


float16 = DType("float16", np.float16, 2)
float32 = DType("float32", np.float32, 2)
float64 = DType("float64", np.float64, 2)
int8 = DType("int8", np.int8, 1)
uint8 = DType("uint8", np.uint8, 1)
int16 = DType("int16", np.int16, 1)
int32 = DType("int32", np.int32, 1)
int64 = DType("int64", np.int64, 1)
bool_ = DType("bool", np.bool_, 0)

half, float, double = float16, float32, float64
short, int, long = int16, int32, int64

ALL = (float16, float32, float64, int8, uint8, int16, int32, int64, bool_)
_BY_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update(half=float16, float=float32, double=float64, long=int64, int=int32, short=int16)

default_float = float32


def from_numpy(np_dtype):
    """The DType for a NumPy dtype; unsupported ones (complex, strings) raise."""
    try:
        return _BY_NP[np_dtype]
    except KeyError:
        try:
            return _BY_NP[np.dtype(np_dtype)]
        except (KeyError, TypeError):
            raise TypeError(f"unsupported dtype {np_dtype!r}; supported: "
                            f"{', '.join(d.name for d in ALL)}") from None


def from_any(dtype):
    """Accept a DType, a NumPy dtype, a name ("float32") or a Python type."""
    if dtype is None or isinstance(dtype, DType):
        return dtype
    if isinstance(dtype, str):
        name = dtype.replace("torch.", "").replace("tinygrad_dc.", "")
        if name in _BY_NAME:
            return _BY_NAME[name]
        raise TypeError(f"unknown dtype name {dtype!r}")
    if dtype is _pyfloat:  # PyTorch maps the Python type `float` to float64
        return float64
    if dtype is _pyint:
        return int64
    if dtype is _pybool:
        return bool_
    return from_numpy(dtype)


def promote(a, b):
    """PyTorch's promotion of two DTypes of tensors that both have dimensions."""
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    if a.category == 2:
        return a if a.itemsize >= b.itemsize else b
    if a.category == 0:
        return a
    # integers: uint8 with a signed type of the same or smaller size widens
    if (a is uint8 and b.itemsize <= 1) or (b is uint8 and a.itemsize <= 1):
        return int16
    return a if a.itemsize >= b.itemsize else b


def scalar_category(value):
    if isinstance(value, _pybool) or isinstance(value, np.bool_):
        return 0
    if isinstance(value, (_pyint, np.integer)):
        return 1
    return 2


def result_type_scalar(tensor_dtype, value):
    """The dtype of `tensor op python_scalar` (the scalar is 'weak')."""
    cat = scalar_category(value)
    if cat <= tensor_dtype.category:
        return tensor_dtype
    return default_float if cat == 2 else int64
