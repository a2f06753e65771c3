"""The CPU backend: NumPy arrays, plus Numba kernels from `kernels.cpu` for
the hot paths (imported on first use so `import tinygrad_dc` stays fast)."""
import numpy as np


class CPUBackend:
    name = "cpu"
    xp = np

    def __init__(self):
        self.generator = np.random.default_rng()

    def __deepcopy__(self, memo):
        # one backend per device per process: copied tensors and modules
        # must keep pointing at it, or they would count as another device
        return self

    def __copy__(self):
        return self

    def seed(self, seed):
        self.generator = np.random.default_rng(seed)

    def asarray(self, data, dtype=None):
        return np.asarray(data, dtype=dtype)

    def to_numpy(self, array):
        return array

    def from_numpy(self, array):
        return array

    def synchronize(self):
        pass

    def __getattr__(self, kernel_name):
        """Kernels by name (`backend.im2col(...)`), found in `kernels.cpu`."""
        if kernel_name.startswith("_"):
            raise AttributeError(kernel_name)
        import kernels.cpu as cpu_kernels
        try:
            kernel = getattr(cpu_kernels, kernel_name)
        except AttributeError:
            raise AttributeError(f"the cpu backend has no kernel {kernel_name!r}") from None
        setattr(self, kernel_name, kernel)  # later lookups skip __getattr__
        return kernel
