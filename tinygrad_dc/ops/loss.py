"""Loss ops: each a fused forward with its analytic backward.

`reduction` is PyTorch's: "none" keeps the per-element losses, "sum" adds
them, "mean" divides the sum by a denominator (the element count, or the
total class weight for the class-index losses). Backward turns the upstream
gradient back into a per-element scale with `reduction_scale`.

Class-index targets arrive already validated (integer arrays, in range or
equal to `ignore_index`) together with their per-element weights, see
`class_index_weights`.
"""
from ..autograd.function import Op, sum_to_shape


def reduce_loss(xp, loss, reduction, denom=None):
    """Reduce per-element losses; `denom` overrides the count for "mean"."""
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return xp.asarray(total)
    denom = loss.size if denom is None else denom
    with xp.errstate(divide="ignore", invalid="ignore"):  # an empty batch gives NaN, as PyTorch
        return xp.asarray(total / loss.dtype.type(denom))


def reduction_scale(xp, g, reduction, denom):
    """The upstream gradient as a factor for each per-element loss (same
    dims as the losses, or a scalar). A zero "mean" denominator (every
    target ignored) gives zero gradients, as PyTorch."""
    if reduction != "mean":
        return g
    empty = denom == 0
    return xp.where(empty, g.dtype.type(0), g / xp.where(empty, 1, denom).astype(g.dtype))


# ---------------------------------------------------------------- regression
class _Pointwise(Op):
    """A loss of d = input - target, elementwise, with broadcasting.
    Subclasses give `loss(xp, d)` and its derivative `dloss(xp, d)`."""
    saves_inputs = False

    def forward(self, a, b, reduction, **params):
        self.params = params
        self.shapes, self.reduction = (a.shape, b.shape), reduction
        self.d = a - b
        return reduce_loss(self.xp, self.loss(self.xp, self.d, **params), reduction)

    def backward(self, g):
        xp = self.xp
        scale = reduction_scale(xp, g, self.reduction, self.d.size)
        local = self.dloss(xp, self.d, **self.params) * scale
        ga = sum_to_shape(local, self.shapes[0]) if self.needs_grad[0] else None
        gb = sum_to_shape(-local, self.shapes[1]) if self.needs_grad[1] else None
        return ga, gb


class MSELoss(_Pointwise):
    """d^2."""

    @staticmethod
    def loss(xp, d):
        return d * d

    @staticmethod
    def dloss(xp, d):
        return d + d


class L1Loss(_Pointwise):
    """|d|, with gradient sign(d) (0 at d = 0, as PyTorch)."""

    @staticmethod
    def loss(xp, d):
        return xp.abs(d)

    @staticmethod
    def dloss(xp, d):
        return xp.sign(d)


class SmoothL1Loss(_Pointwise):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (beta > 0)."""

    @staticmethod
    def loss(xp, d, beta):
        ad = xp.abs(d)
        return xp.where(ad < beta, (0.5 / beta) * d * d, ad - 0.5 * beta)

    @staticmethod
    def dloss(xp, d, beta):
        return xp.clip(d / d.dtype.type(beta), -1, 1)


class HuberLoss(_Pointwise):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)."""

    @staticmethod
    def loss(xp, d, delta):
        ad = xp.abs(d)
        return xp.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))

    @staticmethod
    def dloss(xp, d, delta):
        return xp.clip(d, -delta, delta)


# ---------------------------------------------------------------- binary
class BinaryCrossEntropy(Op):
    """-w (y log x + (1 - y) log(1 - x)), each log clamped at -100 as PyTorch."""

    def forward(self, x, y, weight, reduction):
        xp = self.xp
        self.x, self.y, self.weight, self.reduction = x, y, weight, reduction
        with xp.errstate(divide="ignore"):
            log_x = xp.maximum(xp.log(x), -100)
            log_1mx = xp.maximum(xp.log1p(-x), -100)
        loss = -(y * log_x + (1 - y) * log_1mx)
        if weight is not None:
            loss = loss * weight
        return reduce_loss(xp, loss, reduction)

    def backward(self, g):
        xp, x, y, w = self.xp, self.x, self.y, self.weight
        scale = reduction_scale(xp, g, self.reduction, x.size)
        if w is not None:
            scale = scale * w
        gx = gy = None
        if self.needs_grad[0]:
            # PyTorch's backward: the denominator is kept away from 0 by 1e-12
            gx = scale * (x - y) / xp.maximum((1 - x) * x, x.dtype.type(1e-12))
        if self.needs_grad[1]:
            with xp.errstate(divide="ignore"):
                gy = scale * (xp.log1p(-x) - xp.log(x))
        return gx, gy


class BinaryCrossEntropyWithLogits(Op):
    """-w (l y log sigmoid(x) + (1 - y) log sigmoid(-x)), l = 1 + (pos_weight - 1) y,
    computed from a stable log-sigmoid (no overflow at any logit)."""

    def forward(self, x, y, weight, pos_weight, reduction):
        xp = self.xp
        self.x, self.y, self.weight, self.pos_weight = x, y, weight, pos_weight
        self.reduction = reduction
        # log sigmoid(x) = min(x, 0) - log(1 + exp(-|x|))
        self.log_sig = xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))
        log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * y
        loss = (1 - y) * x - log_weight * self.log_sig
        if weight is not None:
            loss = loss * weight
        return reduce_loss(xp, loss, reduction)

    def backward(self, g):
        xp, x, y, pw = self.xp, self.x, self.y, self.pos_weight
        scale = reduction_scale(xp, g, self.reduction, x.size)
        if self.weight is not None:
            scale = scale * self.weight
        gx = gy = None
        if self.needs_grad[0]:
            sig = xp.exp(self.log_sig)
            gx = scale * (sig - y if pw is None else (1 + (pw - 1) * y) * sig - pw * y)
        if self.needs_grad[1]:
            gy = scale * (-x if pw is None else -x - (pw - 1) * self.log_sig)
        return gx, gy


class KLDiv(Op):
    """target * (log target - input), the first term 0 where target is 0 (as
    xlogy); with log_target, exp(target) * (target - input). `input` holds
    log-probabilities."""

    def forward(self, x, t, log_target, reduction, denom):
        xp = self.xp
        self.x, self.reduction, self.denom, self.log_target = x, reduction, denom, log_target
        if log_target:
            self.p, self.log_t = xp.exp(t), t
            loss = self.p * (t - x)
        else:
            with xp.errstate(divide="ignore", invalid="ignore"):
                self.p, self.log_t = t, xp.log(t)
                loss = xp.where(t == 0, 0, t * self.log_t) - t * x
        return reduce_loss(xp, loss, reduction, denom)

    def backward(self, g):
        xp = self.xp
        scale = reduction_scale(xp, g, self.reduction, self.denom)
        gx = gt = None
        if self.needs_grad[0]:
            gx = -scale * self.p
        if self.needs_grad[1]:
            local = self.log_t - self.x + 1
            gt = scale * (self.p * local if self.log_target else local)
        return gx, gt


# ---------------------------------------------------------------- classes
def class_index_weights(xp, target, weight, ignore_index, dtype):
    """For class-index targets (N, d...): the target with ignored entries
    replaced by class 0 (safe to index with), each element's weight
    `weight[target]` (1 without weights, 0 where ignored), and the mask of
    kept elements."""
    keep = target != ignore_index
    safe = xp.where(keep, target, 0)
    if weight is None:
        row_weight = keep.astype(dtype)
    else:
        row_weight = xp.where(keep, weight[safe], 0).astype(dtype, copy=False)
    return safe, row_weight, keep


def _class_shape(ndim, n_classes):
    """Shape that broadcasts a (C,) vector along axis 1 of an (N, C, d...) array."""
    return (1, n_classes) + (1,) * (ndim - 2)


class NLLLoss(Op):
    """-weight[target] * input[target] over (N, C, d...) log-probabilities."""
    saves_inputs = False

    def forward(self, x, target, row_weight, reduction):
        xp = self.xp
        self.in_shape, self.reduction = x.shape, reduction
        self.index = target[:, None]
        self.row_weight = row_weight
        self.denom = row_weight.sum()
        picked = xp.take_along_axis(x, self.index, axis=1)[:, 0]
        return reduce_loss(xp, -row_weight * picked, reduction, self.denom)

    def backward(self, g):
        xp = self.xp
        scale = reduction_scale(xp, g, self.reduction, self.denom)
        grad = xp.zeros(self.in_shape, dtype=g.dtype)
        xp.put_along_axis(grad, self.index, (-scale * self.row_weight)[:, None], axis=1)
        return grad


def _softmax_parts(xp, x):
    """x - max and the log of its exp-sum, along axis 1: log_softmax =
    shifted - log_sum, with no overflow however large the logits."""
    shifted = x - x.max(axis=1, keepdims=True)
    log_sum = xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
    return shifted, log_sum


class CrossEntropyIndex(Op):
    """Fused log_softmax + NLL over (N, C, d...) logits and class indices,
    with PyTorch's label smoothing: each element's loss is
    (1 - s) * -w[y] logp[y] + s / C * -sum_c w[c] logp[c], and "mean" divides
    by sum(w[y]) over the kept elements. As a target distribution q per
    element, the gradient is softmax * sum(q) - q."""
    saves_inputs = False

    def forward(self, x, target, row_weight, keep, weight, smoothing, reduction):
        xp = self.xp
        n_classes = x.shape[1]
        self.reduction, self.smoothing, self.row_weight, self.keep = \
            reduction, smoothing, row_weight, keep
        self.weight = None if weight is None else weight.reshape(_class_shape(x.ndim, n_classes))
        self.index = target[:, None]
        shifted = x - x.max(axis=1, keepdims=True)
        picked = xp.take_along_axis(shifted, self.index, axis=1)[:, 0]
        if smoothing:
            # -sum_c w[c] logp[c] = W log_sum - sum_c w[c] shifted[c], W = sum_c w[c]
            weighted = shifted if weight is None else shifted * self.weight
            smooth_dot = weighted.sum(axis=1)
            self.weight_total = n_classes if weight is None else weight.sum()
        e = xp.exp(shifted, out=shifted)
        total = e.sum(axis=1, keepdims=True)
        self.probs = xp.divide(e, total, out=e)
        log_sum = xp.log(total)[:, 0]
        loss = row_weight * (log_sum - picked)
        if smoothing:
            smooth = xp.where(keep, self.weight_total * log_sum - smooth_dot, 0)
            loss = (1 - smoothing) * loss + (smoothing / n_classes) * smooth
        self.denom = row_weight.sum()
        return reduce_loss(xp, loss, reduction, self.denom)

    def backward(self, g):
        xp, s = self.xp, self.smoothing
        n_classes = self.probs.shape[1]
        scale = reduction_scale(xp, g, self.reduction, self.denom)
        hit = scale * (1 - s) * self.row_weight  # q at the target class, times the scale
        if s:
            spread = xp.where(self.keep, scale * (s / n_classes), 0)  # per unit of w[c]
            q_sum = hit + spread * self.weight_total
        else:
            q_sum = hit
        grad = self.probs * q_sum[:, None]
        if s:
            spread = spread[:, None]
            grad -= spread if self.weight is None else spread * self.weight
        at_target = xp.take_along_axis(grad, self.index, axis=1)
        xp.put_along_axis(grad, self.index, at_target - hit[:, None], axis=1)
        return grad


class CrossEntropyProbs(Op):
    """Fused log_softmax + cross entropy against class probabilities over
    (N, C, d...): loss = -sum_c w[c] q[c] logp[c] with q = (1 - s) target + s / C;
    "mean" divides by the number of elements N * d... (not by the weights)."""

    def forward(self, x, t, weight, smoothing, reduction):
        xp = self.xp
        n_classes = x.shape[1]
        self.reduction, self.smoothing = reduction, smoothing
        shifted, log_sum = _softmax_parts(xp, x)
        self.log_probs = xp.subtract(shifted, log_sum, out=shifted)
        self.weight = None if weight is None else weight.reshape(_class_shape(x.ndim, n_classes))
        q = t * (1 - smoothing) + smoothing / n_classes if smoothing else t
        self.q = q if weight is None else q * self.weight
        loss = -(self.q * self.log_probs).sum(axis=1)
        self.count = loss.size
        return reduce_loss(xp, loss, reduction)

    def backward(self, g):
        xp = self.xp
        scale = reduction_scale(xp, g, self.reduction, self.count)
        if self.reduction == "none":
            scale = scale[:, None]
        gx = gt = None
        if self.needs_grad[0]:
            q = self.q
            gx = scale * (xp.exp(self.log_probs) * q.sum(axis=1, keepdims=True) - q)
        if self.needs_grad[1]:
            local = self.log_probs if self.weight is None else self.log_probs * self.weight
            gt = (-(1 - self.smoothing) * scale) * local
        return gx, gt
