"""The Numba CUDA kernels (kernels/cuda) under the CUDA simulator, against NumPy references.

Run on its own: ``NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/cuda_sim``.
The simulator runs each CUDA thread as a Python thread, so shapes are small,
but never tile multiples; tiles are shrunk so every kernel still runs
several blocks and its grid-stride loops.  float32 results are compared with
float64 NumPy references at rtol 1e-4; float64 runs (the backend's gradcheck
path) at 1e-10.
"""
import numpy as np
import pytest
import torch
from numba import cuda

import kernels.cuda as kc
from kernels.cpu import reference as cpu_ref
from kernels.cuda import attention as attn_mod
from kernels.cuda import conv as conv_mod
from kernels.cuda.matmul import GemmTiles, gemm

TILES = GemmTiles(8, 8, 4, 2, 2)   # 16 threads, 8x8 output tiles
F32 = dict(rtol=1e-4, atol=1e-5)
F64 = dict(rtol=1e-10, atol=1e-12)


def rand(*shape, dtype=np.float32, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def close(got, want, dtype=np.float32):
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == np.dtype(dtype), got.dtype
    np.testing.assert_allclose(got, want, **(F32 if dtype == np.float32 else F64))


def test_simulator_is_active():
    assert kc.SIMULATOR


# ---------------------------------------------------------------------------- matmul

@pytest.mark.parametrize("sa, sb", [
    ((19, 23), (23, 17)),              # the non-multiple 2-D case
    ((2, 3, 5, 9), (2, 3, 9, 6)),      # equal batch dims
    ((2, 5, 7), (7, 6)),               # 2-D b broadcast over a's batch
    ((1, 4, 3), (3, 3, 5)),            # batch-1 a broadcast
    ((2, 1, 5, 4), (1, 3, 4, 6)),      # mixed broadcasting (materialised)
    ((1, 1), (1, 1)),
], ids=str)
def test_matmul_matches_numpy(sa, sb):
    a, b = rand(*sa), rand(*sb, seed=1)
    close(kc.matmul(a, b, tiles=TILES), a.astype(np.float64) @ b)


def test_matmul_default_tiles_and_float64():
    a, b = rand(21, 35, dtype=np.float64), rand(35, 18, dtype=np.float64, seed=1)
    close(kc.matmul(a, b), a @ b, np.float64)


def test_matmul_strided_views_and_empty_k():
    base_a, base_b = rand(23, 19), rand(17, 23, seed=1)
    a, b = base_a.T, base_b.T                  # (19, 23) and (23, 17), column-major views
    close(kc.matmul(a, b, tiles=TILES), a.astype(np.float64) @ b)
    # K = 0 gives zeros (the tiles never load), not garbage from the empty output
    np.testing.assert_array_equal(kc.matmul(rand(3, 0), rand(0, 4), tiles=TILES), np.zeros((3, 4)))
    assert kc.matmul(rand(0, 3), rand(3, 4)).shape == (0, 4)


def test_matmul_out_and_device_arrays():
    a, b = rand(9, 11), rand(11, 10, seed=1)
    out = np.full((9, 10), np.nan, np.float32)
    assert kc.matmul(a, b, out=out, tiles=TILES) is out
    close(out, a.astype(np.float64) @ b)
    got = kc.matmul(cuda.to_device(a), cuda.to_device(b), tiles=TILES)
    assert not isinstance(got, np.ndarray)     # device in, device out
    close(got.copy_to_host(), a.astype(np.float64) @ b)


def test_gemm_flags():
    a, b = rand(3, 7, 5), rand(3, 6, 7, seed=1)          # a^T is (5, 7), b^T is (7, 6)
    want = np.einsum("zkm,znk->zmn", a.astype(np.float64), b)
    out = np.empty((3, 5, 6), np.float32)
    close(gemm(a, b, out, trans_a=True, trans_b=True, tiles=TILES), want)
    red = np.empty((1, 5, 6), np.float32)
    close(gemm(a, b, red, trans_a=True, trans_b=True, reduce_batch=True, tiles=TILES),
          want.sum(0, keepdims=True))
    gemm(a, b, red, trans_a=True, trans_b=True, reduce_batch=True, accumulate=True, tiles=TILES)
    close(red, 2 * want.sum(0, keepdims=True))


@pytest.mark.parametrize("sa, sb, dtypes, match", [
    ((3, 4), (5, 6), (np.float32, np.float32), "not aligned"),
    ((2, 3, 4), (3, 4, 5), (np.float32, np.float32), "do not broadcast"),
    ((4,), (4, 2), (np.float32, np.float32), "at least 2 dims"),
    ((3, 4), (4, 2), (np.float32, np.float64), "float32 or float64"),
    ((3, 4), (4, 2), (np.int64, np.int64), "float32 or float64"),
])
def test_matmul_rejects_bad_input(sa, sb, dtypes, match):
    with pytest.raises((ValueError, TypeError), match=match):
        kc.matmul(np.ones(sa, dtypes[0]), np.ones(sb, dtypes[1]))


def test_matmul_rejects_bad_out():
    with pytest.raises(ValueError, match=r"out must be .* \(3, 2\)"):
        kc.matmul(rand(3, 4), rand(4, 2), out=np.empty((2, 3), np.float32))


# ---------------------------------------------------------------------------- softmax

def softmax_ref(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def log_softmax_ref(x):
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


@pytest.mark.parametrize("shape", [(3, 13), (2, 3, 37), (5, 1), (6,)], ids=str)
def test_softmax_forward(shape):
    x = rand(*shape, scale=30.0)          # large logits: only a max-subtracting kernel survives
    x64 = x.astype(np.float64)
    close(kc.softmax(x), softmax_ref(x64))
    close(kc.log_softmax(x), log_softmax_ref(x64))


@pytest.mark.parametrize("shape", [(3, 13), (2, 21)], ids=str)
def test_softmax_backward(shape):
    x, gy = rand(*shape, dtype=np.float64), rand(*shape, dtype=np.float64, seed=1)
    y, ly = softmax_ref(x), log_softmax_ref(x)
    close(kc.softmax_backward(y, gy), y * (gy - (gy * y).sum(-1, keepdims=True)), np.float64)
    close(kc.log_softmax_backward(ly, gy), gy - np.exp(ly) * gy.sum(-1, keepdims=True),
          np.float64)
    y32, gy32 = y.astype(np.float32), gy.astype(np.float32)
    close(kc.softmax_backward(y32, gy32, block=4), y * (gy - (gy * y).sum(-1, keepdims=True)))


def test_softmax_block_sizes_and_errors():
    x = rand(4, 50)
    for block in (1, 2, 16):
        close(kc.softmax(x, block=block), softmax_ref(x.astype(np.float64)))
    with pytest.raises(ValueError, match="power of two"):
        kc.softmax(x, block=6)
    with pytest.raises(ValueError, match=r"one shape.*\(4, 50\).*\(4, 49\)"):
        kc.softmax_backward(x, rand(4, 49))
    with pytest.raises(TypeError, match="float32 or float64"):
        kc.log_softmax(np.ones((2, 2), np.int32))


# ---------------------------------------------------------------------------- conv2d

def conv_ref(x, w, stride, padding, dilation):
    """(cols, W2d) in float64 from the CPU package's plain-NumPy im2col: y = W2d @ cols."""
    Cout, C, kh, kw = w.shape
    cols = cpu_ref.im2col_ref(x.astype(np.float64), kh, kw, stride, padding, dilation)
    return cols, w.reshape(Cout, -1).astype(np.float64)


CONV_CASES = [
    # (N, C, H, W), (Cout, kh, kw), stride, padding, dilation
    ((2, 3, 7, 6), (4, 3, 2), 1, 1, 1),
    ((1, 2, 9, 8), (3, 3, 3), (2, 1), (1, 0), (1, 2)),
    ((2, 1, 5, 5), (2, 1, 1), 2, 0, 1),
]


@pytest.mark.parametrize("xs, ws, stride, padding, dilation", CONV_CASES, ids=str)
def test_conv2d_forward_and_backward(xs, ws, stride, padding, dilation):
    x = rand(*xs)
    w = rand(ws[0], xs[1], ws[1], ws[2], seed=1)
    cols, w2d = conv_ref(x, w, stride, padding, dilation)
    y = kc.conv2d_forward(x, w, stride, padding, dilation, tiles=TILES)
    N, Cout = xs[0], ws[0]
    want_y = (w2d @ cols).reshape(y.shape)
    close(y, want_y)

    gy = rand(*y.shape, seed=2)
    gy3 = gy.reshape(N, Cout, -1).astype(np.float64)
    want_dx = cpu_ref.col2im_ref(w2d.T @ gy3, xs, ws[1], ws[2], stride, padding, dilation)
    close(kc.conv2d_backward_input(gy, w, xs, stride, padding, dilation, tiles=TILES), want_dx)
    want_dw = np.einsum("nol,nkl->ok", gy3, cols).reshape(w.shape)
    close(kc.conv2d_backward_weight(gy, x, w.shape, stride, padding, dilation, tiles=TILES),
          want_dw)


def test_conv2d_matches_torch_and_chunks():
    x, w = rand(3, 2, 6, 5, dtype=np.float64), rand(3, 2, 3, 2, dtype=np.float64, seed=1)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    ty = torch.nn.functional.conv2d(tx, tw, stride=(1, 2), padding=1, dilation=(2, 1))
    gy = rand(*ty.shape, dtype=np.float64, seed=2)
    ty.backward(torch.tensor(gy))
    geo = dict(stride=(1, 2), padding=1, dilation=(2, 1), tiles=TILES)
    # a workspace of one sample's columns forces three batch chunks
    one = 2 * 3 * 2 * ty.shape[2] * ty.shape[3] * 8
    for ws in (None, one):
        close(kc.conv2d_forward(x, w, workspace_bytes=ws, **geo), ty.detach().numpy(), np.float64)
        close(kc.conv2d_backward_input(gy, w, x.shape, workspace_bytes=ws, **geo),
              tx.grad.numpy(), np.float64)
        close(kc.conv2d_backward_weight(gy, x, w.shape, workspace_bytes=ws, **geo),
              tw.grad.numpy(), np.float64)
    assert len(conv_mod._Geometry(x.shape, w.shape, (1, 2), 1, (2, 1)).chunks(8, one)) == 3


def test_conv2d_weight_grad_of_empty_batch_is_zero():
    dw = kc.conv2d_backward_weight(np.ones((0, 2, 3, 3), np.float32), np.ones((0, 1, 5, 5),
                                   np.float32), (2, 1, 3, 3))
    np.testing.assert_array_equal(dw, np.zeros((2, 1, 3, 3)))


@pytest.mark.parametrize("call, match", [
    (lambda: kc.conv2d_forward(rand(1, 3, 5, 5), rand(2, 4, 3, 3)), r"3 channels .* expects 4"),
    (lambda: kc.conv2d_forward(rand(1, 1, 2, 2), rand(1, 1, 3, 3)), "smaller than the dilated"),
    (lambda: kc.conv2d_forward(rand(1, 1, 5, 5), rand(1, 1, 3, 3), stride=0), "stride >= 1"),
    (lambda: kc.conv2d_forward(rand(1, 5, 5), rand(1, 1, 3, 3)), "4-D input"),
    (lambda: kc.conv2d_backward_input(rand(1, 2, 4, 4), rand(2, 1, 3, 3), (1, 1, 5, 5)),
     r"grad_output has shape \(1, 2, 4, 4\), expected \(1, 2, 3, 3\)"),
])
def test_conv2d_rejects_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------------------- attention

def attention_ref(q, k, v, dout, causal, scale):
    """Forward (out, lse) and gradients (dq, dk, dv), materialising P, in float64."""
    q, k, v, dout = (a.astype(np.float64) for a in (q, k, v, dout))
    s = scale * q @ k.swapaxes(-1, -2)
    if causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], bool)), s, -np.inf)
    m = s.max(-1, keepdims=True)
    lse = m + np.log(np.exp(s - m).sum(-1, keepdims=True))
    p = np.exp(s - lse)
    out = p @ v
    dp = dout @ v.swapaxes(-1, -2)
    ds = p * (dp - (dout * out).sum(-1, keepdims=True))
    dq, dk = scale * ds @ k, scale * ds.swapaxes(-1, -2) @ q
    return out, lse[..., 0], dq, dk, p.swapaxes(-1, -2) @ dout


def test_attention_reference_matches_torch():
    q, k, v = (rand(1, 2, 5, 4, dtype=np.float64, seed=s) for s in range(3))
    dout = rand(1, 2, 5, 4, dtype=np.float64, seed=3)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    to = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=True)
    to.backward(torch.tensor(dout))
    out, _, dq, dk, dv = attention_ref(q, k, v, dout, True, 0.5)
    for ours, theirs in ((out, to), (dq, tq.grad), (dk, tk.grad), (dv, tv.grad)):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("tq, tk, tiles", [(13, 13, (4, 4)), (13, 13, None), (5, 11, (4, 8)),
                                           (11, 6, (8, 4))], ids=str)
def test_attention_forward_backward(causal, tq, tk, tiles):
    q, dout = rand(1, 2, tq, 8), rand(1, 2, tq, 8, seed=3)
    k, v = rand(1, 2, tk, 8, seed=1), rand(1, 2, tk, 8, seed=2)
    scale = 0.3
    out, lse, dq, dk, dv = attention_ref(q, k, v, dout, causal, scale)
    got_out, got_lse = kc.attention_forward(q, k, v, causal, scale, tiles=tiles)
    close(got_out, out)
    close(got_lse, lse)
    got = kc.attention_backward(q, k, v, got_out, got_lse, dout, causal, scale, tiles=tiles)
    for g, want in zip(got, (dq, dk, dv)):
        close(g, want)


def test_attention_float64_default_scale():
    q, k, v, dout = (rand(2, 1, 7, 5, dtype=np.float64, seed=s) for s in range(4))
    out, lse, dq, dk, dv = attention_ref(q, k, v, dout, True, 1 / np.sqrt(5))
    got_out, got_lse = kc.attention_forward(q, k, v, causal=True)
    close(got_out, out, np.float64)
    close(got_lse, lse, np.float64)
    for g, want in zip(kc.attention_backward(q, k, v, got_out, got_lse, dout, causal=True),
                       (dq, dk, dv)):
        close(g, want, np.float64)


def test_attention_without_queries_gives_zero_key_grads():
    q, k = rand(1, 2, 0, 3), rand(1, 2, 5, 3, seed=1)
    out, lse = kc.attention_forward(q, k, k)
    assert out.shape == (1, 2, 0, 3) and lse.shape == (1, 2, 0)
    dq, dk, dv = kc.attention_backward(q, k, k, out, lse, q)
    assert dq.shape == (1, 2, 0, 3)
    np.testing.assert_array_equal(dk, np.zeros(k.shape))
    np.testing.assert_array_equal(dv, np.zeros(k.shape))


def test_attention_never_allocates_t_by_t(monkeypatch):
    """Every array the kernels allocate is O(T*D) or O(T), never (T, T)."""
    shapes = []
    real_empty = attn_mod._launch.empty

    def spy(like, shape, dtype=None):
        shapes.append(tuple(shape))
        return real_empty(like, shape, dtype)

    monkeypatch.setattr(attn_mod._launch, "empty", spy)
    q, k, v = (rand(1, 1, 9, 2, seed=s) for s in range(3))
    out, lse = kc.attention_forward(q, k, v, tiles=(4, 4))
    kc.attention_backward(q, k, v, out, lse, q, tiles=(4, 4))
    assert shapes and all(s[-2:] != (9, 9) for s in shapes), shapes


@pytest.mark.parametrize("call, match", [
    (lambda: kc.attention_forward(rand(1, 2, 3, 4), rand(1, 2, 3, 5), rand(1, 2, 3, 4)),
     "k and v must be"),
    (lambda: kc.attention_forward(rand(2, 3, 4), rand(2, 3, 4), rand(2, 3, 4)), r"\(B, H, T, D\)"),
    (lambda: kc.attention_forward(*(rand(1, 1, 2, 129) for _ in range(3))), "D=129"),
    (lambda: kc.attention_forward(rand(1, 1, 2, 4), rand(1, 1, 0, 4), rand(1, 1, 0, 4)),
     "no keys"),
    (lambda: kc.attention_backward(*(rand(1, 1, 3, 4) for _ in range(4)), rand(1, 1, 2),
                                   rand(1, 1, 3, 4)), r"lse has shape \(1, 1, 2\)"),
])
def test_attention_rejects_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
