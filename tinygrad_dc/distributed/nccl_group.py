"""The "nccl" process group: collectives on CUDA arrays through CuPy's NCCL
bindings (`cupy.cuda.nccl`), one GPU per process.

MPI still launches the job: it gives rank and world size, picks each
process's GPU (its rank among the processes of its machine), carries NCCL's
unique id from rank 0 to the others, and implements barrier and abort.
Every collective is queued on CuPy's current stream, so the CuPy work that
follows sees its result without a synchronisation.
"""
import numpy as np

from .reduce_op import ReduceOp

NCCL_UNIQUE_ID_BYTES = 128  # sizeof(ncclUniqueId)


def import_nccl():
    """(cupy, cupy.cuda.nccl), or a clear error naming what is missing."""
    try:
        import cupy
        from cupy.cuda import nccl
    except ImportError as e:
        raise RuntimeError(f"the 'nccl' backend needs CuPy ({e}): pip install "
                           f"\"tinygrad_dc[cuda,dist]\" nvidia-nccl-cu12") from None
    if not getattr(nccl, "available", False):
        raise RuntimeError("the 'nccl' backend needs the NCCL library, which CuPy could not "
                           "load: pip install nvidia-nccl-cu12")
    return cupy, nccl


def _unique_id_as_array(uid):
    """NCCL's unique id as 128 bytes: CuPy >= 14 gives bytes, older CuPy a
    tuple of signed chars."""
    if isinstance(uid, (bytes, bytearray)):
        raw = np.frombuffer(bytes(uid), dtype=np.uint8)
    else:
        raw = np.asarray(uid, dtype=np.int64).astype(np.int8).view(np.uint8)
    if raw.size != NCCL_UNIQUE_ID_BYTES:
        raise RuntimeError(f"NCCL unique id has {raw.size} bytes; expected "
                           f"{NCCL_UNIQUE_ID_BYTES}")
    return raw.copy()


def _unique_id_from_array(raw, cupy):
    """The form this CuPy's NcclCommunicator takes (see _unique_id_as_array)."""
    if int(cupy.__version__.split(".")[0]) >= 14:
        return raw.tobytes()
    return tuple(raw.view(np.int8).tolist())


class NCCLGroup:
    name = "nccl"

    def __init__(self, mpi_group):
        cupy, nccl = import_nccl()
        self._cupy, self._nccl = cupy, nccl
        self._mpi = mpi_group
        # small host-side exchanges (DDP's parameter check, its used-parameter
        # mask) go over MPI: NCCL moves device memory only
        self.cpu = mpi_group
        self.rank, self.world_size = mpi_group.rank, mpi_group.world_size
        count = cupy.cuda.runtime.getDeviceCount()
        if count == 0:
            raise RuntimeError("the 'nccl' backend needs a GPU, and none was found")
        # one GPU per process: the process's rank on its machine picks it
        self.device_index = mpi_group.local_rank % count
        cupy.cuda.Device(self.device_index).use()
        uid = np.zeros(NCCL_UNIQUE_ID_BYTES, dtype=np.uint8)
        if self.rank == 0:
            uid[:] = _unique_id_as_array(nccl.get_unique_id())
        mpi_group.broadcast(uid, 0)
        self._nccl_comm = nccl.NcclCommunicator(self.world_size,
                                                _unique_id_from_array(uid, cupy), self.rank)
        self._ops = {ReduceOp.SUM: nccl.NCCL_SUM, ReduceOp.AVG: nccl.NCCL_AVG,
                     ReduceOp.PRODUCT: nccl.NCCL_PROD, ReduceOp.MIN: nccl.NCCL_MIN,
                     ReduceOp.MAX: nccl.NCCL_MAX}
        self._types = {np.dtype(np.float16): nccl.NCCL_FLOAT16,
                       np.dtype(np.float32): nccl.NCCL_FLOAT32,
                       np.dtype(np.float64): nccl.NCCL_FLOAT64,
                       np.dtype(np.int8): nccl.NCCL_INT8, np.dtype(np.uint8): nccl.NCCL_UINT8,
                       np.dtype(np.int32): nccl.NCCL_INT32,
                       np.dtype(np.int64): nccl.NCCL_INT64,
                       np.dtype(np.uint32): nccl.NCCL_UINT32,
                       np.dtype(np.uint64): nccl.NCCL_UINT64}

    def _check(self, array):
        if not isinstance(array, self._cupy.ndarray):
            raise RuntimeError(f"the 'nccl' backend works on CUDA tensors; got an array of type "
                               f"{type(array).__module__}.{type(array).__name__}: move the "
                               f"tensor with .cuda() (or use backend='mpi' for CPU tensors)")
        if array.device.id != self.device_index:
            raise RuntimeError(f"the 'nccl' backend of this process uses GPU "
                               f"{self.device_index}, but the array is on GPU {array.device.id}")

    def _stream(self):
        return self._cupy.cuda.get_current_stream().ptr

    # -------------------------------------------------------------- collectives
    def all_reduce(self, array, op):
        self._check(array)
        if array.dtype == np.bool_:
            # NCCL has no booleans: bytes, with max for "any" and min for "all"
            op = ReduceOp.MAX if op in (ReduceOp.SUM, ReduceOp.MAX) else ReduceOp.MIN
            array = array.view(np.uint8)
        if array.dtype not in self._types:
            raise TypeError(f"the 'nccl' backend cannot reduce {array.dtype} arrays")
        self._nccl_comm.allReduce(array.data.ptr, array.data.ptr, array.size,
                                  self._types[array.dtype], self._ops[op], self._stream())

    def broadcast(self, array, src):
        self._check(array)
        self._nccl_comm.bcast(array.data.ptr, array.nbytes, self._nccl.NCCL_UINT8, src,
                              self._stream())

    def all_gather(self, out, array):
        self._check(array)
        self._check(out)
        self._nccl_comm.allGather(array.data.ptr, out.data.ptr, array.nbytes,
                                  self._nccl.NCCL_UINT8, self._stream())

    def barrier(self):
        # NCCL work is ordered on the stream: finish ours, then meet the others
        self._cupy.cuda.get_current_stream().synchronize()
        self._mpi.barrier()

    # -------------------------------------------------------------- lifetime
    def abort(self, code=1):
        try:
            self._nccl_comm.abort()  # frees ranks blocked inside NCCL kernels
        finally:
            self._mpi.abort(code)

    def destroy(self):
        self._cupy.cuda.get_current_stream().synchronize()
        self._nccl_comm.destroy()
        self._mpi.destroy()
