"""Checkpoints: `save(obj, path)` and `load(path, map_location=None)`.

The format runs no code when loaded (no pickle): a small preamble, a JSON
header that describes the object tree and every array's dtype, shape and
place, then the raw little-endian array bytes, each aligned to 64 bytes::

    b"TGDCCKPT" | u32 format version | u64 header length | JSON header | pad | data

Why not numpy's .npz with allow_pickle=False: that still needs a second
format for the tree (dict keys that are ints, tuples vs lists, None), and a
zip adds per-member overhead; one JSON header plus raw bytes is simpler to
validate (every size is known before a byte of data is read, so a truncated
file is reported as such) and lets each array be read straight into its
own buffer.

What is kept: nested dicts (keys str, int, float, bool or None, with their
types; an OrderedDict stays one, other mappings come back as dicts), lists,
tuples (tuple and list subclasses come back as the base type), Tensors
(dtype, shape, device, requires_grad, whether an nn.Parameter), NumPy
arrays and scalars, int, float, bool, str and None. The same Tensor or
array object saved twice loads as one object, so tied weights stay tied.

Saving to a path is atomic: the data goes to a temporary file in the same
directory, which is flushed, fsynced and renamed over the target, so a
crash mid-save leaves the old file intact.
"""
import collections
import collections.abc
import contextlib
import json
import math
import os
import secrets
import struct

import numpy as np

from . import dtypes
from .backend import get_backend, normalize_device
from .tensor import Tensor

__all__ = ["save", "load"]

MAGIC = b"TGDCCKPT"
VERSION = 1
_PREAMBLE = struct.Struct("<8sIQ")  # magic, format version, header length
_ALIGN = 64
_MAX_HEADER = 1 << 30
_KEY_TYPES = (str, int, float, type(None))  # bool is an int


# ------------------------------------------------------------------ atomic files
@contextlib.contextmanager
def atomic_path(path):
    """Yield a fresh temporary path next to `path`; when the body succeeds it
    is fsynced and renamed over `path`, when it fails it is removed."""
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    while True:
        tmp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            # O_EXCL: never reuse someone else's file; mode 0o666 honours the umask
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    try:
        mode = os.stat(tmp).st_mode
        yield tmp
        os.chmod(tmp, mode)  # a writer that recreates the file (safetensors does) may narrow it
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder):
    # makes the rename itself durable; not possible on every platform
    if not hasattr(os, "O_DIRECTORY"):
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ------------------------------------------------------------------ saving
class _Encoder:
    """Walks the object once, building the JSON tree and the list of arrays
    to write; every unsupported object is found here, before any I/O."""

    def __init__(self):
        self.blobs = []        # [(little-endian contiguous host array, header entry)]
        self.blob_of = {}      # id(source array) -> blob index
        self.tensor_of = {}    # id(tensor) -> tensor id in the file
        self.keep_alive = []   # holds sources so their ids stay unique during the walk
        self.offset = 0
        self.open = set()      # ids of the containers on the current path (cycle check)

    def blob(self, source, host):
        index = self.blob_of.get(id(source))
        if index is None:
            host = np.asarray(host, order="C")  # (ascontiguousarray would make 0-d 1-d)
            if host.dtype.byteorder == ">" or (host.dtype.byteorder == "=" and
                                               not np.little_endian):
                host = host.astype(host.dtype.newbyteorder("<"))
            entry = {"dtype": host.dtype.newbyteorder("<").str, "shape": list(host.shape),
                     "offset": self.offset, "nbytes": int(host.nbytes)}
            self.offset += -(-host.nbytes // _ALIGN) * _ALIGN
            index = self.blob_of[id(source)] = len(self.blobs)
            self.blobs.append((host, entry))
            self.keep_alive.append(source)
        return index

    def encode(self, obj, where):
        if isinstance(obj, Tensor):
            return self.tensor(obj, where)
        if isinstance(obj, np.ndarray):
            _check_array_dtype(obj.dtype, where)
            return {"t": "ndarray", "b": self.blob(obj, obj)}
        if isinstance(obj, np.generic):
            _check_array_dtype(obj.dtype, where)
            return {"t": "npscalar", "b": self.blob(obj, np.asarray(obj))}
        if obj is None or type(obj) in (bool, int, float, str):
            return obj
        for base in (bool, int, float, str):  # subclasses (IntEnum, ...) as their base type
            if isinstance(obj, base):
                return base(obj)
        if isinstance(obj, (collections.abc.Mapping, list, tuple)):
            if id(obj) in self.open:
                raise ValueError(f"cannot save a structure that contains itself: {where} "
                                 f"refers back to an enclosing container")
            self.open.add(id(obj))
            node = self.container(obj, where)
            self.open.discard(id(obj))
            return node
        raise TypeError(f"cannot save an object of type {type(obj).__module__}."
                        f"{type(obj).__qualname__} at {where}: tinygrad_dc.save supports "
                        f"Tensors, NumPy arrays, int, float, bool, str, None and dicts, lists "
                        f"and tuples of them")

    def container(self, obj, where):
        if isinstance(obj, (list, tuple)):
            return {"t": "tuple" if isinstance(obj, tuple) else "list",
                    "v": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        keys = list(obj.keys())
        for k in keys:
            if not isinstance(k, _KEY_TYPES) or isinstance(k, np.generic):
                raise TypeError(f"cannot save a dict key of type {type(k).__qualname__} "
                                f"({k!r}) at {where}: keys must be str, int, float, bool or "
                                f"None")
        return {"t": "odict" if isinstance(obj, collections.OrderedDict) else "dict",
                "k": [self.encode(k, where) for k in keys],
                "v": [self.encode(obj[k], f"{where}[{k!r}]") for k in keys]}

    def tensor(self, t, where):
        from .nn.parameter import Parameter
        tid = self.tensor_of.get(id(t))
        if tid is None:
            tid = self.tensor_of[id(t)] = len(self.tensor_of)
            self.keep_alive.append(t)
        return {"t": "tensor", "b": self.blob(t._data, t.numpy()), "id": tid,
                "device": t._backend.name, "requires_grad": t.requires_grad,
                "parameter": isinstance(t, Parameter)}


def _check_array_dtype(dtype, where):
    if dtype.kind not in "biufc":
        raise TypeError(f"cannot save a NumPy array of dtype {dtype} at {where}: only bool, "
                        f"integer, floating and complex dtypes are supported")


def _write_array(f, array):
    """Write one contiguous array's raw bytes."""
    f.write(array.reshape(-1).view(np.uint8))


def _write(f, header, blobs):
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    f.write(_PREAMBLE.pack(MAGIC, VERSION, len(head)))
    f.write(head)
    f.write(b"\0" * (-(_PREAMBLE.size + len(head)) % _ALIGN))
    for host, entry in blobs:
        _write_array(f, host)
        f.write(b"\0" * (-entry["nbytes"] % _ALIGN))


def save(obj, f):
    """Save `obj` (a state dict, an optimizer's state dict, a checkpoint dict,
    ...) to `f`: a path (written atomically) or a binary file object."""
    enc = _Encoder()
    tree = enc.encode(obj, "obj")
    header = {"tree": tree, "blobs": [entry for _, entry in enc.blobs],
              "data_size": enc.offset}
    if hasattr(f, "write"):
        _write(f, header, enc.blobs)
        return
    with atomic_path(f) as tmp, open(tmp, "wb") as out:
        _write(out, header, enc.blobs)


# ------------------------------------------------------------------ loading
class CheckpointError(ValueError):
    """The file is not a tinygrad_dc checkpoint, or it is truncated or corrupt."""


def _foreign_hint(start):
    if start.startswith(b"PK\x03\x04"):
        return (" It looks like a PyTorch checkpoint (torch.save writes a zip of pickles); "
                "tinygrad_dc never unpickles. In PyTorch, re-save the state dict with "
                "safetensors.torch.save_file and read it with "
                "tinygrad_dc.load_safetensors.")
    if start[:1] == b"\x80":
        return " It looks like a pickle, which tinygrad_dc never loads."
    if start[8:9] == b"{":
        return " It looks like a safetensors file: use tinygrad_dc.load_safetensors."
    return ""


def _read_exact(f, n, what, name):
    data = f.read(n)
    if len(data) != n:
        raise CheckpointError(f"{name}: the checkpoint is truncated: expected {n} bytes of "
                              f"{what}, found {len(data)}")
    return data


def _remaining(f):
    """Bytes left in a seekable file, else None."""
    try:
        here = f.tell()
        end = f.seek(0, os.SEEK_END)
        f.seek(here)
        return end - here
    except (AttributeError, OSError, ValueError):
        return None


def _parse_blob(entry, expected_offset):
    """Validate one array description from the header; return (dtype, shape)."""
    dtype, shape = np.dtype(entry["dtype"]), entry["shape"]
    if dtype.kind not in "biufc" or dtype.byteorder == ">" or \
            not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ValueError(f"bad array description {entry}")
    if entry["offset"] != expected_offset or \
            entry["nbytes"] != math.prod(shape) * dtype.itemsize:  # exact, no int64 wrap
        raise ValueError(f"inconsistent array description {entry}")
    return dtype, tuple(shape)


def _read_arrays(f, header, name):
    blobs, size = header["blobs"], header["data_size"]
    remaining = _remaining(f)
    if remaining is not None and remaining < size:
        raise CheckpointError(f"{name}: the checkpoint is truncated: it needs {size} bytes of "
                              f"array data but only {remaining} are left")
    arrays, offset = [], 0
    for entry in blobs:
        try:
            dtype, shape = _parse_blob(entry, offset)
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"{name}: corrupt checkpoint header: {e}") from None
        array = np.empty(shape, dtype=dtype)
        view = array.reshape(-1).view(np.uint8)
        got = f.readinto(view) if view.nbytes else 0
        if got != view.nbytes:
            raise CheckpointError(f"{name}: the checkpoint is truncated: an array of "
                                  f"{view.nbytes} bytes has only {got or 0}")
        pad = -view.nbytes % _ALIGN
        _read_exact(f, pad, "padding", name)
        offset += view.nbytes + pad
        arrays.append(array.astype(dtype.newbyteorder("="), copy=False))
    if offset != size:
        raise CheckpointError(f"{name}: corrupt checkpoint header: data_size {size} does not "
                              f"match the arrays ({offset} bytes)")
    return arrays


class _Decoder:
    def __init__(self, arrays, map_location):
        self.arrays = arrays
        self.map_location = map_location
        self.tensors = {}

    def decode(self, node):
        if not isinstance(node, dict):
            if isinstance(node, list):
                raise ValueError("a bare JSON list in the tree")
            return node
        kind = node["t"]
        if kind == "list":
            return [self.decode(v) for v in node["v"]]
        if kind == "tuple":
            return tuple(self.decode(v) for v in node["v"])
        if kind in ("dict", "odict"):
            keys, values = node["k"], node["v"]
            if len(keys) != len(values) or any(isinstance(k, (dict, list)) for k in keys):
                raise ValueError("bad dict node")
            pairs = zip(keys, (self.decode(v) for v in values))
            return collections.OrderedDict(pairs) if kind == "odict" else dict(pairs)
        if kind == "ndarray":
            return self.arrays[node["b"]]
        if kind == "npscalar":
            return self.arrays[node["b"]][()]
        if kind == "tensor":
            return self.tensor(node)
        raise ValueError(f"unknown node type {kind!r}")

    def tensor(self, node):
        tid = node["id"]
        if tid not in self.tensors:
            array = self.arrays[node["b"]]
            dtypes.from_numpy(array.dtype)  # raises for dtypes a tensor cannot have
            t = Tensor._make(array, get_backend("cpu"), None)
            target = self.target_device(node["device"])
            if target != "cpu":
                t = t.to(target)
            if node["parameter"]:
                from .nn.parameter import Parameter
                t = Parameter(t, requires_grad=bool(node["requires_grad"]))
            elif node["requires_grad"]:
                t.requires_grad_(True)
            self.tensors[tid] = t
        return self.tensors[tid]

    def target_device(self, saved):
        where = self.map_location
        if where is None:
            return "cpu"
        if isinstance(where, dict):
            for name in (saved, f"{saved}:0"):
                if name in where:
                    return where[name]
            return "cpu"
        return where


def _check_map_location(map_location):
    if map_location is None:
        return
    if isinstance(map_location, str) or hasattr(map_location, "type"):
        normalize_device(map_location)  # unknown names raise here, before reading
        return
    if isinstance(map_location, dict) and all(isinstance(k, str) for k in map_location):
        for target in map_location.values():
            normalize_device(target)
        return
    raise TypeError(f"map_location must be None, a device ('cpu', 'cuda') or a dict mapping "
                    f"saved device names to devices, got {type(map_location).__name__}")


def _load(f, map_location, name):
    start = f.read(_PREAMBLE.size)
    if len(start) < _PREAMBLE.size or not start.startswith(MAGIC):
        if start.startswith(MAGIC) or (start and MAGIC.startswith(start)):
            raise CheckpointError(f"{name}: the checkpoint is truncated: it ends inside its "
                                  f"preamble ({len(start)} bytes)")
        what = "an empty file" if not start else "not a tinygrad_dc checkpoint"
        raise CheckpointError(f"{name}: {what} (no {MAGIC!r} signature at its start)."
                              f"{_foreign_hint(start)}")
    _, version, header_len = _PREAMBLE.unpack(start)
    if version > VERSION:
        raise CheckpointError(f"{name}: checkpoint format version {version} is newer than this "
                              f"tinygrad_dc reads ({VERSION}); upgrade tinygrad_dc")
    if header_len > _MAX_HEADER:
        raise CheckpointError(f"{name}: corrupt checkpoint: header length {header_len}")
    raw = _read_exact(f, header_len, "header", name)
    _read_exact(f, -(_PREAMBLE.size + header_len) % _ALIGN, "padding", name)
    try:
        header = json.loads(raw.decode("utf-8"))
        blobs, tree = header["blobs"], header["tree"]
        if not isinstance(blobs, list) or not isinstance(header["data_size"], int):
            raise ValueError("bad header layout")
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError) as e:
        raise CheckpointError(f"{name}: corrupt checkpoint header: {e}") from None
    arrays = _read_arrays(f, header, name)
    try:
        return _Decoder(arrays, map_location).decode(tree)
    except (KeyError, IndexError, TypeError, ValueError, RecursionError) as e:
        raise CheckpointError(f"{name}: corrupt checkpoint tree: {e!r}") from None


def load(f, map_location=None, weights_only=None):
    """Load what `save` wrote. Tensors come back on the CPU unless
    `map_location` names a device (or maps saved device names to devices).
    `weights_only` is accepted for PyTorch compatibility: loading never runs
    code whatever it says."""
    _check_map_location(map_location)
    if hasattr(f, "read"):
        return _load(f, map_location, getattr(f, "name", type(f).__name__))
    with open(f, "rb") as stream:
        return _load(stream, map_location, os.fspath(f))

