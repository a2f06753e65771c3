"""MNIST and Fashion-MNIST from the standard IDX files in a local folder (no download).

IDX format (http://yann.lecun.com/exdb/mnist/): two zero bytes, a dtype code, the
number of dimensions, then one big-endian uint32 per dimension, then the data
(big-endian, C order). Files may be plain or gzipped.
"""

import gzip
import os
from pathlib import Path

import numpy as np

__all__ = ["read_idx", "load_mnist", "load_fashion_mnist"]

# IDX dtype code -> big-endian NumPy dtype.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (plain or gzipped) into a native-endian NumPy array.

    Raises ValueError if the header is invalid or the data length does not match it.
    """
    path = Path(path)
    data = path.read_bytes()
    # Detect gzip by content, not by name: a renamed file still loads.
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:  # BadGzipFile is an OSError; truncated gzip is EOFError
            raise ValueError(f"{path}: corrupt or truncated gzip data ({e})") from e

    if len(data) < 4:
        raise ValueError(f"{path}: too short for an IDX header ({len(data)} bytes)")
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0 or code not in _IDX_DTYPES:
        raise ValueError(
            f"{path}: bad IDX magic number 0x{data[:4].hex()} "
            "(expected 0x0000 followed by a dtype code in 08/09/0B/0C/0D/0E and ndim)"
        )
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise ValueError(f"{path}: truncated IDX header (ndim={ndim}, {len(data)} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))

    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header_len
    if actual != expected:
        kind = "truncated" if actual < expected else "has trailing bytes"
        raise ValueError(
            f"{path}: IDX data {kind}: header says shape {shape} ({expected} bytes), "
            f"file holds {actual} bytes after the header"
        )
    arr = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header_len)
    # astype to native byte order also gives a writable copy (frombuffer views are read-only).
    return arr.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def _find_file(folders: list[Path], name: str) -> Path | None:
    for folder in folders:
        for candidate in (folder / name, folder / (name + ".gz")):
            if candidate.is_file():
                return candidate
    return None


def _load_idx_pair(data_dir, train: bool, subdir: str, what: str):
    """Shared MNIST/Fashion-MNIST loader: images + labels IDX files -> (N,1,H,W) float32, int64."""
    root = Path(data_dir)
    # Accept the files directly in data_dir, or in torchvision's <Name>/raw layout.
    folders = [root, root / subdir / "raw"]
    prefix = "train" if train else "t10k"
    names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    paths = [_find_file(folders, n) for n in names]
    if any(p is None for p in paths):
        missing = [n for n, p in zip(names, paths) if p is None]
        raise FileNotFoundError(
            f"{what} {'train' if train else 'test'} files not found: missing {missing} "
            f"(plain or .gz). Put {names[0]}[.gz] and {names[1]}[.gz] in '{root}' "
            f"or in '{root / subdir / 'raw'}'."
        )

    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"{paths[0]}: expected 3-D uint8 images, got {images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise ValueError(f"{paths[1]}: expected 1-D uint8 labels, got {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels in {root}")
    return (images.astype(np.float32) / 255.0)[:, None, :, :], labels.astype(np.int64)


def load_mnist(data_dir: str | os.PathLike, train: bool = True):
    """Load MNIST: ``(images float32 (N,1,28,28) in [0,1], labels int64 (N,))``.

    Looks in ``data_dir`` and ``data_dir/MNIST/raw`` for the standard IDX file names.
    """
    return _load_idx_pair(data_dir, train, "MNIST", "MNIST")


def load_fashion_mnist(data_dir: str | os.PathLike, train: bool = True):
    """Load Fashion-MNIST (same file names and format as MNIST).

    Looks in ``data_dir`` and ``data_dir/FashionMNIST/raw`` (torchvision's layout).
    """
    return _load_idx_pair(data_dir, train, "FashionMNIST", "Fashion-MNIST")
