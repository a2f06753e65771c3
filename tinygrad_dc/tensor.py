"""Tensor: an array, the device it lives on, and the op that made it.

Every differentiable method is a thin call of an `Op` from `ops/`; this file
only normalises arguments (dims, scalars, dtypes) and validates them at the
door, so errors name the shapes, dtypes and devices the user passed.
"""
from collections import namedtuple
from contextlib import nullcontext as _nullcontext
import math
import numbers

import numpy as np

from . import dtypes
from .backend import get_backend, DeviceError
from .autograd import function as _function
from .autograd.grad_mode import _state, no_grad
from .autograd.engine import run_backward
from .ops import elementwise as E, reduce as R, movement as M, indexing as I, linalg as L


class ShapeError(RuntimeError, ValueError):
    """Shapes that do not fit together; catchable as RuntimeError (PyTorch)
    or ValueError (NumPy)."""


class device(str):
    """A device name that is also a string ('cpu' == tensor.device)."""

    @property
    def type(self):
        return str(self).split(":")[0]

    @property
    def index(self):
        return 0 if self.type == "cuda" else None

    def __repr__(self):
        return f"device(type='{self.type}')"


MinMax = namedtuple("MinMax", ["values", "indices"])


def _format_values(arr):
    """The values as PyTorch prints them: whole floats as `1.`, others with
    4 decimals (scientific when the magnitudes call for it), bools unpadded
    unless a False sets the width."""
    if arr.size == 0:
        return "[]"
    kw = dict(separator=", ", prefix="tensor(")
    if arr.dtype.kind == "f":
        finite = arr[np.isfinite(arr)]
        if not np.array_equal(finite, np.round(finite)):
            kw.update(precision=4, floatmode="fixed")
    elif arr.dtype == np.bool_:
        true = " True" if not arr.all() else "True"
        kw["formatter"] = {"bool": lambda b: true if b else "False"}
    return np.array2string(arr, **kw)


def _is_device_array(data):
    return type(data).__module__.split(".")[0] == "cupy"


def _array_from(data, dtype, backend, copy):
    """Build the backend array for user-supplied data, with PyTorch's
    defaults: Python floats become float32, ints int64."""
    dt = dtypes.from_any(dtype)
    if isinstance(data, Tensor):
        arr = data._backend.to_numpy(data._data) if data._backend is not backend else data._data
    elif isinstance(data, (np.ndarray, np.generic)) or _is_device_array(data):
        arr = data
        if _is_device_array(data) and backend.name == "cpu":
            arr = data.get()
    else:
        try:
            arr = np.asarray(data)
        except ValueError:
            raise ValueError(f"cannot make a tensor from {type(data).__name__} data: the nested "
                             f"sequences are ragged (their lengths differ)") from None
        if dt is None and arr.dtype == np.float64:
            dt = dtypes.default_float
        elif dt is None and arr.dtype.kind in "iu":
            dt = dtypes.int64
        elif arr.dtype == object:
            raise TypeError(f"cannot make a tensor from {type(data).__name__} data "
                            f"(ragged nested lists or unsupported element types)")
    if dt is None:
        dt = dtypes.from_numpy(arr.dtype)  # raises for unsupported dtypes
    if backend.name == "cpu":
        return np.array(arr, dtype=dt.np, copy=True) if copy else np.asarray(arr, dtype=dt.np)
    arr = backend.from_numpy(arr) if isinstance(arr, (np.ndarray, np.generic)) else arr
    return backend.xp.array(arr, dtype=dt.np, copy=copy)


def _normalize_dim(dim, ndim, name="dim"):
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{name} must be an int, got {type(dim).__name__}")
    if not lo <= dim <= hi:
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], "
                         f"but got {dim})")
    return int(dim) % max(ndim, 1)


def _axes(dim, ndim):
    """A reduction's `dim` (None, int or sequence) as a sorted tuple, or None."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if ndim == 0:
        for d in dims:
            _normalize_dim(d, 0)
        return None
    if not dims:
        return None
    axes = tuple(sorted({_normalize_dim(d, ndim) for d in dims}))
    if len(axes) != len(dims):
        raise RuntimeError(f"dim {dim} appears multiple times in the list of dims")
    return axes


def _shape_arg(shape):
    """Accept f(2, 3) and f((2, 3)) alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _key_to_arrays(key, backend):
    """Turn Tensors inside an index into arrays of the tensor's backend."""
    if isinstance(key, Tensor):
        if key._backend is not backend:
            raise DeviceError(f"indices are on {key.device} but the tensor is on {backend.name}")
        if key._data.dtype.kind == "f":
            raise IndexError("tensors used as indices must be long, int or bool tensors")
        return key._data
    if isinstance(key, tuple):
        return tuple(_key_to_arrays(k, backend) for k in key)
    if isinstance(key, list) and any(isinstance(k, (Tensor, list, tuple)) for k in key):
        return backend.xp.asarray([_key_to_arrays(k, backend) if isinstance(k, Tensor) else k
                                   for k in key])
    if isinstance(key, list):
        return backend.xp.asarray(key, dtype=None if key else backend.xp.int64)
    return key


class Tensor:
    __slots__ = ("_data", "_backend", "_node", "_out_index", "_requires_grad", "grad",
                 "_version", "_retains_grad", "_history", "_view", "__weakref__")
    __array_priority__ = 1000  # numpy scalars defer to our reflected operators

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        if device is None and _is_device_array(data):
            device = "cuda"
        elif device is None and isinstance(data, Tensor):
            device = data.device
        backend = get_backend(device)
        self._data = _array_from(data, dtype, backend, copy=True)
        self._backend = backend
        self._node = None
        self._out_index = 0
        self._version = 0
        self._retains_grad = False
        self._history = None
        self.grad = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _make(array, backend, node):
        """The fast internal constructor: no conversion, no checks."""
        t = object.__new__(Tensor)
        t._data = array
        t._backend = backend
        t._node = node
        t._requires_grad = node is not None
        t.grad = None
        t._out_index = 0
        t._version = 0
        t._retains_grad = False
        t._history = None
        return t

    def _like(self, array):
        if not array.ndim:  # NumPy gives scalars for 0-d results; a tensor holds an array
            array = self._backend.xp.asarray(array)
        return Tensor._make(array, self._backend, None)

    # ---------------------------------------------------------------- attributes
    @property
    def shape(self):
        return self._data.shape

    @property
    def dtype(self):
        return dtypes.from_numpy(self._data.dtype)

    @property
    def device(self):
        return device(self._backend.name)

    @property
    def is_cuda(self):
        return self._backend.name == "cuda"

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    def size(self, dim=None):
        if dim is None:
            return self._data.shape
        return self._data.shape[_normalize_dim(dim, self.ndim)]

    def numel(self):
        return int(self._data.size)

    def element_size(self):
        return self._data.itemsize

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad=True):
        if self._node is not None and not requires_grad:
            raise RuntimeError("you can only change requires_grad flags of leaf tensors; "
                               "use .detach() to get a tensor that does not require grad")
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError(f"only tensors of floating point dtype can require gradients, "
                               f"got {self.dtype.name}")
        self._requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        if self._node is not None:
            self._retains_grad = True

    @property
    def data(self):
        """A tensor sharing this one's memory, outside the graph."""
        return Tensor._make(self._data, self._backend, None)

    @data.setter
    def data(self, value):
        value = value._data if isinstance(value, Tensor) else _array_from(value, None, self._backend, False)
        self._data = value
        self._version += 1

    @property
    def T(self):
        return self.permute(*range(self.ndim - 1, -1, -1))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    # ---------------------------------------------------------------- conversion
    def numpy(self):
        return self._backend.to_numpy(self._data)

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               f"to a Python scalar")
        return self._data.item()

    def tolist(self):
        return self.numpy().tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} elements "
                               f"is ambiguous")
        return bool(self._data.item())

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __hash__(self):
        return id(self)

    def __repr__(self):
        body = _format_values(self.numpy())
        extras = []
        if self._data.size == 0 and self._data.shape != (0,):
            extras.append(f"size={tuple(self.shape)}")
        if self._backend.name != "cpu":
            extras.append(f"device='{self._backend.name}'")
        if self._data.dtype not in (np.float32, np.int64, np.bool_) or \
                (self._data.size == 0 and self._data.dtype != np.float32):
            extras.append(f"dtype={self.dtype!r}")
        if self._node is not None:
            extras.append(f"grad_fn=<{self._node.name}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def to(self, *args, **kwargs):
        """to(device), to(dtype), to(device, dtype), to(other_tensor)."""
        dev, dt = kwargs.pop("device", None), kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None), kwargs.pop("copy", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dev, dt = a.device, a.dtype
            elif isinstance(a, dtypes.DType) or (isinstance(a, str) and not a.startswith(("cpu", "cuda"))) \
                    or isinstance(a, type) or isinstance(a, np.dtype):
                dt = a
            else:
                dev = a
        out = self
        if dt is not None:
            dt = dtypes.from_any(dt)
            if dt.np != self._data.dtype:
                # integer and bool results carry no gradient (PyTorch's rule)
                with no_grad() if not dt.is_floating_point else _nullcontext():
                    out = E.Cast.apply(out, dtype=dt.np)
        if dev is not None:
            target = get_backend(dev)
            if target is not out._backend:
                out = E.ToDevice.apply(out, target=target)
        return out

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda")

    def type(self, dtype=None):
        if dtype is None:
            return f"tinygrad_dc.{self.dtype.name}"
        return self.to(dtype)

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def half(self):
        return self.to(dtypes.float16)

    def long(self):
        return self.to(dtypes.int64)

    def int(self):
        return self.to(dtypes.int32)

    def bool(self):
        return self.to(dtypes.bool_)

    def detach(self):
        return Tensor._make(self._data, self._backend, None)

    def detach_(self):
        self._node = None
        self._requires_grad = False
        return self

    def clone(self):
        return E.Copy.apply(self)

    def contiguous(self):
        if self._data.flags.c_contiguous:
            return self
        return E.Copy.apply(self)

    def is_contiguous(self):
        return bool(self._data.flags.c_contiguous)

    # ---------------------------------------------------------------- autograd
    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        if create_graph:
            raise NotImplementedError("create_graph=True (higher-order gradients) is not supported")
        run_backward(self, self._seed_gradient(gradient), bool(retain_graph))

    def _seed_gradient(self, gradient):
        """The array that starts a backward pass from this tensor, validated."""
        if not self._requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                               "grad_fn: nothing to differentiate")
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs; "
                                   f"this tensor has shape {tuple(self.shape)}: pass gradient=")
            return self._backend.xp.ones(self.shape, dtype=self._data.dtype)
        if isinstance(gradient, Tensor) and gradient._backend is not self._backend:
            _function.check_same_device((self, gradient))
        grad = gradient._data if isinstance(gradient, Tensor) else \
            _array_from(gradient, None, self._backend, False)
        if grad.shape != self.shape:
            raise ShapeError(f"gradient has shape {tuple(grad.shape)} but the tensor has "
                             f"shape {tuple(self.shape)}")
        return grad.astype(self._data.dtype, copy=False)

    # ---------------------------------------------------------------- arithmetic
    def _operands(self, other, reverse=False):
        """self and other as two tensors of PyTorch's common dtype."""
        a, b = (other, self) if reverse else (self, other)
        if not isinstance(a, Tensor):
            a = _scalar_like(a, b)
        elif not isinstance(b, Tensor):
            b = _scalar_like(b, a)
        if a._data.dtype != b._data.dtype:
            a, b = _promote(a, b)
        return a, b

    def _binary(self, op, other, reverse=False, true_div=False):
        a, b = self._operands(other, reverse)
        if true_div and a._data.dtype.kind != "f":  # int / int gives floats, as in PyTorch
            a, b = a.float(), b.float()
        try:
            return op.apply(a, b)
        except ValueError:
            _check_broadcast(op.__name__.lower(), a, b)
            raise

    def __add__(self, other):
        return self._binary(E.Add, other)

    def __radd__(self, other):
        return self._binary(E.Add, other, True)

    def __sub__(self, other):
        return self._binary(E.Sub, other)

    def __rsub__(self, other):
        return self._binary(E.Sub, other, True)

    def __mul__(self, other):
        return self._binary(E.Mul, other)

    def __rmul__(self, other):
        return self._binary(E.Mul, other, True)

    def __truediv__(self, other):
        return self._binary(E.Div, other, true_div=True)

    def __rtruediv__(self, other):
        return self._binary(E.Div, other, True, true_div=True)

    def __pow__(self, exponent):
        if self._data.dtype.kind != "f" and isinstance(exponent, float):
            return self.float()._binary(E.Pow, exponent)
        return self._binary(E.Pow, exponent)

    def __rpow__(self, base):
        return self._binary(E.Pow, base, True)

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(_as_tensor(other, self), self)

    def __neg__(self):
        return E.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def _no_grad_binary(self, fn, other, reverse=False):
        """A binary op with no gradient (comparisons, //, %), on operands
        promoted as PyTorch does."""
        a, b = self._operands(other, reverse)
        if a._backend is not b._backend:
            _function.check_same_device((a, b))
        try:
            return self._like(fn(a._data, b._data))
        except ValueError:
            _check_broadcast(fn.__name__, a, b)
            raise

    def __floordiv__(self, other):
        return self._no_grad_binary(self._backend.xp.floor_divide, other)

    def __rfloordiv__(self, other):
        return self._no_grad_binary(self._backend.xp.floor_divide, other, True)

    def __mod__(self, other):
        return self._no_grad_binary(self._backend.xp.remainder, other)

    def __rmod__(self, other):
        return self._no_grad_binary(self._backend.xp.remainder, other, True)

    def __eq__(self, other):
        if other is None:  # `t == None` is False, as in PyTorch
            return NotImplemented
        return self._no_grad_binary(self._backend.xp.equal, other)

    def __ne__(self, other):
        if other is None:
            return NotImplemented
        return self._no_grad_binary(self._backend.xp.not_equal, other)

    def __lt__(self, other):
        return self._no_grad_binary(self._backend.xp.less, other)

    def __le__(self, other):
        return self._no_grad_binary(self._backend.xp.less_equal, other)

    def __gt__(self, other):
        return self._no_grad_binary(self._backend.xp.greater, other)

    def __ge__(self, other):
        return self._no_grad_binary(self._backend.xp.greater_equal, other)

    def __and__(self, other):
        return self._no_grad_binary(self._backend.xp.bitwise_and, other)

    def __or__(self, other):
        return self._no_grad_binary(self._backend.xp.bitwise_or, other)

    def __xor__(self, other):
        return self._no_grad_binary(self._backend.xp.bitwise_xor, other)

    def __invert__(self):
        return self._like(~self._data)

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    def add(self, other, alpha=1):
        return self + (other * alpha if alpha != 1 else other)

    def sub(self, other, alpha=1):
        return self - (other * alpha if alpha != 1 else other)

    def mul(self, other):
        return self * other

    def div(self, other, rounding_mode=None):
        if rounding_mode is None:
            return self / other
        if rounding_mode == "floor":
            return self // other
        if rounding_mode == "trunc":
            return self._no_grad_binary(lambda a, b: self._backend.xp.trunc(a / b).astype(
                np.result_type(a, b)), other)
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")

    def pow(self, exponent):
        return self ** exponent

    def matmul(self, other):
        return matmul(self, other)

    def maximum(self, other):
        return maximum(self, other)

    def minimum(self, other):
        return minimum(self, other)

    # ---------------------------------------------------------------- unary math
    def _unary_float(self, op):
        t = self if self._data.dtype.kind == "f" else self.float()
        return op.apply(t)

    def exp(self):
        return self._unary_float(E.Exp)

    def log(self):
        return self._unary_float(E.Log)

    def log1p(self):
        return self._unary_float(E.Log1p)

    def sqrt(self):
        return self._unary_float(E.Sqrt)

    def rsqrt(self):
        return self._unary_float(E.Rsqrt)

    def sin(self):
        return self._unary_float(E.Sin)

    def cos(self):
        return self._unary_float(E.Cos)

    def tanh(self):
        return self._unary_float(E.Tanh)

    def sigmoid(self):
        return self._unary_float(E.Sigmoid)

    def abs(self):
        return E.Abs.apply(self)

    def relu(self):
        return E.Relu.apply(self)

    def neg(self):
        return -self

    def sign(self):
        return self._like(self._backend.xp.sign(self._data))

    # Piecewise constant: no gradient flows through them (PyTorch's is 0).
    def floor(self):
        return self._rounded("floor")

    def ceil(self):
        return self._rounded("ceil")

    def trunc(self):
        return self._rounded("trunc")

    def round(self, decimals=0):
        if self._data.dtype.kind != "f":
            return self._like(self._data.copy())
        return self._like(self._backend.xp.round(self._data, decimals))

    def _rounded(self, name):
        if self._data.dtype.kind != "f":  # integers are already whole (NumPy would make floats)
            return self._like(self._data.copy())
        return self._like(getattr(self._backend.xp, name)(self._data))

    def log2(self):
        return self.log() * (1 / math.log(2))

    def log10(self):
        return self.log() * (1 / math.log(10))

    def exp2(self):
        t = self if self._data.dtype.kind == "f" else self.float()
        return (t * math.log(2)).exp()

    def roll(self, shifts, dims=None):
        """Elements shifted along `dims` (wrapping around); without dims,
        over the flattened tensor, as PyTorch's roll."""
        if dims is None:
            return self.flatten().roll(shifts, 0).reshape(self.shape)
        shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
        dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
        if len(shifts) != len(dims):
            raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length")
        out = self
        for shift, dim in zip(shifts, dims):
            dim = _normalize_dim(dim, self.ndim)
            n = self.shape[dim]
            if n == 0 or shift % n == 0:
                continue
            cut = n - shift % n
            head = (slice(None),) * dim
            out = cat([out[head + (slice(cut, None),)], out[head + (slice(0, cut),)]], dim=dim)
        return out if out is not self else self.clone()

    def prod(self, dim=None, keepdim=False, dtype=None):
        t = self.to(dtype) if dtype is not None else self
        if t._data.dtype.kind in "biu" and t._data.dtype != np.int64:
            t = t.long()
        if dim is None:
            return R.Prod.apply(t.reshape(-1), axis=0)
        return R.Prod.apply(t, axis=_normalize_dim(dim, t.ndim), keepdim=keepdim)

    def square(self):
        return self * self

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            out = self
            if min is not None:
                out = maximum(out, min)
            if max is not None:
                out = minimum(out, max)
            return out
        t = self
        if t._data.dtype.kind != "f" and (isinstance(min, float) or isinstance(max, float)):
            t = t.float()  # clamp(int, 0.5) promotes like a binary op
        return E.Clamp.apply(t, min=min, max=max)

    clip = clamp

    # ---------------------------------------------------------------- reductions
    def sum(self, dim=None, keepdim=False, dtype=None):
        t = self.to(dtype) if dtype is not None else self
        if t._data.dtype.kind in "biu" and t._data.dtype != np.int64:
            t = t.long()
        return R.Sum.apply(t, axis=_axes(dim, t.ndim), keepdim=keepdim)

    def mean(self, dim=None, keepdim=False, dtype=None):
        t = self.to(dtype) if dtype is not None else self
        if t._data.dtype.kind != "f":
            raise RuntimeError(f"mean(): input dtype must be floating point, got {t.dtype.name}")
        return R.Mean.apply(t, axis=_axes(dim, t.ndim), keepdim=keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        if isinstance(dim, bool):  # var(False): PyTorch's var(unbiased) overload
            dim, unbiased = None, dim
        if isinstance(unbiased, bool) or unbiased is None:
            if correction is None:
                correction = 1 if unbiased in (None, True) else 0
        else:  # var(dim, keepdim) written positionally is ambiguous; follow PyTorch
            raise TypeError("var(): unbiased must be a bool")
        if self._data.dtype.kind != "f":
            raise RuntimeError(f"var(): input dtype must be floating point, got {self.dtype.name}")
        return R.Var.apply(self, axis=_axes(dim, self.ndim), keepdim=keepdim, correction=correction)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def _minmax(self, dim, keepdim, other, is_max):
        if isinstance(dim, Tensor) or other is not None:
            return (maximum if is_max else minimum)(self, dim if other is None else other)
        if dim is None:
            if self._data.size == 0:
                raise RuntimeError("max(): expected a non-empty tensor")
            return (R.Amax if is_max else R.Amin).apply(self, axis=None, keepdim=False)
        axis = _normalize_dim(dim, self.ndim)
        if self.ndim == 0:
            return MinMax(self.clone(), self._like(self._backend.xp.zeros((), dtype=np.int64)))
        if self._data.shape[axis] == 0:
            raise IndexError(f"max(): cannot reduce over dimension {dim} of size 0")
        xp = self._backend.xp
        indices = (xp.argmax if is_max else xp.argmin)(self._data, axis=axis)
        values = R.MaxDim.apply(self, axis=axis, keepdim=keepdim, indices=indices)
        if keepdim:
            indices = xp.expand_dims(indices, axis)
        return MinMax(values, self._like(indices.astype(np.int64, copy=False)))

    def max(self, dim=None, keepdim=False, other=None):
        return self._minmax(dim, keepdim, other, True)

    def min(self, dim=None, keepdim=False, other=None):
        return self._minmax(dim, keepdim, other, False)

    def amax(self, dim=(), keepdim=False):
        return R.Amax.apply(self, axis=self._nonempty_axes("amax", dim), keepdim=keepdim)

    def amin(self, dim=(), keepdim=False):
        return R.Amin.apply(self, axis=self._nonempty_axes("amin", dim), keepdim=keepdim)

    def _nonempty_axes(self, name, dim):
        """The axes of a max/min reduction, none of which may be empty."""
        axes = _axes(dim, self.ndim)
        for ax in range(self.ndim) if axes is None else axes:
            if self.shape[ax] == 0:
                raise IndexError(f"{name}(): expected reduction dim {ax} to have non-zero size "
                                 f"(shape {tuple(self.shape)})")
        return axes

    def _arg(self, fn, dim, keepdim):
        if dim is None:
            out = fn(self._data.reshape(-1))
            if keepdim:
                out = self._backend.xp.asarray(out).reshape((1,) * self.ndim)
            return self._like(self._backend.xp.asarray(out, dtype=np.int64))
        axis = _normalize_dim(dim, self.ndim)
        if self.ndim == 0:
            return self._like(self._backend.xp.zeros((), dtype=np.int64))
        return self._like(fn(self._data, axis=axis, keepdims=keepdim).astype(np.int64, copy=False))

    def argmax(self, dim=None, keepdim=False):
        return self._arg(self._backend.xp.argmax, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return self._arg(self._backend.xp.argmin, dim, keepdim)

    def logsumexp(self, dim, keepdim=False):
        t = self if self._data.dtype.kind == "f" else self.float()
        axes = _axes(dim, t.ndim)
        if axes is None and t.ndim == 0:
            return t.clone()
        return R.LogSumExp.apply(t, axis=axes, keepdim=keepdim)

    def softmax(self, dim, dtype=None):
        t = self.to(dtype) if dtype is not None else self
        if t.ndim == 0:
            return t._unary_float(E.Exp) / t._unary_float(E.Exp)
        return R.Softmax.apply(t if t._data.dtype.kind == "f" else t.float(),
                               axis=_normalize_dim(dim, t.ndim))

    def log_softmax(self, dim, dtype=None):
        t = self.to(dtype) if dtype is not None else self
        if t.ndim == 0:
            return t - t
        return R.LogSoftmax.apply(t if t._data.dtype.kind == "f" else t.float(),
                                  axis=_normalize_dim(dim, t.ndim))

    def cumsum(self, dim, dtype=None):
        t = self.to(dtype) if dtype is not None else self
        if t._data.dtype.kind in "biu" and t._data.dtype != np.int64:
            t = t.long()
        if t.ndim == 0:
            return t.clone()
        return R.Cumsum.apply(t, axis=_normalize_dim(dim, t.ndim))

    def norm(self, p="fro", dim=None, keepdim=False):
        if self._data.dtype.kind != "f":
            raise RuntimeError(f"norm(): input dtype must be floating point, got {self.dtype.name}")
        axes = _axes(dim, self.ndim)
        if p in ("fro", 2, 2.0):
            return R.Norm2.apply(self, axis=axes, keepdim=keepdim)
        if p in (float("inf"), "inf"):
            return self.abs().amax(dim=axes or (), keepdim=keepdim)
        if p in (float("-inf"), "-inf"):
            return self.abs().amin(dim=axes or (), keepdim=keepdim)
        if p == 0:
            return (self != 0).to(self.dtype).sum(dim=axes, keepdim=keepdim)
        if p == 1:
            return self.abs().sum(dim=axes, keepdim=keepdim)
        if not isinstance(p, numbers.Real):
            raise ValueError(f"norm(): unsupported p={p!r}")
        return (self.abs() ** p).sum(dim=axes, keepdim=keepdim) ** (1.0 / p)

    def all(self, dim=None, keepdim=False):
        return self._like(self._backend.xp.asarray(self._data.all(axis=_axes(dim, self.ndim), keepdims=keepdim)))

    def any(self, dim=None, keepdim=False):
        return self._like(self._backend.xp.asarray(self._data.any(axis=_axes(dim, self.ndim), keepdims=keepdim)))

    # ---------------------------------------------------------------- shape
    def reshape(self, *shape):
        shape = _shape_arg(shape)
        size, unknown = 1, [i for i, s in enumerate(shape) if s == -1]
        for s in shape:
            if s != -1:
                size *= s
        n = self._data.size
        if len(unknown) > 1 or any(s < -1 for s in shape) or \
                (unknown and (size == 0 or n % size)) or (not unknown and size != n):
            raise ShapeError(f"shape {list(shape)} is invalid for input of size {n} "
                             f"(shape {tuple(self.shape)})")
        if shape == self._data.shape:
            return self
        out = M.Reshape.apply(self, shape=shape)
        out._view = (self, "reshape", None)
        return out

    def view(self, *shape):
        if len(shape) == 1 and (isinstance(shape[0], dtypes.DType) or shape[0] in (np.float32,)):
            raise NotImplementedError("view(dtype) is not supported; use .to(dtype)")
        return self.reshape(*shape)

    def view_as(self, other):
        return self.reshape(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = _normalize_dim(start_dim, self.ndim), _normalize_dim(end_dim, self.ndim)
        if start > end:
            raise ValueError("flatten(): start_dim cannot come after end_dim")
        shape = self.shape
        return self.reshape(shape[:start] + (-1 if 0 not in shape else 0,) + shape[end + 1:]) \
            if start != end else self

    def unflatten(self, dim, sizes):
        axis = _normalize_dim(dim, self.ndim)
        sizes = tuple(sizes)
        if -1 in sizes:
            known = 1
            for s in sizes:
                if s != -1:
                    known *= s
            sizes = tuple(self.shape[axis] // known if s == -1 else s for s in sizes)
        prod = 1
        for s in sizes:
            prod *= s
        if prod != self.shape[axis]:
            raise ShapeError(f"unflatten: sizes {list(sizes)} don't multiply up to the size of "
                             f"dim {dim} ({self.shape[axis]}) in shape {tuple(self.shape)}")
        return self.reshape(self.shape[:axis] + sizes + self.shape[axis + 1:])

    def squeeze(self, dim=None):
        if dim is None:
            shape = tuple(s for s in self.shape if s != 1)
        else:
            axes = _axes(dim, self.ndim) or ()
            shape = tuple(s for i, s in enumerate(self.shape) if not (i in axes and s == 1))
        return self.reshape(shape)

    def unsqueeze(self, dim):
        axis = _normalize_dim(dim, self.ndim + 1)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def permute(self, *dims):
        dims = _shape_arg(dims)
        if len(dims) != self.ndim:
            raise ShapeError(f"permute: the number of dims {len(dims)} does not match the "
                             f"tensor's {self.ndim} (shape {tuple(self.shape)})")
        axes = tuple(_normalize_dim(d, self.ndim) for d in dims)
        if len(set(axes)) != len(axes):
            raise RuntimeError(f"permute: repeated dim in {list(dims)}")
        if axes == tuple(range(self.ndim)):
            return self
        out = M.Permute.apply(self, axes=axes)
        out._view = (self, "permute", axes)
        return out

    def transpose(self, dim0, dim1):
        if self.ndim < 2 and self.ndim == 0:
            return self
        axes = list(range(self.ndim))
        a, b = _normalize_dim(dim0, self.ndim), _normalize_dim(dim1, self.ndim)
        axes[a], axes[b] = axes[b], axes[a]
        return self.permute(*axes)

    def t(self):
        if self.ndim > 2:
            raise ShapeError(f"t() expects a tensor with <= 2 dimensions, got shape {tuple(self.shape)}")
        return self.transpose(0, 1) if self.ndim == 2 else self

    swapaxes = transpose

    def expand(self, *sizes):
        sizes = _shape_arg(sizes)
        if len(sizes) < self.ndim:
            raise ShapeError(f"expand: the number of sizes {len(sizes)} must be at least the "
                             f"tensor's number of dims {self.ndim} (shape {tuple(self.shape)})")
        lead = len(sizes) - self.ndim
        if any(s < 0 for s in sizes[:lead]) or any(s < -1 for s in sizes):
            raise ShapeError(f"expand: the sizes {list(sizes)} are invalid for shape "
                             f"{tuple(self.shape)} (-1 is only allowed for existing dims)")
        shape = tuple(self.shape[i - lead] if s == -1 and i >= lead else s
                      for i, s in enumerate(sizes))
        for i, s in enumerate(self.shape):
            if s != 1 and s != shape[i + lead]:
                raise ShapeError(f"expand: the expanded size {shape[i + lead]} must match the "
                                 f"existing size {s} at dim {i} (shape {tuple(self.shape)} "
                                 f"to {list(sizes)})")
        if shape == self.shape:
            return self
        return M.Expand.apply(self, shape=shape)

    def expand_as(self, other):
        return self.expand(other.shape)

    def broadcast_to(self, shape):
        return self.expand(shape)

    def repeat(self, *sizes):
        sizes = _shape_arg(sizes)
        if len(sizes) < self.ndim:
            raise ShapeError(f"repeat: the number of repeats {len(sizes)} cannot be smaller "
                             f"than the number of dims {self.ndim} (shape {tuple(self.shape)})")
        return M.Repeat.apply(self, reps=sizes)

    def split(self, split_size_or_sections, dim=0):
        axis = _normalize_dim(dim, self.ndim)
        n = self.shape[axis]
        if isinstance(split_size_or_sections, (int, np.integer)):
            step = int(split_size_or_sections)
            if step <= 0 and n:
                raise ValueError(f"split: split_size must be positive, got {step}")
            sizes = [min(step, n - i) for i in range(0, n, step)] if n else [0]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != n:
                raise ShapeError(f"split: sections {sizes} don't sum to the size {n} of dim "
                                 f"{dim} (shape {tuple(self.shape)})")
        out, start = [], 0
        for s in sizes:
            index = (slice(None),) * axis + (slice(start, start + s),)
            out.append(self[index])
            start += s
        return tuple(out)

    def chunk(self, chunks, dim=0):
        if chunks <= 0:
            raise ValueError(f"chunk expects `chunks` to be greater than 0, got {chunks}")
        n = self.shape[_normalize_dim(dim, self.ndim)]
        step = -(-n // chunks) if n else 1
        return self.split(step, dim)

    def unbind(self, dim=0):
        axis = _normalize_dim(dim, self.ndim)
        return tuple(self[(slice(None),) * axis + (i,)] for i in range(self.shape[axis]))

    def flip(self, dims):
        axes = _axes(dims, self.ndim)
        return M.Flip.apply(self, axis=axes) if axes else self

    def tril(self, diagonal=0):
        if self.ndim < 2:
            raise ShapeError(f"tril: expected a tensor with 2 or more dims, got shape {tuple(self.shape)}")
        return M.Triangle.apply(self, diagonal=diagonal, upper=False)

    def triu(self, diagonal=0):
        if self.ndim < 2:
            raise ShapeError(f"triu: expected a tensor with 2 or more dims, got shape {tuple(self.shape)}")
        return M.Triangle.apply(self, diagonal=diagonal, upper=True)

    def masked_fill(self, mask, value):
        mask = mask if isinstance(mask, Tensor) else Tensor(mask, device=self.device)
        if mask._data.dtype != np.bool_:
            raise TypeError(f"masked_fill: expected a bool mask, got {mask.dtype.name}")
        if isinstance(value, Tensor) and value.ndim != 0:
            raise ShapeError(f"masked_fill only supports a 0-dimensional value tensor, but got "
                             f"one of shape {tuple(value.shape)}")
        # the value takes the tensor's dtype: masked_fill never promotes
        value = value.to(self.dtype) if isinstance(value, Tensor) else \
            Tensor._make(self._backend.xp.asarray(value, dtype=self._data.dtype), self._backend, None)
        return where(mask, value, self)

    def where(self, condition, other):
        return where(condition, self, other)

    def gather(self, dim, index):
        axis = _normalize_dim(dim, self.ndim)
        if not isinstance(index, Tensor) or index._data.dtype.kind not in "iu":
            raise TypeError("gather: index must be an integer tensor")
        if index.ndim != self.ndim:
            raise ShapeError(f"gather: index {tuple(index.shape)} and input {tuple(self.shape)} "
                             f"must have the same number of dims")
        for d, (i, s) in enumerate(zip(index.shape, self.shape)):
            if d != axis and i > s:
                raise ShapeError(f"gather: index {tuple(index.shape)} is larger than input "
                                 f"{tuple(self.shape)} at dim {d}")
        _function.check_same_device((self, index))
        idx = index._data
        if idx.size and (idx.min() < 0 or idx.max() >= self.shape[axis]):
            bad = int(idx.min()) if idx.min() < 0 else int(idx.max())
            raise IndexError(f"gather: index {bad} is out of bounds for dim {dim} with size "
                             f"{self.shape[axis]}")
        return I.Gather.apply(self, index=idx, axis=axis)

    # ---------------------------------------------------------------- indexing
    def __getitem__(self, key):
        key = _key_to_arrays(key, self._backend)
        out = I.GetItem.apply(self, key=key)
        if I.is_basic(key):
            out._view = (self, "getitem", key)
        return out

    def __setitem__(self, key, value):
        key = _key_to_arrays(key, self._backend)
        value = value if isinstance(value, Tensor) else _scalar_like(value, self) \
            if isinstance(value, numbers.Number) else Tensor(value, device=self.device)
        if value._data.dtype != self._data.dtype:
            value = value.to(self.dtype)
        if _state.enabled and (self._requires_grad or value._requires_grad):
            self._check_inplace_allowed()
            old = self._snapshot()
            self._commit(I.SetItem.apply(old, value, key=key))
        else:
            _function.check_same_device((self, value))
            try:
                self._data[key] = value._data
            except ValueError:
                raise ShapeError(f"setitem: a value of shape {tuple(value.shape)} cannot be "
                                 f"assigned to the indexed part of the tensor of shape "
                                 f"{tuple(self.shape)}") from None
            self._bump_version()

    # ---------------------------------------------------------------- in place
    def _check_inplace_allowed(self):
        if self._node is None and self._requires_grad:
            raise RuntimeError(
                f"a leaf tensor of shape {tuple(self.shape)} that requires grad is being used "
                f"in an in-place operation; do it under `with tinygrad_dc.no_grad():`")

    def _snapshot(self):
        """A new tensor object standing for this one's current value and history."""
        old = Tensor._make(self._data, self._backend, self._node)
        old._requires_grad, old._out_index, old._version = \
            self._requires_grad, self._out_index, self._version
        return old

    def _base_of_view(self):
        """(base, kind, arg) when this tensor still shares memory with the
        tensor it was made a view of (by basic indexing, reshape, permute)."""
        view = getattr(self, "_view", None)  # unset on tensors made without a view
        if view is not None and self._backend.xp.may_share_memory(self._data, view[0]._data):
            return view
        return None

    def _bump_version(self):
        """Count a write into this tensor's memory, and into its bases' (a
        view shares their memory), so graphs that saved them notice."""
        self._version += 1
        view = self._base_of_view()
        while view is not None:
            view[0]._version += 1
            view = view[0]._base_of_view()

    def _commit(self, result):
        """Make this tensor hold `result`, the out-of-place value of an
        in-place op; when it is a view, the change is written through to its
        base as well (recorded as index assignment), as PyTorch's views do."""
        view = self._base_of_view()
        while view is not None:  # validate the whole chain before changing anything
            base = view[0]
            if base._node is None and base._requires_grad:
                raise RuntimeError(
                    f"a view of a leaf tensor of shape {tuple(base.shape)} that requires grad "
                    f"is being used in an in-place operation; do it under no_grad()")
            view = base._base_of_view()
        view = self._base_of_view()
        if view is not None:
            base, kind, arg = view
            if kind == "getitem":
                base._commit(I.SetItem.apply(base._snapshot(), result, key=arg))
                result = I.GetItem.apply(base, key=arg)
            elif kind == "reshape":
                base._commit(M.Reshape.apply(result, shape=base.shape))
                result = M.Reshape.apply(base, shape=self.shape)
            else:
                inverse = tuple(sorted(range(len(arg)), key=arg.__getitem__))
                base._commit(M.Permute.apply(result, axes=inverse))
                result = M.Permute.apply(base, axes=arg)
        self._rebase(result)

    def _rebase(self, result):
        """Make this tensor the output of `result`'s op (in-place with history)."""
        history = self._history or []
        history.append((self._version, self._node, self._out_index))
        self._history = history
        self._data, self._node, self._out_index = result._data, result._node, result._out_index
        self._requires_grad = result._requires_grad
        self._version += 1

    def _inplace(self, compute, other=None):
        """Apply `compute(self)` in place: into the same memory when no graph
        is recorded, else as a new op whose output this tensor becomes."""
        needs_graph = _state.enabled and (
            self._requires_grad or (isinstance(other, Tensor) and other._requires_grad))
        if needs_graph:
            self._check_inplace_allowed()
            result = compute(self._snapshot())
            self._check_inplace_result(result)
            if result._data.dtype != self._data.dtype:  # in-place keeps the tensor's dtype
                result = result.to(self.dtype)
            self._commit(result)
            return self
        with no_grad():
            result = compute(self)
        self._check_inplace_result(result)
        if result._data is not self._data:
            self._data[...] = result._data
        self._bump_version()
        return self

    def _check_inplace_result(self, result):
        if result.shape != self.shape:
            raise ShapeError(f"in-place: the result of shape {tuple(result.shape)} does not fit "
                             f"the tensor of shape {tuple(self.shape)}")
        if result.dtype.category > self.dtype.category:
            raise TypeError(f"in-place: result type {result.dtype.name} can't be cast to the "
                            f"tensor's dtype {self.dtype.name}")

    def add_(self, other, alpha=1):
        return self._inplace(lambda t: t.add(other, alpha), other)

    def sub_(self, other, alpha=1):
        return self._inplace(lambda t: t.sub(other, alpha), other)

    def mul_(self, other):
        return self._inplace(lambda t: t * other, other)

    def div_(self, other):
        return self._inplace(lambda t: t / other, other)

    def pow_(self, exponent):
        return self._inplace(lambda t: t ** exponent, exponent)

    def clamp_(self, min=None, max=None):
        return self._inplace(lambda t: t.clamp(min, max))

    clip_ = clamp_

    def copy_(self, src):
        src = src if isinstance(src, Tensor) else Tensor(src, device=self.device)
        if src._backend is not self._backend:
            src = src.to(self.device)
        return self._inplace(lambda t: t._overwritten(src), src)

    def _overwritten(self, value):
        """The out-of-place form of overwriting this tensor with `value`
        (broadcast, cast to this dtype): a fresh array, and a gradient of
        zero for the old value, as in PyTorch."""
        value = value.to(self.dtype)
        keep = self._backend.xp.ones(self.shape, dtype=bool)
        try:
            return E.Where.apply(value, self, cond=keep)
        except ValueError:
            _check_broadcast("copy_", value, self)
            raise

    def masked_fill_(self, mask, value):
        return self._inplace(lambda t: t.masked_fill(mask, value), value)

    def relu_(self):
        return self._inplace(lambda t: t.relu())

    def exp_(self):
        return self._inplace(lambda t: t.exp())

    def neg_(self):
        return self._inplace(lambda t: -t)

    def _fill_raw(self, array_fn):
        """Overwrite the values: zero_, fill_, uniform_, normal_. On a tensor
        with history this is recorded (the old value then gets no gradient)."""
        if _state.enabled and self._requires_grad:
            self._check_inplace_allowed()
            new = self._backend.xp.empty_like(self._data)
            new[...] = array_fn()
            return self._inplace(lambda t: t._overwritten(self._like(new)))
        self._data[...] = array_fn()
        self._bump_version()
        return self

    def zero_(self):
        return self._fill_raw(lambda: 0)

    def fill_(self, value):
        return self._fill_raw(lambda: value.item() if isinstance(value, Tensor) else value)

    def uniform_(self, a=0.0, b=1.0):
        from .random import uniform_array
        return self._fill_raw(lambda: uniform_array(self._backend, self.shape, a, b, self._data.dtype))

    def normal_(self, mean=0.0, std=1.0):
        from .random import normal_array
        return self._fill_raw(lambda: normal_array(self._backend, self.shape, mean, std, self._data.dtype))

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_


# -------------------------------------------------------------------- helpers
def _scalar_like(value, like):
    """A Python number as a 0-dim array in `like`'s dtype category rules."""
    if isinstance(value, Tensor):
        return value
    if not isinstance(value, (numbers.Number, np.generic)):
        if isinstance(value, (list, tuple, np.ndarray)) or _is_device_array(value):
            return Tensor(value, device=like.device)
        raise TypeError(f"unsupported operand of type {type(value).__name__} for a tensor op")
    dt = dtypes.result_type_scalar(like.dtype, value)
    return Tensor._make(like._backend.xp.asarray(value, dtype=dt.np), like._backend, None)


def _as_tensor(value, like):
    return value if isinstance(value, Tensor) else _scalar_like(value, like)


def _promote(a, b):
    """Cast two tensors to PyTorch's common dtype (0-dim tensors are weaker)."""
    da, db = a.dtype, b.dtype
    a0, b0 = a._data.ndim == 0, b._data.ndim == 0
    if a0 != b0:
        dim_t, zero_t = (b, a) if a0 else (a, b)
        target = zero_t.dtype if zero_t.dtype.category > dim_t.dtype.category else dim_t.dtype
    else:
        target = dtypes.promote(da, db)
    if da is not target:
        a = a.to(target)
    if db is not target:
        b = b.to(target)
    return a, b


def _check_broadcast(name, *tensors):
    """Raise a ShapeError naming the shapes when they don't broadcast together."""
    shapes = [tuple(t.shape) for t in tensors]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise ShapeError(f"{name}: shapes {' and '.join(map(str, shapes))} cannot be broadcast "
                         f"together") from None


def matmul(a, b):
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"matmul expects tensors, got {type(a).__name__} and {type(b).__name__}")
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both arguments need at least 1 dimension, got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    k_a = a.shape[-1]
    k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if k_a != k_b:
        raise ShapeError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be "
                         f"multiplied ({k_a} != {k_b})")
    if a._data.dtype != b._data.dtype:
        a, b = _promote(a, b)
    try:
        return L.MatMul.apply(a, b)
    except ValueError as e:
        raise ShapeError(f"matmul: batch dims of {tuple(a.shape)} and {tuple(b.shape)} cannot "
                         f"be broadcast together") from e


def maximum(a, b):
    a = a if isinstance(a, Tensor) else _scalar_like(a, b)
    return a._binary(E.Maximum, b)


def minimum(a, b):
    a = a if isinstance(a, Tensor) else _scalar_like(a, b)
    return a._binary(E.Minimum, b)


def where(condition, input, other):
    """where(cond, x, y): x where cond is True, else y (scalars allowed)."""
    if not isinstance(condition, Tensor):
        like = input if isinstance(input, Tensor) else other
        condition = Tensor(condition, device=like.device if isinstance(like, Tensor) else None)
    if condition._data.dtype != np.bool_:
        condition = condition != 0
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = Tensor(input, device=condition.device)
    if not isinstance(input, Tensor):
        input = _scalar_like(input, other)
    elif not isinstance(other, Tensor):
        other = _scalar_like(other, input)
    if input._data.dtype != other._data.dtype:
        input, other = _promote(input, other)
    _function.check_same_device((input, other, condition))
    try:
        return E.Where.apply(input, other, cond=condition._data)
    except ValueError as e:
        raise ShapeError(f"where: condition {tuple(condition.shape)}, input "
                         f"{tuple(input.shape)} and other {tuple(other.shape)} cannot be "
                         f"broadcast together") from e


def cat(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat expects a non-empty list of tensors")
    if any(t.ndim != 1 for t in tensors):
        # PyTorch's legacy rule: 1-D empty tensors are skipped (`cat([empty, x])`)
        tensors = [t for t in tensors if t.shape != (0,)] or tensors
    first = tensors[0]
    _function.check_same_device(tensors)
    if any(t.ndim == 0 for t in tensors):
        raise ShapeError("cat: zero-dimensional tensors cannot be concatenated")
    axis = _normalize_dim(dim, first.ndim)
    for i, t in enumerate(tensors):
        if t.ndim != first.ndim or t.shape[:axis] + t.shape[axis + 1:] != \
                first.shape[:axis] + first.shape[axis + 1:]:
            raise ShapeError(f"cat: sizes of tensors must match except in dim {dim}: tensor 0 "
                             f"has shape {tuple(first.shape)} and tensor {i} has shape "
                             f"{tuple(t.shape)}")
    tensors = _common_dtype(tensors)
    return M.Cat.apply(*tensors, axis=axis)


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack expects a non-empty list of tensors")
    _function.check_same_device(tensors)
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ShapeError(f"stack expects each tensor to be equal size, but got "
                             f"{tuple(tensors[0].shape)} at entry 0 and {tuple(t.shape)} at "
                             f"entry {i}")
    axis = _normalize_dim(dim, tensors[0].ndim + 1)
    return M.Stack.apply(*_common_dtype(tensors), axis=axis)


def _common_dtype(tensors):
    target = tensors[0].dtype
    for t in tensors[1:]:
        target = dtypes.promote(target, t.dtype)
    return [t if t.dtype is target else t.to(target) for t in tensors]


_function._Tensor = Tensor
