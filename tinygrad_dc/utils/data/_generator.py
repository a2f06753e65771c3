"""Which random generator a sampler or split draws from.

Shuffling uses NumPy's `Generator`: either one the caller passes (its own
stream, unaffected by the global seed) or, by default, the CPU backend's
global generator, which `tinygrad_dc.manual_seed` replaces. The global one is
looked up at every draw, never cached, because `manual_seed` swaps the object.
"""
import numpy as np

from ...backend import get_backend
from ...random import generator as backend_generator


def check_generator(generator, who):
    """Raise TypeError unless `generator` is None or a numpy.random.Generator."""
    if generator is None or isinstance(generator, np.random.Generator):
        return generator
    kind = type(generator)
    name = kind.__qualname__ if kind.__module__ == "builtins" else \
        f"{kind.__module__}.{kind.__qualname__}"
    raise TypeError(f"{who}: generator must be a numpy.random.Generator (for example "
                    f"numpy.random.default_rng(seed)) or None for the global generator seeded "
                    f"by tinygrad_dc.manual_seed, but got {name}")


def resolve_generator(generator):
    """The generator to draw from now: the given one, else the global CPU one."""
    if generator is not None:
        return generator
    return backend_generator(get_backend("cpu"))
