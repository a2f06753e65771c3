"""The "mpi" process group: collectives on host arrays through mpi4py.

Rank and world size come from the MPI launcher (`mpiexec -n N python ...`).
Only mpi4py's buffer methods (capitalised: Allreduce, Bcast, Allgather) are
used: they move the arrays' memory directly, where the lower-case object
methods would pickle. CUDA arrays are staged through host memory.
"""
import numpy as np

from .reduce_op import ReduceOp

INSTALL_HINT = ('pip install "tinygrad_dc[dist]" (mpi4py and the mpich wheel), then launch '
                'with: mpiexec -n 2 python your_script.py')


def import_mpi():
    """mpi4py's MPI module (importing it initialises MPI), or a clear error."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError(f"the 'mpi' backend needs mpi4py and an MPI library ({e}): "
                           f"{INSTALL_HINT}") from None
    return MPI


class MPIGroup:
    name = "mpi"

    def __init__(self):
        MPI = import_mpi()
        self._MPI = MPI
        # our own communicator: a user's MPI messages on COMM_WORLD can never
        # be matched with ours
        self._comm = MPI.COMM_WORLD.Dup()
        self.rank = self._comm.Get_rank()
        self.world_size = self._comm.Get_size()
        # the rank among the processes of this machine: picks the GPU for NCCL
        local = self._comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank = local.Get_rank()
        local.Free()
        self.cpu = self  # the group for small host-side arrays (see NCCLGroup.cpu)
        self._ops = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
                     ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}
        # MPI defines no arithmetic on booleans: the logical ops that match
        # PyTorch's results (sum and max: any; product and min: all)
        self._bool_ops = {ReduceOp.SUM: MPI.LOR, ReduceOp.MAX: MPI.LOR,
                          ReduceOp.PRODUCT: MPI.LAND, ReduceOp.MIN: MPI.LAND}

    # -------------------------------------------------------------- collectives
    def all_reduce(self, array, op):
        """Reduce a C-contiguous array in place across all processes."""
        host, device_array = _on_host(array)
        if host.dtype == np.float16:
            # not every MPI reduces half floats; float32 also sums more exactly
            wide = host.astype(np.float32)
            self._all_reduce_host(wide, op)
            host[...] = wide
        else:
            self._all_reduce_host(host, op)
        _back_to_device(device_array, host)

    def _all_reduce_host(self, host, op):
        if host.dtype == np.bool_:
            self._comm.Allreduce(self._MPI.IN_PLACE, host, op=self._bool_ops[op])
            return
        self._comm.Allreduce(self._MPI.IN_PLACE, host, op=self._ops[op])
        if op is ReduceOp.AVG:
            host /= self.world_size

    def broadcast(self, array, src):
        """Overwrite a C-contiguous array with rank `src`'s, in place."""
        host, device_array = _on_host(array)
        self._comm.Bcast(_bytes_of(host), root=src)
        _back_to_device(device_array, host)

    def all_gather(self, out, array):
        """Fill `out` (shape (world_size, *array.shape), C-contiguous) with
        every rank's `array`, in rank order."""
        host_in, _ = _on_host(array)
        host_out, device_out = _on_host(out)
        self._comm.Allgather(_bytes_of(host_in), _bytes_of(host_out))
        _back_to_device(device_out, host_out)

    def barrier(self):
        self._comm.Barrier()

    # -------------------------------------------------------------- lifetime
    def abort(self, code=1):
        """End every process of the job at once (no return)."""
        self._MPI.COMM_WORLD.Abort(code)

    def destroy(self):
        self._comm.Free()


def _bytes_of(array):
    """The array's memory as flat bytes: broadcast and gather move bytes,
    which every MPI supports for every dtype (bool, float16 included)."""
    return array.reshape(-1).view(np.uint8)


def _on_host(array):
    """(host array, the device array to copy results back to or None)."""
    if isinstance(array, np.ndarray):
        return array, None
    return array.get(), array  # a CuPy array: MPI here works on host memory


def _back_to_device(device_array, host):
    if device_array is not None:
        device_array.set(host)
