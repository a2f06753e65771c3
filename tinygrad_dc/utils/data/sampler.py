"""Samplers: the order in which a DataLoader visits a map-style dataset.

Our index samplers can also hand over a whole epoch at once as a NumPy
array (`epoch_indices`), which lets `BatchSampler` slice batches out of it
and the DataLoader gather a TensorDataset's batch in one indexing call. A
subclass that overrides `__iter__` only is still honoured: the array path
is used only when `__iter__` and `_epoch_indices` come from the same class.
"""
import itertools
import numbers

import numpy as np

from ._generator import check_generator, resolve_generator


def _defining_class(cls, name):
    return next((c for c in cls.__mro__ if name in c.__dict__), None)


def epoch_indices(sampler):
    """The next epoch of `sampler` as a 1-D int64 array, or None when it can
    only be iterated (a plain iterable, or a subclass with its own order)."""
    cls = type(sampler)
    owner = _defining_class(cls, "_epoch_indices")
    if owner is None or _defining_class(cls, "__iter__") is not owner:
        return None
    return sampler._epoch_indices()


class Sampler:
    """Base class: an iterable of dataset keys (or of batches of keys), with
    an optional `__len__`."""

    def __init__(self, data_source=None):
        pass  # PyTorch accepts and ignores it; kept so ports run unchanged

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def _epoch_indices(self):
        return np.arange(len(self.data_source), dtype=np.int64)

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh random order every epoch.

    Without replacement it yields whole permutations (and the start of one
    more when `num_samples` is not a multiple of the length); with
    replacement, `num_samples` independent uniform draws. Draws come from
    `generator`, or the global generator seeded by `tinygrad_dc.manual_seed`.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = check_generator(generator, "RandomSampler")
        n = self.num_samples
        if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={n!r}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _epoch_indices(self):
        n, count = len(self.data_source), int(self.num_samples)
        if n == 0:
            raise ValueError("RandomSampler: cannot draw samples from an empty data source")
        rng = resolve_generator(self.generator)
        if self.replacement:
            return rng.integers(0, n, size=count, dtype=np.int64)
        full, rest = divmod(count, n)
        parts = [rng.permutation(n) for _ in range(full)]
        if rest:
            parts.append(rng.permutation(n)[:rest])
        return np.concatenate(parts).astype(np.int64, copy=False)

    def __iter__(self):
        return iter(self._epoch_indices().tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices, in a fresh random order every epoch."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = check_generator(generator, "SubsetRandomSampler")

    def _order(self):
        return resolve_generator(self.generator).permutation(len(self.indices))

    def _epoch_indices(self):
        keys = np.asarray(self.indices)
        if keys.ndim != 1 or (keys.size and keys.dtype.kind not in "iu"):
            return None  # not integer keys: iteration keeps them as they are
        return keys.astype(np.int64, copy=False)[self._order()]

    def __iter__(self):
        return (self.indices[i] for i in self._order().tolist())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """`num_samples` indices drawn with probability proportional to `weights`."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not isinstance(num_samples, numbers.Integral) or isinstance(num_samples, bool) \
                or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples!r}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got "
                             f"replacement={replacement!r}")
        weights = np.asarray(weights, dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(weights.shape)}")
        if (weights < 0).any() or not np.isfinite(weights).all() or weights.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")
        if not replacement and num_samples > np.count_nonzero(weights):
            raise ValueError(f"cannot draw {num_samples} samples without replacement from "
                             f"{np.count_nonzero(weights)} non-zero weights")
        self.weights = weights
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = check_generator(generator, "WeightedRandomSampler")

    def _epoch_indices(self):
        rng = resolve_generator(self.generator)
        return rng.choice(len(self.weights), size=self.num_samples, replace=self.replacement,
                          p=self.weights / self.weights.sum()).astype(np.int64, copy=False)

    def __iter__(self):
        return iter(self._epoch_indices().tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the keys of `sampler` into lists of `batch_size` (the last one
    shorter, or dropped when `drop_last`)."""

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool) \
                or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def index_arrays(self):
        """The batches of one epoch as int64 arrays (the DataLoader's fast path)."""
        epoch = epoch_indices(self.sampler)
        if epoch is None:
            for batch in self._batched(iter(self.sampler)):
                yield np.asarray(batch, dtype=np.int64)
        else:
            yield from self._slices(epoch)

    def __iter__(self):
        epoch = epoch_indices(self.sampler)
        if epoch is None:
            yield from self._batched(iter(self.sampler))
        else:
            yield from self._slices(epoch.tolist())  # Python ints, as PyTorch yields

    def _slices(self, epoch):
        size = self.batch_size
        stop = len(epoch) - len(epoch) % size if self.drop_last else len(epoch)
        for start in range(0, stop, size):
            yield epoch[start:start + size]

    def _batched(self, keys):
        if self.drop_last:
            yield from (list(batch) for batch in zip(*[keys] * self.batch_size))
            return
        while batch := list(itertools.islice(keys, self.batch_size)):
            yield batch

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size
