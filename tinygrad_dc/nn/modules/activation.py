"""Activation layers: thin modules over `nn.functional`, with PyTorch's
constructor arguments and reprs."""
from ...creation import full
from ...tensor import ShapeError, where
from .. import functional as F
from .. import init as _init
from ..module import Module
from ..parameter import Parameter

__all__ = ["Threshold", "ReLU", "ReLU6", "Hardtanh", "LeakyReLU", "PReLU", "GELU", "SiLU",
           "Mish", "Sigmoid", "Tanh", "ELU", "CELU", "SELU", "Softplus", "Hardsigmoid",
           "Hardswish", "LogSigmoid", "Softsign", "Tanhshrink", "GLU", "Softmax", "Softmin",
           "LogSoftmax"]


def _inplace_repr(inplace, leading=""):
    return leading + "inplace=True" if inplace else ""


class _Pointwise(Module):
    """An activation without settings: forward is one F function."""
    _fn = None

    def forward(self, input):
        return type(self)._fn(input)


class _PointwiseInplace(Module):
    """An activation whose only setting is `inplace`."""
    _fn = None

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return type(self)._fn(input, inplace=self.inplace)

    def extra_repr(self):
        return _inplace_repr(self.inplace)


class ReLU(_PointwiseInplace):
    _fn = F.relu


class SiLU(_PointwiseInplace):
    _fn = F.silu


class Mish(_PointwiseInplace):
    _fn = F.mish


class SELU(_PointwiseInplace):
    _fn = F.selu


class Hardsigmoid(_PointwiseInplace):
    _fn = F.hardsigmoid

    def extra_repr(self):
        return ""


class Hardswish(_PointwiseInplace):
    _fn = F.hardswish

    def extra_repr(self):
        return ""


class Sigmoid(_Pointwise):
    _fn = F.sigmoid


class Tanh(_Pointwise):
    _fn = F.tanh


class LogSigmoid(_Pointwise):
    _fn = F.logsigmoid


class Softsign(_Pointwise):
    _fn = F.softsign


class Tanhshrink(_Pointwise):
    _fn = F.tanhshrink


class Threshold(Module):
    """y = x if x > threshold else value."""

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def forward(self, input):
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}{_inplace_repr(self.inplace, ', ')}"


class Hardtanh(Module):
    """x clamped to [min_val, max_val]."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) cannot be greater than max_val "
                             f"({max_val})")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_repr(self.inplace, ', ')}"


class ReLU6(Hardtanh):
    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return _inplace_repr(self.inplace)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}{_inplace_repr(self.inplace, ', ')}"


class PReLU(Module):
    """Leaky ReLU with a learned slope: one shared, or one per channel (dim 1)."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(full((num_parameters,), init, device=device, dtype=dtype))

    def reset_parameters(self):
        _init.constant_(self.weight, self.init)

    def forward(self, input):
        weight = self.weight
        if self.num_parameters != 1:
            # the channel dim is dim 1; inputs with fewer dims have one channel
            if input.ndim < 2 or input.shape[1] != self.num_parameters:
                raise ShapeError(f"PReLU: {self.num_parameters} parameters need an input with "
                                 f"{self.num_parameters} channels in dim 1, got shape "
                                 f"{tuple(input.shape)}")
            weight = weight.reshape((self.num_parameters,) + (1,) * (input.ndim - 2))
        return where(input >= 0, input, weight * input)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class GELU(Module):
    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class ELU(Module):
    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input):
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}{_inplace_repr(self.inplace, ', ')}"


class CELU(ELU):
    def forward(self, input):
        return F.celu(input, self.alpha, self.inplace)


class Softplus(Module):
    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class _DimModule(Module):
    """A function applied along one dim (softmax family, GLU)."""
    _fn = None

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return type(self)._fn(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_DimModule):
    _fn = F.softmax


class Softmin(_DimModule):
    _fn = F.softmin


class LogSoftmax(_DimModule):
    _fn = F.log_softmax


class GLU(_DimModule):
    _fn = F.glu

    def __init__(self, dim=-1):
        super().__init__(dim)
