"""Adam and AdamW (PyTorch's torch.optim.Adam / AdamW, single-tensor path)."""
from .optimizer import (Optimizer, check_range, zeros_state, new_step,
                        increment_step, lerp_, finish_update)


class Adam(Optimizer):
    """Adam with bias correction; `weight_decay` adds weight_decay * p to the
    gradient (L2), or with `decoupled_weight_decay` shrinks the parameter
    directly (AdamW). `amsgrad` normalises by the running maximum of the
    second moment."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        self._check_options(defaults)
        super().__init__(params, defaults)

    def _check_options(self, group):
        lr, betas, eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        check_range(lr, "lr", f"Invalid learning rate: {lr}")
        check_range(eps, "eps", f"Invalid epsilon value: {eps}")
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        check_range(betas[0], "betas[0]", f"Invalid beta parameter at index 0: {betas[0]}",
                    high=1.0)
        check_range(betas[1], "betas[1]", f"Invalid beta parameter at index 1: {betas[1]}",
                    high=1.0)
        check_range(wd, "weight_decay", f"Invalid weight_decay value: {wd}")

    def _update_group(self, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, amsgrad = group["weight_decay"], group["amsgrad"]
        for p, xp, d, g, state in self._with_grads(group):
            if len(state) == 0:
                state["step"] = new_step()
                state["exp_avg"] = zeros_state(p)
                state["exp_avg_sq"] = zeros_state(p)
                if amsgrad:
                    state["max_exp_avg_sq"] = zeros_state(p)
            step = increment_step(state["step"])
            if group["maximize"]:
                g = -g
            if weight_decay != 0:
                if group["decoupled_weight_decay"]:
                    d *= 1 - lr * weight_decay
                else:
                    g = g + weight_decay * d
            exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
            lerp_(exp_avg, g, 1 - beta1)
            exp_avg_sq *= beta2
            exp_avg_sq += (1 - beta2) * g * g
            step_size = lr / (1 - beta1 ** step)
            bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
            if amsgrad:
                max_sq = state["max_exp_avg_sq"]._data
                xp.maximum(max_sq, exp_avg_sq, out=max_sq)
                denom = xp.sqrt(max_sq) / bias_correction2_sqrt
            else:
                denom = xp.sqrt(exp_avg_sq) / bias_correction2_sqrt
            denom += eps
            d += -step_size * exp_avg / denom
            finish_update(p)


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * weight_decay before the
    Adam step (weight decay stays out of the moment estimates)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for group in self.param_groups:  # AdamW always decouples, whatever was saved
            group["decoupled_weight_decay"] = True
