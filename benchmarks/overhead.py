"""Per-op overhead: a chain of 1,000 small elementwise ops (16-element
float32 tensors) with grad, forward and then backward, in tinygrad_dc and in
PyTorch, timed in the same run. Prints microseconds per op.

    python -m benchmarks.overhead [--iters 30] [--markdown]
"""
import argparse

import numpy as np

from benchmarks.common import interleaved, summary, machine_line

N_OPS = 1000


def chain(x, w, b, n_ops=N_OPS):
    """n_ops elementwise ops: (mul, add, tanh) repeated, then one mul
    (n_ops = 1000 -> 333 triples + the 1,000th op)."""
    for _ in range((n_ops - 1) // 3):
        x = (x * w + b).tanh()
    return x * w


def make_workloads(lib, data):
    x0, w0, b0 = data

    def setup():
        w = lib.tensor(w0, requires_grad=True)
        b = lib.tensor(b0, requires_grad=True)
        return lib.tensor(x0), w, b

    inputs = setup()

    def forward():
        chain(*inputs)

    def forward_backward():
        out = chain(*inputs).sum()
        out.backward()
        inputs[1].grad = inputs[2].grad = None

    return forward, forward_backward


def run(iters=30):
    # the libraries load here, not at import: benchmarks.run imports this
    # module from child processes that must load only one framework
    import torch
    import tinygrad_dc as tg
    torch.set_num_threads(1)  # 16-element tensors: threads only add overhead
    rng = np.random.default_rng(0)
    data = [rng.standard_normal(16).astype(np.float32) * s for s in (1.0, 0.5, 0.1)]
    fw_tg, fb_tg = make_workloads(tg, data)
    fw_pt, fb_pt = make_workloads(torch, data)
    times = interleaved({"tg_fw": fw_tg, "pt_fw": fw_pt, "tg_fb": fb_tg, "pt_fb": fb_pt},
                        iters=iters)
    return {k: {s: v * 1e6 / N_OPS for s, v in summary(t).items()} for k, t in times.items()}


def markdown(res, iters):
    rows = [("forward", "tg_fw", "pt_fw"), ("forward + backward", "tg_fb", "pt_fb")]
    lines = ["| W6 per-op overhead (µs/op) | tinygrad_dc median (min–max) | torch median (min–max) | ratio |",
             "|---|---|---|---|"]
    for name, a, b in rows:
        ra, rb = res[a], res[b]
        lines.append(f"| {name} | {ra['median']:.2f} ({ra['min']:.2f}–{ra['max']:.2f}) | "
                     f"{rb['median']:.2f} ({rb['min']:.2f}–{rb['max']:.2f}) | "
                     f"{ra['median'] / rb['median']:.2f} |")
    lines.append("")
    lines.append(f"{N_OPS} chained elementwise ops on 16-element float32 tensors, {iters} "
                 f"interleaved iterations after warm-up; {machine_line()}.")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    res = run(args.iters)
    if args.markdown:
        print(markdown(res, args.iters))
    else:
        for k, v in res.items():
            print(f"{k}: median {v['median']:.2f} µs/op (min {v['min']:.2f}, max {v['max']:.2f})")


if __name__ == "__main__":
    main()
