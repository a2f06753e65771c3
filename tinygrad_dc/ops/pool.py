"""2-D pooling (NCHW): max, average and adaptive, on the compiled pooling
kernels or on whole-array NumPy. Arguments arrive validated and as pairs.

Max pooling computes its argmax next to the values, so the op takes both
precomputed (as `MaxDim` does): `max_pool2d` and `adaptive_max_pool2d` below
run the forward and hand the indices back to the caller as well.
"""
from ..autograd.function import Op


class MaxPoolIndexed(Op):
    """Values picked at flat per-plane indices (h * W + w) of the input; the
    gradient scatter-adds back to those positions."""
    saves_inputs = False

    def forward(self, a, values, indices):
        self.indices, self.in_shape = indices, a.shape
        return values

    def backward(self, g):
        return self.backend.maxpool2d_backward(self.backend.xp.ascontiguousarray(g),
                                               self.indices, self.in_shape)


def max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode):
    """(values tensor, int64 indices array) of a max pool over x (a Tensor)."""
    values, indices = x._backend.maxpool2d_forward(x._data, *kernel_size, stride, padding,
                                                   dilation, ceil_mode)
    return MaxPoolIndexed.apply(x, values=values, indices=indices), indices


def adaptive_windows(xp, size, out_size):
    """PyTorch's adaptive windows along one axis: [floor(i*n/o), ceil((i+1)*n/o))."""
    i = xp.arange(out_size)
    return (i * size) // out_size, ((i + 1) * size + out_size - 1) // out_size


def adaptive_max_pool2d(x, output_size):
    """(values tensor, int64 indices array) of an adaptive max pool over x.

    Windows differ in length by at most one, so every window is gathered at
    the longest length, the short ones repeating their last element (which
    never changes a max nor, coming last, which index is first to reach it)."""
    xp = x._backend.xp
    N, C, H, W = x.shape
    OH, OW = output_size
    taps = []
    for size, out in ((H, OH), (W, OW)):
        start, end = adaptive_windows(xp, size, out)
        k = int((end - start).max())
        taps.append(xp.minimum(start[:, None] + xp.arange(k), end[:, None] - 1))  # (out, k)
    rows, cols = taps
    # flat plane index (h * W + w) of every tap of every window: (OH, OW, kh * kw)
    flat = (rows[:, None, :, None] * W + cols[None, :, None, :]).reshape(OH, OW, -1)
    windows = x._data.reshape(N, C, H * W)[:, :, flat]
    best = windows.argmax(axis=-1)
    values = xp.take_along_axis(windows, best[..., None], axis=-1)[..., 0]
    indices = flat[xp.arange(OH)[:, None], xp.arange(OW)[None, :], best]
    return MaxPoolIndexed.apply(x, values=values, indices=indices), indices


class AvgPool2d(Op):
    saves_inputs = False

    def forward(self, a, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override):
        self.in_shape = a.shape
        self.params = (*kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override)
        return self.backend.avgpool2d_forward(a, *self.params)

    def backward(self, g):
        return self.backend.avgpool2d_backward(self.backend.xp.ascontiguousarray(g),
                                               self.in_shape, *self.params)


class AdaptiveAvgPool2d(Op):
    """Averages over PyTorch's adaptive windows. When the output size
    divides the input size the windows tile it evenly: a reshape and a mean.
    Otherwise the pooling is linear and separable, out = A_h @ x @ A_w^T,
    with A's rows holding 1/len over each window, and its gradient is
    A_h^T @ g @ A_w."""
    saves_inputs = False

    def forward(self, a, output_size):
        xp = self.backend.xp
        N, C, H, W = a.shape
        OH, OW = output_size
        self.in_shape = a.shape
        self.even = H % OH == 0 and W % OW == 0
        if self.even:
            return a.reshape(N, C, OH, H // OH, OW, W // OW).mean(axis=(3, 5))
        self.ah = self._averaging_matrix(H, OH, a.dtype)
        self.aw = self._averaging_matrix(W, OW, a.dtype)
        return xp.matmul(xp.matmul(self.ah, a), self.aw.T)

    def _averaging_matrix(self, size, out_size, dtype):
        xp = self.backend.xp
        start, end = adaptive_windows(xp, size, out_size)
        j = xp.arange(size)
        inside = (j >= start[:, None]) & (j < end[:, None])
        return (inside / (end - start)[:, None]).astype(dtype)

    def backward(self, g):
        xp = self.backend.xp
        N, C, H, W = self.in_shape
        if self.even:
            OH, OW = g.shape[2], g.shape[3]
            kh, kw = H // OH, W // OW
            spread = xp.broadcast_to((g / (kh * kw))[:, :, :, None, :, None],
                                     (N, C, OH, kh, OW, kw))
            return spread.reshape(self.in_shape)
        return xp.matmul(xp.matmul(self.ah.T, g), self.aw)
