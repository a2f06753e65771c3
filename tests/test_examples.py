"""The training examples run end to end on a tiny configuration: the loss
falls, accuracy beats chance by a wide margin, and --save/--resume continues
to exactly the same parameters as an uninterrupted run."""
import importlib
import os
import sys

import numpy as np
import pytest

import tinygrad_dc as tg

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
sys.path.insert(0, EXAMPLES)


def example(name):
    return importlib.import_module(name)


TINY = ["--limit", "600", "--no-progress", "--batch-size", "32"]


@pytest.mark.parametrize("name, epochs, min_acc", [("train_mlp", 4, 0.7), ("train_cnn", 4, 0.5)])
def test_example_learns(name, epochs, min_acc, capsys):
    history = example(name).main(["--epochs", str(epochs)] + TINY)
    out = capsys.readouterr().out
    assert f"epoch   {epochs}/{epochs}" in out and "accuracy" in out
    assert history[-1]["train_loss"] < 0.6 * history[0]["train_loss"]
    assert history[-1]["accuracy"] >= min_acc  # chance is 0.1


def _final_params(path):
    return {k: v.numpy() for k, v in tg.load(path)["model"].items()}


class Interrupted(Exception):
    pass


def test_resume_continues_exactly(tmp_path, monkeypatch):
    mlp, common = example("train_mlp"), example("common")
    straight, part = str(tmp_path / "straight.ckpt"), str(tmp_path / "part.ckpt")
    mlp.main(["--epochs", "3", "--save", straight] + TINY)

    # the same command, killed during its second epoch (after one checkpoint)
    train_epoch, calls = common.train_epoch, []

    def dies_in_epoch_two(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise Interrupted
        return train_epoch(*args, **kwargs)

    monkeypatch.setattr(common, "train_epoch", dies_in_epoch_two)
    with pytest.raises(Interrupted):
        mlp.main(["--epochs", "3", "--save", part] + TINY)
    monkeypatch.setattr(common, "train_epoch", train_epoch)
    assert tg.load(part)["epoch"] == 1
    history = mlp.main(["--epochs", "3", "--resume", part, "--save", part] + TINY)
    assert [h["epoch"] for h in history] == [1, 2, 3]
    a, b = _final_params(straight), _final_params(part)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_cuda_without_gpu_fails_clearly(capsys):
    if tg.cuda.is_available():
        pytest.skip("a GPU is present: the no-GPU error path cannot be exercised")
    with pytest.raises(SystemExit) as exc:
        example("train_mlp").main(["--device", "cuda", "--epochs", "1"] + TINY)
    assert "CUDA is not available" in str(exc.value)


def test_plot_is_written(tmp_path):
    out = tmp_path / "curves.png"
    example("train_mlp").main(["--epochs", "1", "--plot", str(out)] + TINY)
    assert out.stat().st_size > 1000
