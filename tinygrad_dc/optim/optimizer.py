"""Optimizer: parameter groups, per-parameter state, and PyTorch's state_dict format.

Subclasses implement `_update_group(group)`, which updates the parameters of
one group in place from their `.grad`; `step` wraps it with the closure and
grad-mode handling every optimizer shares. The update math works on the raw
backend arrays (`p._data`) with `p._backend.xp`, so the same code runs on
NumPy and CuPy.
"""
from collections import defaultdict
import functools
import numbers

from ..autograd.grad_mode import enable_grad, no_grad
from ..tensor import Tensor
from ..creation import tensor as _tensor


class _RequiredParameter:
    """Marks a default that every parameter group must supply itself."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _marks_step_called(step):
    """Record that the optimizer stepped, so LR schedulers can warn when they
    are stepped first (PyTorch's order check)."""
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        self._opt_called = True
        return step(self, *args, **kwargs)
    return wrapper


class Optimizer:
    """Base class of all optimizers.

    `params` is an iterable of tensors, of (name, tensor) pairs, or of dicts
    (parameter groups, each with its own options; missing options are taken
    from `defaults`).
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:  # a subclass with its own step, PyTorch style
            cls.step = _marks_step_called(cls.__dict__["step"])

    def __init__(self, params, defaults):
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError(f"params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}")
        _check_ordered(params)
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines) + "\n)"

    # ------------------------------------------------------------ groups
    def _check_options(self, options):
        """Validate a group's hyper-parameters (raise ValueError); the
        subclasses know their own options."""

    def add_param_group(self, param_group):
        """Add a group of parameters with its own options (e.g. a layer unfrozen
        while fine-tuning). Everything is validated before the group is added."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        _check_ordered(params)
        params = [params] if isinstance(params, Tensor) else list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names and len(names) != len(params):
            raise ValueError("all optimizer params should be with/without names. "
                             "Some param names are missing")
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params "
                                f"is {type(p).__module__}.{type(p).__name__}")
            if not (p.is_leaf or p._retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        self._check_options(group)
        ids = {id(p) for p in params}
        if len(ids) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        for other in self.param_groups:
            if ("param_names" in other) != bool(names):
                have = "with names" if names else "without names"
                raise ValueError(f"all optimizer param groups should be with/without names. "
                                 f"cannot add param group {have} to the optimizer")
            if any(id(p) in ids for p in other["params"]):
                raise ValueError("some parameters appear in more than one parameter group")
        group["params"] = params
        if names:
            group["param_names"] = names
        self.param_groups.append(group)

    # ------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none=True):
        """Drop the gradients (set_to_none=True) or zero them in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_()
                    p.grad.zero_()

    @_marks_step_called
    def step(self, closure=None):
        """One optimization step; `closure` re-evaluates the model (with
        gradients enabled) and returns the loss, which step returns."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:  # all checked before any parameter changes
            for p in group["params"]:
                if p.grad is not None:
                    _check_grad(p)
        with no_grad():
            for group in self.param_groups:
                self._update_group(group)
        return loss

    def _update_group(self, group):
        raise NotImplementedError(f"{type(self).__name__} must implement _update_group "
                                  f"(or override step)")

    # ------------------------------------------------------------ state dict
    def _with_grads(self, group):
        """(param, array module, data, grad, state) for each parameter of the
        group that has a gradient: what every update rule loops over."""
        for p in group["params"]:
            if p.grad is not None:
                yield p, p._backend.xp, p._data, p.grad._data, self.state[p]

    def state_dict(self):
        """{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]},
        parameters numbered in group order, as PyTorch does. The state tensors
        are the live ones (not copies), as in PyTorch."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(k)] if isinstance(k, Tensor) else k: v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a `state_dict()`: state tensors are copied and cast to their
        parameter's dtype and device (the step counter keeps its own), so a
        resumed run continues exactly the same trajectory."""
        saved_groups = state_dict["param_groups"]
        if len(self.param_groups) != len(saved_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}) than the optimizer "
                             f"({len(self.param_groups)})")
        for i, (g, s) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(f"loaded state dict contains a parameter group that doesn't "
                                 f"match the size of optimizer's group: group {i} has "
                                 f"{len(s['params'])} parameters in the state dict and "
                                 f"{len(g['params'])} in the optimizer")
        id_map = {saved: p for g, s in zip(self.param_groups, saved_groups)
                  for saved, p in zip(s["params"], g["params"])}
        state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in id_map:
                param = id_map[key]
                state[param] = {k: _load_step(v) if k == "step" else _copy_state(v, param)
                                for k, v in value.items()}
            else:
                state[key] = _copy_state(value, None)
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new = {k: _copy_state(v, None) for k, v in saved.items()}
            new["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                new["param_names"] = group["param_names"]
            new_groups.append(new)
        self.state, self.param_groups = state, new_groups


def _check_ordered(params):
    if isinstance(params, (set, frozenset)):
        raise TypeError("optimizer parameters need to be organized in ordered collections, "
                        "but the ordering of tensors in sets will change between runs. "
                        "Please use a list instead.")


def _check_grad(p):
    g = p.grad
    if g.shape != p.shape or g._backend is not p._backend:
        raise RuntimeError(f"the gradient of a parameter of shape {tuple(p.shape)} on {p.device} "
                           f"has shape {tuple(g.shape)} on {g.device}")


def _load_step(value):
    """The step counter stays a float32 CPU scalar tensor, as in PyTorch (a
    plain number, as older state dicts hold, becomes one)."""
    if isinstance(value, Tensor):
        return _copy_state(value, None)
    return _tensor(float(value))


def _copy_state(value, param):
    """A deep copy of a state value (never aliasing the loaded dict); with a
    `param`, tensors move to its device and, if it is floating point, to its
    dtype."""
    if isinstance(value, Tensor):
        if param is None:
            return Tensor._make(value._data.copy(), value._backend, None)
        with no_grad():
            dtype = param.dtype if param.is_floating_point() else None
            out = value.detach().to(device=param.device, dtype=dtype)
        if out._data is value._data:
            out = Tensor._make(value._data.copy(), value._backend, None)
        return out
    if isinstance(value, dict):
        return {k: _copy_state(v, param) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_state(v, param) for v in value)
    return value


# ---------------------------------------------------------------- helpers for subclasses
def check_real(value, name):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")


def check_range(value, name, message, low=0.0, high=None):
    """Raise PyTorch's ValueError `message` unless low <= value (< high)."""
    check_real(value, name)
    if not (low <= value and (high is None or value < high)):
        raise ValueError(message)


def zeros_state(p, value=0):
    """A state tensor shaped and typed like `p`, filled with `value`."""
    xp = p._backend.xp
    return Tensor._make(xp.full(p.shape, value, dtype=p._data.dtype), p._backend, None)


def new_step():
    """The step counter: a float32 0-dim CPU tensor, as in PyTorch."""
    return _tensor(0.0)


def increment_step(step):
    """Add one to a step counter in place; return the new count as a float."""
    step._data += 1
    step._version += 1
    return float(step._data)


def lerp_(start, end, weight):
    """start += weight * (end - start) in place, with PyTorch's two-sided
    formula (exact at weight 1)."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


def finish_update(p):
    """The parameter's array changed in place: bump its version so graphs
    that saved it refuse to backpropagate stale values."""
    p._version += 1
