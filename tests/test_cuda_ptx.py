"""Every CUDA kernel compiles to PTX for real GPUs (sm_80 = A100, sm_90 = H100), no GPU needed.

``numba.cuda.compile_ptx`` runs Numba's front end and NVVM; then ``ptxas``
assembles the PTX to machine code, which also reports registers, shared
memory and spills.  NVVM, libdevice and ptxas come from the pinned
``nvidia-cuda-nvcc-cu12`` wheel, never from a system CUDA install (the test
checks which libNVVM was loaded).  This runs in the main (non-simulator)
pytest process.
"""
import os
import re
import subprocess

import numpy as np
import pytest
from numba import cuda, types

from kernels.cuda import toolkit
from kernels.cuda.attention import MAX_HEAD_DIM, attention_kernels, default_tiles
from kernels.cuda.conv import conv_kernels
from kernels.cuda.matmul import DEFAULT_TILES, gemm_kernel
from kernels.cuda.softmax import DEFAULT_BLOCK, row_kernels

CCS = [(8, 0), (9, 0)]
F32 = types.float32
I64 = types.int64


def arr(ndim, dtype=F32):
    return types.Array(dtype, ndim, "A")


# What each kernel is launched with: arrays (any layout), int64 geometry and
# flags, and the softmax scale in the kernel's own dtype.
SIGNATURES = {
    "gemm": (arr(3), arr(3), arr(3), I64, I64, I64, I64),
    "softmax_fwd": (arr(2), arr(2)),
    "log_softmax_fwd": (arr(2), arr(2)),
    "softmax_bwd": (arr(2), arr(2), arr(2)),
    "log_softmax_bwd": (arr(2), arr(2), arr(2)),
    "im2col_kernel": (arr(4), arr(3)) + (I64,) * 9,
    "col2im_kernel": (arr(3), arr(4)) + (I64,) * 10,
    "forward": (arr(4), arr(4), arr(4), arr(4), arr(3), F32, I64),
    "delta": (arr(4), arr(4), arr(3)),
    "backward_dq": (arr(4),) * 4 + (arr(3), arr(3), arr(4), F32, I64),
    "backward_dkdv": (arr(4),) * 4 + (arr(3), arr(3), arr(4), arr(4), F32, I64),
}


def all_kernels(dtype=np.float32, head_dim=64):
    """Every kernel, as the GPU would build it (default tiles and block sizes)."""
    # (the package's functions matmul/softmax shadow the submodules' names,
    # hence the from-imports of the factories)
    ks = {"gemm": gemm_kernel(dtype, DEFAULT_TILES)}
    ks.update(row_kernels(dtype, DEFAULT_BLOCK))
    ks.update(conv_kernels(dtype))
    ks.update(attention_kernels(dtype, head_dim, default_tiles(head_dim)))
    return ks


@pytest.fixture(scope="module")
def nvvm():
    return toolkit.use_pip_nvvm(force=True)


@pytest.fixture
def compile_for(nvvm, monkeypatch):
    """compile_ptx(kernel, sig, cc) with a stand-in device of that cc.

    Numba compiles the device functions a kernel calls (and overloads) for
    the *current* device's compute capability, which needs a CUDA driver.
    With no GPU we stand in a device of the target cc: exactly what a real
    device of that cc would report.
    """
    def compile_(kernel, sig, cc):
        device = type("Device", (), {"compute_capability": cc})()
        monkeypatch.setattr(cuda.dispatcher, "get_current_device", lambda: device)
        ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=cc)
        return ptx
    return compile_


def ptxas(ptx, cc, tmp_path):
    """Assemble with the wheel's ptxas; return its resource report."""
    exe = os.path.join(os.path.dirname(toolkit.pip_nvvm_paths()[0]), "..", "..", "bin", "ptxas")
    src = tmp_path / "k.ptx"
    src.write_text(ptx)
    r = subprocess.run([exe, f"-arch=sm_{cc[0]}{cc[1]}", "-v", str(src), "-o", os.devnull],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    regs = int(re.search(r"Used (\d+) registers", r.stderr).group(1))
    smem = re.search(r"(\d+) bytes smem", r.stderr)
    spills = int(re.search(r"(\d+) bytes spill stores", r.stderr).group(1))
    return regs, int(smem.group(1)) if smem else 0, spills


F64_OP = re.compile(r"\b[a-z]+(?:\.[a-z0-9]+)*\.f64\b")


def test_nvvm_comes_from_the_pinned_wheel(nvvm):
    wheel_lib = toolkit.pip_nvvm_paths()[0]
    env = dict(os.environ)
    assert toolkit.use_pip_nvvm(force=True) == nvvm      # idempotent
    assert dict(os.environ) == env                       # CUDA_HOME was only borrowed
    assert os.path.realpath(nvvm) == os.path.realpath(wheel_lib)
    assert os.path.realpath(toolkit.nvvm_library_path()) == os.path.realpath(wheel_lib)


def test_every_kernel_has_a_signature():
    assert set(all_kernels()) == set(SIGNATURES)


@pytest.mark.parametrize("cc", CCS, ids=lambda cc: f"sm_{cc[0]}{cc[1]}")
@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_kernel_compiles_to_ptx(name, cc, compile_for, tmp_path):
    ptx = compile_for(all_kernels()[name], SIGNATURES[name], cc)
    assert f".target sm_{cc[0]}{cc[1]}" in ptx and ".entry" in ptx
    assert "release 12." in ptx                      # NVVM of the cu12 wheel, not a system CUDA
    # float32 kernels must not drift into float64 (a stray Python float
    # literal would do it silently; fp64 runs at 1/64 rate on many GPUs)
    assert not F64_OP.findall(ptx), sorted(set(F64_OP.findall(ptx)))
    regs, smem, spills = ptxas(ptx, cc, tmp_path)
    assert smem <= 48 * 1024, f"{name}: {smem} bytes of static shared memory"
    assert spills == 0, f"{name}: {spills} bytes of register spills ({regs} registers)"


def test_head_dim_128_attention_fits_sm90(compile_for, tmp_path):
    kernels = all_kernels(head_dim=MAX_HEAD_DIM)
    for name in ("forward", "backward_dkdv"):
        ptx = compile_for(kernels[name], SIGNATURES[name], (9, 0))
        _, smem, _ = ptxas(ptx, (9, 0), tmp_path)
        assert smem <= 48 * 1024


def test_float64_kernels_compile_and_the_f64_check_sees_them(compile_for):
    sig = (arr(4, types.float64), arr(3, types.float64)) + (I64,) * 9
    ptx = compile_for(all_kernels(np.float64)["im2col_kernel"], sig, (9, 0))
    assert F64_OP.findall(ptx)
