"""The CUDA backend: CuPy arrays plus the project's Numba CUDA kernels.

Until the CUDA issue lands this module only reports clearly why the device
cannot be used.
"""
from . import DeviceError


def is_available():
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


class CUDABackend:
    name = "cuda"

    def __init__(self):
        try:
            import cupy  # noqa: F401
        except ImportError:
            raise DeviceError(
                "device 'cuda' is not available: CuPy is not installed. Install the GPU extra "
                "with `pip install \"tinygrad_dc[cuda]\"` on a machine with an NVIDIA GPU and "
                "CUDA 12, or use device='cpu'.") from None
        if not is_available():
            raise DeviceError("device 'cuda' is not available: no CUDA GPU was found "
                              "(cupy sees 0 devices). Use device='cpu'.")
        raise DeviceError("device 'cuda': the CUDA backend is not implemented yet in this "
                          "version of tinygrad_dc; use device='cpu'.")
