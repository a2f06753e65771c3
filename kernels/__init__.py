"""Compiled compute kernels for tinygrad_dc.

``kernels.cpu`` holds Numba-jitted CPU kernels that work on plain NumPy arrays;
they know nothing about tensors or autograd.
"""
