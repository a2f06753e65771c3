"""tinygrad_dc.utils.data against torch.utils.data: datasets, samplers,
default_collate and the DataLoader (batching, shuffling, the TensorDataset
fast path, errors)."""
import collections
import warnings

import numpy as np
import pytest
import torch
import torch.utils.data as tud
from hypothesis import given, strategies as st

import tinygrad_dc as tg
from tinygrad_dc.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset,
                                    IterableDataset, RandomSampler, SequentialSampler, Subset,
                                    SubsetRandomSampler, TensorDataset, default_collate,
                                    default_convert, random_split)

Point = collections.namedtuple("Point", ["x", "y"])


def _dataset(n, features=3):
    x = tg.tensor(np.arange(n * features, dtype=np.float32).reshape(n, features))
    y = tg.tensor(np.arange(n, dtype=np.int64))
    return TensorDataset(x, y)


def _epoch_labels(loader):
    return np.concatenate([y.numpy() for _, y in loader])


class DictDataset(Dataset):
    """Samples of every kind default_collate handles."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"i": i, "f": i / 2, "arr": np.full(2, i, dtype=np.float32),
                "pair": (i, np.float64(i)), "point": Point(i, [i, -i]), "name": f"s{i}"}


# ---------------------------------------------------------------- datasets
def test_tensor_dataset_indexing():
    ds = _dataset(5)
    assert len(ds) == 5
    x, y = ds[2]
    np.testing.assert_array_equal(x.numpy(), [6, 7, 8])
    assert y.item() == 2 and y.dtype == tg.int64
    assert isinstance(ds[-1], tuple) and ds[-1][1].item() == 4


def test_tensor_dataset_errors_name_the_sizes():
    with pytest.raises(ValueError, match=r"\[4, 3\].*\(4, 2\), \(3,\)"):
        TensorDataset(tg.zeros(4, 2), tg.zeros(3))
    with pytest.raises(TypeError, match="argument 1 is a ndarray"):
        TensorDataset(tg.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="0-dimensional"):
        TensorDataset(tg.tensor(1.0))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


def test_concat_dataset_matches_torch():
    a, b, c = list(range(3)), list(range(10, 15)), list(range(20, 22))
    ours = ConcatDataset([a, b, c])
    theirs = tud.ConcatDataset([a, b, c])
    assert len(ours) == len(theirs) == 10
    assert [ours[i] for i in range(-10, 10)] == [theirs[i] for i in range(-10, 10)]
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    with pytest.raises(IndexError, match="index 10 is out of range.*length 10"):
        ours[10]
    with pytest.raises(IndexError):
        ours[-11]


def test_dataset_add_and_concat_errors():
    both = _dataset(3) + _dataset(2)
    assert isinstance(both, ConcatDataset) and len(both) == 5
    assert both[3][1].item() == 0
    with pytest.raises(ValueError):
        ConcatDataset([])
    with pytest.raises(TypeError, match="iterable"):
        ConcatDataset([[1], Stream(3)])


def test_subset():
    ds = _dataset(6)
    sub = Subset(ds, [4, 1, 5])
    assert len(sub) == 3
    assert [sub[i][1].item() for i in range(3)] == [4, 1, 5]
    assert [s[1].item() for s in sub.__getitems__([2, 0])] == [5, 4]
    listed = Subset(list(range(10, 20)), [3, 7])
    assert listed[1] == 17


@given(n=st.integers(1, 40), fracs=st.sampled_from([(0.5, 0.5), (0.3, 0.3, 0.4),
                                                     (0.1, 0.9), (1.0,), (0.25,) * 4]))
def test_random_split_fraction_lengths_match_torch(n, fracs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-length splits warn in both libraries
        ours = random_split(list(range(n)), fracs)
        theirs = tud.random_split(list(range(n)), fracs)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    together = sorted(i for s in ours for i in s.indices)
    assert together == list(range(n))  # disjoint, and every index used


def test_random_split_reproducible_and_errors():
    tg.manual_seed(7)
    a = [s.indices for s in random_split(range(20), [5, 15])]
    tg.manual_seed(7)
    b = [s.indices for s in random_split(range(20), [5, 15])]
    c = [s.indices for s in random_split(range(20), [5, 15])]
    assert a == b and a != c
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    assert [s.indices for s in random_split(range(9), [4, 5], generator=g1)] == \
        [s.indices for s in random_split(range(9), [4, 5], generator=g2)]
    with pytest.raises(ValueError, match=r"Sum of input lengths \(9.*\(10\)"):
        random_split(range(10), [4, 5])
    with pytest.raises(ValueError, match="not between 0 and 1"):
        random_split(range(10), [1.5, -0.5])
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        random_split(range(10), [5, 5], generator=torch.Generator())
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(1), [0.6, 0.4])


# ---------------------------------------------------------------- samplers
@given(n=st.integers(1, 30), batch_size=st.integers(1, 8), drop_last=st.booleans())
def test_batch_sampler_matches_torch(n, batch_size, drop_last):
    ours = BatchSampler(SequentialSampler(range(n)), batch_size, drop_last)
    theirs = tud.BatchSampler(tud.SequentialSampler(range(n)), batch_size, drop_last)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs)
    # a plain iterable of indices (no epoch array) batches the same way
    generic = BatchSampler(list(range(n)), batch_size, drop_last)
    assert list(generic) == list(theirs)


def test_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    tg.manual_seed(0)
    rs = RandomSampler(range(10))
    first, second = list(rs), list(rs)
    assert sorted(first) == sorted(second) == list(range(10)) and first != second
    assert all(type(i) is int for i in first)
    many = list(RandomSampler(range(4), num_samples=10))
    assert len(many) == 10 and sorted(many[:8]) == [0, 0, 1, 1, 2, 2, 3, 3]
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=50))
    assert len(drawn) == 50 and set(drawn) <= {0, 1, 2} and len(set(drawn)) == 3
    sub = SubsetRandomSampler([10, 20, 30])
    assert sorted(sub) == [10, 20, 30] and len(sub) == 3
    with pytest.raises(ValueError, match="num_samples=0"):
        RandomSampler([])
    with pytest.raises(TypeError, match="replacement"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="batch_size=0"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last=None"):
        BatchSampler(range(3), 2, None)


# ---------------------------------------------------------------- collate
def test_default_collate_numbers_and_arrays_match_torch():
    cases = [[1, 2, 3], [1.5, 2.0], [True, False], [np.float32(1), np.float32(2)],
             [np.int32(4), np.int32(5)], [np.zeros((2, 3)), np.ones((2, 3))],
             [np.arange(3, dtype=np.int16), np.arange(3, dtype=np.int16)], [1, 2.5]]
    for batch in cases:
        ours, theirs = default_collate(batch), tud.default_collate(batch)
        assert isinstance(ours, tg.Tensor)
        assert ours.dtype.name == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    stacked = default_collate([tg.ones(2), tg.zeros(2)])
    np.testing.assert_array_equal(stacked.numpy(), [[1, 1], [0, 0]])
    assert default_collate(["a", "b"]) == ["a", "b"]


def test_default_collate_containers_match_torch():
    samples = [DictDataset(3)[i] for i in range(3)]
    ours, theirs = default_collate(samples), tud.default_collate(samples)
    assert type(ours) is dict and list(ours) == list(theirs)
    assert ours["f"].dtype == tg.float64 and ours["i"].dtype == tg.int64
    assert ours["arr"].dtype == tg.float32 and ours["arr"].shape == (3, 2)
    assert type(ours["pair"]) is list  # tuples come back as lists, as in PyTorch
    assert ours["pair"][1].dtype == tg.float64
    assert type(ours["point"]) is Point and type(ours["point"].y) is list
    assert ours["name"] == ["s0", "s1", "s2"]

    def flat(tree):
        if isinstance(tree, dict):
            return {k: flat(v) for k, v in tree.items()}
        if isinstance(tree, (list, tuple)) and not isinstance(tree[0], str):
            return [flat(v) for v in tree]
        return tree.tolist() if hasattr(tree, "tolist") else tree
    assert flat(ours) == flat(theirs)
    od = default_collate([collections.OrderedDict(b=1, a=2)] * 2)
    assert type(od) is collections.OrderedDict and list(od) == ["b", "a"]


def test_default_collate_errors():
    with pytest.raises(TypeError, match="found <class 'object'>"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="dtype <U1"):
        default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(RuntimeError, match=r"equal size, got sizes \[1, 2\]"):
        default_collate([[1], [1, 2]])
    with pytest.raises(tg.ShapeError, match=r"\(2,\).*\(3,\)"):
        default_collate([tg.zeros(2), tg.zeros(3)])


def test_default_convert():
    arr = np.arange(3.0)
    out = default_convert({"a": arr, "b": (np.int64(2), "s"), "c": [arr]})
    assert isinstance(out["a"], tg.Tensor) and out["a"].dtype == tg.float64
    assert type(out["b"]) is list and out["b"][0].item() == 2 and out["b"][1] == "s"
    assert isinstance(out["c"][0], tg.Tensor)
    assert default_convert(5) == 5


# ---------------------------------------------------------------- DataLoader
@given(n=st.integers(1, 40), batch_size=st.integers(1, 9), drop_last=st.booleans())
def test_loader_batches_match_torch(n, batch_size, drop_last):
    ds = _dataset(n)
    tds = tud.TensorDataset(torch.arange(n * 3, dtype=torch.float32).reshape(n, 3),
                            torch.arange(n))
    ours = DataLoader(ds, batch_size=batch_size, drop_last=drop_last)
    theirs = tud.DataLoader(tds, batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs) == (n // batch_size if drop_last else -(-n // batch_size))
    got, want = list(ours), list(theirs)
    assert len(got) == len(want)
    for (x, y), (tx, ty) in zip(got, want):
        np.testing.assert_array_equal(x.numpy(), tx.numpy())
        np.testing.assert_array_equal(y.numpy(), ty.numpy())
        assert x.dtype == tg.float32 and y.dtype == tg.int64


def test_loader_last_partial_batch():
    loader = DataLoader(_dataset(10), batch_size=4)
    assert [len(y) for _, y in loader] == [4, 4, 2]
    assert len(DataLoader(_dataset(10), batch_size=4, drop_last=True)) == 2
    assert [len(y) for _, y in DataLoader(_dataset(10), batch_size=4, drop_last=True)] == [4, 4]


def test_loader_shuffle_epochs_and_seed():
    loader = DataLoader(_dataset(50), batch_size=8, shuffle=True)
    tg.manual_seed(123)
    e1, e2 = _epoch_labels(loader), _epoch_labels(loader)
    for epoch in (e1, e2):
        assert sorted(epoch.tolist()) == list(range(50))  # each index exactly once
    assert not np.array_equal(e1, e2)  # reshuffled every epoch
    assert not np.array_equal(e1, np.arange(50))
    tg.manual_seed(123)
    np.testing.assert_array_equal(_epoch_labels(loader), e1)
    np.testing.assert_array_equal(_epoch_labels(loader), e2)
    # a generator of its own: reproducible whatever the global seed does
    a = DataLoader(_dataset(20), batch_size=3, shuffle=True, generator=np.random.default_rng(5))
    b = DataLoader(_dataset(20), batch_size=3, shuffle=True, generator=np.random.default_rng(5))
    tg.manual_seed(1)
    ea = _epoch_labels(a)
    tg.manual_seed(2)
    np.testing.assert_array_equal(ea, _epoch_labels(b))


def test_loader_fast_path_equals_per_sample_path(monkeypatch):
    ds = _dataset(23, features=4)
    fast = DataLoader(ds, batch_size=5, shuffle=True)
    slow = DataLoader(ds, batch_size=5, shuffle=True, collate_fn=lambda b: default_collate(b))
    calls = []
    original = tg.Tensor.__getitem__
    monkeypatch.setattr(tg.Tensor, "__getitem__",
                        lambda self, key: calls.append(1) or original(self, key))
    tg.manual_seed(9)
    got = list(fast)
    fast_calls = len(calls)
    tg.manual_seed(9)
    want = list(slow)
    assert fast_calls == 2 * len(got)  # one gather per tensor per batch, not per sample
    assert len(calls) - fast_calls == 2 * 23
    for (x, y), (sx, sy) in zip(got, want, strict=True):
        assert type(x) is tg.Tensor and x.dtype == sx.dtype and y.dtype == sy.dtype
        np.testing.assert_array_equal(x.numpy(), sx.numpy())
        np.testing.assert_array_equal(y.numpy(), sy.numpy())


def test_loader_fast_path_through_subset_and_batch_sampler():
    ds = _dataset(12)
    train, _ = random_split(ds, [8, 4])
    labels = _epoch_labels(DataLoader(train, batch_size=3))
    assert labels.tolist() == train.indices
    custom = [[5, 1], [0], [11, 11]]
    got = [y.tolist() for _, y in DataLoader(ds, batch_sampler=custom)]
    assert got == custom


class Renamed(TensorDataset):
    """A subclass that changes what a sample is: must not take the fast path."""

    def __getitem__(self, i):
        x, y = super().__getitem__(i)
        return {"x": x, "y": y * 10}


def test_loader_respects_overridden_getitem():
    ds = Renamed(tg.zeros(4, 2), tg.arange(4))
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert batch["y"].tolist() == [0, 10, 20, 30]


def test_loader_dict_and_tuple_samples():
    loader = DataLoader(DictDataset(5), batch_size=2)
    batches = list(loader)
    assert len(batches) == len(loader) == 3
    assert batches[-1]["i"].tolist() == [4] and batches[0]["name"] == ["s0", "s1"]
    assert batches[0]["point"].x.tolist() == [0, 1]
    pairs = DataLoader([(i, float(i)) for i in range(4)], batch_size=4)
    ints, floats = next(iter(pairs))
    assert ints.dtype == tg.int64 and floats.dtype == tg.float64


def test_loader_without_batching_and_custom_collate():
    samples = list(DataLoader(DictDataset(2), batch_size=None))
    assert samples[1]["i"] == 1 and isinstance(samples[1]["arr"], tg.Tensor)
    sizes = list(DataLoader(range(7), batch_size=3, collate_fn=len))
    assert sizes == [3, 3, 1]
    loader = DataLoader(range(6), sampler=[5, 3, 1], batch_size=2)
    assert [b.tolist() for b in loader] == [[5, 3], [1]] and len(loader) == 2


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def test_loader_iterable_dataset():
    assert [b.tolist() for b in DataLoader(Stream(5), batch_size=2)] == [[0, 1], [2, 3], [4]]
    assert len(DataLoader(Stream(5), batch_size=2)) == 3
    dropped = DataLoader(Stream(5), batch_size=2, drop_last=True)
    assert len(dropped) == 2 and len(list(dropped)) == 2
    assert list(DataLoader(Stream(3), batch_size=None)) == [0, 1, 2]
    with pytest.raises(ValueError, match="shuffle=True"):
        DataLoader(Stream(3), shuffle=True)


def test_loader_batches_carry_gradients_back():
    x = tg.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    loader = DataLoader(TensorDataset(x, tg.arange(3)), batch_size=2, sampler=[2, 2, 0])
    for xb, _ in loader:
        xb.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 1], [0, 0], [2, 2]])


def test_loader_argument_errors():
    ds = _dataset(4)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=SequentialSampler(ds), shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError, match="mutually exclusive with drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="batch_size=0"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="drop_last='yes'"):
        DataLoader(ds, drop_last="yes")
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="persistent_workers"):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(TypeError, match="numpy.random.Generator.*int"):
        DataLoader(ds, shuffle=True, generator=3)
    with pytest.warns(UserWarning, match="main process"):
        loader = DataLoader(ds, batch_size=2, num_workers=2)
    assert len(list(loader)) == 2
