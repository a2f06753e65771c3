"""Argument helpers shared by the layers."""
import collections.abc

__all__ = []


def _ntuple(n):
    """A converter: an int x becomes (x,) * n; an iterable becomes a tuple."""
    def convert(x):
        if isinstance(x, collections.abc.Iterable):
            return tuple(x)
        return (x,) * n
    return convert
