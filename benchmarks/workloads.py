"""The workloads W0-W7, each buildable in either framework.

`build(lib, device, smoke=False, weights=None)` returns a `Built`: a
`step()` that runs one iteration and returns its output (the loss, or the
product for W0), the model's initial weights as NumPy arrays (so the runner
can hand torch's initial weights to tinygrad_dc), and what FLOP counting
needs. The data come from a seeded NumPy generator, so both frameworks see
identical inputs. `smoke=True` shrinks every shape so that one iteration of
everything runs in a few seconds (the unit test uses it).

Nothing here imports torch or tinygrad_dc: the caller passes `lib`.
"""
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from benchmarks import models
from benchmarks.overhead import N_OPS, chain

SEED = 0
FLOAT32 = np.float32


@dataclass
class Built:
    step: Callable                      # one iteration; returns the output to compare
    weights: Optional[dict] = None      # initial state_dict as NumPy arrays
    flops: Optional[float] = None       # FLOPs per iteration when known analytically
    model: object = None                # for FLOP counting with torch
    ops_per_iter: int = 1               # W6 reports time per op, not per iteration
    notes: list = field(default_factory=list)


@dataclass
class Workload:
    id: str                  # row id, e.g. "W0-2048"
    title: str
    builder: Callable        # (lib, device, smoke, weights) -> Built
    target: float            # ratio ours/torch the issue asks for (median time)
    rss_target: bool = True  # whether the 1.5x peak-RSS target applies
    per_op: bool = False     # W6: the table shows microseconds per op

    @property
    def group(self):
        return self.id.split("-")[0]

    def build(self, lib, device="cpu", smoke=False, weights=None):
        return self.builder(lib, device, smoke, weights)


# ------------------------------------------------------------------ helpers
def _rng():
    return np.random.default_rng(SEED)


def _tensor(lib, array, device, requires_grad=False):
    return lib.tensor(array, device=device, requires_grad=requires_grad)


def to_numpy(t):
    """A host copy of a tensor of either framework."""
    return np.asarray(t.detach().cpu().numpy())


def state_as_numpy(model):
    return {k: to_numpy(v).copy() for k, v in model.state_dict().items()}


def _new_model(lib, make, weights, device):
    """Build the model; torch draws its own seeded init, ours gets torch's
    weights (the runner always builds torch first)."""
    if lib.__name__ == "torch":
        lib.manual_seed(SEED)
    model = make(lib)
    if weights is not None:
        if lib.__name__ == "torch":
            model.load_state_dict({k: lib.from_numpy(np.array(v)) for k, v in weights.items()})
        else:
            model.load_state_dict({k: np.array(v) for k, v in weights.items()})
    return model.to(device)


def _training(lib, device, weights, make_model, make_optimizer, x, target, loss_fn):
    """zero_grad + forward + loss + backward + step, identical code in both
    frameworks."""
    model = _new_model(lib, make_model, weights, device)
    model.train()
    initial = state_as_numpy(model)
    optimizer = make_optimizer(lib, model.parameters())
    x = _tensor(lib, x, device)
    target = None if target is None else _tensor(lib, target, device)

    def step():
        optimizer.zero_grad()
        loss = loss_fn(lib, model(x), target)
        loss.backward()
        optimizer.step()
        return loss

    return Built(step=step, weights=initial, model=model)


def _cross_entropy(lib, out, target):
    return lib.nn.functional.cross_entropy(out, target)


def _images(batch, size, channels=3, classes=10):
    rng = _rng()
    x = rng.standard_normal((batch, channels, size, size)).astype(FLOAT32)
    y = rng.integers(0, classes, size=batch).astype(np.int64)
    return x, y


# ------------------------------------------------------------------ W0
def _matmul(n):
    def build(lib, device, smoke, weights):
        size = 32 if smoke else n
        rng = _rng()
        a = _tensor(lib, rng.standard_normal((size, size)).astype(FLOAT32), device)
        b = _tensor(lib, rng.standard_normal((size, size)).astype(FLOAT32), device)
        return Built(step=lambda: a @ b, flops=2.0 * size ** 3)
    return build


# ------------------------------------------------------------------ W1
def _w1(lib, device, smoke, weights):
    batch = 8 if smoke else 256
    sizes = (784, 32, 32, 10) if smoke else (784, 512, 512, 10)
    rng = _rng()
    x = rng.standard_normal((batch, sizes[0])).astype(FLOAT32)
    y = rng.integers(0, 10, size=batch).astype(np.int64)
    return _training(lib, device, weights, lambda l: models.mlp(l, sizes),
                     lambda l, p: l.optim.SGD(p, lr=0.01, momentum=0.9, weight_decay=5e-4),
                     x, y, _cross_entropy)


# ------------------------------------------------------------------ W2, W3
def _w2(lib, device, smoke, weights):
    x, y = _images(2 if smoke else 64, 32)
    return _training(lib, device, weights, models.lenet,
                     lambda l, p: l.optim.SGD(p, lr=0.001, momentum=0.9),
                     x, y, _cross_entropy)


def _w3(lib, device, smoke, weights):
    x, y = _images(2 if smoke else 64, 32)
    return _training(lib, device, weights, models.keras_cnn,
                     lambda l, p: l.optim.Adam(p, lr=1e-3),
                     x, y, _cross_entropy)


# ------------------------------------------------------------------ W4
def attention_flops(batch, heads, length, head_dim):
    """Matmul FLOPs of attention forward + backward, counted dense (the
    causal mask's skipped half is not discounted): forward q k^T and p v,
    backward dv, dp, dq, dk -> 6 matmuls of 2*B*H*L*L*d each."""
    return 12.0 * batch * heads * length * length * head_dim


def _w4(lib, device, smoke, weights):
    shape = (1, 2, 16, 8) if smoke else (8, 8, 256, 64)
    rng = _rng()
    q, k, v = (_tensor(lib, rng.standard_normal(shape).astype(FLOAT32), device,
                       requires_grad=True) for _ in range(3))

    def step():
        loss = models.causal_attention(lib, q, k, v).sum()
        loss.backward()
        q.grad = k.grad = v.grad = None
        return loss

    notes = [] if models.uses_fused_attention(lib) else [
        f"{lib.__name__} has no F.scaled_dot_product_attention yet: composed from "
        "matmul + masked_fill + softmax"]
    return Built(step=step, flops=attention_flops(*shape), notes=notes)


# ------------------------------------------------------------------ W5
def _w5(lib, device, smoke, weights):
    batch, length, d_model, heads, d_ff = (2, 8, 32, 4, 64) if smoke else (8, 128, 256, 4, 1024)
    x = _rng().standard_normal((batch, length, d_model)).astype(FLOAT32)
    built = _training(lib, device, weights,
                      lambda l: models.transformer_block(l, d_model, heads, d_ff),
                      lambda l, p: l.optim.AdamW(p),
                      x, None, lambda l, out, _: (out * out).mean())
    if not models.uses_fused_attention(lib):
        built.notes.append(f"{lib.__name__} has no F.scaled_dot_product_attention yet: "
                           "attention composed from matmul + masked_fill + softmax")
    return built


# ------------------------------------------------------------------ W6
def _w6(backward):
    def build(lib, device, smoke, weights):
        n_ops = 31 if smoke else N_OPS
        rng = _rng()
        x0, w0, b0 = (rng.standard_normal(16).astype(FLOAT32) * s for s in (1.0, 0.5, 0.1))
        x = _tensor(lib, x0, device)
        w = _tensor(lib, w0, device, requires_grad=True)
        b = _tensor(lib, b0, device, requires_grad=True)

        def forward():
            return chain(x, w, b, n_ops)

        def forward_backward():
            out = chain(x, w, b, n_ops).sum()
            out.backward()
            w.grad = b.grad = None
            return out

        return Built(step=forward_backward if backward else forward, ops_per_iter=n_ops)
    return build


# ------------------------------------------------------------------ W7
def _w7(lib, device, smoke, weights):
    x, y = _images(2 if smoke else 32, 8 if smoke else 32)
    return _training(lib, device, weights,
                     lambda l: models.resnet18(l, width=4 if smoke else 64),
                     lambda l, p: l.optim.SGD(p, lr=0.01, momentum=0.9, weight_decay=5e-4),
                     x, y, _cross_entropy)


WORKLOADS = [
    Workload("W0-1024", "matmul C = A @ B, 1024x1024", _matmul(1024), target=1.0,
             rss_target=False),
    Workload("W0-2048", "matmul C = A @ B, 2048x2048", _matmul(2048), target=1.0,
             rss_target=False),
    Workload("W1", "MLP 784-512-512-10, batch 256, SGD momentum + wd", _w1, target=1.0),
    Workload("W2", "LeNet (PyTorch tutorial), batch 64, SGD momentum", _w2, target=1.2),
    Workload("W3", "Keras-style CNN, batch 64, Adam", _w3, target=1.2),
    Workload("W4", "causal SDPA fwd+bwd, q/k/v (8, 8, 256, 64)", _w4, target=1.2),
    Workload("W5", "pre-LN Transformer block d256 h4, B8 L128, AdamW", _w5, target=1.2),
    Workload("W6-fw", f"per-op overhead, {N_OPS} chained ops on 16 elements, forward",
             _w6(False), target=3.0, rss_target=False, per_op=True),
    Workload("W6-fwbw", f"per-op overhead, {N_OPS} chained ops, forward + backward",
             _w6(True), target=3.0, rss_target=False, per_op=True),
    Workload("W7", "ResNet-18 (32x32 variant), batch 32, SGD momentum + wd", _w7, target=1.2),
]

BY_ID = {w.id: w for w in WORKLOADS}


def select(only=None):
    """Workloads whose id or group (W0, W6, ...) is in `only` (a comma list)."""
    if not only:
        return list(WORKLOADS)
    wanted = [s.strip().upper() for s in only.split(",") if s.strip()]
    known = {w.id.upper() for w in WORKLOADS} | {w.group for w in WORKLOADS}
    unknown = [s for s in wanted if s not in known]
    if unknown:
        groups = sorted({w.group for w in WORKLOADS})
        raise SystemExit(f"--only: unknown workload(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(groups)} or rows {', '.join(BY_ID)}")
    return [w for w in WORKLOADS if w.id.upper() in wanted or w.group in wanted]


def relative_difference(ours, theirs):
    """max |ours - theirs| / max |theirs| over the outputs (a scalar loss, or
    the W0 product)."""
    a = to_numpy(ours).astype(np.float64)
    b = to_numpy(theirs).astype(np.float64)
    if a.shape != b.shape:
        raise AssertionError(f"outputs differ in shape: ours {a.shape}, torch {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return float("inf")
    scale = max(float(np.max(np.abs(b))) if b.size else 0.0, 1e-30)
    return float(np.max(np.abs(a - b))) / scale if a.size else 0.0
