"""Every CuPy function the library calls on the GPU exists in CuPy.

CuPy imports without a GPU (only allocating device memory needs one), so
this checks names against the real `cupy` module: each `xp.<name>` in the
package's source (ops, tensor, nn, optim, ... all reach CuPy through a
backend's `xp`), the CuPy calls of the CUDA backend itself, and the
generator methods. The names are found by scanning the source, so the list
cannot go stale. The simulator suite cannot catch a missing name, since
there `xp` is NumPy. Skipped when CuPy is not installed (the `test` extra
installs it).
"""
import pathlib
import re

import pytest

from tinygrad_dc.backend import cuda as cuda_backend

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tinygrad_dc"
BACKEND = PACKAGE / "backend" / "cuda.py"

# `xp.take_along_axis(...)`, `xp.add.at(...)`, `self.backend.xp.float64`
XP_USE = re.compile(r"\bxp\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")
# `cupy.cuda.Device()`, `cupyx.scipy.special.erf`, `self._cupy.asnumpy(...)`
CUPY_USE = re.compile(r"(?:\b|_)(cupyx?)\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")
GENERATOR_USE = re.compile(r"\bgenerator\.([A-Za-z_]\w*)")


def scan(pattern, paths):
    """{name: [file:line, ...]} of every match of `pattern`'s dotted name."""
    found = {}
    for path in paths:
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            for match in pattern.finditer(code):
                name = ".".join(g for g in match.groups() if g)
                found.setdefault(name, []).append(f"{path.relative_to(ROOT)}:{lineno}")
    return found


def resolve(root, dotted):
    """Follow `a.b.c` from root; None where a part is missing."""
    obj = root
    for part in dotted.split("."):
        if not hasattr(obj, part):
            return None
        obj = getattr(obj, part)
    return obj


def test_the_scan_finds_the_known_uses():
    uses = scan(XP_USE, PACKAGE.rglob("*.py"))
    for name in ("exp", "matmul", "errstate", "add.at", "take_along_axis", "where"):
        assert name in uses, name


@pytest.fixture(scope="module")
def cupy():
    return pytest.importorskip("cupy", reason="CuPy is not installed (pip install cupy-cuda12x)")


def test_every_xp_name_exists_in_the_cuda_array_module(cupy):
    xp = cuda_backend._CupyNamespace(cupy)   # CuPy plus the shims the backend adds
    uses = scan(XP_USE, PACKAGE.rglob("*.py"))
    missing = {name: where for name, where in uses.items() if resolve(xp, name) is None}
    assert not missing, "names the CUDA backend's xp lacks:\n" + "\n".join(
        f"  xp.{name}  ({', '.join(where[:3])})" for name, where in sorted(missing.items()))


def test_the_backends_own_cupy_calls_exist(cupy):
    import importlib
    uses = scan(CUPY_USE, [BACKEND, PACKAGE / "cuda.py"])
    assert {"cupy.cuda.runtime.getDeviceCount", "cupy.asnumpy",
            "cupyx.scipy.special.erf"} <= set(uses)
    modules = {"cupy": cupy, "cupyx": importlib.import_module("cupyx")}
    importlib.import_module("cupyx.scipy.special")
    missing = [name for name in uses if resolve(modules[name.split(".")[0]],
                                                name.split(".", 1)[1]) is None]
    assert not missing, missing


def test_the_generator_methods_exist(cupy):
    """What tinygrad_dc draws random numbers with, on the CUDA backend's generator
    (NumPy's Generator interface over CuPy's), and what that calls in CuPy."""
    uses = scan(GENERATOR_USE, PACKAGE.rglob("*.py"))
    assert {"random", "standard_normal"} <= set(uses)
    missing = [n for n in uses if not callable(getattr(cuda_backend._CupyGenerator, n, None))]
    assert not missing, missing
    for name in ("random", "uniform", "standard_normal", "integers"):
        assert callable(getattr(cupy.random.Generator, name)), name
    assert callable(cupy.random.default_rng) and callable(cupy.argsort)


def test_errstate_shim_is_a_context_manager(cupy):
    xp = cuda_backend._CupyNamespace(cupy)
    with xp.errstate(divide="ignore", invalid="ignore"):
        pass
    assert xp.matmul is cupy.matmul
