"""Checks that run inside an MPI job (mpiexec -n 2 python checks.py).

Each check prints "PASS <name> rank=<r>" when it holds on this process;
tests/test_distributed.py starts the job once and reads those lines. A
failed check raises, and the abort hook of tinygrad_dc.distributed ends the
job with a non-zero status (the other ranks would otherwise wait in their
next collective). A single-process reference run is computed in each
process itself: the same model trained on the whole batch, no communication.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import tinygrad_dc as tg  # noqa: E402
import tinygrad_dc.distributed as dist  # noqa: E402
import tinygrad_dc.nn.functional as F  # noqa: E402
from tinygrad_dc import nn, optim  # noqa: E402
from tinygrad_dc.nn.parallel import DistributedDataParallel as DDP  # noqa: E402
from tinygrad_dc.utils.data import DataLoader, TensorDataset  # noqa: E402
from tinygrad_dc.utils.data.distributed import DistributedSampler  # noqa: E402

TOL = 1e-6
CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


def gathered(array):
    """Every rank's copy of `array`, stacked in rank order."""
    t = tg.tensor(np.ascontiguousarray(array))
    parts = [tg.zeros_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, t)
    return np.stack([p.numpy() for p in parts])


def model(seed):
    tg.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(),
                         nn.Linear(16, 3)).double()


def batch(step, n=16):
    rng = np.random.default_rng(1000 + step)
    return (tg.tensor(rng.standard_normal((n, 5))),
            tg.tensor(rng.integers(0, 3, n)))


def shard(t):
    """This rank's equal share of the batch dimension."""
    rank, world = dist.get_rank(), dist.get_world_size()
    n = t.shape[0] // world
    return t[rank * n:(rank + 1) * n]


def assert_same_params(a, b, what):
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        diff = np.abs(p.numpy() - q.numpy()).max()
        assert diff <= TOL, f"{what}: parameter {name} differs by {diff:.3g}"


# ---------------------------------------------------------------- collectives
@check
def collectives():
    rank, world = dist.get_rank(), dist.get_world_size()
    assert dist.is_initialized() and dist.get_backend() == "mpi" and world == 2
    values = [1.5 + rank, -2.0 * rank]
    expected = {"sum": [2 * 1.5 + 1, -2.0], "avg": [(3 + 1) / 2, -1.0],
                "max": [2.5, 0.0], "min": [1.5, -2.0], "product": [1.5 * 2.5, -0.0]}
    for op, want in expected.items():
        for dtype in (tg.float64, tg.float32, tg.float16):
            t = tg.tensor(values, dtype=dtype)
            dist.all_reduce(t, op=op)
            np.testing.assert_allclose(t.numpy(), want, rtol=1e-3, err_msg=f"{op} {dtype}")
    t = tg.tensor([1.0, 2.0]) * (rank + 1)
    dist.all_reduce(t, op=dist.ReduceOp.AVG)        # torch's enum spelling
    np.testing.assert_allclose(t.numpy(), [1.5, 3.0])
    ints = tg.tensor([rank + 1, 10])
    dist.all_reduce(ints)
    assert ints.tolist() == [3, 20] and ints.dtype == tg.int64
    flags = tg.tensor([rank == 0, False, True])
    dist.all_reduce(flags)                             # sum of booleans: any
    assert flags.tolist() == [True, False, True]
    # a non-contiguous tensor is reduced through a copy and written back
    base = tg.tensor(np.arange(12.0).reshape(3, 4) * (rank + 1))
    view = base.detach().transpose(0, 1)
    dist.all_reduce(view)
    np.testing.assert_allclose(base.numpy(), np.arange(12.0).reshape(3, 4) * 3)
    # broadcast from rank 1, all_gather, barrier, async work
    t = tg.tensor([[rank, rank + 0.5]])
    work = dist.broadcast(t, src=1, async_op=True)
    assert work.wait() and t.tolist() == [[1, 1.5]]
    parts = [tg.zeros(2, dtype=tg.int32) for _ in range(world)]
    dist.all_gather(parts, tg.tensor([rank, 7 * rank], dtype=tg.int32))
    assert [p.tolist() for p in parts] == [[0, 0], [1, 7]]
    dist.barrier()
    for bad in (lambda: dist.all_reduce(tg.tensor([1, 2]), op="avg"),
                lambda: dist.all_reduce(tg.tensor([1.0]), op="mean"),
                lambda: dist.broadcast(tg.tensor([1.0]), src=2),
                lambda: dist.all_gather([tg.zeros(2)], tg.zeros(2)),
                lambda: dist.all_gather([tg.zeros(3)] * 2, tg.zeros(2))):
        try:
            bad()
        except (TypeError, ValueError):
            continue
        raise AssertionError("a bad argument was accepted")
    try:
        dist.init_process_group("mpi")
    except ValueError as e:
        assert "twice" in str(e)
    else:
        raise AssertionError("a second init_process_group was accepted")


# ---------------------------------------------------------------- DDP
@check
def ddp_broadcasts_rank0_state():
    rank = dist.get_rank()
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).double()
    tg.manual_seed(rank)  # a different start on each rank
    for p in net.parameters():
        p.data = tg.randn(*p.shape, dtype=tg.float64)
    with tg.no_grad():
        net[1].running_mean.fill_(float(rank + 3))
    ddp = DDP(net)
    assert ddp.module is net
    for name, value in net.state_dict().items():
        copies = gathered(value.numpy())
        assert (copies == copies[0]).all(), f"{name} differs between ranks after wrapping"
    assert np.all(net[1].running_mean.numpy() == 3.0)
    keys = list(ddp.state_dict())
    assert keys == ["module." + k for k in net.state_dict()], keys
    ddp.load_state_dict(ddp.state_dict())
    # different architectures on different ranks: every rank raises, none hangs
    try:
        DDP(nn.Linear(3, 4 + rank))
    except RuntimeError as e:
        assert "different parameters" in str(e), str(e)
    else:
        raise AssertionError("mismatched modules were wrapped")


def train_equivalence(make_optimizer, steps, **ddp_kwargs):
    """DDP on halves of each batch ends where one process on the whole batch does."""
    reference = model(0)
    ref_opt = make_optimizer(reference)
    local = model(dist.get_rank())  # rank 1's own init is replaced by rank 0's
    ddp = DDP(local, **ddp_kwargs)
    opt = make_optimizer(local)
    assert_same_params(local, reference, "after wrapping")
    for step in range(steps):
        x, y = batch(step)
        ref_opt.zero_grad()
        F.cross_entropy(reference(x), y).backward()
        ref_opt.step()
        opt.zero_grad(set_to_none=step % 2 == 0)  # both ways of clearing
        F.cross_entropy(ddp(shard(x)), shard(y)).backward()
        opt.step()
    assert_same_params(local, reference, f"after {steps} steps")
    return ddp


@check
def ddp_matches_single_process_sgd_momentum():
    train_equivalence(lambda m: optim.SGD(m.parameters(), lr=0.1, momentum=0.9), steps=5)


@check
def ddp_matches_single_process_adam():
    train_equivalence(lambda m: optim.Adam(m.parameters(), lr=0.01), steps=5)


@check
def ddp_small_buckets_and_bucket_views():
    # a 1 KiB cap splits the model into several buckets (one all-reduce each)
    ddp = train_equivalence(lambda m: optim.SGD(m.parameters(), lr=0.1, momentum=0.9), steps=4,
                            bucket_cap_mb=1 / 1024)
    assert len(ddp._buckets) >= 3, len(ddp._buckets)
    ddp = train_equivalence(lambda m: optim.Adam(m.parameters(), lr=0.01), steps=4,
                            bucket_cap_mb=1 / 1024, gradient_as_bucket_view=True)
    assert len(ddp._buckets) >= 3


@check
def ddp_no_sync_accumulation_equals_one_large_batch():
    reference = model(0)
    ref_opt = optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    local = model(0)
    ddp = DDP(local)
    opt = optim.SGD(local.parameters(), lr=0.1, momentum=0.9)
    micro = 2
    for step in range(3):
        x, y = batch(step, n=24)
        ref_opt.zero_grad()
        F.cross_entropy(reference(x), y).backward()
        ref_opt.step()
        opt.zero_grad()
        xs, ys = shard(x).chunk(micro), shard(y).chunk(micro)
        with ddp.no_sync():
            F.cross_entropy(ddp(xs[0]), ys[0]).div(micro).backward()
        # nothing was communicated: the ranks' gradients still differ
        copies = gathered(local[0].weight.grad.numpy())
        assert np.abs(copies[0] - copies[1]).max() > 1e-6
        F.cross_entropy(ddp(xs[1]), ys[1]).div(micro).backward()
        copies = gathered(local[0].weight.grad.numpy())
        assert (copies[0] == copies[1]).all()
        opt.step()
    assert_same_params(local, reference, "no_sync accumulation")


@check
def ddp_gradients_handed_out_are_never_overwritten():
    local = model(0)
    ddp = DDP(local)
    kept = []
    for step in range(3):
        local.zero_grad()  # set_to_none: each step's grads are new tensors
        x, y = batch(step)
        F.cross_entropy(ddp(shard(x)), shard(y)).backward()
        grad = local[0].weight.grad
        kept.append((grad, grad.numpy().copy()))
    for grad, values in kept:
        assert np.array_equal(grad.numpy(), values), "a later reduction wrote into an old grad"
    assert len({id(g._data) for g, _ in kept}) == 3


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.head_a = nn.Linear(4, 2)
        self.head_b = nn.Linear(4, 2)   # used by rank 0 only
        self.never = nn.Linear(4, 2)    # used by no rank

    def forward(self, x, use_b):
        h = self.body(x).relu()
        return self.head_a(h) + self.head_b(h) if use_b else self.head_a(h)


@check
def ddp_find_unused_parameters():
    rank = dist.get_rank()
    tg.manual_seed(0)
    net = TwoHeads().double()
    ddp = DDP(net, find_unused_parameters=True)
    x = tg.tensor(np.random.default_rng(rank).standard_normal((3, 4)))
    ddp(x, use_b=rank == 0).sum().backward()
    assert net.never.weight.grad is None and net.never.bias.grad is None
    b = gathered(net.head_b.weight.grad.numpy())
    assert (b[0] == b[1]).all() and np.abs(b[0]).max() > 0
    # the same model without find_unused_parameters: a clear error on every rank
    strict = DDP(net)
    net.zero_grad()
    try:
        strict(x, use_b=True).sum().backward()
    except RuntimeError as e:
        assert "find_unused_parameters" in str(e) and "never.weight" in str(e), str(e)
    else:
        raise AssertionError("unused parameters went unnoticed")
    assert not strict._reduction_pending


@check
def ddp_outputs_in_containers_and_no_grad():
    local = model(0)
    ddp = DDP(local)

    class Pair(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            out = self.inner(x)
            return {"logits": out, "extra": (out * 2, 3)}

    pair = DDP(Pair(model(0)))
    x, y = batch(0)
    out = pair(shard(x))
    (F.cross_entropy(out["logits"], shard(y)) + out["extra"][0].sum()).backward()
    grads = gathered(pair.module.inner[0].weight.grad.numpy())
    assert (grads[0] == grads[1]).all()
    with tg.no_grad():
        assert not ddp(x).requires_grad


# ---------------------------------------------------------------- sampler
@check
def sampler_covers_dataset_once_per_epoch():
    rank, world = dist.get_rank(), dist.get_world_size()
    for n in (10, 11, 1):
        data = TensorDataset(tg.arange(n))
        for shuffle in (True, False):
            for drop_last in (False, True):
                sampler = DistributedSampler(data, shuffle=shuffle, drop_last=drop_last,
                                             seed=3)   # rank and world size from dist
                assert sampler.rank == rank and sampler.num_replicas == world
                orders = []
                for epoch in range(3):
                    sampler.set_epoch(epoch)
                    mine = np.array(list(sampler), dtype=np.int64)
                    assert len(mine) == len(sampler)
                    every = gathered(mine)  # same length on every rank
                    flat = every.T.reshape(-1)
                    if drop_last:
                        assert len(set(flat.tolist())) == len(flat) == n - n % world
                    else:
                        # every sample at least once; the padding repeats the first ones
                        assert sorted(set(flat.tolist())) == list(range(n))
                        assert len(flat) == -(-n // world) * world
                        if n % world == 0:
                            assert sorted(flat.tolist()) == list(range(n))
                    orders.append(flat.tolist())
                if shuffle and n > 2:
                    assert orders[0] != orders[1], "set_epoch did not reshuffle"
        loader = DataLoader(data, batch_size=2, sampler=DistributedSampler(data))
        sizes = gathered(np.array([sum(len(b[0]) for b in loader)]))
        assert sizes[0] == sizes[1]


def main():
    dist.init_process_group("mpi")
    rank = dist.get_rank()
    only = set(sys.argv[1:])
    for fn in CHECKS:
        if only and fn.__name__ not in only:
            continue
        fn()
        dist.barrier()
        print(f"PASS {fn.__name__} rank={rank}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
