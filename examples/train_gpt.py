"""Train a character-level GPT (nanoGPT style) and sample text from it.

    python examples/train_gpt.py                   # Python's own standard library as the corpus
        # (2-core machine: about 3 minutes; val loss 1.55 against a unigram baseline of 3.14)
    python examples/train_gpt.py --text input.txt  # any UTF-8 text file

The model: token + learned position embeddings, N pre-LayerNorm causal
Transformer blocks (fused qkv projection, F.scaled_dot_product_attention
with is_causal=True, a 4x GELU MLP), a final LayerNorm and a head that
shares its weight with the token embedding. Training: AdamW (weight decay on
the 2-D weights only), linear warmup then cosine decay, gradient clipping at
norm 1.0. Before training it prints the unigram baseline: the loss of a model
that knows only how often each character occurs.
"""
import argparse
import math
import os
import sys
import sysconfig
import time

# tinygrad_dc first (through common, which also puts the repo on sys.path):
# it sets the thread pools' wait policy before NumPy's BLAS starts
from common import check_device, progress, tg

import numpy as np  # noqa: E402
import tinygrad_dc.nn.functional as F  # noqa: E402
from tinygrad_dc import nn, optim  # noqa: E402

# The default corpus: standard-library modules present in every CPython 3
# install, read from this interpreter's own stdlib folder (no download). The
# list is fixed and sorted, so the text is the same on every run of one
# Python version.
STDLIB_FILES = sorted([
    "argparse.py", "collections/__init__.py", "contextlib.py", "dataclasses.py", "difflib.py",
    "enum.py", "functools.py", "heapq.py", "inspect.py", "pathlib.py", "pprint.py", "random.py",
    "shutil.py", "statistics.py", "string.py", "textwrap.py", "threading.py", "typing.py",
])
MAX_CORPUS_CHARS = 1_000_000


# ---------------------------------------------------------------- data
def load_text(path=None):
    """The training text: the file at `path`, or the stdlib corpus."""
    if path is not None:
        try:
            with open(path, encoding="utf-8") as f:
                return f.read()
        except (OSError, UnicodeDecodeError) as e:
            sys.exit(f"error: cannot read --text {path}: {e}")
    stdlib = sysconfig.get_paths()["stdlib"]
    parts = []
    for name in STDLIB_FILES:
        try:
            with open(os.path.join(stdlib, name), encoding="utf-8") as f:
                parts.append(f.read())
        except OSError:
            continue  # a stripped install may lack a module; the rest still make a corpus
    if not parts:
        sys.exit(f"error: found none of the standard-library sources under {stdlib}; "
                 f"pass a text file with --text FILE")
    return "".join(parts)[:MAX_CORPUS_CHARS]


class Vocabulary:
    """The characters of a text, sorted; a character's id is its index."""

    def __init__(self, chars):
        self.chars = "".join(sorted(set(chars)))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self):
        return len(self.chars)

    def encode(self, text):
        try:
            return np.array([self.index[c] for c in text], dtype=np.int64)
        except KeyError as e:
            raise ValueError(f"character {e.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids):
        return "".join(self.chars[i] for i in ids)


def unigram_entropy(ids, vocab_size):
    """Entropy (nats) of the character distribution of `ids`: the loss, on
    these very characters, of the best model that knows only frequencies."""
    p = np.bincount(ids, minlength=vocab_size) / len(ids)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def batch_offsets(rng, data_len, block_size, batch_size):
    return rng.integers(0, data_len - block_size, size=batch_size)


def get_batch(data, offsets, block_size, device):
    """Inputs (B, T) and the next-character targets (B, T) at `offsets`."""
    rows = offsets[:, None] + np.arange(block_size)
    x, y = data[rows], data[rows + 1]
    return tg.tensor(x, device=device), tg.tensor(y, device=device)


# ---------------------------------------------------------------- model
class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, dropout):
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"n_embd ({n_embd}) must be divisible by n_head ({n_head})")
        self.n_head = n_head
        self.dropout = dropout
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)  # query, key and value in one matmul
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x):
        B, T, C = x.shape
        # (B, T, 3C) -> (3, B, heads, T, head size): one reshape serves q, k and v
        qkv = self.c_attn(x).reshape(B, T, 3, self.n_head, C // self.n_head).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).reshape(B, T, C)  # heads side by side again
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, n_embd, dropout):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * n_embd, n_embd)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-LayerNorm Transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, n_embd, n_head, dropout):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = MLP(n_embd, dropout)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """Parameter names follow nanoGPT's (transformer.wte, transformer.h.0.attn.c_attn, ...)."""

    def __init__(self, vocab_size, block_size, n_layer=4, n_head=4, n_embd=128, dropout=0.0):
        super().__init__()
        self.block_size = block_size
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab_size, n_embd),
            wpe=nn.Embedding(block_size, n_embd),
            drop=nn.Dropout(dropout),
            h=nn.ModuleList([Block(n_embd, n_head, dropout) for _ in range(n_layer)]),
            ln_f=nn.LayerNorm(n_embd),
        ))
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        # weight tying: the head scores a hidden state against every character's
        # embedding. One Parameter under two names, so parameters() (and the
        # optimizer) see it once and both uses add into one .grad.
        self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        # GPT-2: scale the residual projections by 1/sqrt(2 n_layer) so the
        # residual stream's variance does not grow with depth
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx):
        """Logits (B, T, vocab) for the character after each position of idx (B, T)."""
        B, T = idx.shape
        if T > self.block_size:
            raise ValueError(f"GPT: sequence of length {T} is longer than block_size "
                             f"{self.block_size}")
        pos = tg.arange(T, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))

    @tg.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, rng=None):
        """Extend idx (B, T) by max_new_tokens characters, each drawn from the
        model's distribution (divided by `temperature`, cut to the `top_k` most
        likely) with the NumPy Generator `rng`, so a seed fixes the text."""
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        rng = rng if rng is not None else np.random.default_rng()
        was_training = self.training
        self.eval()
        ids = idx.numpy()
        for _ in range(max_new_tokens):
            context = tg.tensor(ids[:, -self.block_size:], device=idx.device)
            logits = self(context)[:, -1, :].numpy().astype(np.float64) / temperature
            if top_k is not None and top_k < logits.shape[-1]:
                kth = np.sort(logits, axis=-1)[:, -top_k][:, None]
                logits = np.where(logits < kth, -np.inf, logits)
            probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
            probs /= probs.sum(axis=-1, keepdims=True)
            # inverse-CDF draw: one uniform number per row, deterministic under rng
            u = rng.random((len(probs), 1))
            nxt = np.minimum((probs.cumsum(axis=-1) < u).sum(axis=-1), probs.shape[-1] - 1)
            ids = np.concatenate([ids, nxt[:, None]], axis=1)
        self.train(was_training)
        return tg.tensor(ids, device=idx.device)


# ---------------------------------------------------------------- training
def make_optimizer(model, lr, weight_decay, betas):
    """AdamW with nanoGPT's two groups: matrices and embeddings decay,
    biases and LayerNorm gains don't."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    return optim.AdamW(groups, lr=lr, betas=betas)


def warmup_cosine(warmup, total, min_ratio):
    """lr factor at a step: linear warmup to 1, then cosine decay to min_ratio."""
    def factor(step):
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = min((step - warmup) / max(total - warmup, 1), 1.0)
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return factor


def train_step(model, optimizer, scheduler, x, y, grad_clip):
    optimizer.zero_grad()
    logits = model(x)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    scheduler.step()
    return loss.item()


@tg.no_grad()
def estimate_loss(model, data, args):
    """Mean loss over args.eval_iters batches at offsets fixed by the seed, so
    evaluations at different steps compare the model on the same text."""
    model.eval()
    rng = np.random.default_rng([args.seed, 1])
    total = 0.0
    for _ in range(args.eval_iters):
        x, y = get_batch(data, batch_offsets(rng, len(data), args.block_size, args.batch_size),
                         args.block_size, args.device)
        logits = model(x)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).item()
    model.train()
    return total / args.eval_iters


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--text", default=None,
                   help="train on this UTF-8 text file (default: Python standard-library sources)")
    p.add_argument("--steps", "--max-iters", dest="steps", type=int, default=1000,
                   help="optimizer steps in the whole run (the schedule's length)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--block-size", type=int, default=64, help="context length in characters")
    p.add_argument("--n-layer", type=int, default=3)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-embd", type=int, default=96)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    p.add_argument("--min-lr-ratio", type=float, default=0.1,
                   help="the cosine decay ends at lr * this")
    p.add_argument("--warmup", type=int, default=50, help="linear warmup steps")
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--beta2", type=float, default=0.99)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--eval-interval", type=int, default=200,
                   help="estimate train/val loss (and save) every this many steps")
    p.add_argument("--eval-iters", type=int, default=20, help="batches per loss estimate")
    p.add_argument("--sample-tokens", type=int, default=300,
                   help="characters to sample at the end (0: none)")
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", default=None, help="write a checkpoint here at every evaluation")
    p.add_argument("--resume", default=None, help="continue from this checkpoint")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return p


def check_args(args):
    for name in ("steps", "batch_size", "block_size", "n_layer", "n_head", "n_embd",
                 "eval_interval", "eval_iters"):
        if getattr(args, name) <= 0:
            sys.exit(f"error: --{name.replace('_', '-')} must be positive, got "
                     f"{getattr(args, name)}")
    if args.n_embd % args.n_head:
        sys.exit(f"error: --n-embd ({args.n_embd}) must be divisible by --n-head ({args.n_head})")
    if args.warmup < 0:
        sys.exit(f"error: --warmup must be >= 0, got {args.warmup}")
    if not 0.0 <= args.dropout < 1.0:
        sys.exit(f"error: --dropout must be in [0, 1), got {args.dropout}")
    if args.temperature <= 0:
        sys.exit(f"error: --temperature must be positive, got {args.temperature}")
    if args.top_k is not None and args.top_k <= 0:
        sys.exit(f"error: --top-k must be positive, got {args.top_k}")


# what a checkpoint must agree on with the command line to be resumed
ARCHITECTURE = ("block_size", "n_layer", "n_head", "n_embd")


def resume(args, vocab, model, optimizer, scheduler):
    ckpt = tg.load(args.resume)
    saved = ckpt["config"]
    changed = [f"--{k.replace('_', '-')} {saved[k]} (now {getattr(args, k)})"
               for k in ARCHITECTURE if saved[k] != getattr(args, k)]
    if changed or saved["vocab"] != vocab.chars:
        what = ", ".join(changed) if changed else "a different text (vocabulary differs)"
        sys.exit(f"error: {args.resume} was trained with {what}; resume with the same options")
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    return ckpt["step"], list(ckpt["evals"])


def save(args, vocab, model, optimizer, scheduler, step, evals):
    config = {k: getattr(args, k) for k in ARCHITECTURE}
    config["vocab"] = vocab.chars
    tg.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "scheduler": scheduler.state_dict(), "step": step, "evals": evals,
             "config": config}, args.save)


def main(argv=None):
    """Train, printing losses; returns {"baseline", "evals", "sample", ...}."""
    args = build_parser().parse_args(argv)
    check_args(args)
    check_device(args.device)
    text = load_text(args.text)
    vocab = Vocabulary(text)
    data = vocab.encode(text)
    split = int(0.9 * len(data))
    train_data, val_data = data[:split], data[split:]
    if len(val_data) <= args.block_size + 1:
        sys.exit(f"error: the text ({len(data)} characters) is too short for --block-size "
                 f"{args.block_size}: its last 10% (validation) needs more than "
                 f"{args.block_size + 1} characters")
    baseline = unigram_entropy(val_data, len(vocab))
    print(f"corpus: {len(data):,} characters ({len(train_data):,} train, {len(val_data):,} val), "
          f"vocabulary {len(vocab)}")
    print(f"unigram baseline (entropy of the val characters): {baseline:.4f} nats; "
          f"uniform guess: {math.log(len(vocab)):.4f}")

    tg.manual_seed(args.seed)
    model = GPT(len(vocab), args.block_size, args.n_layer, args.n_head, args.n_embd,
                args.dropout).to(args.device)
    optimizer = make_optimizer(model, args.lr, args.weight_decay, (0.9, args.beta2))
    scheduler = optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine(args.warmup, args.steps, args.min_lr_ratio))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {args.n_layer} layers, {args.n_head} heads, {args.n_embd} wide, "
          f"{n_params:,} parameters")

    start, evals = 0, []
    if args.resume:
        start, evals = resume(args, vocab, model, optimizer, scheduler)
        print(f"resumed from {args.resume} at step {start}")

    eval_seconds = [0.0]

    def evaluate(step, log):
        t = time.perf_counter()
        train_loss, val_loss = estimate_loss(model, train_data, args), \
            estimate_loss(model, val_data, args)
        eval_seconds[0] += time.perf_counter() - t
        evals.append({"step": step, "train_loss": train_loss, "val_loss": val_loss})
        elapsed = time.perf_counter() - t0
        log(f"step {step:5d}/{args.steps}  train loss {train_loss:.4f}  val loss {val_loss:.4f}  "
            f"lr {optimizer.param_groups[0]['lr']:.2e}  ({elapsed:.1f}s)")
        if args.save:
            save(args, vocab, model, optimizer, scheduler, step, evals)

    t0 = time.perf_counter()
    if start == 0:
        evaluate(0, print)
    bar = progress(range(start, args.steps), args.steps - start, "training", args.no_progress)
    log = getattr(bar, "write", print)  # tqdm.write keeps the bar intact
    for step in bar:
        # the batch (and dropout) depend on the seed and the step alone, so a
        # resumed run draws exactly what the uninterrupted one would have
        rng = np.random.default_rng([args.seed, 0, step])
        tg.manual_seed(args.seed * 1_000_003 + step)
        x, y = get_batch(train_data, batch_offsets(rng, len(train_data), args.block_size,
                                                   args.batch_size), args.block_size, args.device)
        loss = train_step(model, optimizer, scheduler, x, y, args.grad_clip)
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
        done = step + 1
        if done % args.eval_interval == 0 or done == args.steps:
            evaluate(done, log)
    elapsed = time.perf_counter() - t0
    trained = args.steps - start
    training = max(elapsed - eval_seconds[0], 1e-9)
    print(f"trained {trained} steps in {elapsed:.1f}s ({trained / training:.2f} steps/s; "
          f"evaluations took {eval_seconds[0]:.1f}s); final val loss "
          f"{evals[-1]['val_loss']:.4f} vs unigram baseline {baseline:.4f}")

    sample = ""
    if args.sample_tokens > 0:
        start_ids = tg.tensor(vocab.encode("\n")[None, :], device=args.device)
        out = model.generate(start_ids, args.sample_tokens, args.temperature, args.top_k,
                             rng=np.random.default_rng(args.seed))
        sample = vocab.decode(out.numpy()[0, 1:])
        print("---- sample ----")
        print(sample)
        print("----------------")
    return {"baseline": baseline, "evals": evals, "sample": sample,
            "val_losses": [e["val_loss"] for e in evals], "vocab_size": len(vocab)}


if __name__ == "__main__":
    main()
