"""examples/train_gpt.py: a tiny GPT learns (validation loss well under the
unigram baseline), the head and the token embedding are one Parameter fed by
both uses, --save/--resume continues to exactly the uninterrupted run's
parameters, sampling is fixed by the seed, the model is causal, and it
computes what the same network written in PyTorch computes."""
import importlib
import math
import os
import sys

import numpy as np
import pytest
import torch

import tinygrad_dc as tg
import tinygrad_dc.nn.functional as F
from tinygrad_dc import nn

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
sys.path.insert(0, EXAMPLES)
gpt = importlib.import_module("train_gpt")

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--block-size", "32",
        "--batch-size", "16", "--lr", "1e-2", "--warmup", "5", "--eval-iters", "4",
        "--no-progress"]


def tiny_model(vocab=11, block=8, n_layer=2, n_head=2, n_embd=16, seed=0):
    tg.manual_seed(seed)
    return gpt.GPT(vocab, block, n_layer, n_head, n_embd)


def grads_of(model, idx, targets):
    model.zero_grad()
    logits = model(idx)
    F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)).backward()
    return {name: p.grad.numpy().copy() for name, p in model.named_parameters()}


# ---------------------------------------------------------------- end to end
def test_learns_below_unigram_baseline(capsys):
    history = gpt.main(["--steps", "150", "--eval-interval", "50", "--sample-tokens", "40"]
                       + TINY)
    out = capsys.readouterr().out
    assert "unigram baseline" in out and "step   150/150" in out and "---- sample ----" in out
    vals = history["val_losses"]
    assert [e["step"] for e in history["evals"]] == [0, 50, 100, 150]
    assert vals[0] > history["baseline"]  # an untrained model knows nothing
    # a model that knows only character frequencies scores the baseline; this
    # one has learned from context (measured: 2.67 against 3.14)
    assert vals[-1] < history["baseline"] - 0.3, (vals, history["baseline"])
    assert len(history["sample"]) == 40


def test_unigram_baseline_is_the_entropy_of_the_val_characters():
    ids = np.array([0, 0, 1, 2, 2, 2, 2, 2])
    p = np.array([2, 1, 5]) / 8
    assert gpt.unigram_entropy(ids, 4) == pytest.approx(-(p * np.log(p)).sum())
    assert gpt.unigram_entropy(np.zeros(10, dtype=np.int64), 3) == 0.0


def test_text_file_and_vocabulary(tmp_path, capsys):
    path = tmp_path / "abc.txt"
    path.write_text("abcab\n" * 200, encoding="utf-8")
    history = gpt.main(["--text", str(path), "--steps", "2", "--eval-interval", "2",
                        "--sample-tokens", "0"] + TINY + ["--block-size", "8"])
    assert history["vocab_size"] == 4  # "\n", "a", "b", "c"
    vocab = gpt.Vocabulary("hello")
    assert vocab.decode(vocab.encode("hole")) == "hole"
    with pytest.raises(ValueError, match="'z'"):
        vocab.encode("z")
    path.write_text("short", encoding="utf-8")
    with pytest.raises(SystemExit, match="too short"):
        gpt.main(["--text", str(path)] + TINY)


def test_warmup_then_cosine_schedule():
    factor = gpt.warmup_cosine(warmup=4, total=14, min_ratio=0.1)
    warm = [factor(s) for s in range(5)]
    assert warm == sorted(warm) and warm[3] < 1.0 and factor(4) == pytest.approx(1.0)
    assert factor(9) == pytest.approx(0.55)  # halfway down the cosine
    assert factor(14) == pytest.approx(0.1) and factor(100) == pytest.approx(0.1)


# ---------------------------------------------------------------- weight tying
def test_weight_tying_is_one_parameter_fed_by_both_uses():
    model = tiny_model()
    wte, head = model.transformer.wte.weight, model.lm_head.weight
    assert wte is head and isinstance(wte, nn.Parameter)
    params = list(model.parameters())
    assert sum(p is wte for p in params) == 1
    assert len({id(p) for p in params}) == len(params)
    # the optimizer holds it once, in the weight-decay group
    opt = gpt.make_optimizer(model, 1e-3, 0.1, (0.9, 0.99))
    decay, no_decay = (g["params"] for g in opt.param_groups)
    assert sum(p is wte for p in decay) == 1 and not any(p is wte for p in no_decay)
    assert all(p.ndim >= 2 for p in decay) and all(p.ndim == 1 for p in no_decay)
    assert len(decay) + len(no_decay) == len(params)
    # the state dict names it twice (as PyTorch does) and loads back into one tensor
    state = model.state_dict()
    assert "transformer.wte.weight" in state and "lm_head.weight" in state

    # its gradient is the sum of the embedding's and the head's: untie a copy
    # (two Parameters with the same values) and compare
    rng = np.random.default_rng(0)
    idx = tg.tensor(rng.integers(0, 11, size=(3, 8)))
    targets = tg.tensor(rng.integers(0, 11, size=(3, 8)))
    tied = grads_of(model, idx, targets)
    untied = tiny_model()
    untied.lm_head.weight = nn.Parameter(tg.tensor(wte.numpy().copy()))
    assert untied.lm_head.weight is not untied.transformer.wte.weight
    g = grads_of(untied, idx, targets)
    from_embedding, from_head = g["transformer.wte.weight"], g["lm_head.weight"]
    assert np.abs(from_embedding).max() > 0 and np.abs(from_head).max() > 0
    np.testing.assert_allclose(tied["transformer.wte.weight"], from_embedding + from_head,
                               rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- resume
def _final_params(path):
    return {k: v.numpy() for k, v in tg.load(path)["model"].items()}


def test_resume_continues_exactly(tmp_path, monkeypatch, capsys):
    # dropout on, so the per-step reseeding of dropout masks is exercised too
    args = ["--steps", "8", "--eval-interval", "4", "--dropout", "0.1", "--sample-tokens", "20"]
    straight, part = str(tmp_path / "straight.ckpt"), str(tmp_path / "part.ckpt")
    full = gpt.main(args + TINY + ["--save", straight])

    # a run killed during step 6: its last checkpoint is the one from step 4
    real_step, calls = gpt.train_step, []

    def dies_at_step_6(*a, **kw):
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return real_step(*a, **kw)

    monkeypatch.setattr(gpt, "train_step", dies_at_step_6)
    with pytest.raises(KeyboardInterrupt):
        gpt.main(args + TINY + ["--save", part])
    monkeypatch.setattr(gpt, "train_step", real_step)
    assert tg.load(part)["step"] == 4

    resumed = gpt.main(args + TINY + ["--resume", part, "--save", part])
    assert "resumed from" in capsys.readouterr().out
    assert [e["step"] for e in resumed["evals"]] == [0, 4, 8]
    assert resumed["evals"] == full["evals"]
    assert resumed["sample"] == full["sample"]
    a, b = _final_params(straight), _final_params(part)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_resume_with_another_architecture_fails_clearly(tmp_path):
    ckpt = str(tmp_path / "c.ckpt")
    gpt.main(["--steps", "1", "--eval-interval", "1", "--sample-tokens", "0", "--save", ckpt]
             + TINY)
    with pytest.raises(SystemExit, match="--n-embd 32 \\(now 16\\)"):
        gpt.main(["--steps", "2", "--resume", ckpt] + TINY + ["--n-embd", "16"])


def test_cuda_without_gpu_fails_clearly():
    if tg.cuda.is_available():
        pytest.skip("a GPU is present: the no-GPU error path cannot be exercised")
    with pytest.raises(SystemExit) as exc:
        gpt.main(["--device", "cuda", "--steps", "1"] + TINY)
    assert "CUDA is not available" in str(exc.value)


# ---------------------------------------------------------------- sampling
def test_sampling_is_fixed_by_the_seed():
    model = tiny_model()
    start = tg.tensor([[1]])

    def sample(seed, **kw):
        return model.generate(start, 30, rng=np.random.default_rng(seed), **kw).numpy()

    a, b, c = sample(5), sample(5), sample(6)
    assert a.shape == (1, 31) and a[0, 0] == 1
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert model.training  # generate restores the mode it found
    # top_k=1 is greedy decoding: the seed no longer matters
    np.testing.assert_array_equal(sample(1, top_k=1), sample(2, top_k=1))
    # with top_k the draws stay among the k most likely characters
    with tg.no_grad():
        model.eval()
        logits = model(tg.tensor(sample(3, top_k=3)[:, :8])).numpy()
    drawn = sample(3, top_k=3)[0, 1:8]
    top3 = np.argsort(logits[0, :7], axis=-1)[:, -3:]
    assert all(d in row for d, row in zip(drawn, top3))
    with pytest.raises(ValueError, match="temperature"):
        model.generate(start, 1, temperature=0.0)


# ---------------------------------------------------------------- causality
def test_a_future_token_does_not_change_earlier_logits():
    model = tiny_model(block=10)
    model.eval()
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 11, size=(2, 10))
    changed = ids.copy()
    changed[:, 6] = (changed[:, 6] + 3) % 11
    with tg.no_grad():
        a = model(tg.tensor(ids)).numpy()
        b = model(tg.tensor(changed)).numpy()
    np.testing.assert_allclose(a[:, :6], b[:, :6], rtol=0, atol=1e-6)
    assert np.abs(a[:, 6:] - b[:, 6:]).max() > 1e-3
    with pytest.raises(ValueError, match="block_size"):
        model(tg.tensor(rng.integers(0, 11, size=(1, 11))))


# ---------------------------------------------------------------- PyTorch parity
class TorchGPT(torch.nn.Module):
    """The same network in PyTorch, with nanoGPT's parameter names."""

    class Block(torch.nn.Module):
        def __init__(self, n_embd, n_head):
            super().__init__()
            self.n_head = n_head
            self.ln_1, self.ln_2 = torch.nn.LayerNorm(n_embd), torch.nn.LayerNorm(n_embd)
            self.attn = torch.nn.Module()
            self.attn.c_attn = torch.nn.Linear(n_embd, 3 * n_embd)
            self.attn.c_proj = torch.nn.Linear(n_embd, n_embd)
            self.mlp = torch.nn.Module()
            self.mlp.c_fc = torch.nn.Linear(n_embd, 4 * n_embd)
            self.mlp.c_proj = torch.nn.Linear(4 * n_embd, n_embd)

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = self.attn.c_attn(self.ln_1(x)).split(C, dim=2)
            q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
                       for t in (q, k, v))
            y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.attn.c_proj(y.transpose(1, 2).reshape(B, T, C))
            h = self.ln_2(x)
            return x + self.mlp.c_proj(torch.nn.functional.gelu(self.mlp.c_fc(h)))

    def __init__(self, vocab, block, n_layer, n_head, n_embd):
        super().__init__()
        self.transformer = torch.nn.ModuleDict(dict(
            wte=torch.nn.Embedding(vocab, n_embd), wpe=torch.nn.Embedding(block, n_embd),
            h=torch.nn.ModuleList([self.Block(n_embd, n_head) for _ in range(n_layer)]),
            ln_f=torch.nn.LayerNorm(n_embd)))
        self.lm_head = torch.nn.Linear(n_embd, vocab, bias=False)
        self.transformer.wte.weight = self.lm_head.weight

    def forward(self, idx):
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(idx.shape[1]))
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))


def test_same_logits_and_gradients_as_pytorch():
    model = tiny_model(n_layer=2, n_head=2, n_embd=16).double()
    ref = TorchGPT(11, 8, 2, 2, 16).double()
    ref.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                         for k, v in model.state_dict().items()})
    assert ref.lm_head.weight is ref.transformer.wte.weight  # loading kept the tie
    rng = np.random.default_rng(2)
    idx, targets = rng.integers(0, 11, size=(3, 8)), rng.integers(0, 11, size=(3, 8))
    ours = grads_of(model, tg.tensor(idx), tg.tensor(targets))
    logits = model(tg.tensor(idx)).numpy()

    ref_logits = ref(torch.from_numpy(idx))
    torch.nn.functional.cross_entropy(ref_logits.reshape(-1, 11),
                                      torch.from_numpy(targets).reshape(-1)).backward()
    np.testing.assert_allclose(logits, ref_logits.detach().numpy(), rtol=1e-9, atol=1e-10)
    named = dict(ref.named_parameters())
    assert named.keys() == ours.keys()
    for name, p in named.items():
        np.testing.assert_allclose(ours[name], p.grad.numpy(), rtol=1e-7, atol=1e-10,
                                   err_msg=name)
    # the initial loss of a fresh model is close to a uniform guess
    assert F.cross_entropy(tg.tensor(logits).reshape(-1, 11),
                           tg.tensor(targets).reshape(-1)).item() == pytest.approx(
        math.log(11), abs=0.1)
