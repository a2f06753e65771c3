"""2-D convolution (NCHW) lowered to batched matrix products.

With K = (C / groups) * kh * kw and L = OH * OW, the compiled `im2col`
kernel lays the input out as patch columns (N, C*kh*kw, L), which reshape
for free to (N, groups, K, L); the weight reshapes to (groups, O/groups, K):

    out    = W @ cols                        (N, groups, O/groups, L)
    grad_W = sum over n of g @ cols^T        (groups, O/groups, K)
    grad_x = col2im(W^T @ g)                 (col2im: the adjoint of im2col)

Each product is one batched matmul (BLAS per matrix, no Python loop over
samples or groups).
"""
from ..autograd.function import Op
from .linalg import matmul_arrays


class Conv2d(Op):
    """conv2d(x, w[, b]) with symmetric zero padding; the arguments arrive
    validated and normalised to (h, w) pairs."""

    def forward(self, x, w, b=None, *, stride, padding, dilation, groups):
        xp = self.backend.xp
        N, C, H, W = x.shape
        O, _, kh, kw = w.shape
        cols = self.backend.im2col(x, kh, kw, stride, padding, dilation)
        L = cols.shape[2]
        cols = cols.reshape(N, groups, -1, L)
        w_mat = w.reshape(groups, O // groups, -1)
        out = matmul_arrays(self.backend, w_mat, cols).reshape(N, O, L)
        if b is not None:
            out += b[:, None]
        self.cols, self.w, self.x_shape = cols, w, x.shape
        self.geometry = stride, padding, dilation
        OH = self.backend.conv_output_size(H, kh, stride[0], padding[0], dilation[0])
        return out.reshape(N, O, OH, L // OH)

    def backward(self, g):
        xp, cols, w = self.backend.xp, self.cols, self.w
        N, groups, K, L = cols.shape
        O, _, kh, kw = w.shape
        # upstream gradients may be broadcast views; BLAS wants real strides
        g = xp.ascontiguousarray(g).reshape(N, groups, O // groups, L)
        gx = gw = gb = None
        if self.needs_grad[0]:
            w_mat = w.reshape(groups, O // groups, K)
            gcols = matmul_arrays(self.backend, w_mat.swapaxes(1, 2), g).reshape(N, groups * K, L)
            gx = self.backend.col2im(gcols, self.x_shape, kh, kw, *self.geometry)
        if self.needs_grad[1]:
            gw = matmul_arrays(self.backend, g, cols.swapaxes(2, 3)).sum(axis=0).reshape(w.shape)
        if len(self.needs_grad) == 3 and self.needs_grad[2]:
            gb = g.sum(axis=(0, 3)).reshape(O)
        return (gx, gw) if len(self.needs_grad) == 2 else (gx, gw, gb)
