"""User-defined differentiable functions in PyTorch's style:

    class Cube(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3
        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return 3 * x ** 2 * grad

    y = Cube.apply(x)
"""
from .function import Op, check_same_device
from .grad_mode import _state, no_grad
from .engine import SECOND_BACKWARD


class FunctionCtx:
    """What `forward` can leave for `backward`: saved tensors and any attributes."""

    def save_for_backward(self, *tensors):
        self._saved = tensors

    @property
    def saved_tensors(self):
        if getattr(self, "_freed", False):
            raise RuntimeError(SECOND_BACKWARD)
        return getattr(self, "_saved", ())

    def mark_non_differentiable(self, *tensors):
        self._non_diff = {id(t) for t in tensors}

    def set_materialize_grads(self, value):
        self.materialize_grads = value


class _UserNode(Op):
    """The graph node of one call of a user Function."""
    saves_inputs = True

    def fill_missing(self, grads):
        xp = self.backend.xp
        return [xp.zeros(shape, dtype=dt) if g is None else g
                for g, (shape, dt) in zip(grads, self.out_meta)]

    def backward(self, *grads):
        from ..tensor import Tensor
        wrapped = [Tensor._make(g, self.backend, None) for g in grads]
        with no_grad():
            result = self.fn.backward(self.ctx, *wrapped)
        if not isinstance(result, tuple):
            result = (result,)
        if len(result) != len(self.arg_is_tensor):
            raise RuntimeError(f"{self.fn.__name__}.backward returned {len(result)} gradients, "
                               f"but forward took {len(self.arg_is_tensor)} arguments")
        incoming = {id(g) for g in grads}
        out = []
        for r, is_tensor in zip(result, self.arg_is_tensor):
            if not is_tensor:
                continue
            if r is None:
                out.append(None)
                continue
            arr = r._data if isinstance(r, Tensor) else self.backend.xp.asarray(r)
            # never alias an upstream grad, nor hand one array to two inputs
            out.append(arr.copy() if id(arr) in incoming else arr)
            incoming.add(id(arr))
        for arr, t in zip(out, self.parents):
            if arr is not None and arr.shape != t.shape:
                raise RuntimeError(f"{self.fn.__name__}.backward returned a gradient of shape "
                                   f"{tuple(arr.shape)} for an input of shape {tuple(t.shape)}")
        return tuple(out)

    def free(self):
        self.ctx._saved = ()
        self.ctx._freed = True
        super().free()


class Function:
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grads)`;
    call `apply(*args)`."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        from ..tensor import Tensor
        tensors = [a for a in args if isinstance(a, Tensor)]
        if tensors:
            check_same_device(tensors)
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            outputs = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        if not (_state.enabled and any(t.requires_grad for t in tensors)):
            return outputs
        node = object.__new__(_UserNode)
        node.backend = tensors[0]._backend
        node.fn, node.ctx = cls, ctx
        node.arg_is_tensor = [isinstance(a, Tensor) for a in args]
        node.parents = tuple(tensors)
        node.needs_grad = tuple(t.requires_grad for t in tensors)
        node.versions = tuple(t._version for t in tensors)
        node.freed = False
        node.n_outputs = len(outs)
        node.out_meta = [(o.shape, o._data.dtype) if isinstance(o, Tensor) else ((), None) for o in outs]
        non_diff = getattr(ctx, "_non_diff", set())
        wrapped = []
        for i, o in enumerate(outs):
            if isinstance(o, Tensor) and o._data.dtype.kind == "f" and id(o) not in non_diff:
                t = Tensor._make(o._data, o._backend, node)
                t._out_index = i
                wrapped.append(t)
            else:
                wrapped.append(o)
        return wrapped[0] if single else tuple(wrapped)
