"""Runs the CUDA kernels under Numba's simulator, in a child pytest process.

The simulator must be switched on before numba is first imported, and this
process has long since imported it for the CPU kernels; so the suite in
tests/cuda_sim runs as `NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/cuda_sim`
and this test fails if any of it fails.  Keeping it inside the main run means
README's one test command covers the GPU kernels too.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def test_cuda_kernels_pass_under_the_simulator():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-o", "addopts=", "-q", "-p", "no:cacheprovider",
         os.path.join(HERE, "cuda_sim")],
        cwd=os.path.dirname(HERE), env=env, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
