"""Autograd: graph nodes, the backward engine, grad modes, custom Functions,
and the finite-difference gradient check."""
from .grad_mode import no_grad, enable_grad, set_grad_enabled, is_grad_enabled, inference_mode
from .function import Op, sum_to_shape
from .custom import Function, FunctionCtx
from .gradcheck import gradcheck, GradcheckError

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
           "Op", "sum_to_shape", "Function", "FunctionCtx", "gradcheck", "GradcheckError", "grad"]


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of `outputs` with respect to `inputs`, returned as a tuple;
    no tensor's `.grad` is changed (PyTorch's `torch.autograd.grad`)."""
    from ..tensor import Tensor
    from .engine import run_backward
    if create_graph:
        raise NotImplementedError("create_graph=True (higher-order gradients) is not supported")
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {tuple(t.shape)}) does not require grad")
    capture = {id(t): None for t in inputs}
    for i, (o, g) in enumerate(zip(outputs, grad_outputs)):
        seed = o._seed_gradient(g)
        run_backward(o, seed, bool(retain_graph) or i < len(outputs) - 1, capture)
    result = []
    for i, t in enumerate(inputs):
        g = capture[id(t)]
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {tuple(t.shape)}) was not used in the "
                               f"graph of the outputs; pass allow_unused=True")
        result.append(None if g is None else Tensor._make(g, t._backend, None))
    return tuple(result)
