"""ReduceOp: how all_reduce combines the processes' values (PyTorch's names).

A str-valued enum, so `op="sum"` and `op=ReduceOp.SUM` mean the same thing.
"""
from enum import Enum


class ReduceOp(str, Enum):
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"

    def __str__(self):
        return f"ReduceOp.{self.name}"


def as_reduce_op(op):
    """`op` as a ReduceOp: a ReduceOp, or its name in any case ("sum", "AVG")."""
    if isinstance(op, ReduceOp):
        return op
    if isinstance(op, str):
        try:
            return ReduceOp(op.lower())
        except ValueError:
            pass
    raise ValueError(f"unknown reduce op {op!r}; expected one of "
                     f"{', '.join(repr(o.value) for o in ReduceOp)} or a ReduceOp")
