"""CIFAR-10 from the *binary* version (cifar-10-binary.tar.gz), read from a local folder.

Each record is 3073 bytes: 1 label byte (0..9) then 3072 pixel bytes, the 32x32
red plane, then green, then blue (row-major), so a record reshapes straight to CHW.
"""

import os
from pathlib import Path

import numpy as np

__all__ = ["load_cifar10"]

_RECORD = 1 + 3 * 32 * 32
_TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]
_TEST_FILES = ["test_batch.bin"]
_SUBDIR = "cifar-10-batches-bin"  # what the official tarball unpacks to


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % _RECORD:
        raise ValueError(
            f"{path}: size {raw.size} bytes is not a positive multiple of {_RECORD} "
            "(1 label byte + 3072 pixel bytes); is this the CIFAR-10 *binary* version?"
        )
    records = raw.reshape(-1, _RECORD)
    labels = records[:, 0]
    if labels.max() > 9:
        # e.g. CIFAR-100's binary files have 2 label bytes per record.
        raise ValueError(f"{path}: label byte {labels.max()} out of range 0..9; not a CIFAR-10 batch?")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def load_cifar10(data_dir: str | os.PathLike, train: bool = True):
    """Load CIFAR-10: ``(images float32 (N,3,32,32) in [0,1], labels int64 (N,))``.

    ``train=True`` reads ``data_batch_1.bin`` .. ``data_batch_5.bin`` (50,000 images),
    ``train=False`` reads ``test_batch.bin`` (10,000), from ``data_dir`` or
    ``data_dir/cifar-10-batches-bin``.
    """
    root = Path(data_dir)
    names = _TRAIN_FILES if train else _TEST_FILES
    folder = next((d for d in (root, root / _SUBDIR) if all((d / n).is_file() for n in names)), None)
    if folder is None:
        missing = [n for n in names if not (root / n).is_file() and not (root / _SUBDIR / n).is_file()]
        raise FileNotFoundError(
            f"CIFAR-10 {'train' if train else 'test'} files not found (missing {missing}). "
            f"Put {names} in '{root}' or '{root / _SUBDIR}'. Expected the binary version "
            "(cifar-10-binary.tar.gz, 'CIFAR-10 binary version (suitable for C programs)') "
            "from https://www.cs.toronto.edu/~kriz/cifar.html, not the Python pickles."
        )
    batches = [_read_batch(folder / n) for n in names]
    images = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    return images.astype(np.float32) / 255.0, labels.astype(np.int64)
