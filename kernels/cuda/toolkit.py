"""Point Numba at the NVVM compiler from the ``nvidia-cuda-nvcc-cu12`` wheel.

Numba compiles kernels with libNVVM (Python -> LLVM IR -> PTX) and links
libdevice (the math library).  Its built-in CUDA target looks for them in a
conda environment, under ``CUDA_HOME``/``CUDA_PATH``, or in a system CUDA
install -- not in pip wheels.  The wheel ships ``nvidia/cuda_nvcc/nvvm/
lib64/libnvvm.so`` and ``nvvm/libdevice/libdevice.10.bc``, but Numba's
``CUDA_HOME`` search only accepts a versioned soname (``libnvvm.so.4``).

:func:`use_pip_nvvm` therefore builds a tiny CUDA_HOME-shaped directory of
symlinks to the wheel's files and lets Numba resolve its paths against it
once (Numba caches the result for the process); ``CUDA_HOME`` is restored
afterwards, so nothing else in the process (CuPy, say) sees it changed.
Nothing here needs a GPU: PTX generation is pure compilation.
"""
import hashlib
import importlib.util
import os
import tempfile

from numba.core import config

__all__ = ["pip_nvvm_paths", "use_pip_nvvm", "nvvm_library_path"]

_WHEEL = "nvidia-cuda-nvcc-cu12"


def pip_nvvm_paths():
    """(libnvvm.so, libdevice.10.bc) from the installed wheel, or None if it is absent."""
    try:
        spec = importlib.util.find_spec("nvidia.cuda_nvcc")
    except ModuleNotFoundError:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        lib = os.path.join(root, "nvvm", "lib64", "libnvvm.so")
        libdevice = os.path.join(root, "nvvm", "libdevice", "libdevice.10.bc")
        if os.path.isfile(lib) and os.path.isfile(libdevice):
            return lib, libdevice
    return None


def _shim_home(lib, libdevice):
    """A CUDA_HOME-shaped directory of symlinks to the wheel's files (idempotent)."""
    tag = hashlib.sha1(lib.encode()).hexdigest()[:12]
    home = os.path.join(tempfile.gettempdir(), f"tinygrad_dc-cuda-home-{os.getuid()}-{tag}")
    for sub, target, name in (("lib64", lib, "libnvvm.so.4"),
                              ("libdevice", libdevice, "libdevice.10.bc")):
        folder = os.path.join(home, "nvvm", sub)
        os.makedirs(folder, exist_ok=True)
        link = os.path.join(folder, name)
        if os.path.realpath(link) != os.path.realpath(target):
            tmp = f"{link}.{os.getpid()}"
            os.symlink(target, tmp)
            os.replace(tmp, link)     # atomic: concurrent processes never see a half link
    return home


def use_pip_nvvm(force=False, required=True):
    """Make Numba compile with the wheel's NVVM; returns the libnvvm path it will load.

    Without ``force`` an explicit ``CUDA_HOME``/``CUDA_PATH`` wins (and None
    is returned).  Must run before Numba first resolves its CUDA paths (at
    the first compilation).  If the wheel is missing, or Numba already
    resolved other paths, raises RuntimeError -- or, with ``required=False``,
    returns None and leaves Numba to its own search.
    """
    if config.ENABLE_CUDASIM:
        return None
    if not force and (os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")):
        return None
    paths = pip_nvvm_paths()
    if paths is None:
        if not required:
            return None
        raise RuntimeError(f"libNVVM from pip not found: install the `{_WHEEL}` wheel "
                           f"(e.g. pip install \"{_WHEEL}==12.9.86\")")
    from numba.cuda import cuda_paths

    try:
        home = _shim_home(*paths)
    except OSError:
        if not required:
            return None
        raise
    saved = {k: os.environ.get(k) for k in ("CUDA_HOME", "CUDA_PATH")}
    os.environ["CUDA_HOME"] = home
    os.environ.pop("CUDA_PATH", None)
    try:
        cuda_paths.get_cuda_paths()    # resolves once and caches for the process
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    found = nvvm_library_path()
    if found is None or os.path.realpath(found) != os.path.realpath(paths[0]):
        if not required:
            return None
        raise RuntimeError(f"numba already resolved libNVVM to {found!r}; call use_pip_nvvm() "
                           f"before the first CUDA compilation")
    return found


def nvvm_library_path():
    """The libnvvm Numba resolved (None: it will ask the system's dynamic linker)."""
    from numba.cuda import cuda_paths

    return cuda_paths.get_cuda_paths()["nvvm"].info
