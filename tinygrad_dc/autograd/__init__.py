"""Autograd: graph nodes, the backward engine, grad modes, custom Functions,
and the finite-difference gradient check."""
from .grad_mode import no_grad, enable_grad, set_grad_enabled, is_grad_enabled, inference_mode
from .function import Op, sum_to_shape
from .custom import Function, FunctionCtx
from .gradcheck import gradcheck, GradcheckError

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
           "Op", "sum_to_shape", "Function", "FunctionCtx", "gradcheck", "GradcheckError", "grad"]


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, allow_unused=False):
    """Gradients of `outputs` with respect to `inputs`, returned (not
    accumulated into `.grad`)."""
    from ..tensor import Tensor
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    saved = [(t.grad, t._retains_grad) for t in inputs]
    for t in inputs:
        t.grad = None
        if t._node is not None:
            t._retains_grad = True
    try:
        outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
        grad_outputs = [None] * len(outputs) if grad_outputs is None else (
            [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs))
        for i, (o, g) in enumerate(zip(outputs, grad_outputs)):
            keep = retain_graph or i < len(outputs) - 1
            o.backward(g, retain_graph=keep)
        result = [t.grad for t in inputs]
    finally:
        for t, (g, r) in zip(inputs, saved):
            t.grad, t._retains_grad = g, r
    for t, g in zip(inputs, result):
        if g is None and not allow_unused:
            raise RuntimeError("one of the differentiated tensors was not used in the graph; "
                               "pass allow_unused=True")
    return tuple(result)
