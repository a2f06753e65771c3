"""nn.Module, the containers and nn.utils: registration, traversal, modes,
devices and dtypes, state_dict round trips with PyTorch, reprs, hooks and
gradient clipping."""
from collections import OrderedDict
import copy

import numpy as np
import pytest
import torch

import tinygrad_dc as tg
from tinygrad_dc import nn
from utils import assert_close


# ------------------------------------------------------------------ builders
def mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 3))


def cnn(lib):
    n = lib.nn
    return n.Sequential(
        n.Conv2d(2, 4, 3, padding=1), n.BatchNorm2d(4), n.ReLU(), n.MaxPool2d(2),
        n.Conv2d(4, 3, 3, stride=1, padding="same", bias=False), n.BatchNorm2d(3, momentum=None),
        n.AdaptiveAvgPool2d(1), n.Flatten(), n.Linear(3, 5), n.BatchNorm1d(5), n.Linear(5, 2))


def make_net(lib):
    n = lib.nn

    class Net(n.Module):
        def __init__(self):
            super().__init__()
            self.embed = n.Embedding(6, 4, padding_idx=0)
            self.blocks = n.ModuleList([n.Linear(4, 4), n.LayerNorm(4)])
            self.heads = n.ModuleDict({"a": n.Linear(4, 2), "b": n.Linear(4, 1, bias=False)})
            self.scale = n.Parameter(lib.ones(1))
            self.register_buffer("steps", lib.zeros(1))
            self.register_buffer("cache", lib.zeros(2), persistent=False)

        def forward(self, idx):
            h = self.embed(idx)
            for block in self.blocks:
                h = block(h)
            return self.heads["a"](h) * self.scale, self.heads["b"](h)
    return Net()


def torch_state_as_numpy(model):
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}


def fresh_pair(builder, dtype="float64"):
    ours, theirs = builder(tg), builder(torch)
    if dtype == "float64":
        ours.double(), theirs.double()
    ours.load_state_dict(torch_state_as_numpy(theirs))
    return ours, theirs


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return self.fc(x)


# ------------------------------------------------------------ registration
def test_setattr_registers_in_insertion_order():
    net = make_net(tg)
    assert list(net._modules) == ["embed", "blocks", "heads"]
    assert list(net._parameters) == ["scale"]
    assert list(net._buffers) == ["steps", "cache"]
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "embed.weight", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight",
        "blocks.1.bias", "heads.a.weight", "heads.a.bias", "heads.b.weight"]
    assert [n for n, _ in net.named_parameters()] == \
        [n for n, _ in make_net(torch).named_parameters()]
    assert [n for n, _ in net.named_buffers()] == ["steps", "cache"]
    assert isinstance(net.scale, nn.Parameter) and net.blocks[1] is net._modules["blocks"][1]


def test_parameters_are_unique_when_shared():
    a = nn.Linear(3, 3)
    model = nn.Sequential(a, nn.ReLU(), a)
    assert len(list(model.parameters())) == 2
    assert len(list(model.named_modules())) == 3  # the Sequential, `a` once, ReLU
    assert len(list(model.named_modules(remove_duplicate=False))) == 4
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    tied = nn.Module()
    tied.enc, tied.dec = nn.Linear(2, 2), nn.Linear(2, 2)
    tied.dec.weight = tied.enc.weight
    assert len(list(tied.parameters())) == 3
    assert [n for n, _ in tied.named_parameters(remove_duplicate=False)] == \
        ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]


def test_setattr_errors_and_reassignment():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign .* as parameter 'weight'"):
        m.weight = tg.zeros(2, 2)
    m.bias = None  # a parameter may be set to None
    assert m.bias is None and "bias" in m._parameters
    assert len(list(m.parameters())) == 1
    seq = nn.Sequential(nn.ReLU())
    with pytest.raises(TypeError, match="child module '0'"):
        setattr(seq, "0", 3)
    bn = nn.BatchNorm1d(2)
    with pytest.raises(TypeError, match="buffer 'running_mean'"):
        bn.running_mean = np.zeros(2)
    bn.running_mean = tg.ones(2)  # a tensor replaces the buffer
    assert bn.state_dict()["running_mean"].tolist() == [1.0, 1.0]

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(tg.zeros(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_register_validation():
    m = nn.Module()
    with pytest.raises(KeyError, match="cannot contain"):
        m.register_buffer("a.b", tg.zeros(1))
    with pytest.raises(KeyError, match="empty"):
        m.register_parameter("", None)
    with pytest.raises(TypeError, match="name should be a string"):
        m.add_module(3, nn.ReLU())
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("training", tg.zeros(1))
    with pytest.raises(TypeError, match="nn.Parameter or None"):
        m.register_parameter("w", tg.zeros(1))
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("x", 3)
    with pytest.raises(TypeError, match="Tensor or None"):
        m.register_buffer("b", [1, 2])


def test_reassigning_a_name_moves_it_between_registries():
    m = nn.Module()
    m.x = nn.Linear(1, 1)
    m.x = nn.Parameter(tg.zeros(1))
    assert "x" not in m._modules and "x" in m._parameters
    m.register_buffer("y", tg.zeros(1))
    m.y = nn.ReLU()
    assert "y" not in m._buffers and m.y is m._modules["y"]


def test_getattr_delattr_dir():
    net = make_net(tg)
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'nope'"):
        net.nope
    assert {"embed", "scale", "steps", "forward"} <= set(dir(net))
    assert "0" not in dir(net.blocks)
    del net.scale, net.steps, net.embed
    assert "scale" not in dict(net.named_parameters())
    assert "steps" not in dict(net.named_buffers())
    assert "embed" not in net._modules
    net.plain = 5
    del net.plain
    assert not hasattr(net, "plain")


def test_children_modules_and_submodule_lookup():
    net = make_net(tg)
    assert [n for n, _ in net.named_children()] == ["embed", "blocks", "heads"]
    assert [n for n, _ in net.named_modules()] == \
        [n for n, _ in make_net(torch).named_modules()]
    assert net.get_submodule("heads.a") is net.heads["a"]
    assert net.get_parameter("blocks.0.weight") is net.blocks[0].weight
    assert net.get_buffer("steps") is net.steps
    with pytest.raises(AttributeError, match="has no submodule `zz`"):
        net.get_submodule("blocks.zz")


def test_forward_missing_raises():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(tg.zeros(1))


# ------------------------------------------------------------------ modes, grads
def test_train_eval_propagate_and_return_self():
    model = cnn(tg)
    assert model.eval() is model
    assert all(not m.training for m in model.modules())
    assert model.train() is model and all(m.training for m in model.modules())
    with pytest.raises(ValueError, match="boolean"):
        model.train("yes")


def test_zero_grad_and_requires_grad_():
    model = mlp(tg)
    model(tg.randn(2, 4)).sum().backward()
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())


def test_apply_visits_children_first():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]


# ------------------------------------------------------------------ dtypes, devices
def test_to_dtype_keeps_parameter_objects():
    model = cnn(tg)
    params = list(model.parameters())
    model(tg.randn(2, 2, 4, 4)).sum().backward()
    grads = [p.grad for p in params]
    assert model.to(tg.float64) is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    assert all(p.dtype is tg.float64 and p.grad.dtype is tg.float64 for p in params)
    assert all(p.grad is g for p, g in zip(params, grads))
    bn = model[1]
    assert bn.running_mean.dtype is tg.float64
    assert bn.num_batches_tracked.dtype is tg.int64 and bn.num_batches_tracked.item() == 1
    assert all(p.requires_grad and p.is_leaf for p in params)
    model.half()
    assert params[0].dtype is tg.float16 and bn.num_batches_tracked.dtype is tg.int64
    model.float()
    assert params[0].dtype is tg.float32
    model.to(dtype="float64")
    assert params[0].dtype is tg.float64
    model.to(tg.zeros(1, dtype=tg.float32))
    assert params[0].dtype is tg.float32
    # an update through a reference held before .to() reaches the model
    model.double()
    with tg.no_grad():
        params[0].zero_()
    assert not model[0].weight.numpy().any()


def test_to_rejects_integer_dtype_and_unusable_device_before_changing():
    model = mlp(tg)
    before = model[0].weight.numpy().copy()
    with pytest.raises(TypeError, match="floating point"):
        model.to(tg.int64)
    if not tg.cuda.is_available():
        with pytest.raises(tg.DeviceError, match="cuda"):
            model.to("cuda", tg.float64)
    assert model[0].weight.dtype is tg.float32
    np.testing.assert_array_equal(model[0].weight.numpy(), before)
    assert model.to("cpu") is model and model.cpu() is model


def test_type_casts_integer_buffers_too():
    bn = nn.BatchNorm1d(3)
    bn.type(tg.float64)
    assert bn.num_batches_tracked.dtype is tg.float64


# ------------------------------------------------------------------ state dict
@pytest.mark.parametrize("builder", [mlp, cnn, make_net])
def test_state_dict_keys_and_shapes_match_torch(builder):
    ours, theirs = builder(tg).state_dict(), builder(torch).state_dict()
    assert isinstance(ours, OrderedDict)
    assert list(ours) == list(theirs)
    for k in ours:
        assert tuple(ours[k].shape) == tuple(theirs[k].shape), k
        assert ours[k].dtype.name == str(theirs[k].dtype).replace("torch.", ""), k


def test_state_dict_values_are_detached_and_share_memory():
    model = mlp(tg)
    sd = model.state_dict()
    assert not sd["0.weight"].requires_grad and sd["0.weight"].is_leaf
    assert not isinstance(sd["0.weight"], nn.Parameter)
    with tg.no_grad():
        model[0].weight.fill_(3.0)
    assert sd["0.weight"].numpy().max() == 3.0
    assert model.state_dict(keep_vars=True)["0.weight"] is model[0].weight
    assert list(model.state_dict(prefix="m.")) == ["m.0.weight", "m.0.bias", "m.2.weight",
                                                   "m.2.bias"]


def test_mlp_loaded_from_torch_matches_outputs_and_gradients():
    ours, theirs = fresh_pair(mlp)
    x = np.random.default_rng(0).standard_normal((5, 4))
    xo, xt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_o, out_t = ours(xo), theirs(xt)
    assert_close(out_o, out_t)
    (out_o ** 2).sum().backward()
    (out_t ** 2).sum().backward()
    assert_close(xo.grad, xt.grad)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad, q.grad)


@pytest.mark.parametrize("train", [True, False])
def test_cnn_with_batchnorm_loaded_from_torch_matches(train):
    ours, theirs = fresh_pair(cnn)
    ours.train(train), theirs.train(train)
    rng = np.random.default_rng(1)
    if not train:  # make the running statistics non-trivial
        ours.train(), theirs.train()
        for _ in range(2):
            x = rng.standard_normal((4, 2, 6, 6))
            ours(tg.tensor(x)), theirs(torch.tensor(x))
        ours.eval(), theirs.eval()
    x = rng.standard_normal((4, 2, 6, 6))
    xo, xt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_o, out_t = ours(xo), theirs(xt)
    assert_close(out_o, out_t, atol=1e-9, rtol=1e-9)
    up = rng.standard_normal(out_t.shape)
    out_o.backward(tg.tensor(up))
    out_t.backward(torch.tensor(up))
    assert_close(xo.grad, xt.grad, atol=1e-9, rtol=1e-9)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad, q.grad, atol=1e-9, rtol=1e-9)
    for (name, b), (_, c) in zip(ours.named_buffers(), theirs.named_buffers()):
        assert_close(b, c, atol=1e-9, rtol=1e-9)


def test_load_state_dict_copies_in_place_and_casts():
    model = mlp(tg)
    weight = model[0].weight
    src = {k: np.full(tuple(v.shape), 0.5) for k, v in model.state_dict().items()}  # float64
    result = model.load_state_dict(src)
    assert model[0].weight is weight and weight.dtype is tg.float32
    assert np.all(weight.numpy() == 0.5) and weight.requires_grad
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    # our own tensors and torch tensors that require grad are accepted too
    other = mlp(tg)
    model.load_state_dict(other.state_dict())
    assert_close(model[2].bias, other[2].bias.numpy())
    model.load_state_dict(dict(mlp(torch).named_parameters()))


def test_load_state_dict_strict_errors_change_nothing():
    model = make_net(tg)
    good = model.state_dict()
    before = {k: v.numpy().copy() for k, v in good.items()}
    bad = {k: v.numpy() + 1 for k, v in good.items() if k != "heads.a.bias"}
    bad["extra.weight"] = np.zeros(2)
    with pytest.raises(RuntimeError) as err:
        model.load_state_dict(bad)
    msg = str(err.value)
    assert 'Missing key(s) in state_dict: "heads.a.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in msg
    assert "for Net" in msg
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    # non-strict: loads what matches and reports the rest
    result = model.load_state_dict(bad, strict=False)
    assert result.missing_keys == ["heads.a.bias"]
    assert result.unexpected_keys == ["extra.weight"]
    np.testing.assert_array_equal(model.scale.numpy(), before["scale"] + 1)
    # the non-persistent buffer is neither saved nor expected
    assert "cache" not in good


def test_load_state_dict_shape_mismatch_names_key_and_shapes():
    model = mlp(tg)
    sd = {k: v.numpy() for k, v in model.state_dict().items()}
    sd["2.weight"] = np.zeros((3, 7))
    before = model[0].weight.numpy().copy()
    for strict in (True, False):
        with pytest.raises(RuntimeError, match=r"size mismatch for 2\.weight: .*\(3, 7\).*"
                                               r"\(3, 8\)"):
            model.load_state_dict(sd, strict=strict)
    np.testing.assert_array_equal(model[0].weight.numpy(), before)
    with pytest.raises(TypeError, match="dict-like"):
        model.load_state_dict([1, 2])
    with pytest.raises(RuntimeError, match='parameter named "0.bias"'):
        model.load_state_dict({**sd, "2.weight": np.zeros((3, 8)), "0.bias": "oops"})


def test_deepcopy_and_state_round_trip():
    model = cnn(tg)
    clone = copy.deepcopy(model)
    assert clone[0].weight is not model[0].weight
    assert isinstance(clone[0].weight, nn.Parameter) and clone[0].weight.requires_grad
    with tg.no_grad():
        clone[0].weight.fill_(1.0)
    assert model[0].weight.numpy().max() < 1.0
    model.load_state_dict(clone.state_dict())
    assert model[0].weight.numpy().min() == 1.0


# ------------------------------------------------------------------ repr
@pytest.mark.parametrize("builder", [mlp, cnn, make_net])
def test_repr_matches_torch(builder):
    assert repr(builder(tg)) == repr(builder(torch))


def test_repr_of_containers_matches_torch():
    for build in (lambda n: n.ModuleList([n.Linear(2, 2) for _ in range(3)] + [n.ReLU()]),
                  lambda n: n.ModuleList(),
                  lambda n: n.Sequential(OrderedDict(a=n.Tanh(), b=n.Sigmoid())),
                  lambda n: n.ModuleDict({"x": n.GELU(), "y": n.Identity()})):
        assert repr(build(nn)) == repr(build(torch.nn))
    ours = nn.ParameterList([tg.zeros(2, 3), nn.Parameter(tg.zeros(4))])
    theirs = torch.nn.ParameterList([torch.zeros(2, 3), torch.nn.Parameter(torch.zeros(4))])
    assert repr(ours) == repr(theirs).replace("torch.", "tinygrad_dc.")


def test_custom_extra_repr_multiline():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.ReLU()

        def extra_repr(self):
            return "alpha=1"
    assert repr(M()) == "M(\n  alpha=1\n  (inner): ReLU()\n)"


# ------------------------------------------------------------------ hooks
def test_forward_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    pre = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    post = lin.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
    out = lin(tg.ones(3, 2))
    assert calls == [(3, 2)]
    assert_close(out, (lin.bias + 1).detach().numpy()[None].repeat(3, 0), dtype=np.float32)
    pre.remove()
    post.remove()
    out = lin(tg.ones(1, 2))
    assert len(calls) == 1
    assert_close(out, (tg.ones(1, 2) @ lin.weight.T + lin.bias).detach(), dtype=np.float32)


# ------------------------------------------------------------------ containers
def test_sequential_behaviour():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and list(seq) == [a, b, c]
    assert seq[0] is a and seq[-1] is c
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    assert list(sub._modules) == ["1", "2"]
    with pytest.raises(IndexError, match="out of range"):
        seq[3]
    x = tg.randn(4, 2)
    assert_close(seq(x), c(b(a(x))), dtype=np.float32)
    named = nn.Sequential(OrderedDict([("fc", a), ("act", b)]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.fc is a
    seq.append(nn.Sigmoid())
    assert list(seq._modules) == ["0", "1", "2", "3"]
    del seq[1]
    assert list(seq._modules) == ["0", "1", "2"] and seq[1] is c
    seq.insert(1, b)
    assert list(seq) == [a, b, c, seq[3]]
    seq[3] = nn.Tanh()
    assert isinstance(seq[3], nn.Tanh)
    both = nn.Sequential(a) + nn.Sequential(b)
    assert list(both) == [a, b]
    assert list(nn.Sequential(a, b) * 2) == [a, b, a, b]
    seq.extend([nn.Identity()])
    assert len(seq) == 5 and isinstance(seq.pop(4), nn.Identity)
    with pytest.raises(ValueError, match="Sequential class"):
        nn.Sequential(a) + [b]


def test_module_list_and_dict():
    layers = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    assert len(layers) == 3 and layers[-1] is layers[2]
    assert isinstance(layers[:2], nn.ModuleList) and len(layers[:2]) == 2
    layers.append(nn.ReLU())
    layers.extend([nn.Tanh()])
    layers.insert(0, nn.Sigmoid())
    assert [type(m).__name__ for m in layers] == ["Sigmoid", "Linear", "Linear", "Linear", "ReLU",
                                                  "Tanh"]
    del layers[0]
    assert list(layers._modules) == ["0", "1", "2", "3", "4"]
    assert len(layers + nn.ModuleList([nn.ReLU()])) == 6
    assert len(list(layers.parameters())) == 6
    with pytest.raises(TypeError, match="iterable"):
        layers.extend(3)
    with pytest.raises(NotImplementedError):
        layers(tg.zeros(1))
    d = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Linear(1, 1)})
    assert list(d.keys()) == ["b", "a"] and "a" in d and len(d) == 2
    d.update([("c", nn.Tanh())])
    assert list(d) == ["b", "a", "c"]
    assert isinstance(d.pop("b"), nn.ReLU) and list(d) == ["a", "c"]
    assert list(d.state_dict()) == ["a.weight", "a.bias"]
    with pytest.raises(ValueError, match="length 3"):
        d.update([("x", nn.ReLU(), 1)])


def test_parameter_list_and_dict_register_like_torch():
    for lib in (tg, torch):
        n = lib.nn
        m = n.Module()
        m.plist = n.ParameterList([n.Parameter(lib.zeros(2)), lib.ones(3)])
        m.pdict = n.ParameterDict({"w": lib.zeros(2, 2), "b": n.Parameter(lib.zeros(2))})
        if lib is tg:
            ours = m
        else:
            theirs = m
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert isinstance(ours.plist[1], nn.Parameter) and len(ours.plist) == 2
    assert isinstance(ours.pdict["w"], nn.Parameter) and list(ours.pdict) == ["b", "w"]
    ours.plist.append(tg.zeros(1))
    assert len(list(ours.parameters())) == 5
    assert ours.pdict.pop("b").shape == (2,) and "b" not in ours.pdict
    with pytest.raises(RuntimeError, match="should not be called"):
        ours.plist()


# ------------------------------------------------------------------ clip_grad
def _grads_pair(rng):
    shapes = [(3, 4), (5,), (2, 2, 2)]
    ours = [nn.Parameter(tg.zeros(*s, dtype=tg.float64)) for s in shapes]
    theirs = [torch.nn.Parameter(torch.zeros(*s, dtype=torch.float64)) for s in shapes]
    for p, q in zip(ours, theirs):
        g = rng.standard_normal(q.shape)
        p.grad, q.grad = tg.tensor(g), torch.tensor(g)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, float("inf"), "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = _grads_pair(np.random.default_rng(3))
    total_o = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total_o, tg.Tensor) and total_o.shape == ()
    assert_close(total_o, total_t)
    for p, q in zip(ours, theirs):
        assert_close(p.grad, q.grad)


def test_clip_grad_norm_float32_generator_and_edge_cases():
    model = mlp(tg)
    model(tg.randn(3, 4)).sum().backward()
    total = nn.utils.clip_grad_norm_(model.parameters(), 0.01)
    assert total.dtype is tg.float32 and total.item() > 0.01
    after = nn.utils.get_total_norm([p.grad for p in model.parameters()])
    assert abs(after.item() - 0.01) < 1e-5
    assert nn.utils.clip_grad_norm_([nn.Parameter(tg.zeros(2))], 1.0).item() == 0.0
    p = nn.Parameter(tg.zeros(2))
    p.grad = tg.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    with pytest.warns(UserWarning, match="empty generator"):
        nn.utils.clip_grad_norm_((q for q in []), 1.0)


def test_clip_grad_value_and_vector_conversion():
    ours, theirs = _grads_pair(np.random.default_rng(4))
    nn.utils.clip_grad_value_(ours, 0.3)
    torch.nn.utils.clip_grad_value_(theirs, 0.3)
    for p, q in zip(ours, theirs):
        assert_close(p.grad, q.grad)
    model = mlp(tg).double()
    vec = nn.utils.parameters_to_vector(model.parameters())
    assert vec.shape == (4 * 8 + 8 + 8 * 3 + 3,)
    assert_close(vec, np.concatenate([p.numpy().ravel() for p in model.parameters()]))
    nn.utils.vector_to_parameters(tg.arange(vec.shape[0], dtype=tg.float64), model.parameters())
    assert model[0].weight.numpy()[0, 1] == 1.0 and model[2].bias.numpy()[-1] == vec.shape[0] - 1
    with pytest.raises(RuntimeError, match="does not fit"):
        nn.utils.vector_to_parameters(tg.zeros(3), model.parameters())


def test_deepcopy_keeps_the_device_and_copies_the_weights():
    import copy
    model = tg.nn.Sequential(tg.nn.Linear(3, 2), tg.nn.BatchNorm1d(2))
    clone = copy.deepcopy(model)
    x = tg.randn(4, 3)
    np.testing.assert_array_equal(clone(x).detach().numpy(), model(x).detach().numpy())
    assert clone[0].weight is not model[0].weight
    with tg.no_grad():
        clone[0].weight.add_(1.0)
    assert not np.array_equal(clone[0].weight.numpy(), model[0].weight.numpy())
    (clone[0].weight * model[0].weight).sum().backward()  # same device: no error
