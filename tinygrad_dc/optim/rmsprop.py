"""RMSprop (PyTorch's torch.optim.RMSprop): divide the gradient by a running
root-mean-square of recent gradients."""
from .optimizer import (Optimizer, check_range, zeros_state, new_step,
                        increment_step, lerp_, finish_update)


class RMSprop(Optimizer):
    """`centered` divides by an estimate of the gradient's standard deviation
    instead of its RMS; `momentum` > 0 accumulates the normalised step."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False):
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        self._check_options(defaults)
        super().__init__(params, defaults)

    def _check_options(self, group):
        check_range(group["lr"], "lr", f"Invalid learning rate: {group['lr']}")
        check_range(group["eps"], "eps", f"Invalid epsilon value: {group['eps']}")
        check_range(group["momentum"], "momentum", f"Invalid momentum value: {group['momentum']}")
        check_range(group["weight_decay"], "weight_decay",
                    f"Invalid weight_decay value: {group['weight_decay']}")
        check_range(group["alpha"], "alpha", f"Invalid alpha value: {group['alpha']}")

    def _update_group(self, group):
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        weight_decay, momentum = group["weight_decay"], group["momentum"]
        for p, xp, d, g, state in self._with_grads(group):
            if len(state) == 0:
                state["step"] = new_step()
                state["square_avg"] = zeros_state(p)
                if momentum > 0:
                    state["momentum_buffer"] = zeros_state(p)
                if group["centered"]:
                    state["grad_avg"] = zeros_state(p)
            increment_step(state["step"])
            if group["maximize"]:
                g = -g
            if weight_decay != 0:
                g = g + weight_decay * d
            square_avg = state["square_avg"]._data
            square_avg *= alpha
            square_avg += (1 - alpha) * g * g
            if group["centered"]:
                grad_avg = state["grad_avg"]._data
                lerp_(grad_avg, g, 1 - alpha)
                avg = xp.sqrt(square_avg - grad_avg * grad_avg)
            else:
                avg = xp.sqrt(square_avg)
            avg += eps
            if momentum > 0:
                buf = state["momentum_buffer"]._data
                buf *= momentum
                buf += g / avg
                d -= lr * buf
            else:
                d += -lr * g / avg
            finish_update(p)
