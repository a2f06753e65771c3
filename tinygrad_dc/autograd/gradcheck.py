"""Finite-difference gradient checking, in float64.

The backward pass is checked on a random upstream gradient `u` (so every
output element matters): analytic d<u, f(x)>/dx from autograd against
central differences. Small inputs are checked element by element; large ones
along one random direction per input (Chainer's directional check), which
costs two forward calls per input whatever the size.
"""
import warnings

import numpy as np

from .grad_mode import no_grad


class GradcheckError(RuntimeError):
    pass


def _outputs(fn, inputs):
    out = fn(*inputs)
    return out if isinstance(out, (tuple, list)) else (out,)


def _objective(fn, inputs, upstream):
    """<u, f(x)> as a Python float, computed without a graph."""
    with no_grad():
        outs = _outputs(fn, inputs)
    return float(sum(np.sum(o.numpy().astype(np.float64) * u) for o, u in zip(outs, upstream)
                     if o is not None and o.dtype.is_floating_point))


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, *, mode="auto",
              max_full_elements=4096, seed=0, raise_exception=True):
    """Check autograd's gradients of `fn` at `inputs` against finite differences.

    `inputs` is a tensor or a tuple of tensors (and other values, passed
    through); those with requires_grad are checked. Returns True, or raises
    GradcheckError naming the input, the worst element and both values
    (returns False instead with `raise_exception=False`).
    """
    if mode not in ("auto", "full", "directional"):
        raise ValueError(f"gradcheck: mode must be 'auto', 'full' or 'directional', got {mode!r}")
    try:
        return _gradcheck(fn, inputs, eps, atol, rtol, mode, max_full_elements, seed)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def _gradcheck(fn, inputs, eps, atol, rtol, mode, max_full_elements, seed):
    from ..tensor import Tensor
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for i in checked:
        if inputs[i].dtype.name != "float64":
            warnings.warn(f"gradcheck: input {i} is {inputs[i].dtype.name}, not float64; finite "
                          f"differences will be inaccurate", RuntimeWarning, stacklevel=3)
    rng = np.random.default_rng(seed)

    # analytic gradients of <u, f(x)>
    saved_grads = [inputs[i].grad for i in checked]
    for i in checked:
        inputs[i].grad = None
    try:
        outs = _outputs(fn, inputs)
        upstream = [rng.standard_normal(o.shape) if o is not None else None for o in outs]
        diff_outs = [(o, u) for o, u in zip(outs, upstream)
                     if o is not None and o.requires_grad]
        for k, (o, u) in enumerate(diff_outs):
            o.backward(Tensor(u, dtype=o.dtype, device=o.device), retain_graph=k < len(diff_outs) - 1)
        analytic = {i: (inputs[i].grad.numpy().astype(np.float64) if inputs[i].grad is not None
                        else np.zeros(inputs[i].shape)) for i in checked}
    finally:
        for i, g in zip(checked, saved_grads):
            inputs[i].grad = g

    def objective():
        return _objective(fn, inputs, upstream)

    for i in checked:
        x = inputs[i]
        full = mode == "full" or (mode == "auto" and x.numel() <= max_full_elements)
        if full:
            numeric = _numeric_full(objective, x, eps)
            _compare(i, analytic[i], numeric, atol, rtol)
        else:
            direction = rng.standard_normal(x.shape)
            direction /= np.linalg.norm(direction) or 1.0
            numeric = _numeric_directional(objective, x, direction, eps)
            predicted = float(np.sum(analytic[i] * direction))
            if not abs(predicted - numeric) <= atol + rtol * abs(numeric):
                raise GradcheckError(
                    f"gradcheck failed for input {i} (shape {tuple(x.shape)}) along a random "
                    f"direction: analytic {predicted!r} vs numerical {numeric!r} "
                    f"(atol={atol}, rtol={rtol})")
    return True


def _perturb(x, flat_index, delta):
    data = x._data
    flat = data.reshape(-1) if data.flags.c_contiguous else None
    if flat is None:
        idx = np.unravel_index(flat_index, data.shape)
        data[idx] += delta
    else:
        flat[flat_index] += delta


def _numeric_full(objective, x, eps):
    original = x._data.copy()
    numeric = np.zeros(x.shape, dtype=np.float64).reshape(-1)
    for j in range(numeric.size):
        _perturb(x, j, eps)
        plus = objective()
        x._data[...] = original
        _perturb(x, j, -eps)
        minus = objective()
        x._data[...] = original
        numeric[j] = (plus - minus) / (2 * eps)
    return numeric.reshape(x.shape)


def _numeric_directional(objective, x, direction, eps):
    original = x._data.copy()
    step = x._backend.from_numpy(direction.astype(original.dtype)) * eps
    x._data[...] = original + step
    plus = objective()
    x._data[...] = original - step
    minus = objective()
    x._data[...] = original
    return (plus - minus) / (2 * eps)


def _compare(i, analytic, numeric, atol, rtol):
    err = np.abs(analytic - numeric)
    bound = atol + rtol * np.abs(numeric)
    bad = ~(err <= bound)  # also catches NaN
    if bad.any():
        excess = np.where(np.isnan(err), np.inf, err - bound)
        worst = np.unravel_index(int(np.argmax(excess)), analytic.shape)
        raise GradcheckError(
            f"gradcheck failed for input {i} (shape {analytic.shape}): {int(bad.sum())} of "
            f"{analytic.size} elements differ; worst at index {tuple(int(w) for w in worst)}: "
            f"analytic {float(analytic[worst])!r} vs numerical {float(numeric[worst])!r} "
            f"(atol={atol}, rtol={rtol})")
