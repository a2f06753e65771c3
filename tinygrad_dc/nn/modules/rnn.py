"""Recurrent layers (RNN, LSTM, GRU) and their cells, as PyTorch has them.

Parameter names, shapes, registration order (hence state_dict keys),
defaults and initialisation (every parameter U(-1/sqrt(hidden), 1/sqrt(hidden)))
are PyTorch's, so a torch state_dict loads and gives the same outputs. So are
the call conventions: `forward(input, hx=None)` takes (L, N, H_in), or
(N, L, H_in) with batch_first, or unbatched (L, H_in), and returns
`(output, h_n)` (LSTM: `(output, (h_n, c_n))`).

Each layer and direction is two ops: the input projection of all time steps
at once (one matmul) and the recurrent loop, which runs as one op on raw
arrays (see ops/rnn.py) instead of a dozen graph nodes per time step.
PackedSequence inputs and LSTM projections (proj_size > 0) are not supported.
"""
import math
import numbers
import warnings

from ...creation import empty, zeros
from ...ops.rnn import GRUSequence, LSTMSequence, RNNSequence
from ...tensor import ShapeError, Tensor, cat, stack
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _recurrence(mode, xg, w_hh, b_hh, state, reverse):
    """Run one layer in one direction over projected inputs xg (L, N, G) from
    `state` (h, or (h, c) for the LSTM); returns (outputs (L, N, H), final
    state of the same structure)."""
    bias = () if b_hh is None else (b_hh,)
    if mode == "LSTM":
        out, h, c = LSTMSequence.apply(xg, w_hh, state[0], state[1], *bias, reverse=reverse)
        return out, (h, c)
    if mode == "GRU":
        out, h = GRUSequence.apply(xg, w_hh, state, *bias, reverse=reverse)
        return out, h
    nonlinearity = "tanh" if mode == "RNN_TANH" else "relu"
    out, h = RNNSequence.apply(xg, w_hh, state, *bias, nonlinearity=nonlinearity,
                               reverse=reverse)
    return out, h


def _check_tensor(owner, name, value):
    if not isinstance(value, Tensor):
        raise TypeError(f"{owner}: {name} must be a Tensor, got {type(value).__name__}")


def _check_dtype(owner, input, weight, hidden=()):
    if input.dtype != weight.dtype:
        raise ValueError(f"{owner}: input dtype ({input.dtype.name}) does not match weight dtype "
                         f"({weight.dtype.name}). Convert input: input.to({weight.dtype.name}), "
                         f"or convert model: model.to({input.dtype.name})")
    for name, h in hidden:
        if h.dtype != input.dtype:
            raise ValueError(f"{owner}: {name} dtype ({h.dtype.name}) does not match input "
                             f"dtype ({input.dtype.name})")


class RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters of every layer and
    direction, and the loop over them. `mode` is 'RNN_TANH', 'RNN_RELU',
    'LSTM' or 'GRU'."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None):
        super().__init__()
        # every argument checked before anything is built (PyTorch's messages)
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + str(mode))
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) \
                or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        for name, value in (("bias", bias), ("batch_first", batch_first),
                            ("bidirectional", bidirectional)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("num_layers", num_layers)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
            if value <= 0:
                raise ValueError(f"{name} must be greater than zero")
        if proj_size != 0:
            raise NotImplementedError("LSTM projections (proj_size > 0) are not supported; "
                                      "use proj_size=0")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)

        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1

        # registered in PyTorch's order, which is also the state_dict's
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            layer_input_size = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih", (gate_size, layer_input_size)),
                          ("weight_hh", (gate_size, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                names = []
                for kind, shape in shapes:
                    name = f"{kind}_l{layer}{suffix}"
                    setattr(self, name, Parameter(empty(shape, device=device, dtype=dtype)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self):
        """A no-op, kept so that ports calling it run unchanged (PyTorch
        compacts the weights for cuDNN here)."""

    @property
    def all_weights(self):
        """The parameters per layer and direction: [[w_ih, w_hh, b_ih, b_hh], ...]."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    @property
    def _num_directions(self):
        return 2 if self.bidirectional else 1

    def _layer_params(self, index):
        """(w_ih, w_hh, b_ih, b_hh) of layer-direction `index` (biases None without bias)."""
        params = self.all_weights[index]
        return tuple(params) if self.bias else (params[0], params[1], None, None)

    # ------------------------------------------------------------ forward
    def _name(self):
        return "RNN" if self.mode.startswith("RNN") else self.mode

    def _check_input(self, input):
        name = self._name()
        _check_tensor(name, "input", input)
        if input.ndim not in (2, 3):
            raise ShapeError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D tensor "
                             f"instead (input shape {tuple(input.shape)})")
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: input.size(-1) must be equal to input_size. Expected "
                             f"{self.input_size}, got {input.shape[-1]} (input shape "
                             f"{tuple(input.shape)})")
        time_dim = 1 if self.batch_first and input.ndim == 3 else 0
        if input.shape[time_dim] == 0:
            raise ShapeError(f"{name}: Expected sequence length to be larger than 0 in RNN "
                             f"(input shape {tuple(input.shape)})")
        _check_dtype(name, input, self.weight_ih_l0)

    def _initial_states(self, hx, input, is_batched):
        """The initial states as a tuple of (num_layers * directions, N, H)
        tensors: (h0,) or, for the LSTM, (h0, c0). Checked against the input."""
        name = self._name()
        batch = input.shape[0] if self.batch_first else input.shape[1]
        expected = (self.num_layers * self._num_directions, batch, self.hidden_size)
        if hx is None:
            h = zeros(expected, dtype=input.dtype, device=input.device)
            return (h, h) if self.mode == "LSTM" else (h,)
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"LSTM: hx must be a tuple (h_0, c_0) of two tensors, got "
                                f"{type(hx).__name__}")
            states = tuple(hx)
            labels = ("hidden[0]", "hidden[1]")
        else:
            states, labels = (hx,), ("hidden",)
        for s in states:
            _check_tensor(name, "hx", s)
        dims = tuple(s.ndim for s in states)
        want = 3 if is_batched else 2
        if any(d != want for d in dims):
            kind = "batched 3-D" if is_batched else "unbatched 2-D"
            what = "hx and cx" if self.mode == "LSTM" else "hx"
            got = f"({', '.join(f'{d}-D' for d in dims)}) tensors" if self.mode == "LSTM" \
                else f"{dims[0]}-D tensor"
            raise ShapeError(f"For {kind} input, {what} should also be {want}-D but got {got}")
        if not is_batched:
            states = tuple(s.unsqueeze(1) for s in states)
        for s, label in zip(states, labels):
            if tuple(s.shape) != expected:
                raise ShapeError(f"{name}: Expected {label} size {expected}, got "
                                 f"{list(s.shape)}")
        _check_dtype(name, input, self.weight_ih_l0, zip(labels, states))
        return states

    def forward(self, input, hx=None):
        self._check_input(input)
        is_batched = input.ndim == 3
        batch_dim = 0 if self.batch_first else 1
        if not is_batched:
            input = input.unsqueeze(batch_dim)
        states = self._initial_states(hx, input, is_batched)
        lstm = self.mode == "LSTM"

        x = input.transpose(0, 1) if self.batch_first else input  # time-major from here
        directions = self._num_directions
        finals = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                w_ih, w_hh, b_ih, b_hh = self._layer_params(index)
                state = tuple(s[index] for s in states)
                xg = F.linear(x, w_ih, b_ih)  # all time steps in one matmul
                out, final = _recurrence(self.mode, xg, w_hh, b_hh,
                                         state if lstm else state[0], reverse=direction == 1)
                outputs.append(out)
                finals.append(final)
            x = outputs[0] if directions == 1 else cat(outputs, dim=2)
            if self.dropout > 0 and self.training and layer + 1 < self.num_layers:
                x = F.dropout(x, self.dropout, training=True)

        output = x.transpose(0, 1) if self.batch_first else x
        if lstm:
            hidden = (stack([f[0] for f in finals]), stack([f[1] for f in finals]))
        else:
            hidden = stack(finals)
        if not is_batched:
            output = output.squeeze(batch_dim)
            hidden = tuple(h.squeeze(1) for h in hidden) if lstm else hidden.squeeze(1)
        return output, hidden

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), or
    relu with nonlinearity='relu'.

    RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)"""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:  # nonlinearity is RNN's fourth positional argument
            nonlinearity, args = args[3], args[:3] + args[4:]
        else:
            nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             f"'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", *args, **kwargs)

    def extra_repr(self):
        s = super().extra_repr()
        return s + f", nonlinearity={self.nonlinearity}" if self.nonlinearity != "tanh" else s


class LSTM(RNNBase):
    """Long short-term memory, gates in PyTorch's order i, f, g, o:
    c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t).

    LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False); forward(input, (h_0, c_0)=None) ->
    (output, (h_n, c_n))."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit, gates in PyTorch's order r, z, n:
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h_t = (1 - z) * n + z * h_{t-1}.

    GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False)"""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# ---------------------------------------------------------------- cells
class RNNCellBase(Module):
    """One time step: weight_ih (chunks * hidden, input), weight_hh
    (chunks * hidden, hidden), bias_ih and bias_hh (chunks * hidden)."""
    _mode = None

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
            if value <= 0:
                raise ValueError(f"{name} must be greater than zero")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gates = num_chunks * hidden_size
        self.weight_ih = Parameter(empty((gates, input_size), device=device, dtype=dtype))
        self.weight_hh = Parameter(empty((gates, hidden_size), device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(gates, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(gates, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nonlinearity = self.__dict__.get("nonlinearity", "tanh")
        if nonlinearity != "tanh":
            s += f", nonlinearity={nonlinearity}"
        return s

    def _step(self, input, hx, n_states):
        """Check the call, run one step; returns the new states as a tuple."""
        name = type(self).__name__
        _check_tensor(name, "input", input)
        if input.ndim not in (1, 2):
            raise ShapeError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead "
                             f"(input shape {tuple(input.shape)})")
        if hx is not None:
            if n_states == 2 and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
                raise TypeError(f"{name}: hx must be a tuple (h_0, c_0) of two tensors, got "
                                f"{type(hx).__name__}")
            states = tuple(hx) if n_states == 2 else (hx,)
            for i, s in enumerate(states):
                _check_tensor(name, "hx", s)
                label = f"hx[{i}]" if n_states == 2 else "hidden"
                if s.ndim != input.ndim:
                    raise ShapeError(f"{name}: Expected {label} to be {input.ndim}D like the "
                                     f"input (shape {tuple(input.shape)}), got shape "
                                     f"{tuple(s.shape)}")
        is_batched = input.ndim == 2
        if not is_batched:
            input = input.unsqueeze(0)
        if input.shape[1] != self.input_size:
            raise ShapeError(f"{name}: input has inconsistent input_size: got {input.shape[1]} "
                             f"expected {self.input_size} (input shape {tuple(input.shape)})")
        batch = input.shape[0]
        if hx is None:
            h = zeros((batch, self.hidden_size), dtype=input.dtype, device=input.device)
            states = (h,) * n_states
        elif not is_batched:
            states = tuple(s.unsqueeze(0) for s in states)
        for i, s in enumerate(states):
            if s.shape[0] != batch:
                raise ShapeError(f"{name}: Input batch size {batch} doesn't match hidden{i} "
                                 f"batch size {s.shape[0]} (input shape {tuple(input.shape)}, "
                                 f"hidden{i} shape {tuple(s.shape)})")
            if s.shape[1] != self.hidden_size:
                raise ShapeError(f"{name}: hidden{i} has inconsistent hidden_size: got "
                                 f"{s.shape[1]}, expected {self.hidden_size} (hidden{i} shape "
                                 f"{tuple(s.shape)})")
        _check_dtype(name, input, self.weight_ih,
                     [(f"hidden{i}", s) for i, s in enumerate(states)] if hx is not None else ())

        xg = F.linear(input, self.weight_ih, self.bias_ih).unsqueeze(0)  # a sequence of one
        _, final = _recurrence(self._mode_name(), xg, self.weight_hh, self.bias_hh,
                               states if n_states == 2 else states[0], reverse=False)
        final = final if n_states == 2 else (final,)
        return final if is_batched else tuple(s.squeeze(0) for s in final)

    def _mode_name(self):
        return self._mode


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu).
    forward(input, hx=None) -> h'."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity

    def _mode_name(self):
        return "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"

    def forward(self, input, hx=None):
        return self._step(input, hx, 1)[0]


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o). forward(input, (h, c)=None) -> (h', c')."""
    _mode = "LSTM"

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._step(input, hx, 2)


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n). forward(input, hx=None) -> h'."""
    _mode = "GRU"

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._step(input, hx, 1)[0]
