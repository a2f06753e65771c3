"""The building blocks of most networks: linear maps, table lookups, dropout."""
from ..autograd.function import Op
from .linalg import matmul_arrays


class Linear(Op):
    """x @ W.T + b over any number of leading batch axes, as one op: the
    batch axes fold into one matrix so each product is a single BLAS call,
    and W is only ever read through transposed views (never copied)."""

    def forward(self, x, w, b=None):
        self.x, self.w = x, w
        out = matmul_arrays(self.backend, x.reshape(-1, x.shape[-1]), w.T)
        if b is not None:
            out += b
        return out.reshape(x.shape[:-1] + (w.shape[0],))

    def backward(self, g):
        x, w, xp = self.x, self.w, self.backend.xp
        # an upstream gradient may be a broadcast view (zero strides): BLAS
        # needs real strides, so make it contiguous once
        g2 = xp.ascontiguousarray(g).reshape(-1, w.shape[0])
        gx = gw = None
        if self.needs_grad[0]:
            gx = matmul_arrays(self.backend, g2, w).reshape(x.shape)
        if self.needs_grad[1]:
            gw = matmul_arrays(self.backend, g2.T, x.reshape(-1, x.shape[-1]))
        if len(self.needs_grad) == 2:
            return gx, gw
        return gx, gw, (g2.sum(axis=0) if self.needs_grad[2] else None)


class Embedding(Op):
    """Rows of `weight` picked by an integer index array (a parameter, not
    an input: indices get no gradient). The weight gradient sums over
    repeated indices in a compiled scatter kernel; the `padding_idx` row gets
    none, and `scale_grad_by_freq` divides each row's share by its count."""
    saves_inputs = False

    def forward(self, w, indices, padding_idx=-1, scale_grad_by_freq=False):
        self.indices, self.num_weights = indices, w.shape[0]
        self.padding_idx, self.scale_grad_by_freq = padding_idx, scale_grad_by_freq
        return self.backend.xp.take(w, indices, axis=0)

    def backward(self, g):
        xp = self.backend.xp
        flat = self.indices.reshape(-1)
        g2 = g.reshape(flat.shape[0], g.shape[-1])
        if self.scale_grad_by_freq:
            counts = xp.bincount(flat, minlength=self.num_weights)
            g2 = g2 / counts[flat].astype(g.dtype)[:, None]
        return self.backend.embedding_backward(flat, g2, self.num_weights, self.padding_idx)


class Dropout(Op):
    """Inverted dropout: keep each element (or each slice, when `mask_shape`
    broadcasts, as for channel dropout) with probability 1 - p and scale the
    kept ones by 1 / (1 - p). The mask is drawn from the backend's generator,
    so `manual_seed` makes it reproducible."""
    saves_inputs = False

    def forward(self, a, p, mask_shape):
        xp = self.backend.xp
        keep = 1.0 - p
        draw_dtype = "float64" if a.dtype == xp.float64 else "float32"
        u = self.backend.generator.random(mask_shape, dtype=draw_dtype)
        # p == 1 keeps nothing (PyTorch returns zeros, not 0 * inf)
        scale = 1.0 / keep if keep > 0 else 0.0
        self.mask = (u < keep).astype(a.dtype) * a.dtype.type(scale)
        return a * self.mask

    def backward(self, g):
        return g * self.mask
