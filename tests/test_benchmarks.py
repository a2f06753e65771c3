"""The benchmark runner's machinery at tiny sizes (`--smoke` shapes): every
workload builds in both frameworks from the same weights and data, one
iteration agrees with torch, a disagreement is caught, and the report
renders. No timing is asserted: CI is not a timer."""
import dataclasses
import math

import numpy as np
import pytest
import torch

import tinygrad_dc as tg
from benchmarks import report, run
from benchmarks.workloads import BY_ID, WORKLOADS, relative_difference, select

SMOKE_ARGS = ["--smoke", "--iters", "1", "--warmup", "0", "--no-rss"]


@pytest.mark.parametrize("workload", WORKLOADS, ids=lambda w: w.id)
def test_one_iteration_agrees_with_torch(workload):
    built_torch = workload.build(torch, smoke=True)
    built_ours = workload.build(tg, smoke=True, weights=built_torch.weights)
    if built_torch.weights is not None:  # ours really got torch's initial weights
        for name, value in built_ours.weights.items():
            np.testing.assert_array_equal(value, built_torch.weights[name], err_msg=name)
    out_torch, out_ours = built_torch.step(), built_ours.step()
    assert relative_difference(out_ours, out_torch) <= run.LOSS_TOLERANCE


def _perturbed(workload):
    """W1 whose tinygrad_dc model starts from weights 10% off torch's."""
    def builder(lib, device, smoke, weights):
        if lib is tg:
            weights = {k: v * 1.1 for k, v in weights.items()}
        return workload.builder(lib, device, smoke, weights)
    return dataclasses.replace(workload, builder=builder)


def test_disagreeing_first_iteration_fails_loudly():
    args = run.parse_args(SMOKE_ARGS)
    with pytest.raises(run.LossMismatch, match="W1.*relative difference"):
        run.time_row(_perturbed(BY_ID["W1"]), args, torch, tg)


def test_time_row_and_report():
    args = run.parse_args(SMOKE_ARGS)
    rows = [run.time_row(BY_ID[i], args, torch, tg)[0] for i in ("W0-1024", "W1", "W6-fwbw")]
    for row in rows:
        assert row.rel_diff <= args.tolerance
        assert row.ours.median_s > 0 and row.torch.median_s > 0
    assert rows[1].flops > 0  # counted by torch's FlopCounterMode
    assert rows[2].ops_per_iter > 1  # W6 reports per op
    text = report.markdown(rows, args, "python -m benchmarks --smoke", torch, elapsed_s=1.0,
                           load=(None, None))
    for needed in ("| W0-1024 |", "| W1 |", "µs/op", "NumPy", "Numba", "torch", "Command"):
        assert needed in text


def test_fresh_process_reports_peak_rss(tmp_path):
    args = run.parse_args(SMOKE_ARGS)
    result = run.run_child(BY_ID["W1"], "tinygrad_dc", args, weights_path=None)
    assert result["peak_rss_mib"] >= result["rss_after_import_mib"] > 0
    assert result["first_call_s"] > 0 and not math.isnan(result["import_s"])


def test_only_selects_groups_and_rows():
    assert [w.id for w in select("W0,W6-fw")] == ["W0-1024", "W0-2048", "W6-fw"]
    with pytest.raises(SystemExit, match="W9"):
        select("W9")


def test_defaults_write_the_report_only_for_a_complete_run():
    assert run.parse_args([]).output.endswith("BENCHMARKS.md")
    assert run.parse_args([]).iters >= 30
    assert run.parse_args(["--only", "W1"]).output is None
    assert run.parse_args(["--quick"]).output is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_gpu_fails_with_a_clear_message():
    with pytest.raises(SystemExit, match="(?s)--device cuda cannot run.*torch.*tinygrad_dc"):
        run.check_device("cuda")
