"""Optimizers against PyTorch: trajectories, state dicts, resuming, validation."""
import numpy as np
import pytest
import torch

import tinygrad_dc as tg
from tinygrad_dc import optim

TORCH_ONLY_KEYS = {"foreach", "capturable", "differentiable", "fused"}  # implementation switches

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, weight_decay=0.1)),
    ("SGD", dict(lr=0.02, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, betas=(0.3, 0.8), eps=1e-3)),  # lerp weight >= 0.5: other branch
    ("Adam", dict(lr=0.02, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.5, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5, eps=1e-6)),
    ("Adagrad", dict(lr=0.05, maximize=True)),
]


def _case_id(case):
    name, kw = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in kw.items())


def _init_arrays():
    rng = np.random.default_rng(0)
    return {"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(4),
            "unused": rng.standard_normal(2)}


X = np.random.default_rng(1).standard_normal((5, 3))


class Model:
    """A small tanh layer with an L2 term, written once for both libraries;
    `unused` never gets a gradient (optimizers must skip it)."""

    def __init__(self, lib, dtype, arrays=None):
        arrays = _init_arrays() if arrays is None else arrays
        self.lib = lib
        if lib is torch:
            dt = torch.float64 if dtype == np.float64 else torch.float32
            self.params = {k: torch.tensor(v, dtype=dt, requires_grad=True)
                           for k, v in arrays.items()}
            self.x = torch.tensor(X, dtype=dt)
        else:
            dt = tg.float64 if dtype == np.float64 else tg.float32
            self.params = {k: tg.tensor(v, dtype=dt, requires_grad=True)
                           for k, v in arrays.items()}
            self.x = tg.tensor(X, dtype=dt)

    def loss(self):
        W, b = self.params["W"], self.params["b"]
        return ((self.x @ W + b).tanh() ** 2).sum() + (W * W).sum() * 0.1

    def groups(self, group_lrs):
        p = self.params
        if group_lrs is None:
            return [p["W"], p["b"], p["unused"]]
        return [{"params": [p["W"]], "lr": group_lrs[0]},
                {"params": [p["b"], p["unused"]], "lr": group_lrs[1]}]

    def numpy(self):
        return {k: (v.detach().numpy() if self.lib is torch else v.numpy()).copy()
                for k, v in self.params.items()}


def _make(lib, name, kwargs, dtype=np.float64, group_lrs=None, arrays=None):
    model = Model(lib, dtype, arrays)
    module = torch.optim if lib is torch else optim
    return model, getattr(module, name)(model.groups(group_lrs), **kwargs)


def _train(model, opt, steps):
    for _ in range(steps):
        opt.zero_grad()
        model.loss().backward()
        opt.step()


def _assert_params_close(ours, theirs, rtol, atol=0.0):
    for k in theirs:
        np.testing.assert_allclose(ours[k], theirs[k], rtol=rtol, atol=atol, err_msg=k)


# ---------------------------------------------------------------- trajectories
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_trajectory_matches_torch_float64(case):
    name, kwargs = case
    ours_model, ours = _make(tg, name, kwargs)
    torch_model, theirs = _make(torch, name, kwargs)
    _train(ours_model, ours, 20)
    _train(torch_model, theirs, 20)
    result, expected = ours_model.numpy(), torch_model.numpy()
    assert not np.allclose(result["W"], _init_arrays()["W"])  # it did move
    np.testing.assert_array_equal(result["unused"], _init_arrays()["unused"])
    _assert_params_close(result, expected, rtol=1e-10)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_param_groups_with_different_lr(name):
    kwargs = {"SGD": dict(momentum=0.9), "Adam": {}, "AdamW": dict(amsgrad=True),
              "RMSprop": dict(centered=True), "Adagrad": dict(lr_decay=0.05)}[name]
    ours_model, ours = _make(tg, name, kwargs, group_lrs=(0.05, 0.001))
    torch_model, theirs = _make(torch, name, kwargs, group_lrs=(0.05, 0.001))
    assert [g["lr"] for g in ours.param_groups] == [0.05, 0.001]
    _train(ours_model, ours, 20)
    _train(torch_model, theirs, 20)
    _assert_params_close(ours_model.numpy(), torch_model.numpy(), rtol=1e-10)


@pytest.mark.parametrize("case", [CASES[1], CASES[7], CASES[17], CASES[21]], ids=_case_id)
def test_trajectory_matches_torch_float32(case):
    name, kwargs = case
    ours_model, ours = _make(tg, name, kwargs, dtype=np.float32)
    torch_model, theirs = _make(torch, name, kwargs, dtype=np.float32)
    _train(ours_model, ours, 20)
    _train(torch_model, theirs, 20)
    result = ours_model.numpy()
    assert all(v.dtype == np.float32 for v in result.values())
    state = ours.state[ours_model.params["W"]]
    assert state and all(v.dtype == tg.float32 for v in state.values())
    _assert_params_close(result, torch_model.numpy(), rtol=1e-4, atol=1e-5)


def test_gradients_fed_directly_match_torch():
    """Gradients unrelated to the parameters (e.g. from elsewhere), set by hand."""
    rng = np.random.default_rng(3)
    grads = rng.standard_normal((20, 6))
    p0 = rng.standard_normal(6)
    ours_p = tg.tensor(p0, requires_grad=True, dtype=tg.float64)
    torch_p = torch.tensor(p0, requires_grad=True)
    ours = optim.Adam([ours_p], lr=0.1, amsgrad=True, weight_decay=0.01)
    theirs = torch.optim.Adam([torch_p], lr=0.1, amsgrad=True, weight_decay=0.01)
    for g in grads:
        ours_p.grad = tg.tensor(g, dtype=tg.float64)
        torch_p.grad = torch.tensor(g)
        ours.step()
        theirs.step()
    np.testing.assert_allclose(ours_p.numpy(), torch_p.detach().numpy(), rtol=1e-10)


def test_step_updates_in_place_and_bumps_version():
    p = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    data, version = p._data, p._version
    opt = optim.SGD([p], lr=0.5)
    p.grad = tg.tensor([1.0, 1.0], dtype=tg.float64)
    grad_before = p.grad.numpy().copy()
    opt.step()
    assert p._data is data and p._version == version + 1
    np.testing.assert_array_equal(p.numpy(), [0.5, 1.5])
    np.testing.assert_array_equal(p.grad.numpy(), grad_before)  # the gradient is not touched


def test_step_after_forward_invalidates_the_graph():
    p = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    opt = optim.SGD([p], lr=0.5)
    p.grad = tg.tensor([1.0, 1.0], dtype=tg.float64)
    loss = (p * p).sum()
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


def test_momentum_buffer_does_not_alias_the_gradient():
    p = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = tg.tensor([1.0, 1.0], dtype=tg.float64)
    opt.step()
    buf = opt.state[p]["momentum_buffer"]
    assert not np.shares_memory(buf._data, p.grad._data)
    p.grad._data[...] = 5.0
    np.testing.assert_array_equal(buf.numpy(), [1.0, 1.0])


def test_skips_parameters_without_grad():
    a = tg.tensor([1.0], requires_grad=True)
    b = tg.tensor([2.0], requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = tg.tensor([1.0])
    opt.step()
    assert b.numpy().tolist() == [2.0] and len(opt.state[b]) == 0
    assert opt.state[a]["step"].item() == 1.0 and a.numpy()[0] < 1.0


def test_grad_of_wrong_shape_is_an_error_before_any_update():
    q = tg.tensor([3.0], requires_grad=True)
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([q, p], lr=0.1, momentum=0.9)
    q.grad = tg.tensor([1.0])
    p.grad = tg.tensor([1.0])
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*shape \(1,\)"):
        opt.step()
    np.testing.assert_array_equal(p.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(q.numpy(), [3.0])
    assert len(opt.state) == 0


# ---------------------------------------------------------------- closure, zero_grad
def test_step_with_closure_returns_loss_and_runs_with_grad():
    model, opt = _make(tg, "SGD", dict(lr=0.1))
    seen = []

    def closure():
        seen.append(tg.is_grad_enabled())
        opt.zero_grad()
        loss = model.loss()
        loss.backward()
        return loss

    with tg.no_grad():
        loss = opt.step(closure)
    assert seen == [True]
    assert isinstance(loss, tg.Tensor) and loss.item() > 0
    torch_model, theirs = _make(torch, "SGD", dict(lr=0.1))
    theirs.zero_grad()
    torch_model.loss().backward()
    theirs.step()
    _assert_params_close(model.numpy(), torch_model.numpy(), rtol=1e-12)


def test_step_runs_without_recording_a_graph():
    class Probe(optim.SGD):
        def _update_group(self, group):
            self.mode = tg.is_grad_enabled()
            super()._update_group(group)

    p = tg.tensor([1.0], requires_grad=True)
    opt = Probe([p], lr=0.1)
    opt.step()
    assert opt.mode is False and tg.is_grad_enabled()


def test_zero_grad():
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad and p.grad.numpy().tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None


def test_named_parameters():
    a, b = tg.tensor([1.0], requires_grad=True), tg.tensor([2.0], requires_grad=True)
    opt = optim.SGD([("a", a), ("b", b)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["a", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["a", "b"]
    with pytest.raises(ValueError, match="with/without names"):
        opt.add_param_group({"params": [tg.tensor([3.0], requires_grad=True)]})


# ---------------------------------------------------------------- state dicts
def _structure(sd):
    state = {k: sorted(v) for k, v in sd["state"].items()}
    groups = [(sorted(set(g) - TORCH_ONLY_KEYS), g["params"]) for g in sd["param_groups"]]
    return state, groups


@pytest.mark.parametrize("case", [CASES[2], CASES[7], CASES[11], CASES[13], CASES[17], CASES[21]],
                         ids=_case_id)
def test_state_dict_structure_and_values_match_torch(case):
    name, kwargs = case
    ours_model, ours = _make(tg, name, kwargs, group_lrs=(0.05, 0.02))
    torch_model, theirs = _make(torch, name, kwargs, group_lrs=(0.05, 0.02))
    _train(ours_model, ours, 3)
    _train(torch_model, theirs, 3)
    sd_ours, sd_torch = ours.state_dict(), theirs.state_dict()
    assert _structure(sd_ours) == _structure(sd_torch)
    for g_ours, g_torch in zip(sd_ours["param_groups"], sd_torch["param_groups"]):
        for key in g_ours:
            assert g_ours[key] == g_torch[key], key
    for index, state in sd_torch["state"].items():
        for key, value in state.items():
            ours_value = sd_ours["state"][index][key]
            assert isinstance(ours_value, tg.Tensor)
            if key == "step":
                assert ours_value.dtype == tg.float32 and ours_value.shape == ()
            np.testing.assert_allclose(ours_value.numpy(), value.numpy(), rtol=1e-10)


@pytest.mark.parametrize("case", [CASES[3], CASES[10], CASES[13], CASES[17], CASES[21]],
                         ids=_case_id)
def test_resume_from_state_dict_continues_exactly(case):
    name, kwargs = case
    full_model, full = _make(tg, name, kwargs, group_lrs=(0.05, 0.02))
    _train(full_model, full, 20)

    first_model, first = _make(tg, name, kwargs, group_lrs=(0.05, 0.02))
    _train(first_model, first, 10)
    saved = first.state_dict()
    resumed_model, resumed = _make(tg, name, dict(kwargs, lr=0.5), group_lrs=(0.3, 0.4),
                                   arrays=first_model.numpy())
    resumed.load_state_dict(saved)
    assert [g["lr"] for g in resumed.param_groups] == [0.05, 0.02]
    # the loaded state is a copy: the old optimizer going on does not disturb it
    _train(first_model, first, 3)
    _train(resumed_model, resumed, 10)
    result, expected = resumed_model.numpy(), full_model.numpy()
    for k in expected:
        np.testing.assert_array_equal(result[k], expected[k], err_msg=k)


def test_resume_through_save_and_load(tmp_path):
    kwargs = dict(amsgrad=True, weight_decay=0.1)
    model, opt = _make(tg, "Adam", kwargs, group_lrs=(0.05, 0.02))
    _train(model, opt, 3)
    tg.save(opt.state_dict(), tmp_path / "optim.tg")
    resumed_model, resumed = _make(tg, "Adam", kwargs, group_lrs=(0.05, 0.02),
                                   arrays=model.numpy())
    resumed.load_state_dict(tg.load(tmp_path / "optim.tg"))
    _train(model, opt, 3)
    _train(resumed_model, resumed, 3)
    for k, v in model.numpy().items():
        np.testing.assert_array_equal(resumed_model.numpy()[k], v, err_msg=k)


def test_load_state_dict_casts_to_parameter_dtype_and_keeps_step():
    model64, opt64 = _make(tg, "Adam", {})
    _train(model64, opt64, 2)
    model32, opt32 = _make(tg, "Adam", {}, dtype=np.float32)
    opt32.load_state_dict(opt64.state_dict())
    state = opt32.state[model32.params["W"]]
    assert state["exp_avg"].dtype == tg.float32 and state["step"].dtype == tg.float32
    assert state["step"].item() == 2.0
    _train(model32, opt32, 1)
    assert opt32.state[model32.params["W"]]["step"].item() == 3.0


def test_load_state_dict_accepts_a_numeric_step():
    model, opt = _make(tg, "RMSprop", dict(momentum=0.5))
    _train(model, opt, 2)
    saved = opt.state_dict()
    saved["state"] = {i: dict(s, step=int(s["step"].item())) for i, s in saved["state"].items()}
    fresh_model, fresh = _make(tg, "RMSprop", dict(momentum=0.5), arrays=model.numpy())
    fresh.load_state_dict(saved)
    _train(fresh_model, fresh, 1)
    _train(model, opt, 1)
    assert fresh.state[fresh_model.params["W"]]["step"].item() == 3.0
    np.testing.assert_array_equal(fresh_model.numpy()["W"], model.numpy()["W"])


def test_load_state_dict_validates_groups():
    model, opt = _make(tg, "SGD", dict(lr=0.1), group_lrs=(0.1, 0.2))
    one_group = _make(tg, "SGD", dict(lr=0.1))[1].state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(one_group)
    other = _make(tg, "SGD", dict(lr=0.1), group_lrs=(0.1, 0.2))[1].state_dict()
    other["param_groups"][1]["params"] = other["param_groups"][1]["params"][:1]
    before = opt.param_groups
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict(other)
    assert opt.param_groups is before


def test_adagrad_state_created_up_front_like_torch():
    model, opt = _make(tg, "Adagrad", dict(initial_accumulator_value=0.25))
    torch_model, theirs = _make(torch, "Adagrad", dict(initial_accumulator_value=0.25))
    assert _structure(opt.state_dict()) == _structure(theirs.state_dict())
    np.testing.assert_array_equal(opt.state[model.params["unused"]]["sum"].numpy(),
                                  np.full(2, 0.25))


def test_adamw_default_weight_decay():
    p = tg.tensor([1.0], requires_grad=True)
    assert optim.AdamW([p]).param_groups[0]["weight_decay"] == 1e-2
    assert optim.AdamW([p]).param_groups[0]["decoupled_weight_decay"] is True
    assert optim.Adam([p]).param_groups[0]["weight_decay"] == 0


# ---------------------------------------------------------------- validation
def _param():
    return tg.tensor([1.0], requires_grad=True)


BAD_OPTIONS = [
    ("SGD", dict(lr=-0.1)), ("SGD", dict(momentum=-0.5)), ("SGD", dict(weight_decay=-1.0)),
    ("SGD", dict(nesterov=True)), ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1)),
    ("Adam", dict(lr=-1.0)), ("Adam", dict(eps=-1.0)), ("Adam", dict(betas=(1.0, 0.9))),
    ("Adam", dict(betas=(0.9, -0.1))), ("Adam", dict(weight_decay=-0.1)),
    ("AdamW", dict(betas=(0.9, 1.0))), ("RMSprop", dict(alpha=-0.1)),
    ("RMSprop", dict(momentum=-0.1)), ("RMSprop", dict(eps=-1.0)),
    ("Adagrad", dict(lr_decay=-0.1)), ("Adagrad", dict(initial_accumulator_value=-1.0)),
    ("Adagrad", dict(eps=-1.0)),
]


@pytest.mark.parametrize("case", BAD_OPTIONS, ids=_case_id)
def test_invalid_hyperparameters_raise_torchs_message(case):
    name, kwargs = case
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([_param()], **kwargs)
    assert str(ours.value) == str(theirs.value)


def test_invalid_group_options_are_rejected_before_adding():
    opt = optim.SGD([_param()], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        opt.add_param_group({"params": [_param()], "lr": -1})
    with pytest.raises(TypeError, match="lr must be a real number"):
        opt.add_param_group({"params": [_param()], "lr": "fast"})
    assert len(opt.param_groups) == 1


def test_parameter_list_errors():
    p = _param()
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="duplicate parameters"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p], "lr": 0.2}], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD({p}, lr=0.1)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(TypeError, match="param_group must be a dict"):
        opt.add_param_group([p])
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": p})
    assert len(opt.param_groups) == 1


def test_required_option():
    class NeedsLR(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": optim.optimizer.required})

    with pytest.raises(ValueError, match="required optimization parameter lr"):
        NeedsLR([_param()])
    assert NeedsLR([{"params": [_param()], "lr": 0.1}]).param_groups[0]["lr"] == 0.1


def test_add_param_group_fills_defaults_and_steps():
    a, b = _param(), _param()
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": [b], "lr": 0.5})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.5
    b.grad = tg.tensor([1.0])
    opt.step()
    assert b.item() == pytest.approx(0.5)


def test_repr_lists_groups():
    text = repr(optim.Adam([_param()], lr=0.01))
    assert text.startswith("Adam (") and "lr: 0.01" in text and "Parameter Group 0" in text
