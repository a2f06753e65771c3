"""DistributedDataParallel: the same model in every process, each process
on its own share of the data, gradients averaged so that all take the same
optimizer step (PyTorch's torch.nn.parallel.DistributedDataParallel).

How the averaging is triggered: forward passes each output tensor through an
identity op; when backward reaches that op it asks the engine
(`autograd.engine.queue_callback`) to call `_reduce_gradients` once the whole
backward pass has finished, when every `.grad` is final. The gradients are
then copied, divided by the world size, into flat buckets of about
`bucket_cap_mb` MiB (one dtype and device each); each bucket is summed
across processes with one all-reduce, and each `.grad` becomes its slice of
the reduced bucket. One pass over the gradients' memory besides MPI's own.
"""
from contextlib import contextmanager
import zlib

import numpy as np

from ...autograd import engine
from ...autograd.function import Op
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...distributed.reduce_op import ReduceOp
from ...tensor import Tensor
from ..module import Module
from .buckets import MB, broadcast_coalesced, make_buckets

DEFAULT_BUCKET_CAP_MB = 25


class _ReduceAfterBackward(Op):
    """Identity on one output of DDP's forward. Its backward queues the
    gradient reduction for the end of the backward pass (once per forward)."""
    saves_inputs = False

    def forward(self, x, ddp):
        self.ddp = ddp
        return x

    def backward(self, grad):
        ddp = self.ddp
        if ddp._reduction_pending:
            ddp._reduction_pending = False
            engine.queue_callback(ddp._reduce_gradients)
        return grad


def _attach(output, ddp):
    """`output` with each tensor that needs grad passed through
    _ReduceAfterBackward (tuples, lists, dicts and namedtuples are walked)."""
    if isinstance(output, Tensor):
        if not output._requires_grad:
            return output
        out = _ReduceAfterBackward.apply(output, ddp=ddp)
        out._view = (output, "reshape", None)  # same memory: writes reach both versions
        return out
    if isinstance(output, tuple) and hasattr(output, "_fields"):
        return type(output)(*[_attach(o, ddp) for o in output])
    if isinstance(output, (tuple, list)):
        return type(output)(_attach(o, ddp) for o in output)
    if isinstance(output, dict):
        return type(output)((k, _attach(v, ddp)) for k, v in output.items())
    return output


def _default_group():
    from ... import distributed as dist
    if not dist.is_initialized():
        raise RuntimeError("DistributedDataParallel needs a process group: call "
                           "tinygrad_dc.distributed.init_process_group('mpi') first, in a job "
                           "started with mpiexec -n N python script.py")
    return dist._get_default_group()


class DistributedDataParallel(Module):
    """Wrap `module` for data-parallel training over the default process group.

    At construction every process checks that its module has the same
    parameters as the others, and takes rank 0's parameters and buffers.
    Buffers (BatchNorm's running statistics) are broadcast from rank 0 again
    before each forward that follows a synchronising one. Inside `no_sync()`
    gradients accumulate locally; the next synchronising backward averages
    the accumulated sums. `state_dict()` keys carry the `module.` prefix, as
    in PyTorch; save `ddp.module.state_dict()` for a plain checkpoint.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=None, init_sync=True, process_group=None, bucket_cap_mb=None,
                 find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False, forward_sync_buffers=None):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps an nn.Module, got "
                            f"{type(module).__name__}")
        if process_group is not None:
            raise ValueError("only the default process group is supported: pass "
                             "process_group=None")
        if dim != 0:
            raise ValueError(f"dim={dim}: only dim=0 (split along the batch) is supported")
        group = _default_group()
        if bucket_cap_mb is None:
            bucket_cap_mb = DEFAULT_BUCKET_CAP_MB
        if not bucket_cap_mb > 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb}")
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't "
                               "have any parameter that requires a gradient.")
        devices = sorted({str(t.device) for t in module.parameters()} |
                         {str(t.device) for t in module.buffers()})
        if len(devices) > 1:
            raise ValueError(f"DistributedDataParallel needs the whole module on one device; "
                             f"its parameters and buffers are on {devices}")
        device = devices[0]
        if device == "cpu" and (device_ids is not None or output_device is not None):
            raise ValueError(f"device_ids and output_device are for GPU modules; this module "
                             f"is on the CPU: pass device_ids=None (got {device_ids!r})")
        if group.name == "nccl" and device != "cuda":
            raise ValueError("the 'nccl' backend reduces CUDA tensors, but the module is on "
                             f"{device}: call module.cuda() before wrapping it (or use the "
                             "'mpi' backend)")
        self.module = module
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim
        if forward_sync_buffers is None:
            forward_sync_buffers = True if broadcast_buffers is None else bool(broadcast_buffers)
        self.broadcast_buffers = forward_sync_buffers
        self.forward_sync_buffers = forward_sync_buffers
        self.find_unused_parameters = bool(find_unused_parameters)
        self.gradient_as_bucket_view = bool(gradient_as_bucket_view)
        self.static_graph = bool(static_graph)
        self.bucket_bytes_cap = int(bucket_cap_mb * MB)
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self._group = group
        # PyTorch's order: reverse registration, roughly the order in which
        # backward finishes the gradients
        self._params = params[::-1]
        self._buckets = make_buckets(self._params, self.bucket_bytes_cap)
        self._reduction_pending = False
        self._verify_same_parameters()
        if init_sync:
            self._sync_module_states()

    # ------------------------------------------------------------ construction
    def _verify_same_parameters(self):
        """Every process must wrap the same architecture: compare a summary
        of the parameter shapes and dtypes; all processes see the same
        gathered table, so all raise together (none is left waiting)."""
        layout = [(tuple(p.shape), str(p._data.dtype)) for p in self.module.parameters()]
        summary = np.array([len(layout), sum(int(np.prod(s)) for s, _ in layout),
                            zlib.crc32(repr(layout).encode())], dtype=np.int64)
        table = np.empty((self._group.world_size, summary.size), dtype=np.int64)
        self._group.cpu.all_gather(table, summary)
        if (table != table[0]).any():
            rows = "; ".join(f"rank {r}: {n} parameters, {m} elements"
                             for r, (n, m, _) in enumerate(table))
            raise RuntimeError(f"DistributedDataParallel: the processes wrap modules with "
                               f"different parameters (shapes or dtypes differ): {rows}")

    def _sync_module_states(self):
        """Take rank 0's parameters and buffers, one broadcast per bucket."""
        with no_grad():
            states = list(self.module.parameters()) + list(self.module.buffers())
            broadcast_coalesced(self._group, states, self.bucket_bytes_cap, src=0)

    # ------------------------------------------------------------ forward
    def forward(self, *inputs, **kwargs):
        buffers = list(self.module.buffers()) if self.forward_sync_buffers else []
        if self.require_forward_param_sync and buffers and self._group.world_size > 1:
            with no_grad():
                broadcast_coalesced(self._group, buffers, self.bucket_bytes_cap, src=0)
        output = self.module(*inputs, **kwargs)
        sync = is_grad_enabled() and self.require_backward_grad_sync
        self.require_forward_param_sync = sync
        if sync:
            self._reduction_pending = True
            output = _attach(output, self)
        return output

    @contextmanager
    def no_sync(self):
        """Inside this block, forward passes record no gradient averaging:
        their backward passes only accumulate `.grad` locally. The first
        forward-backward after the block averages the accumulated gradients."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ------------------------------------------------------------ backward
    def _reduce_gradients(self):
        """Average every parameter's `.grad` across processes (run by the
        engine at the end of a backward pass that went through forward)."""
        if any(b.is_stale() for b in self._buckets):
            self._buckets = make_buckets(self._params, self.bucket_bytes_cap)
        used = self._used_parameters()
        world = self._group.world_size
        if world == 1:
            return
        for bucket in self._buckets:
            self._group.all_reduce(self._pack(bucket, world), ReduceOp.SUM)
            self._unpack(bucket, used)

    @staticmethod
    def _pack(bucket, world):
        """Copy the gradients, divided by the world size, into the bucket's
        flat array (zeros for None): the sum of the all-reduce is then the
        average, and the division rides on the copy (PyTorch divides before
        the all-reduce too)."""
        flat = bucket.flat()
        divide = bucket.backend.xp.divide
        for i, (p, start, stop) in enumerate(bucket.slots):
            grad = p.grad
            if grad is None:
                flat[start:stop] = 0
            elif grad._data is bucket.views[i]:
                # gradient_as_bucket_view: the grad is this slot of the bucket
                # (backward accumulated into it in place)
                divide(flat[start:stop], world, out=flat[start:stop])
            else:
                divide(grad._data.reshape(-1), world, out=flat[start:stop])
        return flat

    def _used_parameters(self):
        """With find_unused_parameters, a {param id: used by some process}
        map (one small all-reduce); without it, every parameter must have
        received a gradient, as PyTorch requires."""
        missing = [p for p in self._params if p.grad is None]
        if not self.find_unused_parameters:
            if missing:
                names = {id(p): n for n, p in self.module.named_parameters()}
                listed = ", ".join(names.get(id(p), "?") for p in missing[::-1])
                raise RuntimeError(
                    f"DistributedDataParallel: parameters that require grad received no "
                    f"gradient in this backward pass ({listed}): they were not used in "
                    f"producing the loss. Pass find_unused_parameters=True to "
                    f"DistributedDataParallel, or make sure every output takes part in the "
                    f"loss.")
            return None
        local = np.array([p.grad is not None for p in self._params], dtype=np.int32)
        if self._group.world_size > 1:
            self._group.cpu.all_reduce(local, ReduceOp.SUM)
        return {id(p): bool(n) for p, n in zip(self._params, local)}

    def _unpack(self, bucket, used):
        """Make each parameter's `.grad` its slice of the reduced bucket (a
        view: no copy back). Without gradient_as_bucket_view the bucket then
        takes fresh memory for its next reduction, so the arrays handed out
        are never written by DDP again: they are the gradients' own."""
        for i, p in enumerate(bucket.tensors):
            if used is not None and not used[id(p)]:
                continue  # unused by every process: .grad stays None, as in PyTorch
            chunk = bucket.chunk(i)
            if p.grad is None:
                p.grad = Tensor._make(chunk, bucket.backend, None)
            else:
                p.grad._data = chunk
                p.grad._version += 1
            if self.gradient_as_bucket_view:
                bucket.views[i] = chunk
        if not self.gradient_as_bucket_view:
            bucket.release()

    def extra_repr(self):
        return ""
