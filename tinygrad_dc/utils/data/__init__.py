"""tinygrad_dc.utils.data: PyTorch's data loading API (datasets, samplers,
collation, DataLoader), loading in the main process.

Shuffling (RandomSampler, DataLoader(shuffle=True), random_split) draws from
the global generator that `tinygrad_dc.manual_seed` seeds, or from a
`numpy.random.Generator` passed as `generator=`.
"""
from .collate import collate, default_collate, default_collate_fn_map, default_convert
from .dataloader import DataLoader, get_worker_info
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset,
                      Subset, TensorDataset, random_split)
from .distributed import DistributedSampler
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)

__all__ = ["BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset",
           "DistributedSampler",
           "IterableDataset", "RandomSampler", "Sampler", "SequentialSampler", "StackDataset",
           "Subset", "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler", "collate",
           "default_collate", "default_collate_fn_map", "default_convert", "get_worker_info",
           "random_split"]
