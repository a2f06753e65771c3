"""The CUDA backend: CuPy arrays, plus the Numba CUDA kernels of `kernels.cuda`.

It has the CPU backend's interface (`xp`, `generator`, `seed`, the array
conversions and every kernel name of `kernels.cpu`) and a few kernels more
that ops use when a backend offers them (`matmul`, the softmax family,
attention; see `backend.own_kernel`). Where each piece runs:

    matmul                  cuBLAS (CuPy) or the Numba tiled GEMM, by size:
                            see `GEMM_KERNEL_MAX_MACS`
    softmax, log_softmax    Numba row kernels (shared-memory max and sum),
      and their backwards   any axis (moved last), float32/float64
    im2col, col2im          Numba kernels: conv2d is im2col + matmul, its
                            input gradient col2im, as on the CPU
    conv2d_forward/backward Numba im2col + GEMM (groups=1), for direct use
    attention_forward/      Numba flash attention (online softmax, no T x T
      backward              matrix), head dim <= 128; else whole-array CuPy
    pooling, gelu, norms,   whole-array CuPy expressions (elementwise work
      embedding_backward    that CuPy already runs as fused GPU kernels)

Simulation mode: with TINYGRAD_DC_CUDA_SIM=1 (and NUMBA_ENABLE_CUDASIM=1 set
before numba is first imported) the same backend runs on the CPU: `xp` is
NumPy, device arrays are NumPy arrays (copied on every move, as real device
memory would be), and the Numba kernels run in Numba's CUDA simulator. That
is how CI proves the whole CUDA path without a GPU.
"""
import contextlib
import functools
import math
import os

import numpy as np

from . import DeviceError

SIM_ENV = "TINYGRAD_DC_CUDA_SIM"
MATMUL_ENV = "TINYGRAD_DC_CUDA_MATMUL"

#: The size rule for `CUDABackend.matmul` (mode "auto"): a float32/float64
#: product of at most this many multiply-adds (batch * M * N * K) runs on the
#: Numba GEMM, a larger one on cuBLAS through CuPy. 2**15 is one 32 x 32 x 32
#: product, 65 kFLOP: well under a microsecond of GPU time on either path, so
#: both are bound by their launch cost, and one small block of the Numba
#: kernel needs no cuBLAS heuristics or workspace. Above it cuBLAS's tuned
#: kernels (tensor cores, split-K, autotuned tiles) pull ahead of a portable
#: SIMT kernel, by an order of magnitude at the sizes of real layers. The
#: crossover has not been measured on a GPU (none was at hand): the rule can
#: be overridden with TINYGRAD_DC_CUDA_MATMUL=numba|xp or `backend.matmul_mode`.
GEMM_KERNEL_MAX_MACS = 2 ** 15

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_SQRT1_2 = 0.7071067811865476       # 1 / sqrt(2)
_INV_SQRT_2PI = 0.3989422804014327  # 1 / sqrt(2 pi)
_INSTALL_HINT = ('install the GPU extra with `pip install "tinygrad_dc[cuda]"` on a machine '
                 'with an NVIDIA GPU and CUDA 12 drivers, or use device=\'cpu\'. (Without a GPU, '
                 'NUMBA_ENABLE_CUDASIM=1 TINYGRAD_DC_CUDA_SIM=1 runs the CUDA code path in '
                 "Numba's simulator.)")


# ------------------------------------------------------------------ availability
def simulation_requested():
    return os.environ.get(SIM_ENV, "") == "1"


def _simulator_active():
    """Whether numba runs CUDA kernels in its simulator (decided at its first import)."""
    from numba.core import config
    return bool(config.ENABLE_CUDASIM)


@functools.lru_cache(maxsize=None)
def _probe_gpu():
    """(usable, reason): whether CuPy imports and sees a device. Cached: the
    answer does not change within a process, and a driver query per call
    would make `is_available()` slow."""
    try:
        import cupy
    except ImportError:
        return False, "CuPy is not installed"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # no driver, driver too old, ...: CuPy raises its own errors
        return False, f"CuPy {cupy.__version__} reports: {e}"
    if count < 1:
        return False, f"CuPy {cupy.__version__} sees 0 devices"
    return True, ""


def is_available():
    """True when device='cuda' can be used: a GPU CuPy can see, or simulation mode."""
    if simulation_requested():
        return _simulator_active()
    return _probe_gpu()[0]


# ------------------------------------------------------------------ array module
def _errstate(**_):
    """GPUs raise no floating-point warnings, so NumPy's errstate has nothing to do."""
    return contextlib.nullcontext()


class _CupyNamespace:
    """CuPy as an array module, plus the few NumPy names the ops use that CuPy
    lacks (`errstate`). Names are looked up on CuPy once, then cached here."""

    def __init__(self, cupy):
        self._cupy = cupy
        self.errstate = _errstate

    def __getattr__(self, name):
        value = getattr(self._cupy, name)
        setattr(self, name, value)
        return value

    def __repr__(self):
        return f"<array module cupy {self._cupy.__version__}>"


class _CupyGenerator:
    """NumPy's Generator interface (what `tinygrad_dc.random` and dropout
    call) on CuPy's generator, which lacks `permutation`."""

    def __init__(self, cupy, seed=None):
        self._cupy = cupy
        self._rng = cupy.random.default_rng(seed)

    def random(self, size=None, dtype="float64"):
        return self._rng.random(size, dtype=np.dtype(dtype))

    def uniform(self, low=0.0, high=1.0, size=None):
        return self._rng.uniform(low, high, size)

    def standard_normal(self, size=None, dtype="float64"):
        return self._rng.standard_normal(size, dtype=np.dtype(dtype))

    def integers(self, low, high=None, size=None, dtype="int64"):
        return self._rng.integers(low, high, size, dtype=np.dtype(dtype))

    def permutation(self, n):
        # the order of n random keys is a uniformly random permutation
        return self._cupy.argsort(self._rng.random(int(n)))


# ------------------------------------------------------------------ helpers
def _pair(v):
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    a, b = v
    return int(a), int(b)


def _pool_setup(x_shape, kh, kw, stride, padding, dilation, ceil_mode):
    """Output size and the padding (with ceil mode's overhang on the far side) of a pool."""
    from kernels.cpu.pool import pool_output_size
    stride = (int(kh), int(kw)) if stride is None else _pair(stride)
    (sh, sw), (ph, pw), (dh, dw) = stride, _pair(padding), _pair(dilation)
    H, W = x_shape[2], x_shape[3]
    OH = pool_output_size(H, kh, sh, ph, dh, ceil_mode)
    OW = pool_output_size(W, kw, sw, pw, dw, ceil_mode)
    if OH < 1 or OW < 1:
        raise ValueError(f"pooling window ({kh}, {kw}) too large for input ({H}, {W})")
    eh = max(0, (OH - 1) * sh + dh * (kh - 1) + 1 - (H + 2 * ph))
    ew = max(0, (OW - 1) * sw + dw * (kw - 1) + 1 - (W + 2 * pw))
    pads = ((0, 0), (0, 0), (ph, ph + eh), (pw, pw + ew))
    return OH, OW, (sh, sw), (ph, pw), (dh, dw), pads


def _taps(kh, kw, stride, dilation, OH, OW):
    """(hs, ws) per window tap: the strided slices of the padded input it reads."""
    (sh, sw), (dh, dw) = stride, dilation
    for i in range(kh):
        for j in range(kw):
            yield (slice(i * dh, i * dh + sh * (OH - 1) + 1, sh),
                   slice(j * dw, j * dw + sw * (OW - 1) + 1, sw))


def _first_tap(start, dilation):
    """The first tap position at or after 0 of windows that start at `start` (may be < 0)."""
    return start + ((-start + dilation - 1) // dilation) * dilation * (start < 0)


# ------------------------------------------------------------------ the backend
class CUDABackend:
    name = "cuda"

    def __deepcopy__(self, memo):
        # one backend per device per process: copied tensors and modules
        # must keep pointing at it, or they would count as another device
        return self

    def __copy__(self):
        return self

    def __init__(self):
        self.simulated = simulation_requested()
        if self.simulated:
            if not _simulator_active():
                raise DeviceError(
                    f"device 'cuda': {SIM_ENV}=1 asks for Numba's CUDA simulator, but numba was "
                    f"imported without it; set NUMBA_ENABLE_CUDASIM=1 in the environment before "
                    f"the process starts (numba reads it once, at import)")
            self._cupy = None
            self.xp = np
            self.generator = np.random.default_rng()
        else:
            usable, reason = _probe_gpu()
            if not usable:
                raise DeviceError(f"device 'cuda' is not available: no CUDA device was found "
                                  f"({reason}). To use one, {_INSTALL_HINT}")
            import cupy
            self._cupy = cupy
            self.xp = _CupyNamespace(cupy)
            self.generator = _CupyGenerator(cupy)
        self.matmul_mode = os.environ.get(MATMUL_ENV, "auto")
        if self.matmul_mode not in ("auto", "numba", "xp"):
            raise DeviceError(f"{MATMUL_ENV} must be 'auto', 'numba' or 'xp', "
                              f"got {self.matmul_mode!r}")

    def __repr__(self):
        return f"<CUDABackend {'simulated' if self.simulated else 'cupy'}>"

    @property
    def _kernels(self):
        """kernels.cuda, imported on first use (it imports numba.cuda)."""
        import kernels.cuda
        return kernels.cuda

    def _inputs(self, *arrays):
        """Arrays as Numba kernel arguments. On a GPU any CuPy array will do
        (the kernels read through strides). The simulator instead moves each
        NumPy argument to its fake device and back, as Numba does for host
        arrays, and that takes only writable, contiguous buffers: other views
        (transposes, broadcasts) get a contiguous copy there."""
        if not self.simulated:
            return arrays
        return tuple(a if a.flags.writeable and (a.flags.c_contiguous or a.flags.f_contiguous)
                     else np.array(a, order="C", copy=True) for a in arrays)

    # -------------------------------------------------------------- arrays
    def seed(self, seed):
        if self.simulated:
            self.generator = np.random.default_rng(seed)
        else:
            self.generator = _CupyGenerator(self._cupy, seed)

    def asarray(self, data, dtype=None):
        return self.xp.asarray(data, dtype=dtype)

    def to_numpy(self, array):
        """A host copy: device memory is never shared with the CPU (in simulation too)."""
        if self.simulated:
            return np.array(array, copy=True)
        return self._cupy.asnumpy(array)

    def from_numpy(self, array):
        if self.simulated:
            return np.array(array, copy=True)
        return self._cupy.asarray(array)

    def synchronize(self):
        """Wait for every kernel launched so far (CuPy's and Numba's share the device)."""
        if not self.simulated:
            self._cupy.cuda.Device().synchronize()

    # -------------------------------------------------------------- matmul
    def matmul_route(self, a, b):
        """'numba' or 'xp': which GEMM `matmul(a, b)` uses (see GEMM_KERNEL_MAX_MACS)."""
        if (a.ndim < 2 or b.ndim < 2 or a.dtype != b.dtype or np.dtype(a.dtype) not in _FLOATS
                or self.matmul_mode == "xp"):
            return "xp"
        if self.matmul_mode == "numba":
            return "numba"
        batch = math.prod(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
        macs = batch * a.shape[-2] * a.shape[-1] * b.shape[-1]
        return "numba" if macs <= GEMM_KERNEL_MAX_MACS else "xp"

    def matmul(self, a, b):
        """a @ b with NumPy's rules; 1-D operands and integer dtypes go to xp."""
        if self.matmul_route(a, b) == "numba":
            # Leading 1s on the operand with fewer dims: the kernel then views
            # it as one matrix broadcast over the batch (conv's (groups, O, K)
            # weights against (N, groups, K, L) columns) or as a batch equal
            # to the other's, instead of materialising a broadcast copy.
            ndim = max(a.ndim, b.ndim)
            a = a.reshape((1,) * (ndim - a.ndim) + a.shape)
            b = b.reshape((1,) * (ndim - b.ndim) + b.shape)
            return self._kernels.matmul(*self._inputs(a, b))
        return self.xp.matmul(a, b)

    # -------------------------------------------------------------- softmax family
    def _rows(self, kernel_name, fallback, axis, *arrays):
        """A row kernel of kernels.cuda (over the last axis) applied along `axis`."""
        if np.dtype(arrays[0].dtype) not in _FLOATS or arrays[0].ndim == 0:
            return fallback(self.xp, axis, *arrays)
        kernel = getattr(self._kernels, kernel_name)
        arrays = self._inputs(*arrays)
        axis = axis % arrays[0].ndim
        if axis == arrays[0].ndim - 1:
            return kernel(*arrays)
        moved = [self.xp.moveaxis(a, axis, -1) for a in arrays]
        return self.xp.moveaxis(kernel(*moved), -1, axis)

    def softmax(self, x, axis=-1):
        return self._rows("softmax", _softmax_xp, axis, x)

    def log_softmax(self, x, axis=-1):
        return self._rows("log_softmax", _log_softmax_xp, axis, x)

    def softmax_backward(self, y, gy, axis=-1):
        """Gradient of softmax given its output y and the upstream gradient gy."""
        return self._rows("softmax_backward", _softmax_backward_xp, axis, y,
                          gy.astype(y.dtype, copy=False))

    def log_softmax_backward(self, y, gy, axis=-1):
        return self._rows("log_softmax_backward", _log_softmax_backward_xp, axis, y,
                          gy.astype(y.dtype, copy=False))

    # -------------------------------------------------------------- convolution
    def conv_output_size(self, size, k, stride=1, padding=0, dilation=1):
        return self._kernels.conv_output_size(size, k, stride, padding, dilation)

    def im2col(self, x, kh, kw, stride=1, padding=0, dilation=1):
        return self._kernels.im2col(*self._inputs(x), kh, kw, stride, padding, dilation)

    def col2im(self, cols, x_shape, kh, kw, stride=1, padding=0, dilation=1):
        return self._kernels.col2im(*self._inputs(cols), x_shape, kh, kw, stride, padding,
                                    dilation)

    def im2col_kn(self, x, kh, kw, stride=1, padding=0, dilation=1):
        """kernels.cpu.im2col_kn's (C*kh*kw, N*OH*OW) layout, from the batch-major kernel."""
        cols = self.im2col(x, kh, kw, stride, padding, dilation)
        N, K, L = cols.shape
        return self.xp.ascontiguousarray(cols.transpose(1, 0, 2)).reshape(K, N * L)

    def col2im_kn(self, cols, x_shape, kh, kw, stride=1, padding=0, dilation=1):
        N, (K, NL) = x_shape[0], cols.shape
        batch = self.xp.ascontiguousarray(cols.reshape(K, N, NL // N).transpose(1, 0, 2))
        return self.col2im(batch, x_shape, kh, kw, stride, padding, dilation)

    def conv2d_forward(self, x, w, stride=1, padding=0, dilation=1):
        return self._kernels.conv2d_forward(*self._inputs(x, w), stride, padding, dilation)

    def conv2d_backward_input(self, gy, w, x_shape, stride=1, padding=0, dilation=1):
        return self._kernels.conv2d_backward_input(*self._inputs(gy, w), x_shape, stride,
                                                   padding, dilation)

    def conv2d_backward_weight(self, gy, x, w_shape, stride=1, padding=0, dilation=1):
        return self._kernels.conv2d_backward_weight(*self._inputs(gy, x), w_shape, stride,
                                                    padding, dilation)

    # -------------------------------------------------------------- attention
    def _flash_ok(self, q, k, v):
        from kernels.cuda.attention import MAX_HEAD_DIM
        return (q.ndim == 4 and np.dtype(q.dtype) in _FLOATS and q.dtype == k.dtype == v.dtype
                and 1 <= q.shape[-1] <= MAX_HEAD_DIM and (k.shape[2] > 0 or q.shape[2] == 0))

    def attention_forward(self, q, k, v, causal=False, scale=None):
        """(out, lse) of softmax(scale q k^T [causal mask]) v over (B, H, T, D) arrays."""
        scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
        if self._flash_ok(q, k, v):
            return self._kernels.attention_forward(*self._inputs(q, k, v), causal, scale)
        return _attention_forward_xp(self.xp, q, k, v, causal, scale)

    def attention_backward(self, q, k, v, out, lse, dout, causal=False, scale=None):
        """(dq, dk, dv) of attention_forward, given its out and lse and the upstream dout."""
        scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
        dout = dout.astype(q.dtype, copy=False)
        if self._flash_ok(q, k, v):
            return self._kernels.attention_backward(*self._inputs(q, k, v, out, lse, dout),
                                                    causal, scale)
        return _attention_backward_xp(self.xp, q, k, v, out, lse, dout, causal, scale)

    def attention_softmax_forward(self, scores, scale, causal=False):
        """The softmax step of the materialised attention op (ops/attention.py):
        its array-module version, which CuPy runs as fused elementwise kernels."""
        from ..ops import attention
        return attention.attention_softmax_forward(self.xp, scores, scale, causal)

    def attention_softmax_backward(self, probs, grad, out_scale=1.0, causal=False):
        from ..ops import attention
        return attention.attention_softmax_backward(self.xp, probs, grad, out_scale, causal)

    # -------------------------------------------------------------- pooling
    def pool_output_size(self, size, k, stride, padding=0, dilation=1, ceil_mode=False):
        from kernels.cpu.pool import pool_output_size
        return pool_output_size(size, k, stride, padding, dilation, ceil_mode)

    def maxpool2d_forward(self, x, kh, kw, stride=None, padding=0, dilation=1, ceil_mode=False):
        """(values, int64 flat per-plane argmax h * W + w), PyTorch's tie and NaN rules:
        padding is -inf, the first maximum wins, a NaN wins over any number."""
        xp = self.xp
        N, C, H, W = x.shape
        OH, OW, stride, padding, dilation, pads = _pool_setup(
            x.shape, kh, kw, stride, padding, dilation, ceil_mode)
        padded = xp.pad(x, pads, mode="constant", constant_values=-np.inf)
        rows = xp.arange(padded.shape[2])[:, None] - padding[0]
        cols = xp.arange(padded.shape[3])[None, :] - padding[1]
        flat = rows * W + cols          # per-plane index of every padded position
        # a window of -infs reports its first in-bounds tap, as PyTorch's kernel does
        h0 = _first_tap(xp.arange(OH) * stride[0] - padding[0], dilation[0])
        w0 = _first_tap(xp.arange(OW) * stride[1] - padding[1], dilation[1])
        best = xp.full((N, C, OH, OW), -np.inf, dtype=x.dtype)
        best_index = xp.broadcast_to(h0[:, None] * W + w0[None, :], best.shape).astype(xp.int64)
        for hs, ws in _taps(kh, kw, stride, dilation, OH, OW):
            v = padded[:, :, hs, ws]
            better = (v > best) | xp.isnan(v)
            best = xp.where(better, v, best)
            best_index = xp.where(better, flat[hs, ws], best_index)
        return best, best_index

    def maxpool2d_backward(self, grad_out, argmax, x_shape):
        """Scatter-add grad_out (N, C, OH, OW) to the argmax positions -> (N, C, H, W)."""
        xp = self.xp
        N, C, H, W = x_shape
        dx = xp.zeros((N * C, H * W), dtype=grad_out.dtype)
        planes = xp.arange(N * C)[:, None]
        xp.add.at(dx, (planes, argmax.reshape(N * C, -1)), grad_out.reshape(N * C, -1))
        return dx.reshape(N, C, H, W)

    def _avg_divisor(self, x_shape, kh, kw, stride, padding, OH, OW, count_include_pad,
                     divisor_override, dtype):
        xp = self.xp
        if divisor_override is not None:
            return xp.full((OH, OW), float(divisor_override), dtype=dtype)

        def along(n, k, s, p, o):
            lo = xp.arange(o) * s - p
            hi = xp.minimum(lo + k, n + p)   # ceil mode's overhang is not counted
            return hi - lo if count_include_pad else xp.minimum(hi, n) - xp.maximum(lo, 0)
        return xp.outer(along(x_shape[2], kh, stride[0], padding[0], OH),
                        along(x_shape[3], kw, stride[1], padding[1], OW)).astype(dtype)

    def avgpool2d_forward(self, x, kh, kw, stride=None, padding=0, ceil_mode=False,
                          count_include_pad=True, divisor_override=None):
        xp = self.xp
        N, C = x.shape[:2]
        OH, OW, stride, padding, _, pads = _pool_setup(x.shape, kh, kw, stride, padding, 1,
                                                       ceil_mode)
        padded = xp.pad(x, pads, mode="constant")
        total = xp.zeros((N, C, OH, OW), dtype=x.dtype)
        for hs, ws in _taps(kh, kw, stride, (1, 1), OH, OW):
            total += padded[:, :, hs, ws]
        return total / self._avg_divisor(x.shape, kh, kw, stride, padding, OH, OW,
                                         count_include_pad, divisor_override, x.dtype)

    def avgpool2d_backward(self, grad_out, x_shape, kh, kw, stride=None, padding=0,
                           ceil_mode=False, count_include_pad=True, divisor_override=None):
        xp = self.xp
        N, C, H, W = x_shape
        OH, OW, stride, padding, _, pads = _pool_setup(x_shape, kh, kw, stride, padding, 1,
                                                       ceil_mode)
        g = grad_out / self._avg_divisor(x_shape, kh, kw, stride, padding, OH, OW,
                                         count_include_pad, divisor_override, grad_out.dtype)
        padded = xp.zeros((N, C, H + sum(pads[2]), W + sum(pads[3])), dtype=grad_out.dtype)
        for hs, ws in _taps(kh, kw, stride, (1, 1), OH, OW):
            padded[:, :, hs, ws] += g    # one tap's windows never overlap each other
        ph, pw = padding
        return xp.ascontiguousarray(padded[:, :, ph:ph + H, pw:pw + W])

    # -------------------------------------------------------------- elementwise and rows
    def _erf(self, x):
        if self.simulated:  # NumPy has no erf; the simulator's stand-in for CuPy's
            return np.vectorize(math.erf, otypes=[np.float64])(x).astype(x.dtype, copy=False)
        import cupyx.scipy.special
        return cupyx.scipy.special.erf(x)

    def gelu_forward(self, x):
        """x * Phi(x) (the exact, erf form)."""
        return 0.5 * x * (1 + self._erf(x * _SQRT1_2))

    def gelu_backward(self, grad, x):
        cdf = 0.5 * (1 + self._erf(x * _SQRT1_2))
        return grad * (cdf + x * self.xp.exp(-0.5 * x * x) * _INV_SQRT_2PI)

    def embedding_backward(self, indices, grad, num_weights, padding_idx=-1):
        """(M,) indices and (M, D) grad -> (num_weights, D), summing repeated rows;
        row `padding_idx` (if >= 0) gets no gradient."""
        xp = self.xp
        out = xp.zeros((num_weights, grad.shape[-1]), dtype=grad.dtype)
        xp.add.at(out, indices.reshape(-1), grad.reshape(-1, grad.shape[-1]))
        if padding_idx is not None and padding_idx >= 0:
            out[padding_idx] = 0
        return out

    def layer_norm_forward(self, x, weight, bias, eps):
        from ..ops import normalization
        return normalization.layer_norm_forward(self.xp, x, weight, bias, eps)

    def layer_norm_backward(self, g, x, mean, invstd, weight):
        from ..ops import normalization
        return normalization.layer_norm_backward(self.xp, g, x, mean, invstd, weight)

    def batch_norm_forward(self, x, weight, bias, eps):
        from ..ops import normalization
        return normalization.batch_norm_forward(self.xp, x, weight, bias, eps)

    def batch_norm_backward(self, g, x, mean, invstd, weight):
        from ..ops import normalization
        return normalization.batch_norm_backward(self.xp, g, x, mean, invstd, weight)


# ------------------------------------------------------------------ array-module fallbacks
# For dtypes and sizes the Numba kernels do not take (float16, head dims over
# 128); same results, whole-array CuPy.
def _softmax_xp(xp, axis, x):
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax_xp(xp, axis, x):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


def _softmax_backward_xp(xp, axis, y, gy):
    return y * (gy - (gy * y).sum(axis=axis, keepdims=True))


def _log_softmax_backward_xp(xp, axis, y, gy):
    return gy - xp.exp(y) * gy.sum(axis=axis, keepdims=True)


def _attention_scores(xp, q, k, causal, scale):
    s = xp.matmul(q, xp.swapaxes(k, -1, -2)) * q.dtype.type(scale)
    if causal:   # key j is hidden from query i when j > i (top-left aligned)
        hidden = xp.triu(xp.ones((q.shape[-2], k.shape[-2]), dtype=bool), 1)
        s = xp.where(hidden, q.dtype.type(-np.inf), s)
    return s


def _attention_forward_xp(xp, q, k, v, causal, scale):
    s = _attention_scores(xp, q, k, causal, scale)
    m = s.max(axis=-1, keepdims=True)
    e = xp.exp(s - m)
    total = e.sum(axis=-1, keepdims=True)
    return xp.matmul(e / total, v), (m + xp.log(total))[..., 0]


def _attention_backward_xp(xp, q, k, v, out, lse, dout, causal, scale):
    p = xp.exp(_attention_scores(xp, q, k, causal, scale) - lse[..., None])
    dv = xp.matmul(xp.swapaxes(p, -1, -2), dout)
    delta = (dout * out).sum(axis=-1, keepdims=True)
    ds = p * (xp.matmul(dout, xp.swapaxes(v, -1, -2)) - delta) * q.dtype.type(scale)
    return xp.matmul(ds, k), xp.matmul(xp.swapaxes(ds, -1, -2), q), dv
