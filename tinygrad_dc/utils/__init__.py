"""Utilities at PyTorch's paths: `tinygrad_dc.utils.data` (datasets, samplers,
DataLoader)."""
from . import data  # noqa: F401
