"""Benchmarks that time tinygrad_dc and PyTorch in the same process."""
