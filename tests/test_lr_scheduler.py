"""Learning-rate schedulers against PyTorch: lr (and momentum) sequences,
state dicts, resuming, warnings and validation."""
import math
import warnings

import pytest
import torch

import tinygrad_dc as tg
from tinygrad_dc import optim
from tinygrad_dc.optim import lr_scheduler as ours_sched

torch_sched = torch.optim.lr_scheduler
STEPS = 30


def _optimizers(opt_name="SGD", **kwargs):
    """The same two-group optimizer (different lrs) in both libraries."""
    kwargs = dict({"SGD": dict(momentum=0.9), "Adam": {}, "Adagrad": {}}[opt_name], **kwargs)
    ours = getattr(optim, opt_name)(
        [{"params": [tg.zeros(2, requires_grad=True)], "lr": 0.1},
         {"params": [tg.zeros(3, requires_grad=True)], "lr": 0.02}], **kwargs)
    theirs = getattr(torch.optim, opt_name)(
        [{"params": [torch.zeros(2, requires_grad=True)], "lr": 0.1},
         {"params": [torch.zeros(3, requires_grad=True)], "lr": 0.02}], **kwargs)
    return ours, theirs


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def _trace(opt, sched, steps=STEPS, metrics=None):
    """The lrs (from get_last_lr and from the groups) and momenta at every step."""
    seen = [(list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups], _momenta(opt))]
    for i in range(steps):
        opt.step()
        sched.step() if metrics is None else sched.step(metrics[i])
        seen.append((list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups],
                     _momenta(opt)))
    return seen


def _assert_same_trace(ours, theirs):
    assert len(ours) == len(theirs)
    for step, (o, t) in enumerate(zip(ours, theirs)):
        for o_vals, t_vals in zip(o, t):
            for a, b in zip(o_vals, t_vals):
                if b is None:
                    assert a is None
                else:
                    assert a == pytest.approx(b, rel=1e-12, abs=1e-15), f"step {step}: {o} != {t}"


def _single(name, **kwargs):
    return lambda mod, opt: getattr(mod, name)(opt, **kwargs)


def _sequential(mod, opt):
    warm = mod.LinearLR(opt, start_factor=0.1, total_iters=5)
    cos = mod.CosineAnnealingLR(opt, T_max=20, eta_min=1e-4)
    return mod.SequentialLR(opt, schedulers=[warm, cos], milestones=[5])


def _sequential3(mod, opt):
    const = mod.ConstantLR(opt, factor=0.5, total_iters=3)
    exp = mod.ExponentialLR(opt, gamma=0.9)
    step = mod.StepLR(opt, step_size=4, gamma=0.5)
    return mod.SequentialLR(opt, schedulers=[const, exp, step], milestones=[4, 12])


def _chained(mod, opt):
    return mod.ChainedScheduler([mod.LinearLR(opt, start_factor=0.2, total_iters=6),
                                 mod.ExponentialLR(opt, gamma=0.95)])


def _lambda(mod, opt):
    return mod.LambdaLR(opt, lr_lambda=[lambda e: 0.95 ** e, lambda e: 1.0 / (e + 1)])


def _multiplicative(mod, opt):
    return mod.MultiplicativeLR(opt, lr_lambda=lambda e: 0.9 if e % 2 else 1.0)


SCHEDULES = {
    "StepLR": _single("StepLR", step_size=7, gamma=0.5),
    "MultiStepLR": _single("MultiStepLR", milestones=[3, 10, 10, 20], gamma=0.3),
    "ExponentialLR": _single("ExponentialLR", gamma=0.9),
    "CosineAnnealingLR": _single("CosineAnnealingLR", T_max=10),
    "CosineAnnealingLR-eta_min": _single("CosineAnnealingLR", T_max=12, eta_min=0.001),
    "LambdaLR": _lambda,
    "MultiplicativeLR": _multiplicative,
    "LinearLR": _single("LinearLR"),
    "LinearLR-down": _single("LinearLR", start_factor=1.0, end_factor=0.05, total_iters=20),
    "ConstantLR": _single("ConstantLR", factor=0.25, total_iters=4),
    "PolynomialLR": _single("PolynomialLR", total_iters=15, power=2.0),
    "CosineAnnealingWarmRestarts": _single("CosineAnnealingWarmRestarts", T_0=5, T_mult=2,
                                           eta_min=1e-3),
    "SequentialLR": _sequential,
    "SequentialLR-3": _sequential3,
    "ChainedScheduler": _chained,
    "OneCycleLR": _single("OneCycleLR", max_lr=1.0, total_steps=STEPS),
    "OneCycleLR-linear-3phase": _single("OneCycleLR", max_lr=[0.5, 2.0], epochs=3,
                                        steps_per_epoch=10, anneal_strategy="linear",
                                        three_phase=True, pct_start=0.25),
    "OneCycleLR-no-momentum": _single("OneCycleLR", max_lr=0.3, total_steps=STEPS,
                                      cycle_momentum=False, div_factor=10.0),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_lr_sequence_matches_torch(name):
    ours_opt, torch_opt = _optimizers()
    ours = SCHEDULES[name](ours_sched, ours_opt)
    theirs = SCHEDULES[name](torch_sched, torch_opt)
    trace = _trace(ours_opt, ours)
    _assert_same_trace(trace, _trace(torch_opt, theirs))
    assert len({tuple(t[1]) for t in trace}) > 1  # the schedule did change the lrs
    assert getattr(ours, "last_epoch", None) == getattr(theirs, "last_epoch", None)


def test_one_cycle_cycles_adams_beta1():
    ours_opt, torch_opt = _optimizers("Adam", betas=(0.8, 0.99))
    ours = ours_sched.OneCycleLR(ours_opt, max_lr=0.01, total_steps=STEPS, base_momentum=0.7)
    theirs = torch_sched.OneCycleLR(torch_opt, max_lr=0.01, total_steps=STEPS, base_momentum=0.7)
    trace = _trace(ours_opt, ours)
    _assert_same_trace(trace, _trace(torch_opt, theirs))
    assert min(t[2][0] for t in trace) == pytest.approx(0.7)
    assert all(g["betas"][1] == 0.99 for g in ours_opt.param_groups)


def test_one_cycle_cycles_sgd_momentum():
    ours_opt, _ = _optimizers()
    sched = ours_sched.OneCycleLR(ours_opt, max_lr=1.0, total_steps=STEPS)
    trace = _trace(ours_opt, sched)
    momenta = [t[2][0] for t in trace]
    assert momenta[0] == pytest.approx(0.95) and min(momenta) == pytest.approx(0.85)
    with pytest.raises(ValueError, match="Tried to step 31 times"):
        ours_opt.step()
        sched.step()


def test_reduce_lr_on_plateau_matches_torch():
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85, 0.85] * 3
    for kwargs in (dict(patience=2, factor=0.5),
                   dict(mode="max", patience=1, cooldown=2, threshold_mode="abs",
                        threshold=0.01, min_lr=[0.05, 0.0])):
        ours_opt, torch_opt = _optimizers()
        ours = ours_sched.ReduceLROnPlateau(ours_opt, **kwargs)
        theirs = torch_sched.ReduceLROnPlateau(torch_opt, **kwargs)
        trace = _trace(ours_opt, ours, len(metrics), metrics)
        _assert_same_trace(trace, _trace(torch_opt, theirs, len(metrics), metrics))
        assert trace[-1][1] != trace[0][1]


def test_closed_form_step_with_epoch_matches_torch():
    epochs = [0, 3, 7, 8, 2, 15]
    for factory in (_single("StepLR", step_size=3), _single("CosineAnnealingLR", T_max=10),
                    _single("MultiStepLR", milestones=[2, 8])):
        ours_opt, torch_opt = _optimizers()
        ours, theirs = factory(ours_sched, ours_opt), factory(torch_sched, torch_opt)
        for epoch in epochs:
            ours_opt.step()
            torch_opt.step()
            with pytest.warns(UserWarning, match="epoch parameter"):
                ours.step(epoch)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs.step(epoch)
            assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)


def test_warm_restarts_with_fractional_epochs_match_torch():
    ours_opt, torch_opt = _optimizers()
    ours = ours_sched.CosineAnnealingWarmRestarts(ours_opt, T_0=4, T_mult=2)
    theirs = torch_sched.CosineAnnealingWarmRestarts(torch_opt, T_0=4, T_mult=2)
    for epoch in (0.5, 1.25, 3.9, 4.0, 7.5, 13.0, 2.0):
        ours.step(epoch)
        theirs.step(epoch)
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)


# ---------------------------------------------------------------- state dicts
@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "LambdaLR", "SequentialLR",
                                  "OneCycleLR", "ChainedScheduler"])
def test_state_dict_keys_match_torch(name):
    ours_opt, torch_opt = _optimizers()
    ours = SCHEDULES[name](ours_sched, ours_opt)
    theirs = SCHEDULES[name](torch_sched, torch_opt)
    _trace(ours_opt, ours, 4)
    _trace(torch_opt, theirs, 4)
    sd_ours, sd_torch = ours.state_dict(), theirs.state_dict()
    assert set(sd_ours) == set(sd_torch)
    assert sd_ours["_last_lr"] == pytest.approx(sd_torch["_last_lr"], rel=1e-12)
    assert "optimizer" not in sd_ours


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "SequentialLR", "OneCycleLR",
                                  "LinearLR"])
def test_resume_continues_the_same_schedule(name):
    full_opt, _ = _optimizers()
    full = SCHEDULES[name](ours_sched, full_opt)
    expected = _trace(full_opt, full, 20)

    first_opt, _ = _optimizers()
    first = SCHEDULES[name](ours_sched, first_opt)
    _trace(first_opt, first, 8)
    opt_state, sched_state = first_opt.state_dict(), first.state_dict()
    resumed_opt, _ = _optimizers()
    resumed = SCHEDULES[name](ours_sched, resumed_opt)  # before the optimizer's state, as in torch
    resumed.load_state_dict(sched_state)
    resumed_opt.load_state_dict(opt_state)
    assert _trace(resumed_opt, resumed, 12)[1:] == expected[9:]


def test_lambda_state_dict_saves_callable_objects_only():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, epoch):
            return self.rate ** epoch

    opt, _ = _optimizers()
    sched = ours_sched.LambdaLR(opt, [Decay(), lambda e: 1.0])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.5}, None]
    state["lr_lambdas"][0]["rate"] = 0.25
    sched.load_state_dict(state)
    assert sched.lr_lambdas[0].rate == 0.25 and "lr_lambdas" in state


def test_initial_lr_is_set_once():
    opt, _ = _optimizers()
    ours_sched.StepLR(opt, step_size=2)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.02]
    opt.param_groups[0]["lr"] = 5.0
    sched = ours_sched.ExponentialLR(opt, gamma=0.5)  # a second scheduler keeps initial_lr
    assert sched.base_lrs == [0.1, 0.02]


# ---------------------------------------------------------------- warnings and errors
def test_warns_when_stepped_before_the_optimizer():
    opt, _ = _optimizers()
    sched = ours_sched.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt2, _ = _optimizers()
    sched2 = ours_sched.StepLR(opt2, step_size=2)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()
        sched2.step()


def test_custom_optimizer_step_counts_as_a_step():
    class Custom(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": 0.1})

        def step(self, closure=None):
            return None

    opt = Custom([tg.zeros(1, requires_grad=True)])
    sched = ours_sched.ExponentialLR(opt, gamma=0.5)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()
    assert sched.get_last_lr() == [0.05]


def test_get_lr_outside_step_warns():
    opt, _ = _optimizers()
    sched = ours_sched.ExponentialLR(opt, gamma=0.5)
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()


@pytest.mark.parametrize("build, error", [
    (lambda opt: ours_sched.LinearLR(opt, start_factor=0.0), ValueError),
    (lambda opt: ours_sched.LinearLR(opt, end_factor=1.5), ValueError),
    (lambda opt: ours_sched.ConstantLR(opt, factor=2.0), ValueError),
    (lambda opt: ours_sched.OneCycleLR(opt, max_lr=1.0), ValueError),
    (lambda opt: ours_sched.OneCycleLR(opt, max_lr=1.0, total_steps=0), ValueError),
    (lambda opt: ours_sched.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=1), ValueError),
    (lambda opt: ours_sched.OneCycleLR(opt, max_lr=[1.0], total_steps=10), ValueError),
    (lambda opt: ours_sched.OneCycleLR(opt, max_lr=1.0, total_steps=10,
                                       anneal_strategy="exp"), ValueError),
    (lambda opt: ours_sched.CosineAnnealingWarmRestarts(opt, T_0=0), ValueError),
    (lambda opt: ours_sched.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=0), ValueError),
    (lambda opt: ours_sched.LambdaLR(opt, [lambda e: 1.0]), ValueError),
    (lambda opt: ours_sched.LambdaLR(opt, 3.0), TypeError),
    (lambda opt: ours_sched.ReduceLROnPlateau(opt, factor=1.0), ValueError),
    (lambda opt: ours_sched.ReduceLROnPlateau(opt, mode="best"), ValueError),
    (lambda opt: ours_sched.ReduceLROnPlateau(opt, min_lr=[0.0]), ValueError),
    (lambda opt: ours_sched.StepLR("not an optimizer", step_size=2), TypeError),
    (lambda opt: ours_sched.StepLR(opt, step_size=2, last_epoch=3), KeyError),
])
def test_invalid_arguments(build, error):
    opt, _ = _optimizers()
    with pytest.raises(error):
        build(opt)


def test_invalid_arguments_leave_the_optimizer_alone():
    opt = optim.Adagrad([tg.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="support momentum or beta1"):
        ours_sched.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    assert set(opt.param_groups[0]) == set(opt.defaults) | {"params"}
    assert opt.param_groups[0]["lr"] == 0.1


def test_sequential_validation():
    opt, _ = _optimizers()
    other, _ = _optimizers()
    a, b = ours_sched.StepLR(opt, step_size=2), ours_sched.ExponentialLR(opt, gamma=0.5)
    with pytest.raises(ValueError, match="number of milestones"):
        ours_sched.SequentialLR(opt, [a, b], milestones=[2, 3])
    with pytest.raises(ValueError, match="at least one scheduler"):
        ours_sched.SequentialLR(opt, [], milestones=[])
    with pytest.raises(ValueError, match="same optimizer"):
        ours_sched.SequentialLR(opt, [a, ours_sched.StepLR(other, step_size=2)], milestones=[2])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        ours_sched.SequentialLR(opt, [a, ours_sched.ReduceLROnPlateau(opt)], milestones=[2])
    with pytest.raises(ValueError, match="at least one scheduler"):
        ours_sched.ChainedScheduler([])


def test_cosine_annealing_reaches_eta_min():
    opt, _ = _optimizers()
    sched = ours_sched.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)
    lrs = [t[1][0] for t in _trace(opt, sched, 10)]
    assert lrs[0] == 0.1 and math.isclose(lrs[-1], 0.001, rel_tol=1e-12)
