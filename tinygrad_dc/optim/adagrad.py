"""Adagrad (PyTorch's torch.optim.Adagrad): per-coordinate step sizes from the
running sum of squared gradients."""
from .optimizer import (Optimizer, check_range, zeros_state, new_step,
                        increment_step, finish_update)


class Adagrad(Optimizer):
    """The state of every parameter is created up front (as in PyTorch), with
    the accumulator filled with `initial_accumulator_value`."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, *, maximize=False):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        self._check_options(defaults)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p)

    def _check_options(self, group):
        check_range(group["lr"], "lr", f"Invalid learning rate: {group['lr']}")
        check_range(group["lr_decay"], "lr_decay", f"Invalid lr_decay value: {group['lr_decay']}")
        check_range(group["weight_decay"], "weight_decay",
                    f"Invalid weight_decay value: {group['weight_decay']}")
        value = group["initial_accumulator_value"]
        check_range(value, "initial_accumulator_value",
                    f"Invalid initial_accumulator_value value: {value}")
        check_range(group["eps"], "eps", f"Invalid epsilon value: {group['eps']}")

    def _init_state(self, p):
        # PyTorch takes the accumulator's start from the optimizer's defaults,
        # also for groups added later with their own value
        state = self.state[p]
        state["step"] = new_step()
        state["sum"] = zeros_state(p, self.defaults["initial_accumulator_value"])

    def _update_group(self, group):
        lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
        weight_decay = group["weight_decay"]
        for p, xp, d, g, state in self._with_grads(group):
            if len(state) == 0:
                self._init_state(p)
            step = increment_step(state["step"])
            if group["maximize"]:
                g = -g
            if weight_decay != 0:
                g = g + weight_decay * d
            clr = lr / (1 + (step - 1) * lr_decay)
            state_sum = state["sum"]._data
            state_sum += g * g
            std = xp.sqrt(state_sum)
            std += eps
            d += -clr * g / std
            finish_update(p)
