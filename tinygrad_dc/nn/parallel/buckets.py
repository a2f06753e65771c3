"""Flat buckets: the values of many tensors packed into one array, so that a
single collective moves them all (a collective per tensor would pay the
network's latency once per parameter).

A bucket holds tensors of one dtype on one device, in the order given, up to
a byte cap; a tensor larger than the cap gets a bucket of its own.
"""
MB = 1024 * 1024


class Bucket:
    __slots__ = ("tensors", "slots", "numel", "dtype", "backend", "_flat", "views")

    def __init__(self, tensors):
        first = tensors[0]
        self.tensors = list(tensors)
        self.dtype = first._data.dtype
        self.backend = first._backend
        self.slots, start = [], 0
        for t in self.tensors:
            stop = start + t._data.size
            self.slots.append((t, start, stop))
            start = stop
        self.numel = start
        self._flat = None
        # with gradient_as_bucket_view, the grad arrays handed out per slot
        self.views = [None] * len(self.tensors)

    @property
    def nbytes(self):
        return self.numel * self.dtype.itemsize

    def flat(self):
        """The bucket's array, allocated on first use and kept."""
        if self._flat is None:
            self._flat = self.backend.xp.empty(self.numel, dtype=self.dtype)
        return self._flat

    def release(self):
        """Forget the flat array (its slices live on as gradients): the next
        flat() allocates a new one."""
        self._flat = None

    def is_stale(self):
        """Whether a tensor changed dtype, device or size since bucketing
        (e.g. module.double() after wrapping): the layout must be rebuilt."""
        return any(t._data.dtype != self.dtype or t._backend is not self.backend
                   or t._data.size != stop - start for t, start, stop in self.slots)

    def pack(self, arrays):
        """Copy `arrays` (one per slot, None for zeros) into the flat array."""
        flat = self.flat()
        for (t, start, stop), array in zip(self.slots, arrays):
            if array is None:
                flat[start:stop] = 0
            else:
                flat[start:stop] = array.reshape(-1)
        return flat

    def chunk(self, index):
        """Slot `index` of the flat array, shaped like its tensor (a view)."""
        t, start, stop = self.slots[index]
        return self._flat[start:stop].reshape(t._data.shape)


def make_buckets(tensors, cap_bytes):
    """Buckets for `tensors`: grouped by (dtype, device) keeping their order,
    each group cut into buckets of at most `cap_bytes`."""
    groups = {}
    for t in tensors:
        groups.setdefault((t._data.dtype, t._backend.name), []).append(t)
    buckets = []
    for members in groups.values():
        current, size = [], 0
        for t in members:
            nbytes = t._data.nbytes
            if current and size + nbytes > cap_bytes:
                buckets.append(Bucket(current))
                current, size = [], 0
            current.append(t)
            size += nbytes
        if current:
            buckets.append(Bucket(current))
    return buckets


def broadcast_coalesced(group, tensors, cap_bytes, src=0):
    """Give every process rank `src`'s values of `tensors`, in place, with
    one broadcast per bucket."""
    for bucket in make_buckets(tensors, cap_bytes):
        flat = bucket.pack([t._data for t in bucket.tensors])
        group.broadcast(flat, src)
        if group.rank == src:
            continue  # its values are the ones sent
        for i, t in enumerate(bucket.tensors):
            t._data[...] = bucket.chunk(i)
            t._bump_version()
