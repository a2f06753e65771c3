"""Matrix products."""
from ..autograd.function import Op, sum_to_shape
from ..backend import own_kernel


def matmul_arrays(backend, a, b):
    """a @ b on the backend's own GEMM when it has one (CUDA: cuBLAS or the
    Numba kernel, by size), else the array module's."""
    own = own_kernel(backend, "matmul")
    return a @ b if own is None else own(a, b)


class MatMul(Op):
    """NumPy/PyTorch matmul: 1-D operands are promoted to a row (left) or a
    column (right) and the added axis is dropped from the result; batch axes
    broadcast."""

    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        self.a = a if a.ndim > 1 else a.reshape(1, -1)
        self.b = b if b.ndim > 1 else b.reshape(-1, 1)
        return matmul_arrays(self.backend, a, b)

    def backward(self, g):
        a, b = self.a, self.b
        # restore the axes that 1-D operands dropped from the result
        if len(self.a_shape) == 1:
            g = self.backend.xp.expand_dims(g, -2 if len(self.b_shape) > 1 else 0)
        if len(self.b_shape) == 1:
            g = self.backend.xp.expand_dims(g, -1)
        ga = gb = None
        if self.needs_grad[0]:
            ga = sum_to_shape(matmul_arrays(self.backend, g, b.swapaxes(-1, -2)),
                              a.shape).reshape(self.a_shape)
        if self.needs_grad[1]:
            gb = sum_to_shape(matmul_arrays(self.backend, a.swapaxes(-1, -2), g),
                              b.shape).reshape(self.b_shape)
        return ga, gb
