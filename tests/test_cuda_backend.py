"""The CUDA backend in the main test process, where there is no GPU and no
simulator: device='cuda' must fail fast and say why, and the backend's
interface must match the CPU backend's. (It runs for real in
tests/cuda_sim/test_backend_sim.py, under Numba's CUDA simulator.)"""
import os
import subprocess
import sys
import time
import types

import numpy as np
import pytest

import kernels.cpu
import tinygrad_dc as tg
from tinygrad_dc.backend import cuda as cuda_backend
from tinygrad_dc.backend import own_kernel, get_backend
from tinygrad_dc.backend.cpu import CPUBackend
from tinygrad_dc.backend.cuda import CUDABackend

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

needs_no_gpu = pytest.mark.skipif(
    cuda_backend._probe_gpu()[0], reason="a GPU is present: the no-GPU path cannot be exercised")


def cpu_kernel_names():
    """Every kernel the CPU backend serves: the functions kernels.cpu exports."""
    return sorted(name for name, value in vars(kernels.cpu).items()
                  if callable(value) and not name.startswith("_")
                  and not isinstance(value, (type, types.ModuleType)))


@pytest.fixture
def no_sim(monkeypatch):
    monkeypatch.delenv(cuda_backend.SIM_ENV, raising=False)


@needs_no_gpu
def test_cuda_is_unavailable_and_says_why_fast(no_sim):
    assert tg.cuda.is_available() is False
    assert tg.cuda.device_count() == 0
    assert tg.cuda.is_simulated() is False
    tg.cuda.synchronize()  # a no-op without a GPU, not an error
    for make in (lambda: tg.zeros(2, device="cuda"), lambda: tg.ones(2).cuda(),
                 lambda: tg.tensor([1.0]).to("cuda:0"), lambda: tg.nn.Linear(2, 2).to("cuda"),
                 lambda: tg.cuda.get_device_name()):
        start = time.perf_counter()
        with pytest.raises(tg.DeviceError, match="no CUDA device was found") as info:
            make()
        assert time.perf_counter() - start < 2.0, "the availability check must not hang"
        message = str(info.value)
        assert 'pip install "tinygrad_dc[cuda]"' in message and "device='cpu'" in message


def test_missing_cupy_says_to_install_the_extra(no_sim, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` raises ImportError
    cuda_backend._probe_gpu.cache_clear()
    try:
        assert tg.cuda.is_available() is False
        with pytest.raises(tg.DeviceError, match="no CUDA device was found") as info:
            get_backend("cuda")
        assert "CuPy is not installed" in str(info.value)
        assert 'pip install "tinygrad_dc[cuda]"' in str(info.value)
    finally:
        monkeypatch.undo()
        cuda_backend._probe_gpu.cache_clear()


def test_simulation_needs_the_numba_simulator(monkeypatch):
    """TINYGRAD_DC_CUDA_SIM=1 in a process whose numba runs real CUDA: a clear error."""
    monkeypatch.setenv(cuda_backend.SIM_ENV, "1")
    assert tg.cuda.is_available() is False
    with pytest.raises(tg.DeviceError, match="NUMBA_ENABLE_CUDASIM=1"):
        get_backend("cuda")


@needs_no_gpu
def test_train_mlp_on_cuda_exits_fast_with_the_reason():
    env = {k: v for k, v in os.environ.items()
           if k not in (cuda_backend.SIM_ENV, "NUMBA_ENABLE_CUDASIM")}
    start = time.perf_counter()
    result = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "train_mlp.py"),
                             "--device", "cuda", "--epochs", "1", "--no-progress"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "CUDA is not available" in result.stderr, result.stderr[-2000:]
    assert time.perf_counter() - start < 60


def test_cuda_backend_offers_every_cpu_kernel():
    names = cpu_kernel_names()
    assert {"im2col", "col2im", "maxpool2d_forward", "gelu_forward"} <= set(names)
    missing = [n for n in names if not callable(getattr(CUDABackend, n, None))]
    assert not missing, f"the CUDA backend lacks kernels the CPU backend has: {missing}"
    # and the interface every backend has
    for attr in ("seed", "asarray", "to_numpy", "from_numpy", "synchronize"):
        assert callable(getattr(CUDABackend, attr)) and callable(getattr(CPUBackend, attr))


def test_cuda_backend_has_the_numba_kernel_entry_points():
    for name in ("matmul", "softmax", "log_softmax", "softmax_backward", "log_softmax_backward",
                 "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
                 "attention_forward", "attention_backward"):
        assert callable(getattr(CUDABackend, name)), name


def test_own_kernel_is_none_on_the_cpu_and_cheap():
    """Ops ask for a backend's own matmul/softmax; the CPU has none, and asking
    must not go through CPUBackend.__getattr__ (an import attempt per call)."""
    cpu = get_backend("cpu")
    for name in ("matmul", "softmax", "log_softmax_backward"):
        assert own_kernel(cpu, name) is None
    start = time.perf_counter()
    for _ in range(10000):
        own_kernel(cpu, "matmul")
    assert time.perf_counter() - start < 0.1


def _routing_backend(mode):
    """A CUDABackend shell (no device needed) to ask matmul_route questions."""
    backend = object.__new__(CUDABackend)
    backend.matmul_mode = mode
    return backend


def test_matmul_size_rule():
    route = _routing_backend("auto").matmul_route
    f32, f64 = np.float32, np.float64
    limit = cuda_backend.GEMM_KERNEL_MAX_MACS
    assert route(np.ones((8, 16), f32), np.ones((16, 8), f32)) == "numba"
    assert route(np.ones((32, 32), f32), np.ones((32, 32), f32)) == "numba"  # 32^3 == limit
    assert 32 ** 3 == limit
    assert route(np.ones((33, 32), f32), np.ones((32, 32), f32)) == "xp"
    # batch dims count, broadcasting included
    assert route(np.ones((2, 1, 16, 16), f64), np.ones((3, 16, 16), f64)) == "numba"
    assert route(np.ones((2, 1, 16, 32), f64), np.ones((3, 32, 16), f64)) == "xp"
    assert route(np.ones((2, 16, 16), f64), np.ones((16, 16), f64)) == "numba"
    # what the GEMM kernel does not take: vectors, integers, mixed dtypes
    assert route(np.ones(4, f32), np.ones((4, 2), f32)) == "xp"
    assert route(np.ones((2, 2), np.int64), np.ones((2, 2), np.int64)) == "xp"
    assert route(np.ones((2, 2), f32), np.ones((2, 2), f64)) == "xp"
    # forced modes
    big = np.ones((256, 256), f32)
    assert _routing_backend("numba").matmul_route(big, big) == "numba"
    assert _routing_backend("xp").matmul_route(np.ones((2, 2), f32), np.ones((2, 2), f32)) == "xp"
