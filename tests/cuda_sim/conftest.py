"""The CUDA-simulator suite runs in its own pytest process:

    NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/cuda_sim

Numba reads NUMBA_ENABLE_CUDASIM once, when it is first imported, so these
tests cannot share a process with the rest of the suite (which imports numba
for the CPU kernels).  The main run passes ``--ignore=tests/cuda_sim``.
Collected without the simulator, this conftest stops the run with an error
rather than skipping: a silently skipped GPU suite proves nothing.
"""
import os

import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    raise pytest.UsageError(
        "tests/cuda_sim needs Numba's CUDA simulator: run it on its own with "
        "`NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/cuda_sim` "
        "(and keep it out of the main run with --ignore=tests/cuda_sim)")

from numba.core import config  # noqa: E402  (after the environment check)

if not config.ENABLE_CUDASIM:
    raise pytest.UsageError("NUMBA_ENABLE_CUDASIM=1 is set but numba was imported before it "
                            "took effect: run tests/cuda_sim in a fresh pytest process")
