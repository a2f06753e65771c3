"""`tinygrad_dc.cuda`: whether a GPU can be used, and synchronisation."""
from .backend import get_backend
from .backend.cuda import is_available  # noqa: F401


def device_count():
    return 1 if is_available() else 0


def synchronize():
    if is_available():
        get_backend("cuda").synchronize()


def manual_seed(seed):
    from .random import manual_seed as seed_all
    seed_all(seed)
