"""tinygrad_dc.distributed, DistributedDataParallel and DistributedSampler.

The collective and DDP checks run in real 2-process MPI jobs (`mpiexec -n 2`
from the mpich wheel, mpi4py): tests/distributed_scripts/checks.py runs all
its checks in one job and prints a PASS line per check and rank, and each
check is one test here. Other jobs: a failure on one rank must end the job
with a non-zero status within a timeout, and the MLP example trains with
--distributed. MPI is never initialised in this (pytest's) process: importing
mpi4py's MPI would do it, and the package imports it only in
init_process_group. The NCCL path needs GPUs; what can be checked without
one is that every CuPy/NCCL name it calls exists.
"""
import importlib.util
import os
import pathlib
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_dc as tg
import tinygrad_dc.distributed as dist
from tinygrad_dc.autograd import Op, engine
from tinygrad_dc.distributed import launch
from tinygrad_dc.utils.data.distributed import DistributedSampler

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "tests" / "distributed_scripts"
CHECKS = SCRIPTS / "checks.py"


def run_job(args, nprocs=2, timeout=60):
    """Run `python args...` as an MPI job; (returncode or None on timeout,
    stdout, stderr). On a timeout the whole job (its process group) is killed,
    so no rank is left behind."""
    cmd = launch.mpiexec_command(nprocs, [sys.executable, *map(str, args)])
    proc = subprocess.Popen(cmd, cwd=ROOT, env=launch.mpiexec_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return None, out, err


def report(rc, out, err):
    return f"exit status {rc}\n--- stdout ---\n{out[-3000:]}\n--- stderr ---\n{err[-3000:]}"


def check_names():
    """The checks the script defines (read from it, so this list cannot go stale)."""
    spec = importlib.util.spec_from_file_location("distributed_checks", CHECKS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # defines the checks; runs none (no MPI here)
    return [fn.__name__ for fn in module.CHECKS]


# ------------------------------------------------------------------ MPI jobs
@pytest.fixture(scope="module")
def checks_job():
    return run_job([CHECKS], timeout=90)


@pytest.mark.parametrize("name", check_names())
def test_check_in_a_two_process_job(checks_job, name):
    rc, out, err = checks_job
    for rank in (0, 1):
        assert f"PASS {name} rank={rank}" in out, f"rank {rank}: {report(rc, out, err)}"


def test_the_checks_job_exits_cleanly(checks_job):
    rc, out, err = checks_job
    assert rc == 0, report(rc, out, err)


def test_an_exception_on_one_rank_aborts_the_job():
    rc, out, err = run_job([SCRIPTS / "fail_on_one_rank.py"], timeout=45)
    assert rc is not None, "the job hung after rank 1 failed:\n" + report(rc, out, err)
    assert rc != 0, report(rc, out, err)
    assert "deliberate failure on rank 1" in err
    assert "got past" not in out


def test_mlp_example_trains_distributed(tmp_path):
    ckpt = tmp_path / "mlp.ckpt"
    rc, out, err = run_job([ROOT / "examples" / "train_mlp.py", "--distributed", "--epochs",
                            "1", "--limit", "200", "--no-progress", "--save", ckpt], timeout=90)
    assert rc == 0, report(rc, out, err)
    assert len(re.findall(r"epoch +1/1 ", out)) == 1, f"not only rank 0 printed:\n{out}"
    assert "accuracy" in out
    # rank 0 saved the plain model's state: it loads without DDP's prefix
    keys = list(tg.load(str(ckpt))["model"])
    assert keys and not any(k.startswith("module.") for k in keys), keys


# ------------------------------------------------------------------ sampler
@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_partitions_like_torch_without_shuffle(drop_last):
    import torch.utils.data as tdata
    for n in (1, 2, 5, 10, 11, 17):
        for replicas in (1, 2, 3, 4):
            if drop_last and n < replicas:
                continue
            for rank in range(replicas):
                ours = DistributedSampler(range(n), num_replicas=replicas, rank=rank,
                                          shuffle=False, drop_last=drop_last)
                theirs = tdata.DistributedSampler(range(n), num_replicas=replicas, rank=rank,
                                                  shuffle=False, drop_last=drop_last)
                assert list(ours) == list(theirs), (n, replicas, rank)
                assert len(ours) == len(theirs)


def test_shuffled_shards_cover_the_dataset_each_epoch():
    n, replicas = 23, 3
    for epoch in range(4):
        shards = []
        for rank in range(replicas):
            s = DistributedSampler(range(n), num_replicas=replicas, rank=rank, seed=5)
            s.set_epoch(epoch)
            shards.append(list(s))
        together = sorted(i for shard in shards for i in shard)
        assert set(together) == set(range(n)) and len(together) == 24  # one padded
        assert len({len(s) for s in shards}) == 1


def test_sampler_needs_a_process_group_or_explicit_ranks():
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="init_process_group"):
        DistributedSampler(range(4))
    with pytest.raises(ValueError, match="Invalid rank"):
        DistributedSampler(range(4), num_replicas=2, rank=2)


# ------------------------------------------------------------------ API without a job
def test_uninitialized_calls_fail_clearly():
    for fn in (dist.get_rank, dist.get_world_size, dist.barrier,
               lambda: dist.all_reduce(tg.ones(2))):
        with pytest.raises(ValueError, match="init_process_group"):
            fn()
    from tinygrad_dc.nn.parallel import DistributedDataParallel
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedDataParallel(tg.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="unknown backend"):
        dist.init_process_group("gloo")
    assert not dist.is_initialized()
    assert "mpi4py.MPI" not in sys.modules  # MPI was not initialised in this process


def test_reduce_op_accepts_names_and_torch_style_members():
    from tinygrad_dc.distributed.reduce_op import as_reduce_op
    assert as_reduce_op("sum") is dist.ReduceOp.SUM
    assert as_reduce_op("AVG") is dist.ReduceOp.AVG
    assert as_reduce_op(dist.ReduceOp.MAX) is dist.ReduceOp.MAX
    with pytest.raises(ValueError, match="unknown reduce op"):
        as_reduce_op("mean")


def test_mpiexec_is_found():
    path = launch.find_mpiexec()
    assert path is not None and os.access(path, os.X_OK)
    assert dist.is_available() and dist.is_mpi_available()


def test_buckets_respect_the_cap_dtype_and_order():
    from tinygrad_dc.nn.parallel.buckets import make_buckets
    ts = [tg.zeros(100), tg.zeros(100), tg.zeros(10, dtype=tg.float64), tg.zeros(300),
          tg.zeros(50)]
    buckets = make_buckets(ts, cap_bytes=800)
    layout = [[next(i for i, t in enumerate(ts) if t is u) for u in b.tensors] for b in buckets]
    assert layout == [[0, 1], [3], [4], [2]]  # float32 first (its first tensor came first)
    assert [b.numel for b in buckets] == [200, 300, 50, 10]
    flat = buckets[0].pack([np.arange(100.0), None])
    assert flat.dtype == np.float32 and flat[:100].tolist() == list(range(100))
    assert not flat[100:].any()
    assert buckets[0].chunk(1).shape == (100,)


# ------------------------------------------------------------------ engine hook
class _Queue(Op):
    """Identity whose backward queues `callback` (as DDP's output op does)."""
    saves_inputs = False

    def forward(self, x, callback):
        self.callback = callback
        return x

    def backward(self, grad):
        engine.queue_callback(self.callback)
        return grad


def test_queued_callbacks_run_once_after_the_whole_backward():
    w = tg.ones(3, requires_grad=True)
    v = tg.ones(3, requires_grad=True)
    seen = []
    y = _Queue.apply(w * 2, callback=lambda: seen.append((w.grad.tolist(), v.grad.tolist())))
    (y * v).sum().backward()
    assert seen == [([2.0, 2.0, 2.0], [2.0, 2.0, 2.0])]  # every leaf grad was final
    with pytest.raises(RuntimeError, match="during a backward"):
        engine.queue_callback(lambda: None)


def test_queued_callbacks_are_dropped_by_autograd_grad_and_on_errors():
    w = tg.ones(2, requires_grad=True)
    seen = []
    y = _Queue.apply(w * 1, callback=lambda: seen.append(1)).sum()
    tg.autograd.grad(y, [w])
    assert seen == []

    class Fails(Op):
        def forward(self, x):
            return x

        def backward(self, grad):
            raise ArithmeticError("boom")

    z = _Queue.apply(Fails.apply(w * 1), callback=lambda: seen.append(2)).sum()
    with pytest.raises(ArithmeticError):
        z.backward()
    (w * 3).sum().backward()
    assert seen == [] and not engine._queued_callbacks


# ------------------------------------------------------------------ NCCL without a GPU
NCCL_SOURCE = ROOT / "tinygrad_dc" / "distributed" / "nccl_group.py"
NCCL_USE = re.compile(r"(?:\b|_)nccl\.([A-Za-z_]\w*)")
COMM_USE = re.compile(r"(?:\b|_)nccl_comm\.([A-Za-z_]\w*)")
CUPY_USE = re.compile(r"(?:\b|_)cupy\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")


def _scan(pattern):
    code = "\n".join(line.split("#", 1)[0] for line in NCCL_SOURCE.read_text().splitlines())
    return set(pattern.findall(code))


def test_every_nccl_call_exists_in_cupy():
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed (the test extra has it)")
    from cupy.cuda import nccl
    assert nccl.available, ("CuPy could not load NCCL: pip install nvidia-nccl-cu12 "
                            "(the test extra has it)")
    module_names, comm_methods, cupy_names = _scan(NCCL_USE), _scan(COMM_USE), _scan(CUPY_USE)
    # the scan sees the calls it must see (it cannot pass by finding nothing)
    assert {"NcclCommunicator", "get_unique_id", "NCCL_SUM", "NCCL_AVG"} <= module_names
    assert {"allReduce", "bcast", "allGather", "abort", "destroy"} <= comm_methods
    assert {"cuda.Device", "cuda.get_current_stream", "ndarray"} <= cupy_names
    missing = [f"nccl.{n}" for n in module_names if not hasattr(nccl, n)]
    missing += [f"NcclCommunicator.{n}" for n in comm_methods
                if not hasattr(nccl.NcclCommunicator, n)]
    for dotted in cupy_names:
        obj = cupy
        for part in dotted.split("."):
            obj = getattr(obj, part, None)
        if obj is None:
            missing.append(f"cupy.{dotted}")
    assert not missing, missing


def test_nccl_unique_id_survives_the_byte_broadcast():
    from tinygrad_dc.distributed.nccl_group import _unique_id_as_array, _unique_id_from_array

    class Cupy:
        __version__ = "13.3.0"

    raw_bytes = bytes(range(128))
    as_tuple = tuple(np.frombuffer(raw_bytes, dtype=np.int8).tolist())  # CuPy 13's form
    assert _unique_id_as_array(raw_bytes).tobytes() == raw_bytes
    assert _unique_id_from_array(_unique_id_as_array(as_tuple), Cupy) == as_tuple
    Cupy.__version__ = "14.2.0"
    assert _unique_id_from_array(_unique_id_as_array(raw_bytes), Cupy) == raw_bytes
    with pytest.raises(RuntimeError, match="128"):
        _unique_id_as_array(b"short")
