"""Stochastic gradient descent, with momentum, dampening, Nesterov momentum and
weight decay (PyTorch's torch.optim.SGD)."""
from ..tensor import Tensor
from .optimizer import Optimizer, check_range, check_real, finish_update


class SGD(Optimizer):
    """p -= lr * g, where g is the gradient (+ weight_decay * p), optionally
    through a momentum buffer. The first momentum step copies the gradient
    into the buffer (no dampening on step one), as PyTorch does."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        self._check_options(defaults)
        super().__init__(params, defaults)

    def _check_options(self, group):
        check_range(group["lr"], "lr", f"Invalid learning rate: {group['lr']}")
        check_range(group["momentum"], "momentum", f"Invalid momentum value: {group['momentum']}")
        check_range(group["weight_decay"], "weight_decay",
                    f"Invalid weight_decay value: {group['weight_decay']}")
        check_real(group["dampening"], "dampening")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update_group(self, group):
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        weight_decay, nesterov = group["weight_decay"], group["nesterov"]
        for p in group["params"]:
            if p.grad is None:
                continue
            d = p._data
            g = p.grad._data
            if group["maximize"]:
                g = -g
            if weight_decay != 0:
                g = g + weight_decay * d
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = Tensor._make(g.copy(), p._backend, None)
                else:
                    buf._data *= momentum
                    buf._data += (1 - dampening) * g
                g = g + momentum * buf._data if nesterov else buf._data
            d -= lr * g
            finish_update(p)
