"""Recurrent layers and cells against PyTorch: state_dict keys, shapes and
default initialisation; outputs, final states and every gradient (input,
initial states, each parameter) with torch's weights loaded, in float64;
finite-difference checks of the layers, the cells and the fused loop ops;
inter-layer dropout; errors at the door."""
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import tinygrad_dc as tg
from tinygrad_dc.nn.modules import rnn as R
from tinygrad_dc.ops.rnn import GRUSequence, LSTMSequence, RNNSequence
from utils import assert_close

KINDS = ["RNN", "LSTM", "GRU"]


def make_pair(kind, dtype="float64", **kw):
    """The same layer in both libraries, ours holding torch's parameters."""
    theirs = getattr(torch.nn, kind)(**kw)
    ours = getattr(R, kind)(**kw)
    if dtype == "float64":
        theirs.double(), ours.double()
    result = ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert not result.missing_keys and not result.unexpected_keys
    return ours, theirs


def flat(result):
    """(output, h) or (output, (h, c)) as a flat list; a cell's h or (h, c) too."""
    if not isinstance(result, tuple):
        return [result]
    out = []
    for r in result:
        out += list(r) if isinstance(r, tuple) else [r]
    return out


def hidden_arg(kind, arrays, lib):
    """hx in the form each library's layer takes: h, or (h, c) for LSTM."""
    if arrays is None:
        return None
    make = (lambda a: tg.tensor(a, requires_grad=True)) if lib == "ours" else \
        (lambda a: torch.tensor(a, requires_grad=True))
    tensors = [make(a) for a in arrays]
    return tuple(tensors) if kind in ("LSTM", "LSTMCell") else tensors[0]


def compare(ours, theirs, x, hx, kind, dtype="float64", rtol=None, atol=None, upstream=None):
    """Forward and backward through both; compare outputs, final states,
    gradients of input, initial states and every parameter."""
    rng = np.random.default_rng(7)
    xo, xt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ho, ht = hidden_arg(kind, hx, "ours"), hidden_arg(kind, hx, "torch")
    outs_o, outs_t = flat(ours(xo, ho)), flat(theirs(xt, ht))
    assert len(outs_o) == len(outs_t)
    for a, b in zip(outs_o, outs_t):
        assert tuple(a.shape) == tuple(b.shape)
        assert_close(a, b, dtype, rtol, atol)
    used = upstream if upstream is not None else range(len(outs_t))
    loss_o, loss_t = 0, 0
    for k in used:
        u = rng.standard_normal(tuple(outs_t[k].shape)).astype(dtype)
        loss_o = loss_o + (outs_o[k] * tg.tensor(u)).sum()
        loss_t = loss_t + (outs_t[k] * torch.tensor(u)).sum()
    loss_o.backward()
    loss_t.backward()
    assert_close(xo.grad, xt.grad, dtype, rtol, atol)
    for a, b in zip(flat(ho) if hx is not None else (), flat(ht) if hx is not None else ()):
        assert_close(a.grad, b.grad, dtype, rtol, atol)
    named_t = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert p.grad is not None, name
        assert_close(p.grad, named_t[name].grad, dtype, rtol, atol)


@st.composite
def layer_configs(draw, kinds=KINDS):
    kind = draw(st.sampled_from(kinds))
    kw = dict(input_size=draw(st.integers(1, 4)), hidden_size=draw(st.integers(1, 4)),
              num_layers=draw(st.integers(1, 2)), bias=draw(st.booleans()),
              batch_first=draw(st.booleans()), bidirectional=draw(st.booleans()))
    if kind == "RNN":
        kw["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
    seq, batch = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    batched = draw(st.booleans())
    with_hx = draw(st.booleans())
    seed = draw(st.integers(0, 2 ** 16))
    return kind, kw, seq, batch, batched, with_hx, seed


def layer_inputs(kind, kw, seq, batch, batched, with_hx, seed):
    rng = np.random.default_rng(seed)
    if batched:
        shape = (batch, seq, kw["input_size"]) if kw["batch_first"] else \
            (seq, batch, kw["input_size"])
    else:
        shape = (seq, kw["input_size"])
    x = rng.standard_normal(shape)
    hx = None
    if with_hx:
        states = kw["num_layers"] * (2 if kw["bidirectional"] else 1)
        hshape = (states, batch, kw["hidden_size"]) if batched else (states, kw["hidden_size"])
        hx = [rng.standard_normal(hshape) for _ in range(2 if kind == "LSTM" else 1)]
    return x, hx


# ------------------------------------------------------- names, shapes, init
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("num_layers,bidirectional,bias",
                         [(1, False, True), (2, True, True), (3, True, False)])
def test_state_dict_keys_shapes_and_repr_match_torch(kind, num_layers, bidirectional, bias):
    kw = dict(input_size=5, hidden_size=3, num_layers=num_layers, bidirectional=bidirectional,
              bias=bias, batch_first=True)
    ours, theirs = getattr(R, kind)(**kw), getattr(torch.nn, kind)(**kw)
    sd_o, sd_t = ours.state_dict(), theirs.state_dict()
    assert list(sd_o) == list(sd_t)
    for k in sd_t:
        assert tuple(sd_o[k].shape) == tuple(sd_t[k].shape), k
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert repr(ours) == repr(theirs)
    assert [[p.shape for p in ws] for ws in ours.all_weights] == \
        [[tuple(p.shape) for p in ws] for ws in theirs.all_weights]
    ours.flatten_parameters()  # exists, does nothing


@pytest.mark.parametrize("make", [
    lambda n: n.RNNCell(4, 3), lambda n: n.RNNCell(4, 3, bias=False, nonlinearity="relu"),
    lambda n: n.LSTMCell(4, 3), lambda n: n.GRUCell(2, 5, bias=False)])
def test_cell_state_dict_and_repr_match_torch(make):
    ours, theirs = make(R), make(torch.nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        assert tuple(ours.state_dict()[k].shape) == tuple(v.shape)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("make", [lambda: R.LSTM(6, 16, num_layers=2, bidirectional=True),
                                  lambda: R.GRU(3, 25), lambda: R.RNN(4, 9, bias=False),
                                  lambda: R.LSTMCell(3, 16), lambda: R.GRUCell(5, 4)])
def test_default_init_is_uniform_within_one_over_sqrt_hidden(make):
    tg.manual_seed(0)
    layer = make()
    bound = 1 / math.sqrt(layer.hidden_size)
    values = np.concatenate([p.numpy().ravel() for p in layer.parameters()])
    assert np.all(np.abs(values) <= bound)
    assert values.max() > 0.9 * bound and values.min() < -0.9 * bound
    assert abs(values.mean()) < 0.1 * bound
    assert abs(values.std() - bound / math.sqrt(3)) < 0.1 * bound  # the std of U(-b, b)
    assert all(p.dtype is tg.float32 for p in layer.parameters())


# ------------------------------------------------------------ torch parity
@given(layer_configs())
def test_layer_matches_torch_float64(config):
    kind, kw, *shape = config
    x, hx = layer_inputs(kind, kw, *shape)
    ours, theirs = make_pair(kind, **kw)
    compare(ours, theirs, x, hx, kind)


@pytest.mark.parametrize("kind", KINDS)
def test_gradient_through_final_state_only_matches_torch(kind):
    # the text classifier's use: only h_n (both directions) feeds the head
    ours, theirs = make_pair(kind, input_size=3, hidden_size=4, num_layers=2,
                             bidirectional=True, batch_first=True)
    x = np.random.default_rng(1).standard_normal((2, 6, 3))
    compare(ours, theirs, x, None, kind, upstream=[1])


@pytest.mark.parametrize("kind", KINDS)
def test_layer_matches_torch_float32(kind):
    ours, theirs = make_pair(kind, dtype="float32", input_size=5, hidden_size=6, num_layers=2,
                             bidirectional=True)
    x = np.random.default_rng(2).standard_normal((7, 3, 5)).astype(np.float32)
    compare(ours, theirs, x, None, kind, dtype="float32", rtol=1e-4, atol=1e-5)
    out, _ = ours(tg.tensor(x))
    assert out.dtype is tg.float32


@st.composite
def cell_configs(draw):
    kind = draw(st.sampled_from(["RNNCell", "LSTMCell", "GRUCell"]))
    kw = dict(input_size=draw(st.integers(1, 4)), hidden_size=draw(st.integers(1, 4)),
              bias=draw(st.booleans()))
    if kind == "RNNCell":
        kw["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
    batch = draw(st.sampled_from([None, 1, 2, 3]))  # None: unbatched
    return kind, kw, batch, draw(st.booleans()), draw(st.integers(0, 2 ** 16))


def cell_inputs(kind, kw, batch, with_hx, seed):
    rng = np.random.default_rng(seed)
    lead = () if batch is None else (batch,)
    x = rng.standard_normal(lead + (kw["input_size"],))
    hx = [rng.standard_normal(lead + (kw["hidden_size"],))
          for _ in range(2 if kind == "LSTMCell" else 1)] if with_hx else None
    return x, hx


@given(cell_configs())
def test_cell_matches_torch_float64(config):
    kind, kw, batch, with_hx, seed = config
    x, hx = cell_inputs(kind, kw, batch, with_hx, seed)
    ours, theirs = make_pair(kind, **kw)
    compare(ours, theirs, x, hx, kind)


@pytest.mark.parametrize("kind", KINDS)
def test_cell_loop_equals_layer(kind):
    """Unrolling a cell by hand gives the one-layer layer's outputs."""
    layer = getattr(R, kind)(3, 4).double()
    cell = getattr(R, kind + "Cell")(3, 4).double()
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = tg.tensor(np.random.default_rng(3).standard_normal((5, 2, 3)))
    out, hidden = layer(x)
    state = None
    for t in range(5):
        state = cell(x[t], state)
        h = state[0] if kind == "LSTM" else state
        assert_close(h, out[t])
    assert_close(flat(state)[0], flat(hidden)[0][0])


# --------------------------------------------------------------- dropout
@pytest.mark.parametrize("kind", KINDS)
def test_dropout_between_layers_in_training_only(kind):
    ours, theirs = make_pair(kind, input_size=3, hidden_size=8, num_layers=3, dropout=0.5)
    x = np.random.default_rng(4).standard_normal((4, 2, 3))
    ours.eval(), theirs.eval()
    compare(ours, theirs, x, None, kind)  # eval: no dropout, same as torch
    ours.train()
    tg.manual_seed(0)
    a = ours(tg.tensor(x))[0].numpy()
    tg.manual_seed(1)
    b = ours(tg.tensor(x))[0].numpy()
    assert not np.allclose(a, b)
    # the last layer's output is not dropped: no exact zeros from a mask
    assert np.count_nonzero(a == 0) == 0
    # p = 1 drops the input of layers 2 and 3 entirely: the output ignores x
    ones, _ = make_pair(kind, input_size=3, hidden_size=8, num_layers=2, dropout=1.0)
    y1, y2 = ones(tg.tensor(x))[0], ones(tg.tensor(2 * x))[0]
    assert_close(y1, y2)


def test_dropout_with_one_layer_warns_like_torch():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        R.LSTM(3, 4, dropout=0.2)


# ----------------------------------------------------- finite differences
def layer_gradcheck(layer, x, hx, kind):
    """gradcheck over the input, the initial states and every parameter;
    small tensors element by element, larger ones along a random direction."""
    layer.double()
    xs = [tg.tensor(x, requires_grad=True)]
    n_states = 0 if hx is None else len(hx)
    xs += [tg.tensor(h, requires_grad=True) for h in (hx or ())]
    params = list(layer.parameters())

    def fn(*args):
        states = args[1:1 + n_states]
        h = None if not states else (tuple(states) if kind in ("LSTM", "LSTMCell") else states[0])
        return tuple(flat(layer(args[0], h)))
    assert tg.autograd.gradcheck(fn, tuple(xs) + tuple(params), atol=1e-6, rtol=1e-4,
                                 max_full_elements=24)


@given(layer_configs())
def test_layer_gradcheck(config):
    kind, kw, *shape = config
    x, hx = layer_inputs(kind, kw, *shape)
    if kw.get("nonlinearity") == "relu":
        x = np.where(np.abs(x) < 0.05, 0.5, x)
    layer_gradcheck(getattr(R, kind)(**kw), x, hx, kind)


@given(cell_configs())
def test_cell_gradcheck(config):
    kind, kw, batch, with_hx, seed = config
    x, hx = cell_inputs(kind, kw, batch, with_hx, seed)
    layer_gradcheck(getattr(R, kind)(**kw), x, hx, kind)


@given(kind=st.sampled_from(["tanh", "relu", "LSTM", "GRU"]), seq=st.integers(1, 4),
       batch=st.integers(1, 3), hidden=st.integers(1, 3), bias=st.booleans(),
       reverse=st.booleans(), used=st.sampled_from(["all", "sequence", "final"]),
       seed=st.integers(0, 2 ** 16))
def test_fused_loop_op_gradcheck(kind, seq, batch, hidden, bias, reverse, used, seed):
    rng = np.random.default_rng(seed)
    gates = {"LSTM": 4, "GRU": 3}.get(kind, 1) * hidden
    arrays = [rng.standard_normal((seq, batch, gates)), rng.standard_normal((gates, hidden)),
              rng.standard_normal((batch, hidden))]
    if kind == "LSTM":
        arrays.append(rng.standard_normal((batch, hidden)))
    if bias:
        arrays.append(rng.standard_normal(gates))
    tensors = tuple(tg.tensor(a, requires_grad=True) for a in arrays)
    op = {"LSTM": LSTMSequence, "GRU": GRUSequence}.get(kind, RNNSequence)
    params = {} if kind in ("LSTM", "GRU") else {"nonlinearity": kind}

    def fn(*args):
        outs = op.apply(*args, reverse=reverse, **params)
        # an output nobody uses reaches backward as None
        return {"all": outs, "sequence": outs[:1], "final": outs[1:]}[used]
    assert tg.autograd.gradcheck(fn, tensors, atol=1e-6, rtol=1e-4)


# ------------------------------------------------------------ behaviour
def test_no_graph_under_no_grad_and_grad_flows_otherwise():
    lstm = R.LSTM(3, 4)
    x = tg.randn(5, 2, 3)
    with tg.no_grad():
        out, (h, c) = lstm(x)
    assert not out.requires_grad and not h.requires_grad and not c.requires_grad
    out, (h, c) = lstm(x)
    assert out.requires_grad and h.requires_grad and c.requires_grad
    h.sum().backward()
    assert all(p.grad is not None for p in lstm.parameters())


@pytest.mark.parametrize("kind", KINDS)
def test_frozen_parameters_get_no_grad_and_input_grad_still_matches(kind):
    ours, theirs = make_pair(kind, input_size=3, hidden_size=2, bidirectional=True)
    ours.requires_grad_(False), theirs.requires_grad_(False)
    x = np.random.default_rng(5).standard_normal((4, 2, 3))
    xo, xt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    flat(ours(xo))[1].sum().backward()
    flat(theirs(xt))[1].sum().backward()
    assert_close(xo.grad, xt.grad)
    assert all(p.grad is None for p in ours.parameters())


def test_in_place_change_of_saved_output_is_refused():
    gru = R.GRU(2, 3)
    out, _ = gru(tg.randn(4, 1, 2))
    with tg.no_grad():
        out.mul_(2)  # the loop op's backward reads these hidden states
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        out.sum().backward()


def test_module_conversion_keeps_working():
    gru = R.GRU(2, 3, num_layers=2, bidirectional=True)
    gru.double()
    out, h = gru(tg.randn(4, 1, 2, dtype=tg.float64))
    assert out.dtype is tg.float64 and h.shape == (4, 1, 3)


def test_bilstm_classifier_learns():
    """A bidirectional LSTM whose final states decide whether a sequence's
    running sum ends positive: the loss falls with Adam."""
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 12, 2)).astype(np.float32)
    y = (x[:, :, 0].sum(1) > 0).astype(np.float32)
    lstm = R.LSTM(2, 8, batch_first=True, bidirectional=True)
    head = tg.nn.Linear(16, 1)
    opt = tg.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=0.03)
    losses = []
    for _ in range(40):
        _, (h, _) = lstm(tg.tensor(x))
        logits = head(tg.cat([h[0], h[1]], dim=1)).squeeze(1)
        loss = tg.nn.functional.binary_cross_entropy_with_logits(logits, tg.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# ---------------------------------------------------------------- errors
def test_layer_errors_name_the_shapes():
    lstm = R.LSTM(3, 4, num_layers=2)
    with pytest.raises(tg.ShapeError, match=r"Expected 3, got 6 \(input shape \(5, 2, 6\)\)"):
        lstm(tg.randn(5, 2, 6))
    with pytest.raises(tg.ShapeError, match=r"Expected input to be 2D or 3D, got 4D"):
        lstm(tg.randn(5, 2, 3, 1))
    with pytest.raises(tg.ShapeError, match="sequence length"):
        lstm(tg.randn(0, 2, 3))
    h, c = tg.zeros(2, 2, 4), tg.zeros(2, 2, 4)
    with pytest.raises(tg.ShapeError,
                       match=r"Expected hidden\[0\] size \(2, 3, 4\), got \[2, 2, 4\]"):
        lstm(tg.randn(5, 3, 3), (h, c))
    with pytest.raises(tg.ShapeError,
                       match=r"Expected hidden\[1\] size \(2, 2, 4\), got \[2, 2, 5\]"):
        lstm(tg.randn(5, 2, 3), (h, tg.zeros(2, 2, 5)))
    with pytest.raises(tg.ShapeError, match=r"hx and cx should also be 3-D but got \(2-D, 3-D\)"):
        lstm(tg.randn(5, 2, 3), (tg.zeros(2, 4), c))
    with pytest.raises(TypeError, match=r"tuple \(h_0, c_0\)"):
        lstm(tg.randn(5, 2, 3), h)
    with pytest.raises(ValueError, match=r"input dtype \(float64\) does not match weight dtype"):
        lstm(tg.randn(5, 2, 3, dtype=tg.float64))
    gru = R.GRU(3, 4, batch_first=True)
    with pytest.raises(tg.ShapeError, match=r"Expected hidden size \(1, 2, 4\), got \[1, 5, 4\]"):
        gru(tg.randn(2, 7, 3), tg.zeros(1, 5, 4))
    with pytest.raises(tg.ShapeError, match="For unbatched 2-D input, hx should also be 2-D but "
                                            "got 3-D tensor"):
        gru(tg.randn(7, 3), tg.zeros(1, 1, 4))
    with pytest.raises(tg.ShapeError, match="For batched 3-D input, hx should also be 3-D"):
        R.RNN(3, 4)(tg.randn(7, 2, 3), tg.zeros(2, 4))
    with pytest.raises(ValueError, match=r"hidden dtype \(float64\) does not match input"):
        R.RNN(3, 4)(tg.randn(7, 2, 3), tg.zeros(1, 2, 4, dtype=tg.float64))


def test_cell_errors_name_the_shapes():
    cell = R.LSTMCell(3, 4)
    with pytest.raises(tg.ShapeError,
                       match=r"input_size: got 5 expected 3 \(input shape \(2, 5\)\)"):
        cell(tg.randn(2, 5))
    with pytest.raises(tg.ShapeError,
                       match=r"Input batch size 2 doesn't match hidden0 batch size 3"):
        cell(tg.randn(2, 3), (tg.zeros(3, 4), tg.zeros(3, 4)))
    with pytest.raises(tg.ShapeError, match=r"hidden1 has inconsistent hidden_size: got 5, "
                                            r"expected 4 \(hidden1 shape \(2, 5\)\)"):
        cell(tg.randn(2, 3), (tg.zeros(2, 4), tg.zeros(2, 5)))
    with pytest.raises(tg.ShapeError, match=r"Expected input to be 1D or 2D, got 3D"):
        cell(tg.randn(1, 2, 3))
    with pytest.raises(tg.ShapeError, match=r"Expected hidden to be 1D like the input"):
        R.GRUCell(3, 4)(tg.randn(3), tg.zeros(1, 4))
    with pytest.raises(TypeError, match=r"tuple \(h_0, c_0\)"):
        cell(tg.randn(2, 3), tg.zeros(2, 4))


def test_constructor_errors_match_torch():
    with pytest.raises(ValueError, match=r"dropout should be a number in range \[0, 1\]"):
        R.LSTM(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'"):
        R.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        R.GRU(3, 0)
    with pytest.raises(ValueError, match="num_layers must be greater than zero"):
        R.GRU(3, 2, num_layers=0)
    with pytest.raises(TypeError, match="batch_first should be of type bool"):
        R.LSTM(3, 2, batch_first=1)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        R.GRU(3, 4, proj_size=2)
    with pytest.raises(NotImplementedError, match="proj_size"):
        R.LSTM(3, 4, proj_size=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        R.RNN(3, 4, 2, "relu", dropout=0.3)  # nonlinearity positionally, as torch
