"""Layers and loss modules against PyTorch: parameter names, shapes and
default initialisation, forward outputs and gradients (inputs and
parameters; float64 tight, float32 loose), running statistics, reprs, and
errors at the door."""
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import tinygrad_dc as tg
from tinygrad_dc import nn
from utils import assert_close, shapes

RNG = np.random.default_rng(0)
# torch's note that it copies the input for padding='same' with an even kernel
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")


def build(make, dtype="float64"):
    """The same layer in both libraries, ours holding torch's parameters."""
    ours, theirs = make(nn), make(torch.nn)
    if dtype == "float64":
        ours.double(), theirs.double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def layer_parity(make, *input_shapes, dtype="float64", train=True, inputs=None, grad=True,
                 rtol=None, atol=None):
    """Forward and backward through both layers on the same inputs; compare
    outputs, input gradients, parameter gradients and buffers."""
    ours, theirs = build(make, dtype)
    ours.train(train), theirs.train(train)
    arrays = inputs if inputs is not None else \
        [RNG.standard_normal(s).astype(dtype) for s in input_shapes]
    floats = [np.issubdtype(np.asarray(a).dtype, np.floating) for a in arrays]
    xo = [tg.tensor(a, requires_grad=grad and f) for a, f in zip(arrays, floats)]
    xt = [torch.tensor(a, requires_grad=grad and f) for a, f in zip(arrays, floats)]
    out_o, out_t = ours(*xo), theirs(*xt)
    assert tuple(out_o.shape) == tuple(out_t.shape)
    assert_close(out_o, out_t, dtype, rtol, atol)
    if grad:
        up = RNG.standard_normal(tuple(out_t.shape)).astype(dtype)
        out_o.backward(tg.tensor(up))
        out_t.backward(torch.tensor(up))
        for o, t in zip(xo, xt):
            if t.grad is not None:
                assert_close(o.grad, t.grad, dtype, rtol, atol)
        for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert (p.grad is None) == (q.grad is None), name
            if q.grad is not None:
                assert_close(p.grad, q.grad, dtype, rtol, atol)
    for (name, b), (_, c) in zip(ours.named_buffers(), theirs.named_buffers()):
        assert_close(b, c, dtype, rtol, atol)
    return ours, theirs


def check_layer_grad(layer, *arrays, atol=1e-6, rtol=1e-4):
    """Finite differences over the inputs and every parameter (float64)."""
    layer.double()
    xs = [tg.tensor(a, dtype=tg.float64, requires_grad=True) for a in arrays]
    params = list(layer.parameters())
    fn = lambda *args: layer(*args[:len(xs)])  # noqa: E731  (params are perturbed in place)
    assert tg.autograd.gradcheck(fn, tuple(xs) + tuple(params), atol=atol, rtol=rtol)


# ----------------------------------------------------------------- parity table
CASES = [
    ("linear", lambda n: n.Linear(4, 3), [(2, 5, 4)]),
    ("linear_nobias_1d", lambda n: n.Linear(4, 3, bias=False), [(4,)]),
    ("bilinear", lambda n: n.Bilinear(3, 4, 2), [(5, 3), (5, 4)]),
    ("bilinear_batched", lambda n: n.Bilinear(2, 3, 4, bias=False), [(2, 3, 2), (2, 3, 3)]),
    ("conv1d", lambda n: n.Conv1d(2, 3, 3, stride=2, padding=1), [(2, 2, 7)]),
    ("conv1d_same", lambda n: n.Conv1d(2, 4, 4, padding="same", dilation=2, groups=2),
     [(2, 2, 9)]),
    ("conv2d", lambda n: n.Conv2d(2, 4, 3), [(2, 2, 6, 5)]),
    ("conv2d_stride_pad", lambda n: n.Conv2d(3, 2, (3, 2), stride=(2, 1), padding=(1, 2),
                                            bias=False), [(2, 3, 7, 6)]),
    ("conv2d_groups_dilation", lambda n: n.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2),
     [(1, 4, 6, 6)]),
    ("conv2d_same_even", lambda n: n.Conv2d(2, 3, 4, padding="same"), [(2, 2, 5, 6)]),
    ("conv2d_valid_unbatched", lambda n: n.Conv2d(2, 3, 3, padding="valid"), [(2, 5, 5)]),
    ("conv2d_reflect", lambda n: n.Conv2d(2, 2, 3, padding=1, padding_mode="reflect"),
     [(2, 2, 5, 5)]),
    ("conv2d_replicate", lambda n: n.Conv2d(2, 2, 3, padding=(2, 1), padding_mode="replicate"),
     [(1, 2, 4, 5)]),
    ("conv2d_circular", lambda n: n.Conv2d(2, 2, 3, padding="same", padding_mode="circular"),
     [(1, 2, 5, 4)]),
    ("maxpool", lambda n: n.MaxPool2d(2), [(2, 3, 6, 6)]),
    ("maxpool_ceil", lambda n: n.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
     [(1, 2, 7, 8)]),
    ("avgpool", lambda n: n.AvgPool2d(3, 2, 1, count_include_pad=False), [(2, 2, 7, 6)]),
    ("avgpool_divisor", lambda n: n.AvgPool2d(2, divisor_override=3), [(1, 2, 4, 4)]),
    ("adaptive_avg", lambda n: n.AdaptiveAvgPool2d((2, 3)), [(2, 3, 5, 7)]),
    ("adaptive_max", lambda n: n.AdaptiveMaxPool2d(2), [(2, 2, 5, 5)]),
    ("flatten", lambda n: n.Flatten(), [(2, 3, 4)]),
    ("flatten_range", lambda n: n.Flatten(0, 1), [(2, 3, 4)]),
    ("unflatten", lambda n: n.Unflatten(1, (2, 3)), [(4, 6, 2)]),
    ("identity", lambda n: n.Identity(3, key=4), [(2, 3)]),
    ("batchnorm1d", lambda n: n.BatchNorm1d(3), [(4, 3)]),
    ("batchnorm1d_3d", lambda n: n.BatchNorm1d(3, momentum=None), [(4, 3, 5)]),
    ("batchnorm2d", lambda n: n.BatchNorm2d(3, eps=1e-3, momentum=0.3), [(2, 3, 4, 4)]),
    ("batchnorm2d_no_affine", lambda n: n.BatchNorm2d(2, affine=False), [(3, 2, 2, 2)]),
    ("batchnorm2d_no_stats", lambda n: n.BatchNorm2d(2, track_running_stats=False),
     [(3, 2, 2, 3)]),
    ("layernorm", lambda n: n.LayerNorm(5), [(3, 5)]),
    ("layernorm_2d_noaffine", lambda n: n.LayerNorm((3, 4), elementwise_affine=False),
     [(2, 3, 4)]),
    ("layernorm_nobias", lambda n: n.LayerNorm(4, eps=1e-3, bias=False), [(2, 2, 4)]),
    ("groupnorm", lambda n: n.GroupNorm(2, 4), [(2, 4, 3, 3)]),
    ("groupnorm_noaffine", lambda n: n.GroupNorm(3, 3, affine=False), [(2, 3, 5)]),
    ("rmsnorm", lambda n: n.RMSNorm(4), [(3, 4)]),
    ("rmsnorm_eps_2d", lambda n: n.RMSNorm((2, 4), eps=1e-3, elementwise_affine=False),
     [(3, 2, 4)]),
    ("prelu", lambda n: n.PReLU(), [(3, 4)]),
    ("prelu_channels", lambda n: n.PReLU(3, init=0.1), [(2, 3, 4)]),
    ("dropout_eval", lambda n: n.Dropout(0.5), [(3, 4)]),
    ("dropout_p0", lambda n: n.Dropout(0.0), [(3, 4)]),
    ("dropout2d_p0", lambda n: n.Dropout2d(0.0), [(2, 3, 2, 2)]),
]

ACTIVATIONS = [
    lambda n: n.ReLU(), lambda n: n.ReLU6(), lambda n: n.LeakyReLU(0.2), lambda n: n.ELU(0.7),
    lambda n: n.CELU(1.3), lambda n: n.SELU(), lambda n: n.GELU(), lambda n: n.GELU("tanh"),
    lambda n: n.SiLU(), lambda n: n.Mish(), lambda n: n.Sigmoid(), lambda n: n.Tanh(),
    lambda n: n.Softplus(2.0, 3.0), lambda n: n.Hardtanh(-0.5, 1.5), lambda n: n.Hardsigmoid(),
    lambda n: n.Hardswish(), lambda n: n.LogSigmoid(), lambda n: n.Softsign(),
    lambda n: n.Tanhshrink(), lambda n: n.Threshold(0.1, -2.0), lambda n: n.GLU(1),
    lambda n: n.Softmax(dim=1), lambda n: n.Softmin(dim=0), lambda n: n.LogSoftmax(dim=-1),
]


@pytest.mark.parametrize("name,make,input_shapes", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_torch_float64(name, make, input_shapes):
    layer_parity(make, *input_shapes, train=not name.endswith("_eval"))


@pytest.mark.parametrize("make", ACTIVATIONS, ids=lambda m: str(m(torch.nn)))
def test_activation_matches_torch(make):
    x = RNG.uniform(-3, 3, size=(3, 4, 2))
    x[np.abs(x) < 0.05] = 0.3  # away from kinks
    x[np.abs(x - 0.1) < 0.05] = 0.3
    # torch rounds a few backward constants (CELU's 1/alpha, Hardsigmoid's 1/6) to float32
    layer_parity(make, inputs=[x], rtol=1e-7)


def test_dropout_eval_is_identity_and_train_drops():
    layer_parity(lambda n: n.Dropout(0.5), (3, 4), train=False)
    drop = nn.Dropout(0.25)
    x = tg.ones(200, 100)
    y = drop(x).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    assert drop.eval()(x) is not None and np.all(drop(x).numpy() == 1)
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)
    channel = nn.Dropout2d(0.5)(tg.ones(4, 50, 3, 3)).numpy()
    assert np.all(channel.min(axis=(2, 3)) == channel.max(axis=(2, 3)))  # whole channels


@pytest.mark.parametrize("make,input_shapes", [
    (lambda n: n.Linear(4, 3), [(5, 4)]),
    (lambda n: n.Conv2d(2, 3, 3, padding=1), [(2, 2, 5, 5)]),
    (lambda n: n.BatchNorm2d(3), [(2, 3, 4, 4)]),
    (lambda n: n.LayerNorm(6), [(3, 6)]),
    (lambda n: n.Bilinear(3, 2, 4), [(5, 3), (5, 2)]),
    (lambda n: n.RMSNorm(4), [(3, 4)]),
])
def test_layers_match_torch_float32(make, input_shapes):
    ours, _ = layer_parity(make, *input_shapes, dtype="float32", rtol=1e-4, atol=1e-5)
    assert all(p.dtype is tg.float32 for p in ours.parameters())


@given(lead=shapes(min_dims=0, max_dims=3), fin=st.integers(1, 5), fout=st.integers(1, 4))
def test_linear_any_leading_dims(lead, fin, fout):
    layer_parity(lambda n: n.Linear(fin, fout), tuple(lead) + (fin,))


@given(shape=shapes(min_dims=2, max_dims=4, min_side=2), k=st.integers(1, 2))
def test_layernorm_any_shape(shape, k):
    layer_parity(lambda n: n.LayerNorm(tuple(shape[-k:])), shape)


# ------------------------------------------------------- finite differences
@given(batch=st.integers(1, 3))
def test_bilinear_gradcheck(batch):
    layer = nn.Bilinear(2, 3, 2)
    check_layer_grad(layer, RNG.standard_normal((batch, 2)), RNG.standard_normal((batch, 3)))


@given(shape=shapes(min_dims=2, max_dims=4, min_side=1, max_side=3))
def test_prelu_gradcheck(shape):
    x = RNG.uniform(-2, 2, size=shape)
    x[np.abs(x) < 0.05] = 0.5
    check_layer_grad(nn.PReLU(shape[1], init=0.3), x)
    check_layer_grad(nn.PReLU(), x)


@given(shape=shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
def test_rmsnorm_gradcheck(shape):
    layer = nn.RMSNorm(shape[-1:], eps=1e-3)
    with tg.no_grad():
        layer.weight.copy_(tg.tensor(RNG.uniform(0.5, 1.5, size=shape[-1:])))
    check_layer_grad(layer, RNG.standard_normal(shape))


def test_linear_and_conv_gradcheck():
    check_layer_grad(nn.Linear(3, 2), RNG.standard_normal((4, 3)))
    check_layer_grad(nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect"),
                     RNG.standard_normal((1, 2, 4, 4)))
    check_layer_grad(nn.BatchNorm1d(3), RNG.standard_normal((5, 3)))


# ------------------------------------------------------------ batchnorm state
@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("cls", ["BatchNorm1d", "BatchNorm2d"])
def test_batchnorm_running_statistics_follow_torch(momentum, cls):
    shape = (4, 3) if cls == "BatchNorm1d" else (3, 3, 2, 2)
    ours, theirs = build(lambda n: getattr(n, cls)(3, momentum=momentum))
    for step in range(3):
        x = RNG.standard_normal(shape) * (step + 1) + step
        assert_close(ours(tg.tensor(x)), theirs(torch.tensor(x)))
    assert ours.num_batches_tracked.item() == 3 and ours.num_batches_tracked.dtype is tg.int64
    for name in ("running_mean", "running_var"):
        assert_close(getattr(ours, name), getattr(theirs, name))
    ours.eval(), theirs.eval()
    x = RNG.standard_normal(shape)
    assert_close(ours(tg.tensor(x)), theirs(torch.tensor(x)))
    assert ours.num_batches_tracked.item() == 3
    ours.reset_running_stats()
    assert ours.num_batches_tracked.item() == 0 and np.all(ours.running_var.numpy() == 1)


def test_batchnorm_without_running_stats_uses_batch_stats_in_eval():
    layer_parity(lambda n: n.BatchNorm1d(2, track_running_stats=False), (5, 2), train=False)
    bn = nn.BatchNorm1d(2, track_running_stats=False)
    assert bn.running_mean is None and list(bn.state_dict()) == ["weight", "bias"]


# ------------------------------------------------------------------ embedding
def test_embedding_matches_torch():
    idx = np.array([[1, 2, 0], [4, 2, 2]])
    ours, theirs = layer_parity(lambda n: n.Embedding(5, 3, padding_idx=2), inputs=[idx])
    assert not ours.weight.grad.numpy()[2].any()
    ours, theirs = layer_parity(lambda n: n.Embedding(6, 4, max_norm=1.0), inputs=[idx])
    assert_close(ours.weight, theirs.weight)  # rows renormalised in place alike


def test_embedding_init_padding_and_from_pretrained():
    tg.manual_seed(0)
    emb = nn.Embedding(300, 40, padding_idx=-1)
    assert emb.padding_idx == 299 and repr(emb) == "Embedding(300, 40, padding_idx=299)"
    w = emb.weight.numpy()
    assert not w[299].any()
    assert abs(w[:299].mean()) < 0.02 and abs(w[:299].std() - 1) < 0.02
    with pytest.raises(ValueError, match="within num_embeddings"):
        nn.Embedding(3, 2, padding_idx=3)
    table = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad and frozen.weight.shape == (2, 2)
    assert_close(frozen(tg.tensor([1, 0])), np.array([[3.0, 4.0], [1.0, 2.0]]), np.float32)
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad
    with pytest.raises(tg.ShapeError, match="2-dimensional"):
        nn.Embedding.from_pretrained(tg.zeros(3))


# ------------------------------------------------------- default initialisation
PARAM_LAYERS = [
    lambda n: n.Linear(7, 5), lambda n: n.Linear(3, 2, bias=False), lambda n: n.Bilinear(3, 4, 2),
    lambda n: n.Conv1d(4, 6, 3, groups=2), lambda n: n.Conv2d(3, 8, (3, 2)),
    lambda n: n.BatchNorm1d(4), lambda n: n.BatchNorm2d(3, affine=False),
    lambda n: n.LayerNorm((2, 3)), lambda n: n.GroupNorm(2, 4), lambda n: n.RMSNorm(3),
    lambda n: n.Embedding(4, 3), lambda n: n.PReLU(2), lambda n: n.CrossEntropyLoss(),
    lambda n: n.BCEWithLogitsLoss(pos_weight=n.Parameter(torch.ones(2)) if n is torch.nn
                                  else n.Parameter(tg.ones(2))),
]


@pytest.mark.parametrize("make", PARAM_LAYERS, ids=lambda m: str(m(torch.nn)).split("(")[0])
def test_names_shapes_dtypes_and_repr_match_torch(make):
    ours, theirs = make(nn), make(torch.nn)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]
    for (k, v), (_, w) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert v.dtype.name == str(w.dtype).replace("torch.", ""), k
    assert repr(ours) == repr(theirs)


def _bound_check(values, bound):
    assert np.abs(values).max() <= bound + 1e-7
    assert np.abs(values).max() > 0.9 * bound
    assert abs(values.std() - bound / math.sqrt(3)) < 0.1 * bound


def test_linear_and_conv_default_init_bounds():
    tg.manual_seed(1)
    lin = nn.Linear(50, 200)
    _bound_check(lin.weight.numpy(), 1 / math.sqrt(50))  # kaiming_uniform_(a=sqrt(5))
    _bound_check(lin.bias.numpy(), 1 / math.sqrt(50))
    conv = nn.Conv2d(6, 64, 3, groups=2)
    fan_in = 3 * 3 * 3
    _bound_check(conv.weight.numpy(), 1 / math.sqrt(fan_in))
    _bound_check(conv.bias.numpy(), 1 / math.sqrt(fan_in))
    bil = nn.Bilinear(16, 5, 30)
    _bound_check(bil.weight.numpy(), 1 / math.sqrt(16))
    assert lin.weight.dtype is tg.float32
    assert nn.Linear(2, 2, dtype=tg.float64).weight.dtype is tg.float64


def test_norm_layers_default_init():
    bn = nn.BatchNorm2d(3)
    assert bn.weight.tolist() == [1, 1, 1] and bn.bias.tolist() == [0, 0, 0]
    assert bn.running_mean.tolist() == [0, 0, 0] and bn.running_var.tolist() == [1, 1, 1]
    assert bn.num_batches_tracked.item() == 0 and bn.num_batches_tracked.dtype is tg.int64
    assert not bn.running_mean.requires_grad
    ln = nn.LayerNorm(3)
    assert ln.weight.tolist() == [1, 1, 1] and ln.bias.tolist() == [0, 0, 0]
    assert nn.PReLU(2).weight.tolist() == [0.25, 0.25]


# ------------------------------------------------------------------ losses
def _targets():
    logits = RNG.standard_normal((6, 4))
    classes = np.array([0, 3, 1, 1, 2, 3])
    probs = RNG.uniform(0.05, 0.95, size=(6, 4))
    return logits, classes, probs


LOSSES = [
    (lambda n: n.MSELoss(), "regress"), (lambda n: n.MSELoss(reduction="sum"), "regress"),
    (lambda n: n.L1Loss(reduction="none"), "regress"),
    (lambda n: n.SmoothL1Loss(beta=0.5), "regress"), (lambda n: n.HuberLoss(delta=0.7), "regress"),
    (lambda n: n.CrossEntropyLoss(), "classes"),
    (lambda n: n.CrossEntropyLoss(label_smoothing=0.1, ignore_index=1), "classes"),
    (lambda n: n.CrossEntropyLoss(reduction="sum"), "soft"),
    (lambda n: n.NLLLoss(ignore_index=3), "log_classes"),
    (lambda n: n.BCELoss(), "binary"), (lambda n: n.BCEWithLogitsLoss(reduction="none"), "logits"),
    (lambda n: n.KLDivLoss(reduction="batchmean"), "kl"),
]


@pytest.mark.parametrize("make,kind", LOSSES, ids=[str(i) for i in range(len(LOSSES))])
def test_loss_modules_match_torch(make, kind):
    logits, classes, probs = _targets()
    target = {"regress": probs, "classes": classes, "soft": probs / probs.sum(1, keepdims=True),
              "log_classes": classes, "binary": np.round(probs), "logits": probs,
              "kl": probs}[kind]
    inp = {"log_classes": torch.log_softmax(torch.tensor(logits), 1).numpy(),
           "binary": probs, "kl": np.log(probs)}.get(kind, logits)
    layer_parity(make, inputs=[inp, target])


def test_weighted_losses_keep_weight_as_buffer():
    w = np.array([1.0, 2.0, 0.5, 3.0])
    for make in (lambda n, lib: n.CrossEntropyLoss(weight=lib.tensor(w)),
                 lambda n, lib: n.NLLLoss(weight=lib.tensor(w), reduction="sum")):
        ours = make(nn, tg)
        assert list(ours.state_dict()) == ["weight"]
        logits, classes, _ = _targets()
        layer_parity(lambda n: make(n, tg if n is nn else torch), inputs=[logits, classes])
    pw = np.array([0.5, 2.0, 1.0, 1.5])
    logits, _, probs = _targets()
    layer_parity(lambda n: n.BCEWithLogitsLoss(pos_weight=(tg if n is nn else torch).tensor(pw)),
                 inputs=[logits, probs])
    loss = nn.BCEWithLogitsLoss(pos_weight=tg.tensor(pw)).double()
    assert loss.pos_weight.dtype is tg.float64 and list(loss.state_dict()) == ["pos_weight"]


def test_loss_legacy_arguments_and_bad_reduction():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for size_average, reduce in [(None, None), (False, None), (True, False), (None, True)]:
            ours = nn.MSELoss(size_average=size_average, reduce=reduce)
            theirs = torch.nn.MSELoss(size_average=size_average, reduce=reduce)
            assert ours.reduction == theirs.reduction
    with pytest.warns(UserWarning, match="reduction='sum'"):
        nn.L1Loss(size_average=False)
    with pytest.raises(ValueError, match="'avg' is not a valid value for reduction"):
        nn.CrossEntropyLoss(reduction="avg")
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"


# ---------------------------------------------------------- errors at the door
def test_constructor_errors():
    with pytest.raises(ValueError, match=r"in_channels \(3\) must be divisible by groups \(2\)"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels"):
        nn.Conv2d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(2, 2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="Invalid padding string 'full'"):
        nn.Conv2d(2, 2, 3, padding="full")
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(2, 2, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match=r"num_channels \(5\) must be divisible by num_groups"):
        nn.GroupNorm(2, 5)
    with pytest.raises(ValueError, match="min_val"):
        nn.Hardtanh(2.0, 1.0)
    with pytest.raises(TypeError, match="unflattened_size"):
        nn.Unflatten(1, 6)


def test_forward_errors_name_shapes():
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input of shape"):
        nn.BatchNorm2d(3)(tg.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.BatchNorm1d(3)(tg.zeros(2, 3, 4, 5))
    with pytest.raises(tg.ShapeError, match=r"3 channels in dim 1, got shape \(2, 4\)"):
        nn.BatchNorm1d(3)(tg.zeros(2, 4))
    with pytest.raises(tg.ShapeError, match=r"\(5, 3\) and \(4, 4\)"):
        nn.Bilinear(3, 4, 2)(tg.zeros(5, 3), tg.zeros(4, 4))
    with pytest.raises(tg.ShapeError, match="3 channels in dim 1"):
        nn.PReLU(3)(tg.zeros(2, 4))
    with pytest.raises(tg.ShapeError, match="normalized_shape"):
        nn.RMSNorm(4)(tg.zeros(2, 3))
    with pytest.raises(tg.ShapeError):
        nn.Linear(3, 2)(tg.zeros(2, 4))
    with pytest.raises(tg.ShapeError):
        nn.Conv2d(3, 2, 3)(tg.zeros(1, 2, 5, 5))


def test_layers_work_end_to_end_in_float32():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.1), nn.Linear(4 * 3 * 3, 3))
    x, y = tg.randn(8, 1, 6, 6), tg.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    loss_fn = nn.CrossEntropyLoss()
    first = None
    for _ in range(15):
        model.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        with tg.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
        first = loss.item() if first is None else first
    assert loss.item() < 0.5 * first
