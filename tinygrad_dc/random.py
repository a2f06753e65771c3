"""Random numbers: one generator per device, all seeded by `manual_seed`."""
from .backend import loaded_backends

_seed = [None]


def manual_seed(seed):
    """Make every later random draw (init, dropout, shuffling) reproducible."""
    seed = int(seed)
    _seed[0] = seed
    for backend in loaded_backends():
        backend.seed(seed)
    return seed


def initial_seed():
    return _seed[0]


def generator(backend):
    return backend.generator


def uniform_array(backend, shape, low, high, dtype):
    return backend.generator.uniform(low, high, size=shape).astype(dtype, copy=False)


def normal_array(backend, shape, mean, std, dtype):
    return (backend.generator.standard_normal(size=shape) * std + mean).astype(dtype, copy=False)


def randint_array(backend, low, high, shape):
    return backend.generator.integers(low, high, size=shape, dtype="int64")


def permutation_array(backend, n):
    return backend.generator.permutation(n)
