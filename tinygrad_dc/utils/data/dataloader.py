"""DataLoader: PyTorch's options and errors, loading in the main process.

Batches come from a sampler of keys (map-style datasets) or straight from
the stream (IterableDataset), are fetched and collated. A TensorDataset
(possibly behind plain Subsets) with the default collate takes a fast path:
each batch is one gather per tensor (see fetch.py).

num_workers > 0 is accepted, so PyTorch scripts run unchanged, but there
are no worker processes: every batch is loaded in the main process, in the
same order as with num_workers=0, and `get_worker_info()` returns None.
"""
import warnings

from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .fetch import MapFetcher, TensorBatchFetcher, iterable_batches, tensor_source
from .sampler import BatchSampler, RandomSampler, SequentialSampler
from ._generator import check_generator


def get_worker_info():
    """Always None: tinygrad_dc loads data in the main process."""
    return None


class _StreamSampler:
    """The sampler of an IterableDataset (PyTorch's _InfiniteConstantSampler):
    there are no keys, only "the next sample"."""

    def __iter__(self):
        while True:
            yield None


class _LoaderIterator:
    """One pass over a DataLoader (what `iter(loader)` returns)."""

    def __init__(self, loader, batches):
        self._loader = loader
        self._batches = batches

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._batches)

    def __len__(self):
        return len(self._loader)


class DataLoader:
    """Iterate over `dataset` in batches.

    Same arguments, defaults and argument errors as torch.utils.data.DataLoader.
    `shuffle=True` draws a new order every epoch from `generator` (a
    numpy.random.Generator) or, by default, from the global generator seeded
    by `tinygrad_dc.manual_seed`.
    """

    _frozen = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
               "persistent_workers")
    _initialized = False

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers,
                              multiprocessing_context)
        check_generator(generator, "DataLoader")
        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            # a stream has no keys to order or pick: it is batched as it comes
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle!r}")
            for name, value in (("sampler", sampler), ("batch_sampler", batch_sampler)):
                if value is not None:
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                     f"{name} option, but got {name}={value!r}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None:
            if iterable:
                sampler = _StreamSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)  # validates both
        if num_workers > 0:
            warnings.warn(f"DataLoader: num_workers={num_workers} is accepted, but tinygrad_dc "
                          f"loads every batch in the main process (no worker processes); "
                          f"worker_init_fn, prefetch_factor and persistent_workers have no "
                          f"effect", UserWarning, stacklevel=2)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.num_workers = num_workers
        self.pin_memory = pin_memory  # nothing to pin: accepted for compatibility
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = 2 if num_workers > 0 and prefetch_factor is None else prefetch_factor
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._iterable = iterable
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._initialized = True

    def __setattr__(self, name, value):
        if self._initialized and name in self._frozen:
            raise ValueError(f"{name} attribute should not be set after "
                             f"{type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def __iter__(self):
        if self._iterable:
            batches = iterable_batches(self.dataset, self.batch_size, self.drop_last,
                                       self.collate_fn)
            return _LoaderIterator(self, batches)
        source = None
        if self._auto_collation and self.collate_fn is default_collate:
            source = tensor_source(self.dataset)
        if source is not None:
            fetch, keys = TensorBatchFetcher(*source), self._index_arrays()
        else:
            fetch = MapFetcher(self.dataset, self._auto_collation, self.collate_fn)
            keys = iter(self._index_sampler)
        return _LoaderIterator(self, (fetch(k) for k in keys))

    def _index_arrays(self):
        """Batches of keys, as arrays straight from our BatchSampler when possible."""
        sampler = self.batch_sampler
        if isinstance(sampler, BatchSampler) and type(sampler).__iter__ is BatchSampler.__iter__:
            return sampler.index_arrays()
        return iter(sampler)

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self._index_sampler)


def _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers, context):
    if num_workers < 0:
        raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                         "disable multiprocessing.")
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("prefetch_factor option could only be specified in multiprocessing; "
                         "let num_workers > 0 to enable multiprocessing, otherwise set "
                         "prefetch_factor to None.")
    if prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("prefetch_factor option should be non-negative")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
    if context is not None and num_workers == 0:
        raise ValueError(f"multiprocessing_context can only be used with multi-process loading "
                         f"(num_workers > 0), but got num_workers={num_workers}")
