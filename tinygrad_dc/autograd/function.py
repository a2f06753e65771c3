"""The graph node: `Op`, one forward and its backward over raw arrays.

An op subclass writes `forward(self, *arrays, **params)`, keeping on `self`
whatever its backward needs, and `backward(self, grad)` returning one
gradient array (or None) per input. `Op.apply(*tensors)` runs forward and,
when some input requires grad and grad mode is on, links the node into the
graph. Everything an op saved lives in its `__dict__`, which the engine
clears as soon as the node's backward has run.
"""
import weakref

from .grad_mode import _state
from ..backend import DeviceError

_Tensor = None  # set by tinygrad_dc.tensor (which imports this module)


def sum_to_shape(grad, shape):
    """Undo broadcasting: sum `grad` over the axes that broadcasting added or
    stretched so that it has `shape`. The one place this is done."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if extra:
        grad = grad.reshape(shape)
    return grad


def check_same_device(tensors):
    backend = tensors[0]._backend
    for t in tensors[1:]:
        if t._backend is not backend:
            raise DeviceError(
                f"expected all tensors to be on the same device, but found tensors on "
                f"{backend.name} and {t._backend.name}; move them with .to(device) first")
    return backend


class Op:
    __slots__ = ("parents", "needs_grad", "versions", "backend", "freed", "__dict__", "__weakref__")
    # Whether backward reads the inputs' arrays: only then does an in-place
    # change to an input after forward corrupt the gradient (and raise).
    # (Versions are recorded for every node: they also tell which history a
    # tensor had when it was used, if an in-place op rebased it since.)
    saves_inputs = True
    # Whether backward reads the output array (Exp, Tanh, Softmax, ...): a
    # write into that tensor's memory afterwards (under no_grad, or through
    # a view) would corrupt the gradient, so the engine checks for one.
    saves_output = False
    n_outputs = 1

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on Tensors; record a node when a gradient can flow."""
        backend = inputs[0]._backend
        for t in inputs:
            if t._backend is not backend:
                check_same_device(inputs)
        node = object.__new__(cls)
        node.backend = backend
        out = node.forward(*[t._data for t in inputs], **params)
        if out.ndim == 0:  # NumPy reductions give scalars; a tensor always holds an array
            out = node.backend.xp.asarray(out)
        if _state.enabled:
            for t in inputs:
                if t._requires_grad:
                    node.parents = inputs
                    node.needs_grad = tuple([t._requires_grad for t in inputs])
                    node.freed = False
                    node.versions = tuple([t._version for t in inputs])
                    result = _Tensor._make(out, node.backend, node)
                    if cls.saves_output:
                        node.output = (weakref.ref(result), out)
                    return result
        return _Tensor._make(out, node.backend, None)

    @property
    def xp(self):
        return self.backend.xp

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def free(self):
        """Drop saved arrays and inputs so their memory can be reclaimed."""
        self.__dict__.clear()
        self.parents = None
        self.freed = True

    @property
    def name(self):
        return type(self).__name__ + "Backward"

    def __repr__(self):
        return f"<{self.name}>"
