"""nn.Parameter: a leaf tensor that a Module registers as learnable."""
from ..tensor import Tensor


class Parameter(Tensor):
    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        from ..creation import zeros
        if data is None:
            data = zeros(0)
        if not isinstance(data, Tensor):
            data = Tensor(data)
        p = object.__new__(cls)
        p._data = data._data  # shares memory with the tensor it wraps, as in PyTorch
        p._backend = data._backend
        p._node = None
        p._out_index = 0
        p._version = 0
        p._retains_grad = False
        p._history = None
        p.grad = None
        p._requires_grad = False
        if requires_grad:
            p.requires_grad_(True)
        return p

    def __init__(self, data=None, requires_grad=True):
        pass

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
