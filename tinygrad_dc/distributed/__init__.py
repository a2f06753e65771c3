"""tinygrad_dc.distributed: collectives between the processes of one job
(PyTorch's torch.distributed names and semantics, the default group only).

Two backends, both proven communication engines rather than our own:
"mpi" (mpi4py, CPU tensors, CUDA tensors staged through the host) and
"nccl" (CuPy's NCCL bindings, CUDA tensors, one GPU per process). Either way
the job is started by an MPI launcher, which gives rank and world size:

    mpiexec -n 2 python train.py

    import tinygrad_dc.distributed as dist
    dist.init_process_group("mpi")
    dist.all_reduce(t, op="avg")

After init_process_group, an uncaught exception in any process aborts the
whole job (a non-zero exit) instead of leaving the others waiting forever in
a collective.
"""
import importlib.util
import sys

import numpy as np

from .reduce_op import ReduceOp, as_reduce_op

__all__ = ["ReduceOp", "init_process_group", "destroy_process_group", "is_initialized",
           "is_available", "is_mpi_available", "is_nccl_available", "get_rank",
           "get_world_size", "get_backend", "all_reduce", "broadcast", "all_gather", "barrier"]

BACKENDS = ("mpi", "nccl")
_NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                    "init_process_group.")

_group = None                 # the default process group (an MPIGroup or NCCLGroup)
_previous_excepthook = None   # restored by destroy_process_group


# ------------------------------------------------------------------ availability
def is_mpi_available():
    return importlib.util.find_spec("mpi4py") is not None


def is_nccl_available():
    return importlib.util.find_spec("cupy") is not None


def is_available():
    """Whether a backend can be used here (mpi4py is installed); imports
    nothing, since importing mpi4py's MPI initialises MPI."""
    return is_mpi_available()


# ------------------------------------------------------------------ the group
def init_process_group(backend="mpi", init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Join the job that the MPI launcher started, as the default group.

    Rank and world size come from the launcher; `world_size` and `rank`, when
    given, must agree with it. `timeout` is accepted for PyTorch scripts and
    not enforced (MPI has none); `init_method` may only be None or "env://"."""
    global _group, _previous_excepthook
    if _group is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = str(getattr(backend, "value", backend)).lower()
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: expected 'mpi' (CPU, through mpi4py) "
                         f"or 'nccl' (GPU, through CuPy)")
    if init_method not in (None, "env://"):
        raise ValueError(f"init_method={init_method!r}: rank and world size come from the MPI "
                         f"launcher (mpiexec -n N python script.py); pass no init_method")
    if store is not None:
        raise ValueError("store= is not supported: the MPI launcher connects the processes")
    from .mpi_group import MPIGroup
    group = MPIGroup()
    for what, given, actual in (("world_size", world_size, group.world_size),
                                ("rank", rank, group.rank)):
        if given not in (-1, None) and given != actual:
            group.destroy()
            raise ValueError(f"init_process_group({what}={given}), but the MPI launcher "
                             f"started this process with {what} {actual}")
    if name == "nccl":
        from .nccl_group import NCCLGroup
        try:
            group = NCCLGroup(group)
        except BaseException:
            group.destroy()
            raise
    _group = group
    _previous_excepthook = sys.excepthook
    sys.excepthook = _abort_on_uncaught_exception


def _abort_on_uncaught_exception(kind, value, traceback):
    """sys.excepthook while a group exists: print the error as usual, then
    abort the job, since the other processes would wait forever for this one
    in their next collective."""
    (_previous_excepthook or sys.__excepthook__)(kind, value, traceback)
    group = _group
    if group is None:
        return
    try:
        sys.stderr.write(f"tinygrad_dc.distributed: rank {group.rank} failed; aborting the job\n")
        sys.stderr.flush()
        sys.stdout.flush()
    finally:
        group.abort(1)


def destroy_process_group(group=None):
    """Leave the default group (MPI itself is finalised when Python exits)."""
    global _group, _previous_excepthook
    _check_group_arg(group)
    current = _default_group()
    _group = None
    if sys.excepthook is _abort_on_uncaught_exception:
        sys.excepthook = _previous_excepthook or sys.__excepthook__
    _previous_excepthook = None
    current.destroy()


def is_initialized():
    return _group is not None


def _default_group():
    if _group is None:
        raise ValueError(_NOT_INITIALIZED)
    return _group


def _check_group_arg(group):
    if group is not None:
        raise ValueError("only the default process group is supported: pass group=None")


def get_rank(group=None):
    _check_group_arg(group)
    return _default_group().rank


def get_world_size(group=None):
    _check_group_arg(group)
    return _default_group().world_size


def get_backend(group=None):
    _check_group_arg(group)
    return _default_group().name


# ------------------------------------------------------------------ collectives
class _CompletedWork:
    """What an `async_op=True` call returns: the collective already ran to
    completion before the call returned, so waiting is immediate."""

    def wait(self, timeout=None):
        return True

    def is_completed(self):
        return True

    def is_success(self):
        return True


def _finish(async_op):
    return _CompletedWork() if async_op else None


def _check_tensor(tensor, what="tensor"):
    from ..tensor import Tensor
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{what} must be a tinygrad_dc Tensor, got {type(tensor).__name__}")


def _contiguous(tensor):
    """The tensor's array if the group can work on it in place, else a
    C-contiguous copy (written back by _write_back)."""
    data = tensor._data
    if not getattr(data.flags, "writeable", True):  # CuPy arrays are always writable
        raise ValueError(f"the tensor of shape {tuple(tensor.shape)} is read-only (a broadcast "
                         f"view?): a collective writes into it; pass a .clone()")
    if data.flags.c_contiguous:
        return data
    return tensor._backend.xp.ascontiguousarray(data)


def _write_back(tensor, buffer):
    if buffer is not tensor._data:
        tensor._data[...] = buffer
    tensor._bump_version()  # a write into the tensor: graphs that saved it must notice


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine `tensor` across all processes, in place: afterwards every
    process holds the sum (or average, product, min, max) of all of them."""
    _check_tensor(tensor)
    _check_group_arg(group)
    op = as_reduce_op(op)
    pg = _default_group()
    if op is ReduceOp.AVG and not np.issubdtype(np.dtype(tensor._data.dtype), np.floating):
        raise TypeError(f"all_reduce with ReduceOp.AVG needs a floating point tensor; got "
                        f"{tensor.dtype} (reduce with SUM and divide yourself)")
    buffer = _contiguous(tensor)
    pg.all_reduce(buffer, op)
    _write_back(tensor, buffer)
    return _finish(async_op)


def broadcast(tensor, src, group=None, async_op=False):
    """Overwrite `tensor` on every process with rank `src`'s, in place."""
    _check_tensor(tensor)
    _check_group_arg(group)
    pg = _default_group()
    if not isinstance(src, (int, np.integer)) or not 0 <= src < pg.world_size:
        raise ValueError(f"broadcast: src={src!r} is not a rank of this group (0 to "
                         f"{pg.world_size - 1})")
    buffer = _contiguous(tensor)
    pg.broadcast(buffer, int(src))
    _write_back(tensor, buffer)
    return _finish(async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Fill `tensor_list[i]` with rank i's `tensor` on every process; the
    list has world_size tensors of `tensor`'s shape, dtype and device."""
    _check_tensor(tensor)
    _check_group_arg(group)
    pg = _default_group()
    if not isinstance(tensor_list, (list, tuple)) or len(tensor_list) != pg.world_size:
        got = len(tensor_list) if isinstance(tensor_list, (list, tuple)) else \
            type(tensor_list).__name__
        raise ValueError(f"all_gather: tensor_list must be a list of world_size="
                         f"{pg.world_size} tensors; got {got}")
    for i, out in enumerate(tensor_list):
        _check_tensor(out, f"tensor_list[{i}]")
        if out.shape != tensor.shape or out._data.dtype != tensor._data.dtype or \
                out.device != tensor.device:
            raise ValueError(f"all_gather: tensor_list[{i}] has shape {tuple(out.shape)}, "
                             f"dtype {out.dtype}, device {out.device}; the input tensor has "
                             f"shape {tuple(tensor.shape)}, dtype {tensor.dtype}, device "
                             f"{tensor.device}: they must match")
    xp = tensor._backend.xp
    gathered = xp.empty((pg.world_size,) + tuple(tensor.shape), dtype=tensor._data.dtype)
    pg.all_gather(gathered, xp.ascontiguousarray(tensor._data))
    for out, part in zip(tensor_list, gathered):
        out._data[...] = part
        out._bump_version()
    return _finish(async_op)


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every process has reached this call."""
    _check_group_arg(group)
    _default_group().barrier()
    return _finish(async_op)


def _get_default_group():
    """The group object DistributedDataParallel talks to (arrays, not Tensors)."""
    return _default_group()
