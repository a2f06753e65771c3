"""nn.functional: convolution, pooling and padding (NCHW, PyTorch's
signatures). Every argument is checked here, before any work, with errors
that name the shapes involved; the ops receive (h, w) pairs."""
import numbers

from ...tensor import Tensor, ShapeError
from ...autograd.function import check_same_device
from ...ops import conv as C, pool as P
from ...ops.movement import Pad

__all__ = ["conv1d", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
           "adaptive_max_pool2d", "pad"]


# ------------------------------------------------------------------ arguments
def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _pair(value, name, fn, minimum):
    """An int or a 1- or 2-sequence of ints, each >= minimum, as an (h, w) pair."""
    pair = (value, value) if _is_int(value) else tuple(value) if isinstance(value, (tuple, list)) \
        else None
    if pair is not None and len(pair) == 1:
        pair = pair * 2
    if pair is None or len(pair) != 2 or not all(_is_int(v) for v in pair):
        raise TypeError(f"{fn}(): {name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{fn}(): {name} must be {'positive' if minimum else 'non-negative'}, "
                         f"got {value!r}")
    return int(pair[0]), int(pair[1])


def _spatial_input(fn, input, dims=2):
    """Check a (C, *spatial) or (N, C, *spatial) float tensor; return it batched
    and whether it came unbatched."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (dims + 1, dims + 2):
        raise ShapeError(f"{fn}(): expected {dims + 1}D (unbatched) or {dims + 2}D (batched) "
                         f"input, but got input of shape {tuple(input.shape)}")
    if not input.is_floating_point():
        raise TypeError(f"{fn}(): expected a floating point input, got {input.dtype.name}")
    unbatched = input.ndim == dims + 1
    return (input.unsqueeze(0) if unbatched else input), unbatched


def _finish(out, unbatched):
    return out.squeeze(0) if unbatched else out


# ---------------------------------------------------------------- convolution
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of input (N, C_in, H, W) or (C_in, H, W) with
    weight (C_out, C_in / groups, kH, kW); padding is an int, a pair,
    "valid" or "same"."""
    x, unbatched = _spatial_input("conv2d", input)
    if not isinstance(weight, Tensor) or weight.ndim != 4:
        raise ShapeError(f"conv2d(): weight must be a 4-D Tensor (out_channels, in_channels / "
                         f"groups, kH, kW), got {getattr(weight, 'shape', weight)!r}")
    stride = _pair(stride, "stride", "conv2d", 1)
    dilation = _pair(dilation, "dilation", "conv2d", 1)
    if not _is_int(groups) or groups < 1:
        raise ValueError(f"conv2d(): groups must be a positive int, got {groups!r}")
    O, Cg, kh, kw = weight.shape
    if O % groups:
        raise ShapeError(f"conv2d(): out_channels ({O}, weight shape {tuple(weight.shape)}) must "
                         f"be divisible by groups={groups}")
    if x.shape[1] != Cg * groups:
        raise ShapeError(f"conv2d(): given groups={groups}, weight of shape "
                         f"{tuple(weight.shape)}, expected input of shape {tuple(input.shape)} "
                         f"to have {Cg * groups} channels, but got {x.shape[1]} channels")
    tensors = (x, weight)
    if bias is not None:
        if not isinstance(bias, Tensor) or bias.shape != (O,):
            raise ShapeError(f"conv2d(): bias must be a Tensor of shape ({O},) for weight of "
                             f"shape {tuple(weight.shape)}, got {getattr(bias, 'shape', bias)!r}")
        tensors = (x, weight, bias)
    if len({t.dtype for t in tensors}) > 1:
        raise TypeError(f"conv2d(): input ({x.dtype.name}), weight ({weight.dtype.name})"
                        f"{'' if bias is None else f' and bias ({bias.dtype.name})'} must have "
                        f"the same dtype")
    check_same_device(tensors)
    if isinstance(padding, str):
        x, padding = _string_padding(x, padding, stride, dilation, (kh, kw))
        tensors = (x,) + tensors[1:]
    else:
        padding = _pair(padding, "padding", "conv2d", 0)
    H, W = x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1]
    eff = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    if H < eff[0] or W < eff[1]:
        raise ShapeError(f"conv2d(): padded input size per channel ({H} x {W}) is smaller than "
                         f"the dilated kernel size ({eff[0]} x {eff[1]}) (input shape "
                         f"{tuple(input.shape)}, weight shape {tuple(weight.shape)}, padding "
                         f"{padding}, dilation {dilation})")
    out = C.Conv2d.apply(*tensors, stride=stride, padding=padding, dilation=dilation,
                         groups=int(groups))
    return _finish(out, unbatched)


def _string_padding(x, padding, stride, dilation, kernel):
    """'valid' is no padding; 'same' pads dilation * (k - 1) in total per
    axis, the odd element on the bottom/right (as PyTorch does, by padding
    the input itself when the split is uneven)."""
    if padding == "valid":
        return x, (0, 0)
    if padding != "same":
        raise ValueError(f"conv2d(): padding must be an int, a pair, 'valid' or 'same', got "
                         f"{padding!r}")
    if stride != (1, 1):
        raise ValueError(f"conv2d(): padding='same' is not supported for strided "
                         f"convolutions (stride {stride})")
    total = [d * (k - 1) for d, k in zip(dilation, kernel)]
    left = tuple(t // 2 for t in total)
    extra = [t - 2 * lo for t, lo in zip(total, left)]
    if any(extra):
        x = pad(x, (0, extra[1], 0, extra[0]))
    return x, left


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation of input (N, C_in, L) or (C_in, L) with weight
    (C_out, C_in / groups, k): conv2d over a height of 1."""
    x, unbatched = _spatial_input("conv1d", input, dims=1)
    if not isinstance(weight, Tensor) or weight.ndim != 3:
        raise ShapeError(f"conv1d(): weight must be a 3-D Tensor (out_channels, in_channels / "
                         f"groups, k), got {getattr(weight, 'shape', weight)!r}")

    def single(v, name, minimum):
        return (1 if minimum else 0, _pair(v, name, "conv1d", minimum)[0])
    padding = padding if isinstance(padding, str) else single(padding, "padding", 0)
    out = conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, single(stride, "stride", 1),
                 padding, single(dilation, "dilation", 1), groups)
    return _finish(out.squeeze(2), unbatched)


# -------------------------------------------------------------------- pooling
def _pool_geometry(fn, x, kernel_size, stride, padding, dilation=1, ceil_mode=False):
    k = _pair(kernel_size, "kernel_size", fn, 1)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) \
        else _pair(stride, "stride", fn, 1)
    p = _pair(padding, "padding", fn, 0)
    d = _pair(dilation, "dilation", fn, 1)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"{fn}(): padding should be at most half of kernel size, but got "
                         f"padding {p} for kernel_size {k}")
    out = tuple(x._backend.pool_output_size(n, kk, ss, pp, dd, bool(ceil_mode))
                for n, kk, ss, pp, dd in zip(x.shape[2:], k, s, p, d))
    if min(out) < 1:
        raise ShapeError(f"{fn}(): given input of shape {tuple(x.shape)}, kernel_size {k}, "
                         f"stride {s}, padding {p}, dilation {d}: the calculated output size "
                         f"{out} is too small")
    return k, s, p, d


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over (dilated) windows; padding counts as -inf. With return_indices
    also the int64 argmax of each window as a flat index h * W + w."""
    x, unbatched = _spatial_input("max_pool2d", input)
    k, s, p, d = _pool_geometry("max_pool2d", x, kernel_size, stride, padding, dilation,
                                ceil_mode)
    out, indices = P.max_pool2d(x, k, s, p, d, bool(ceil_mode))
    out = _finish(out, unbatched)
    if return_indices:
        return out, _finish(Tensor._make(indices, x._backend, None), unbatched)
    return out


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    x, unbatched = _spatial_input("avg_pool2d", input)
    k, s, p, _ = _pool_geometry("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and (not _is_int(divisor_override) or divisor_override == 0):
        raise ValueError(f"avg_pool2d(): divisor_override must be a non-zero int, got "
                         f"{divisor_override!r}")
    out = P.AvgPool2d.apply(x, kernel_size=k, stride=s, padding=p, ceil_mode=bool(ceil_mode),
                            count_include_pad=bool(count_include_pad),
                            divisor_override=divisor_override)
    return _finish(out, unbatched)


def _adaptive_size(fn, x, output_size):
    """output_size: an int or a pair whose None entries keep the input's size."""
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if len(sizes) != 2:
        raise TypeError(f"{fn}(): output_size must be an int or a pair, got {output_size!r}")
    sizes = tuple(n if s is None else s for s, n in zip(sizes, x.shape[2:]))
    if not all(_is_int(s) and s >= 1 for s in sizes):
        raise ValueError(f"{fn}(): output_size must hold positive ints, got {output_size!r}")
    if min(x.shape[2:]) < 1:
        raise ShapeError(f"{fn}(): input of shape {tuple(x.shape)} has an empty spatial dim")
    return int(sizes[0]), int(sizes[1])


def adaptive_avg_pool2d(input, output_size):
    """Average over PyTorch's adaptive windows: output row i covers input rows
    floor(i * H / OH) to ceil((i + 1) * H / OH)."""
    x, unbatched = _spatial_input("adaptive_avg_pool2d", input)
    size = _adaptive_size("adaptive_avg_pool2d", x, output_size)
    return _finish(P.AdaptiveAvgPool2d.apply(x, output_size=size), unbatched)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    x, unbatched = _spatial_input("adaptive_max_pool2d", input)
    size = _adaptive_size("adaptive_max_pool2d", x, output_size)
    out, indices = P.adaptive_max_pool2d(x, size)
    out = _finish(out, unbatched)
    if return_indices:
        return out, _finish(Tensor._make(indices, x._backend, None), unbatched)
    return out


# -------------------------------------------------------------------- padding
_INDEX_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(input, pad, mode="constant", value=None):
    """Pad the last len(pad) // 2 dims: pad = (last_lo, last_hi, prev_lo,
    prev_hi, ...); negative amounts crop. Modes: constant (value, default
    0), reflect, replicate, circular."""
    if not isinstance(input, Tensor):
        raise TypeError(f"pad(): input must be a Tensor, got {type(input).__name__}")
    amounts = tuple(pad)
    if not all(_is_int(a) for a in amounts):
        raise TypeError(f"pad(): pad must be a sequence of ints, got {pad!r}")
    if len(amounts) % 2:
        raise ValueError(f"pad(): padding length must be divisible by 2, got {len(amounts)}")
    k = len(amounts) // 2
    if k > input.ndim:
        raise ShapeError(f"pad(): padding length should be less than or equal to two times the "
                         f"input dimension, but got padding length {len(amounts)} and input of "
                         f"shape {tuple(input.shape)}")
    pairs = [(0, 0)] * (input.ndim - k) + [(int(amounts[2 * i]), int(amounts[2 * i + 1]))
                                           for i in reversed(range(k))]
    for axis, ((lo, hi), n) in enumerate(zip(pairs, input.shape)):
        if n + lo + hi < 0:
            raise ShapeError(f"pad(): the input size {n} at dim {axis}, plus negative padding "
                             f"({lo}, {hi}), gives a negative output size (input shape "
                             f"{tuple(input.shape)})")
    if mode == "constant":
        return Pad.apply(input, pads=pairs, value=0 if value is None else value)
    if mode not in _INDEX_MODES:
        raise ValueError(f"pad(): mode must be 'constant', 'reflect', 'replicate' or "
                         f"'circular', got {mode!r}")
    if value not in (None, 0):
        raise ValueError(f"pad(): padding mode {mode!r} doesn't take a fill value, got {value!r}")
    if not 1 <= k <= 3 or input.ndim not in (k + 1, k + 2):
        raise ShapeError(f"pad(): {mode} padding of the last {k} dims needs a {k + 1}D or "
                         f"{k + 2}D input, got shape {tuple(input.shape)}")
    return _index_pad(input, pairs[-k:], mode)


def _index_pad(input, pairs, mode):
    """Non-constant padding as one gather: for each padded axis the source
    index of every output position (NumPy's pad of an arange), crossed
    over the axes; the gather's gradient scatter-adds back. Negative amounts
    crop: circular padding wraps the cropped part, the other modes pad the
    whole axis first (PyTorch's order)."""
    xp = input._backend.xp
    k = len(pairs)
    key = []
    for i, ((lo, hi), n) in enumerate(zip(pairs, input.shape[-k:])):
        index = xp.arange(n)
        if mode == "circular":
            index = index[max(-lo, 0):n - max(-hi, 0)]
        m = index.shape[0]
        limit = {"circular": m, "reflect": n - 1}.get(mode, m)
        if m == 0 or max(lo, hi) > limit:
            raise ShapeError(f"pad(): {mode} padding ({lo}, {hi}) is too large for size {n} "
                             f"of dim {input.ndim - k + i} (input shape {tuple(input.shape)})")
        index = xp.pad(index, (max(lo, 0), max(hi, 0)), mode=_INDEX_MODES[mode])
        if mode != "circular":
            index = index[max(-lo, 0):index.shape[0] - max(-hi, 0)]
        key.append(index.reshape((-1,) + (1,) * (k - 1 - i)))
    return input[(Ellipsis,) + tuple(key)]
