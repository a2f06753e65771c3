"""Shared test settings.

Hypothesis profiles: "quick" (default, for CI and everyday runs) and
"thorough" (TINYGRAD_DC_HYPOTHESIS=thorough) with many more examples."""
import os
import sys

from hypothesis import HealthCheck, settings

sys.path.insert(0, os.path.dirname(__file__))  # for `import utils` in test files

settings.register_profile("quick", max_examples=12, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.data_too_large])
settings.load_profile(os.environ.get("TINYGRAD_DC_HYPOTHESIS", "quick"))

# Numba reads NUMBA_ENABLE_CUDASIM once, at import, so the simulator suite
# cannot share this process; test_cuda_sim_suite.py runs it in its own.
if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    collect_ignore = ["cuda_sim"]
