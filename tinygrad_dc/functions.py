"""Module-level forms of the Tensor methods: `tg.exp(x)`, `tg.sum(x, 1)`, ...

Each is the method itself, called on its first argument, so the two can
never drift apart."""
from .tensor import Tensor, matmul, maximum, minimum, where, cat, stack  # noqa: F401

_METHODS = """
exp log log1p sqrt rsqrt abs sin cos tanh sigmoid relu clamp clip pow neg sign square
sum mean var std max min amax amin argmax argmin logsumexp softmax log_softmax cumsum norm
all any reshape flatten unflatten squeeze unsqueeze transpose permute expand repeat split
chunk unbind flip masked_fill gather tril triu t add sub mul div eq ne lt le gt ge numel
clone detach floor ceil trunc round log2 log10 exp2 roll prod
""".split()


def _module_function(name):
    method = getattr(Tensor, name)

    def function(input, *args, **kwargs):
        return method(input, *args, **kwargs)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"tinygrad_dc.{name}(input, ...) is input.{name}(...)."
    return function


for _name in _METHODS:
    globals()[_name] = _module_function(_name)

__all__ = _METHODS + ["matmul", "maximum", "minimum", "where", "cat", "stack", "concat",
                      "concatenate", "is_tensor", "swapaxes"]
concat = concatenate = cat
swapaxes = globals()["transpose"]


def is_tensor(obj):
    return isinstance(obj, Tensor)
