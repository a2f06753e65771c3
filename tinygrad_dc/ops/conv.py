"""2-D convolution (NCHW) lowered to matrix products.

With K = (C / groups) * kh * kw and L = OH * OW, the compiled `im2col_kn`
kernel lays the whole batch's patches side by side as (C*kh*kw, N*L), which
reshapes for free to (groups, K, N*L); the weight reshapes to
(groups, O/groups, K). Then, per group,

    out    = W @ cols                        (O/groups, N*L)
    grad_W = g @ cols^T                      (O/groups, K)
    grad_x = col2im_kn(W^T @ g)              (col2im_kn: the adjoint of im2col_kn)

Keeping the batch inside the products makes each one a single large GEMM:
summing per-sample weight gradients instead would cost a (N, O, K)
temporary (300 MB for a ResNet-18 layer4 at batch 32) and N small GEMMs.
The price is one transpose of the output and of its gradient between the
(O, N, L) order of the products and NCHW.
"""
from ..autograd.function import Op
from .linalg import matmul_arrays


def _per_group(backend, a, b):
    """a @ b over leading group axes; one group is a plain 2-D product (BLAS
    reads transposed 2-D operands without copying them)."""
    if a.shape[0] == 1:
        return matmul_arrays(backend, a[0], b[0])[None]
    return matmul_arrays(backend, a, b)


class Conv2d(Op):
    """conv2d(x, w[, b]) with symmetric zero padding; the arguments arrive
    validated and normalised to (h, w) pairs."""

    def forward(self, x, w, b=None, *, stride, padding, dilation, groups):
        xp = self.backend.xp
        N, C, H, W = x.shape
        O, _, kh, kw = w.shape
        cols = self.backend.im2col_kn(x, kh, kw, stride, padding, dilation)
        cols = cols.reshape(groups, -1, cols.shape[1])
        w_mat = w.reshape(groups, O // groups, -1)
        out = _per_group(self.backend, w_mat, cols)               # (groups, O/groups, N*L)
        OH = self.backend.conv_output_size(H, kh, stride[0], padding[0], dilation[0])
        out = out.reshape(O, N, OH, -1).transpose(1, 0, 2, 3)
        out = xp.ascontiguousarray(out)
        if b is not None:
            out += b[:, None, None]
        self.cols, self.w, self.x_shape = cols, w, x.shape
        self.geometry = stride, padding, dilation
        return out

    def backward(self, g):
        xp, cols, w = self.backend.xp, self.cols, self.w
        groups, K, NL = cols.shape
        O, _, kh, kw = w.shape
        # (N, O, OH, OW) -> (groups, O/groups, N*L): the products' order
        g_t = xp.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(groups, O // groups, NL)
        gx = gw = gb = None
        if self.needs_grad[0]:
            w_mat = w.reshape(groups, O // groups, K)
            gcols = _per_group(self.backend, w_mat.swapaxes(1, 2), g_t)
            gx = self.backend.col2im_kn(gcols.reshape(groups * K, NL), self.x_shape, kh, kw,
                                        *self.geometry)
        if self.needs_grad[1]:
            gw = _per_group(self.backend, g_t, cols.swapaxes(1, 2)).reshape(w.shape)
        if len(self.needs_grad) == 3 and self.needs_grad[2]:
            gb = g_t.reshape(O, NL).sum(axis=1)
        return (gx, gw) if len(self.needs_grad) == 2 else (gx, gw, gb)
