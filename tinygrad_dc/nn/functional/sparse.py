"""nn.functional: embedding lookups and one-hot encoding."""
import numbers

from ... import dtypes
from ...tensor import Tensor, ShapeError
from ...autograd.function import check_same_device
from ...autograd.grad_mode import no_grad
from ...ops.nn_basic import Embedding

__all__ = ["embedding", "one_hot"]


def _index_tensor(fn, input, allowed):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): input must be a Tensor of indices, got {type(input).__name__}")
    if input.dtype not in allowed:
        raise TypeError(f"{fn}(): expected an index tensor of dtype "
                        f"{' or '.join(d.name for d in allowed)}, got {input.dtype.name}")
    return input._data


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """weight[input]: rows of weight (num_embeddings, embedding_dim) picked by
    the integer tensor input (any shape) -> (*input.shape, embedding_dim).

    The padding_idx row gets no gradient. max_norm renormalises, in place and
    outside the graph, every looked-up row whose norm_type-norm exceeds it."""
    indices = _index_tensor("embedding", input, (dtypes.int64, dtypes.int32))
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ShapeError(f"embedding(): weight must be a 2-D Tensor (num_embeddings, "
                         f"embedding_dim), got {getattr(weight, 'shape', weight)!r}")
    if not weight.is_floating_point():
        raise TypeError(f"embedding(): weight must be floating point, got {weight.dtype.name}")
    check_same_device((input, weight))
    if sparse:
        raise NotImplementedError("embedding(): sparse gradients are not supported; use "
                                  "sparse=False")
    num = weight.shape[0]
    if padding_idx is None:
        padding_idx = -1
    elif not isinstance(padding_idx, numbers.Integral) or not -num <= padding_idx < num:
        raise ValueError(f"embedding(): padding_idx must be within num_embeddings ({num}), got "
                         f"{padding_idx!r}")
    elif padding_idx < 0:
        padding_idx += num
    if indices.size:
        lo, hi = int(indices.min()), int(indices.max())
        if lo < 0 or hi >= num:
            raise IndexError(f"embedding(): index {lo if lo < 0 else hi} is out of range for "
                             f"weight of shape {tuple(weight.shape)} (input shape "
                             f"{tuple(input.shape)})")
    if max_norm is not None:
        _renorm_rows(weight, indices, float(max_norm), float(norm_type))
    return Embedding.apply(weight, indices=indices, padding_idx=int(padding_idx),
                           scale_grad_by_freq=bool(scale_grad_by_freq))


def _renorm_rows(weight, indices, max_norm, norm_type):
    """PyTorch's embedding_renorm_: scale each looked-up row whose norm is
    above max_norm by max_norm / (norm + 1e-7), in place."""
    xp = weight._backend.xp
    rows = xp.unique(indices.reshape(-1))
    picked = weight._data[rows]
    norms = (abs(picked) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    over = norms > max_norm
    if bool(over.any()):
        with no_grad():
            scale = (max_norm / (norms[over] + 1e-7)).astype(picked.dtype)
            weight._data[rows[over]] = picked[over] * scale[:, None]
            weight._version += 1


def one_hot(tensor, num_classes=-1):
    """int64 tensor of shape (*tensor.shape, num_classes) with a 1 at each
    index; num_classes=-1 takes one more than the largest index."""
    indices = _index_tensor("one_hot", tensor, (dtypes.int64,))
    xp = tensor._backend.xp
    if not isinstance(num_classes, numbers.Integral) or num_classes < -1:
        raise ValueError(f"one_hot(): num_classes must be -1 or a non-negative int, got "
                         f"{num_classes!r}")
    if indices.size == 0:
        if num_classes == -1:
            raise RuntimeError("one_hot(): can not infer the total number of classes from an "
                               "empty tensor; pass num_classes")
    else:
        lo, hi = int(indices.min()), int(indices.max())
        if lo < 0:
            raise RuntimeError(f"one_hot(): class values must be non-negative, got {lo}")
        if num_classes == -1:
            num_classes = hi + 1
        elif hi >= num_classes:
            raise RuntimeError(f"one_hot(): class values must be smaller than num_classes "
                               f"({num_classes}), got {hi}")
    out = (indices[..., None] == xp.arange(num_classes)).astype(xp.int64)
    return Tensor._make(out, tensor._backend, None)
