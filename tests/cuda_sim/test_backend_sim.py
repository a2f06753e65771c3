"""The CUDA backend end to end, under Numba's CUDA simulator.

With TINYGRAD_DC_CUDA_SIM=1 the backend of device='cuda' keeps NumPy arrays
and launches the Numba kernels of kernels/cuda in the simulator, so every
op below runs through the CUDA dispatch path: the same backend methods, op
routing and kernels as on a GPU, with NumPy standing in for CuPy. Results
and gradients are compared with the CPU backend's; the differentiable ops
are also gradient-checked (float64, directional: two forward calls per
input, since a simulated kernel costs ~0.25 ms per thread).

Run with the rest of tests/cuda_sim: NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/cuda_sim
"""
import os

os.environ["TINYGRAD_DC_CUDA_SIM"] = "1"   # read when the cuda backend is first made

import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings, strategies as st  # noqa: E402

import kernels.cuda as kc  # noqa: E402
import tinygrad_dc as tg  # noqa: E402
import tinygrad_dc.nn.functional as F  # noqa: E402
from tinygrad_dc import nn, optim  # noqa: E402
from tinygrad_dc.autograd.function import Op  # noqa: E402
from tinygrad_dc.backend import get_backend  # noqa: E402
from tinygrad_dc.backend import cuda as cuda_backend  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
F64 = dict(rtol=1e-9, atol=1e-11)
F32 = dict(rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def backend():
    b = get_backend("cuda")
    assert b.simulated and b.xp is np
    return b


@pytest.fixture
def calls(monkeypatch):
    """Counts launches of the Numba kernels' entry points (by name)."""
    counts = {}
    for name in ("matmul", "softmax", "log_softmax", "softmax_backward", "log_softmax_backward",
                 "im2col", "col2im", "conv2d_forward", "conv2d_backward_input",
                 "conv2d_backward_weight", "attention_forward", "attention_backward"):
        def spy(*args, _name=name, _kernel=getattr(kc, name), **kwargs):
            counts[_name] = counts.get(_name, 0) + 1
            return _kernel(*args, **kwargs)
        monkeypatch.setattr(kc, name, spy)
    return counts


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def on(device, arrays, dtype=tg.float64):
    return [tg.tensor(a, dtype=dtype, device=device, requires_grad=True) for a in arrays]


def run(fn, device, arrays, upstream, dtype):
    """fn's output and the gradients of <upstream, fn(x)> on one device, as NumPy."""
    tensors = on(device, arrays, dtype)
    out = fn(*tensors)
    assert out.device == device
    (out * tg.tensor(upstream, dtype=out.dtype, device=device)).sum().backward()
    grads = []
    for t in tensors:
        assert t.grad is not None and t.grad.device == device
        grads.append(t.grad.numpy())
    return out.numpy(), grads


def matches_cpu(fn, *arrays, dtype=tg.float64, tol=F64, gradcheck=True):
    """fn on cuda agrees with fn on cpu (values and gradients), and passes gradcheck."""
    with tg.no_grad():
        shape = fn(*on("cpu", arrays, dtype)).shape
    upstream = rand(*shape, seed=99)
    want, want_grads = run(fn, "cpu", arrays, upstream, dtype)
    got, got_grads = run(fn, "cuda", arrays, upstream, dtype)
    np.testing.assert_allclose(got, want, **tol)
    for g, w in zip(got_grads, want_grads):
        np.testing.assert_allclose(g, w, **tol)
    if gradcheck:
        assert tg.autograd.gradcheck(fn, tuple(on("cuda", arrays)), mode="directional",
                                     atol=1e-6, rtol=1e-5)


# ---------------------------------------------------------------- the device itself
def test_cuda_is_the_simulated_backend(backend):
    assert tg.cuda.is_available() and tg.cuda.is_simulated()
    assert tg.cuda.device_count() == 1
    assert "simulator" in tg.cuda.get_device_name()
    tg.cuda.synchronize()
    assert kc.SIMULATOR


def test_tensors_move_between_devices(backend):
    host = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = tg.tensor(host, device="cuda")
    assert t.device == "cuda" and t.is_cuda and t.dtype == tg.float32
    host[0, 0] = 100   # device memory is a copy
    assert t.numpy()[0, 0] == 0
    c = tg.tensor(host)
    for moved in (c.to("cuda"), c.cuda(), c.to(device="cuda:0"), tg.tensor(c, device="cuda")):
        assert moved.device == "cuda"
        np.testing.assert_array_equal(moved.numpy(), host)
        assert not np.shares_memory(moved._data, c._data)
    back = c.cuda().cpu()
    assert back.device == "cpu" and back._backend is get_backend("cpu")
    np.testing.assert_array_equal(back.numpy(), host)
    assert c.to("cuda", tg.float64).dtype == tg.float64
    ints = tg.tensor([1, 2, 3], device="cuda")
    assert ints.dtype == tg.int64 and ints.cpu().tolist() == [1, 2, 3]
    assert "device='cuda'" in repr(t)
    made = [tg.zeros(2, 3, device="cuda"), tg.ones(2, device="cuda"), tg.arange(4, device="cuda"),
            tg.randn(3, device="cuda"), tg.full((2,), 7.0, device="cuda"), tg.eye(2, device="cuda")]
    assert all(m.device == "cuda" for m in made)
    assert tg.zeros_like(t).device == "cuda"


def test_gradients_flow_back_across_devices(backend):
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x.cuda() * x.cuda()).sum()
    assert y.device == "cuda"
    y.backward()
    assert x.grad.device == "cpu"
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])


def test_mixing_devices_raises(backend):
    with pytest.raises(tg.DeviceError, match="cpu and cuda|cuda and cpu"):
        tg.ones(2) + tg.ones(2, device="cuda")
    with pytest.raises(tg.DeviceError):
        tg.ones(2, 2, device="cuda") @ tg.ones(2, 2)


def test_manual_seed_drives_the_cuda_generator(backend):
    draws = []
    for _ in range(2):
        tg.manual_seed(3)
        draws.append((tg.randn(5, device="cuda").numpy(), tg.rand(4, device="cuda").numpy(),
                      F.dropout(tg.ones(16, device="cuda"), 0.5).numpy()))
    for a, b in zip(*draws):
        np.testing.assert_array_equal(a, b)
    tg.manual_seed(4)
    assert not np.array_equal(tg.randn(5, device="cuda").numpy(), draws[0][0])


def test_invalid_matmul_mode_is_refused(monkeypatch):
    monkeypatch.setenv(cuda_backend.MATMUL_ENV, "fastest")
    with pytest.raises(tg.DeviceError, match="auto.*numba.*xp"):
        cuda_backend.CUDABackend()


# ---------------------------------------------------------------- modules and optimizers
def _mlp():
    return nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))


@pytest.mark.parametrize("make_optimizer, state_key", [
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01), "momentum_buffer"),
    (lambda ps: optim.Adam(ps, lr=0.01), "exp_avg"),
], ids=["sgd", "adam"])
def test_module_to_cuda_trains_like_the_cpu(backend, calls, make_optimizer, state_key):
    tg.manual_seed(0)
    model, twin = _mlp(), _mlp()
    twin.load_state_dict(model.state_dict())
    assert model.to("cuda") is model
    assert all(p.device == "cuda" for p in model.parameters())
    x, y = rand(6, 5), np.array([0, 1, 2, 1, 0, 2])
    results = []
    for net, device in ((twin, "cpu"), (model, "cuda")):
        opt = make_optimizer(net.parameters())
        inputs = tg.tensor(x, dtype=tg.float32, device=device)
        target = tg.tensor(y, device=device)
        for _ in range(3):
            opt.zero_grad()
            F.cross_entropy(net(inputs), target).backward()
            opt.step()
        for p in net.parameters():
            assert opt.state[p][state_key].device == device
        results.append([p.detach().cpu().numpy() for p in net.parameters()])
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, **F32)
    # every Linear product ran on the Numba GEMM: per step 2 forward, 3 backward
    # (the first layer's input needs no gradient)
    assert calls["matmul"] == 3 * 5
    model.cpu()
    assert all(p.device == "cpu" for p in model.parameters())


# ---------------------------------------------------------------- matmul: both routes
def test_matmul_routes_by_size(backend, calls, monkeypatch):
    small_a, small_b = rand(5, 7).astype(np.float32), rand(7, 3, seed=1).astype(np.float32)
    big_a, big_b = rand(40, 33).astype(np.float32), rand(33, 30, seed=1).astype(np.float32)
    assert backend.matmul_route(small_a, small_b) == "numba"
    assert backend.matmul_route(big_a, big_b) == "xp"     # 40*33*30 > 2**15 multiply-adds
    np.testing.assert_allclose(backend.matmul(small_a, small_b), small_a @ small_b, **F32)
    assert calls["matmul"] == 1
    np.testing.assert_allclose(backend.matmul(big_a, big_b), big_a @ big_b, **F32)
    assert calls["matmul"] == 1
    # and through the tensor op
    out = tg.tensor(small_a, device="cuda") @ tg.tensor(small_b, device="cuda")
    np.testing.assert_allclose(out.numpy(), small_a @ small_b, **F32)
    assert calls["matmul"] == 2
    # forced: everything to cuBLAS (xp), or everything to the Numba kernel
    monkeypatch.setattr(backend, "matmul_mode", "xp")
    backend.matmul(small_a, small_b)
    assert calls["matmul"] == 2
    monkeypatch.setattr(backend, "matmul_mode", "numba")
    a, b = rand(2, 40, 9).astype(np.float32), rand(9, 41, seed=1).astype(np.float32)
    np.testing.assert_allclose(backend.matmul(a, b), a @ b, **F32)
    assert calls["matmul"] == 3


@settings(max_examples=6)
@given(m=st.integers(1, 4), k=st.integers(1, 5), n=st.integers(1, 4),
       batch=st.sampled_from([(), (2,), (2, 1)]), vector=st.sampled_from([None, "a", "b"]))
def test_matmul_gradients_through_cuda(m, k, n, batch, vector):
    a = rand(*batch, m, k) if vector != "a" else rand(k)
    b = rand(k, n, seed=1) if vector != "b" else rand(k, seed=1)
    matches_cpu(lambda x, y: x @ y, a, b)


def test_linear_gradients_through_cuda(backend, calls):
    matches_cpu(lambda x, w, b: F.linear(x, w, b), rand(2, 3, 4), rand(5, 4, seed=1),
                rand(5, seed=2))
    assert calls["matmul"] >= 3


def test_matmul_float32_through_the_kernel(backend, calls):
    matches_cpu(lambda x, y: x @ y, rand(3, 6, 5), rand(5, 7, seed=1), dtype=tg.float32,
                tol=F32, gradcheck=False)
    assert calls["matmul"] == 3


# ---------------------------------------------------------------- conv2d
@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation, groups", [
    ((2, 2, 5, 4), (3, 2, 3, 2), 1, 1, 1, 1),
    ((1, 4, 6, 5), (4, 2, 3, 3), 2, 1, (1, 2), 2),
], ids=["plain", "strided-dilated-groups"])
def test_conv2d_gradients_through_cuda(backend, calls, x_shape, w_shape, stride, padding,
                                       dilation, groups):
    def conv(x, w, b):
        return F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation,
                        groups=groups)
    matches_cpu(conv, rand(*x_shape), rand(*w_shape, seed=1) * 0.5, rand(w_shape[0], seed=2))
    assert calls["im2col"] >= 1 and calls["col2im"] >= 1 and calls["matmul"] >= 3


def test_conv2d_kernel_entry_points_match_the_cpu(backend, calls):
    x, w = rand(2, 3, 5, 6).astype(np.float32), rand(4, 3, 2, 3, seed=1).astype(np.float32)
    geometry = dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2))
    xt, wt = on("cpu", (x, w), tg.float32)
    out = F.conv2d(xt, wt, **geometry)
    gy = rand(*out.shape, seed=2).astype(np.float32)
    (out * tg.tensor(gy)).sum().backward()
    params = tuple(geometry.values())
    np.testing.assert_allclose(backend.conv2d_forward(x, w, *params), out.numpy(), **F32)
    np.testing.assert_allclose(backend.conv2d_backward_input(gy, w, x.shape, *params),
                               xt.grad.numpy(), **F32)
    np.testing.assert_allclose(backend.conv2d_backward_weight(gy, x, w.shape, *params),
                               wt.grad.numpy(), **F32)
    assert calls["conv2d_forward"] == calls["conv2d_backward_weight"] == 1


# ---------------------------------------------------------------- softmax family
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape, dim", [((3, 7), -1), ((2, 5, 3), 1)], ids=["last", "middle"])
def test_softmax_gradients_through_cuda(backend, calls, fn, shape, dim):
    matches_cpu(lambda x: getattr(x, fn)(dim), rand(*shape) * 3)
    assert calls[fn] >= 1 and calls[f"{fn}_backward"] >= 1


def test_softmax_of_float16_falls_back_to_xp(backend, calls):
    x = rand(3, 5).astype(np.float16)
    got = tg.tensor(x, device="cuda").softmax(-1).numpy()
    want = tg.tensor(x).softmax(-1).numpy()
    assert got.dtype == np.float16 and "softmax" not in calls
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_gradients_through_cuda(backend, smoothing):
    target = np.array([1, 0, 4, 2])
    for reduction in ("mean", "sum"):
        def loss(x):
            return F.cross_entropy(x, tg.tensor(target, device=x.device), reduction=reduction,
                                   label_smoothing=smoothing)
        matches_cpu(loss, rand(4, 5) * 2)


# ---------------------------------------------------------------- attention
class FlashAttention(Op):
    """Attention on the backend's flash kernels, as a differentiable op."""

    def forward(self, q, k, v, causal, scale):
        self.q, self.k, self.v, self.causal, self.scale = q, k, v, causal, scale
        self.out, self.lse = self.backend.attention_forward(q, k, v, causal, scale)
        return self.out

    def backward(self, g):
        return self.backend.attention_backward(self.q, self.k, self.v, self.out, self.lse, g,
                                               self.causal, self.scale)


def attention_composite(q, k, v, causal, scale):
    """softmax(scale q k^T, causal mask) v from matmul and softmax ops."""
    scores = (q @ k.transpose(-1, -2)) * scale
    if causal:
        hidden = np.triu(np.ones((q.shape[-2], k.shape[-2]), dtype=bool), 1)
        scores = scores.masked_fill(tg.tensor(hidden, device=q.device), float("-inf"))
    return scores.softmax(-1) @ v


def sdpa():
    """The library's fused scaled_dot_product_attention (the nn issue's op)."""
    fn = getattr(F, "scaled_dot_product_attention", None)
    if fn is None:
        try:
            from tinygrad_dc.nn.functional.attention import scaled_dot_product_attention as fn
        except ImportError:
            pytest.skip("scaled_dot_product_attention is not in this version of tinygrad_dc")
    return fn


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("tq, tk", [(5, 7), (6, 6)])
def test_flash_attention_gradients_through_cuda(backend, calls, causal, tq, tk):
    q, k, v = rand(1, 2, tq, 4), rand(1, 2, tk, 4, seed=1), rand(1, 2, tk, 4, seed=2)
    scale = 0.7

    def flash(q, k, v):
        if q.device == "cpu":   # the reference: the same function from matmul and softmax
            return attention_composite(q, k, v, causal, scale)
        return FlashAttention.apply(q, k, v, causal=causal, scale=scale)
    matches_cpu(flash, q, k, v)
    assert calls["attention_forward"] >= 1 and calls["attention_backward"] >= 1


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_scaled_dot_product_attention_through_cuda(backend, causal):
    fn = sdpa()
    q, k, v = rand(2, 2, 5, 4), rand(2, 2, 5, 4, seed=1), rand(2, 2, 5, 3, seed=2)
    matches_cpu(lambda q, k, v: fn(q, k, v, is_causal=causal), q, k, v)


def test_attention_fallback_for_wide_heads(backend, calls):
    """Head dims over the flash kernel's 128 go to whole-array xp code."""
    q, k, v = rand(1, 1, 3, 130), rand(1, 1, 4, 130, seed=1), rand(1, 1, 4, 130, seed=2)
    out, lse = backend.attention_forward(q, k, v, True, None)
    want = attention_composite(*on("cpu", (q, k, v)), True, 130 ** -0.5)
    np.testing.assert_allclose(out, want.detach().numpy(), **F64)
    assert "attention_forward" not in calls and lse.shape == (1, 1, 3)


# ---------------------------------------------------------------- the xp kernels
@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=1, padding=(1, 1), dilation=2),
], ids=["k2", "ceil-pad", "dilated"])
def test_max_pool_through_cuda(backend, kwargs):
    matches_cpu(lambda x: F.max_pool2d(x, **kwargs), rand(2, 2, 7, 6))
    x = rand(1, 2, 5, 6)
    x[0, 0, 1, 1] = x[0, 0, 1, 2] = 9.0   # a tie: the first one wins, as on the CPU
    _, got = F.max_pool2d(tg.tensor(x, device="cuda"), return_indices=True, **kwargs)
    _, want = F.max_pool2d(tg.tensor(x), return_indices=True, **kwargs)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=True),
    dict(kernel_size=(3, 2), stride=(1, 2), divisor_override=5),
], ids=["k2", "ceil-no-pad-count", "ceil-pad-count", "divisor"])
def test_avg_pool_through_cuda(backend, kwargs):
    matches_cpu(lambda x: F.avg_pool2d(x, **kwargs), rand(2, 2, 7, 6))


def test_adaptive_pools_through_cuda(backend):
    matches_cpu(lambda x: F.adaptive_avg_pool2d(x, (3, 2)), rand(1, 2, 7, 5))
    matches_cpu(lambda x: F.adaptive_max_pool2d(x, (2, 3)), rand(1, 2, 7, 5))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_through_cuda(backend, approximate):
    matches_cpu(lambda x: F.gelu(x, approximate=approximate), rand(3, 4) * 2)


def test_norms_through_cuda(backend):
    matches_cpu(lambda x, w, b: F.layer_norm(x, (4,), w, b), rand(3, 4), rand(4, seed=1),
                rand(4, seed=2))
    matches_cpu(lambda x, w, b: F.group_norm(x, 2, w, b), rand(2, 4, 3), rand(4, seed=1),
                rand(4, seed=2))
    matches_cpu(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                rand(4, 3, 2), rand(3, seed=1), rand(3, seed=2))
    stats = {}
    for device in ("cpu", "cuda"):    # the running statistics are updated on the device
        mean = tg.zeros(3, dtype=tg.float64, device=device)
        var = tg.ones(3, dtype=tg.float64, device=device)
        F.batch_norm(tg.tensor(rand(4, 3, 2), device=device), mean, var, training=True)
        stats[device] = (mean.numpy(), var.numpy())
        assert mean.device == device
    for got, want in zip(stats["cuda"], stats["cpu"]):
        np.testing.assert_allclose(got, want, **F64)
    matches_cpu(lambda x, w, b: F.batch_norm(x, tg.tensor(stats["cpu"][0], device=x.device),
                                             tg.tensor(stats["cpu"][1], device=x.device), w, b),
                rand(4, 3, 2), rand(3, seed=1), rand(3, seed=2))


@pytest.mark.parametrize("padding_idx", [None, 1])
def test_embedding_backward_through_cuda(backend, padding_idx):
    index = np.array([[0, 2, 2], [4, 0, 1]])   # repeats sum; the padding row gets nothing

    def lookup(w):
        return F.embedding(tg.tensor(index, device=w.device), w, padding_idx=padding_idx)
    # (with padding_idx the gradient is by design not the derivative: no gradcheck)
    matches_cpu(lookup, rand(5, 3), gradcheck=padding_idx is None)


# ---------------------------------------------------------------- the example
def test_train_mlp_example_on_simulated_cuda():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", TINYGRAD_DC_CUDA_SIM="1")
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", "train_mlp.py"), "--device", "cuda",
         "--epochs", "3", "--limit", "160", "--batch-size", "32", "--lr", "0.05",
         "--no-progress"],
        env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    losses = [float(v) for v in re.findall(r"train loss ([0-9.]+)", result.stdout)]
    assert len(losses) == 3, result.stdout
    assert losses[-1] < losses[0], result.stdout
