"""Dataset loaders returning plain NumPy arrays (NCHW float32 images in [0, 1], int64 labels).

* digits: 8x8 handwritten digits embedded in the package (no download).
* MNIST / Fashion-MNIST: standard IDX files (plain or .gz) in a local folder.
* CIFAR-10: the binary version in a local folder.

Nothing here touches the network; put the files in place yourself.
"""

import os

from .cifar import load_cifar10
from .digits import digits_split, load_digits
from .mnist import load_fashion_mnist, load_mnist, read_idx

__all__ = [
    "load_digits",
    "digits_split",
    "read_idx",
    "load_mnist",
    "load_fashion_mnist",
    "load_cifar10",
    "load_dataset",
]

_FOLDER_LOADERS = {
    "mnist": load_mnist,
    "fashion-mnist": load_fashion_mnist,
    "cifar10": load_cifar10,
}


def load_dataset(name: str, data_dir: str | os.PathLike | None = None, train: bool = True):
    """Load ``(images, labels)`` for "digits", "mnist", "fashion-mnist" or "cifar10".

    "digits" ignores ``data_dir`` and returns the train (or test) part of ``digits_split()``;
    the others read files from ``data_dir``.
    """
    key = name.lower().replace("_", "-")
    key = {"fashionmnist": "fashion-mnist", "cifar-10": "cifar10"}.get(key, key)
    if key == "digits":
        x_train, y_train, x_test, y_test = digits_split()
        return (x_train, y_train) if train else (x_test, y_test)
    if key not in _FOLDER_LOADERS:
        raise ValueError(f"unknown dataset {name!r}; expected one of digits, {', '.join(_FOLDER_LOADERS)}")
    if data_dir is None:
        raise ValueError(f"dataset {name!r} is read from local files: pass data_dir=<folder with the files>")
    return _FOLDER_LOADERS[key](data_dir, train=train)
