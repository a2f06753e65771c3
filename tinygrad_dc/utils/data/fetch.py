"""Fetchers: how one batch (or one sample) is read from a dataset.

`TensorBatchFetcher` is the fast path: for a TensorDataset, possibly behind
plain Subsets, with the default collate, a batch is `[t[index_array] for t
in tensors]`: one gather per tensor instead of one index per sample per
tensor plus a stack. The result equals what default_collate would build
(a list, since samples are tuples), and gradients flow back through the
gather like through any indexing.
"""
import itertools

import numpy as np

from .dataset import Subset, TensorDataset


def _int_keys(indices):
    keys = np.asarray(indices)
    if keys.ndim != 1 or (keys.size and keys.dtype.kind not in "iu"):
        return None
    return keys.astype(np.int64, copy=False)


def tensor_source(dataset):
    """(tensors, key_map) when batches of `dataset` can be gathered straight
    from a TensorDataset's tensors, else None. `key_map` (an int64 array or
    None) turns the loader's keys into rows of the tensors; it composes the
    indices of any Subsets on the way down."""
    key_map = None
    while isinstance(dataset, Subset):
        if (type(dataset).__getitem__ is not Subset.__getitem__
                or type(dataset).__getitems__ is not Subset.__getitems__):
            return None  # a subclass that changes what a sample is
        keys = _int_keys(dataset.indices)
        if keys is None:
            return None
        key_map = keys if key_map is None else keys[key_map]
        dataset = dataset.dataset
    if not isinstance(dataset, TensorDataset):
        return None
    if (type(dataset).__getitem__ is not TensorDataset.__getitem__
            or getattr(type(dataset), "__getitems__", None) is not None):
        return None
    return dataset.tensors, key_map


class TensorBatchFetcher:
    def __init__(self, tensors, key_map):
        self.tensors = tensors
        self.key_map = key_map

    def __call__(self, keys):
        rows = np.asarray(keys, dtype=np.int64)
        if self.key_map is not None:
            rows = self.key_map[rows]
        # one index array per device, made once per batch
        per_backend = {}
        batch = []
        for t in self.tensors:
            backend = t._backend
            index = per_backend.get(backend.name)
            if index is None:
                index = per_backend[backend.name] = backend.xp.asarray(rows)
            batch.append(t[index])
        return batch


class MapFetcher:
    """Map-style dataset: a batch of keys -> collate_fn(list of samples), or
    without auto-batching one key -> collate_fn(sample)."""

    def __init__(self, dataset, auto_collation, collate_fn):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        getitems = getattr(dataset, "__getitems__", None)
        self.getitems = getitems if callable(getitems) else None

    def __call__(self, keys):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[keys])
        if self.getitems is not None:
            return self.collate_fn(self.getitems(keys))
        return self.collate_fn([self.dataset[k] for k in keys])


def iterable_batches(dataset, batch_size, drop_last, collate_fn):
    """Batches (or single samples, when batch_size is None) read in order
    from an IterableDataset's stream."""
    stream = iter(dataset)
    if batch_size is None:
        for sample in stream:
            yield collate_fn(sample)
        return
    while batch := list(itertools.islice(stream, batch_size)):
        if drop_last and len(batch) < batch_size:
            return
        yield collate_fn(batch)
