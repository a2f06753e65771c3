"""What the ports share: their command line and their image data.

Every port runs with no arguments on data that needs no download (the 8x8
digits embedded in tinygrad_dc, resized to the shape the original expects),
and on the real files with --data-dir (CIFAR-10 binary version, MNIST IDX).
"""
import argparse
import os
import sys

# run from a fresh clone without installing: the repository root goes on the path
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import numpy as np  # noqa: E402

from tinygrad_dc.datasets import digits_split, load_cifar10, load_mnist  # noqa: E402

CIFAR10_CLASSES = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
DIGIT_CLASSES = tuple(str(d) for d in range(10))


def parser(description, epochs, batch_size, lr, data_help):
    """The options every port has; defaults are the original's hyperparameters."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--limit", type=int, default=None,
                   help="use only the first N training samples and N//4 test samples "
                        "(at least 1): quick runs and tests")
    p.add_argument("--data-dir", default=None, help=data_help)
    p.add_argument("--seed", type=int, default=0)
    return p


def limit(arrays, n):
    """The first n rows of each array (all of them when n is None)."""
    return tuple(arrays) if n is None else tuple(a[:n] for a in arrays)


def limit_split(train, test, n):
    """--limit N: N training samples and N//4 (at least 1) test samples."""
    if n is None:
        return tuple(train), tuple(test)
    if n < 1:
        sys.exit(f"error: --limit must be at least 1, got {n}")
    return limit(train, n), limit(test, max(n // 4, 1))


def resize_matrix(src, dst):
    """(dst, src) matrix of bilinear weights: half-pixel centres, edges
    clamped (F.interpolate(mode='bilinear', align_corners=False))."""
    pos = np.clip((np.arange(dst) + 0.5) * src / dst - 0.5, 0, src - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, src - 1)
    frac = pos - lo
    m = np.zeros((dst, src))
    m[np.arange(dst), lo] += 1 - frac
    m[np.arange(dst), hi] += frac
    return m


def resize_images(images, size):
    """Bilinear resize of (N, C, H, W) images to (N, C, size, size)."""
    rows = resize_matrix(images.shape[2], size)
    cols = resize_matrix(images.shape[3], size)
    return np.einsum("ih,nchw,jw->ncij", rows, images, cols).astype(np.float32)


def digits_as(size, channels):
    """The embedded digits (1,438 train / 359 test, stratified split) resized
    to size x size with `channels` identical channels, values in [0, 1]."""
    x_train, y_train, x_test, y_test = digits_split()
    x_train, x_test = (np.repeat(resize_images(x, size), channels, axis=1)
                       for x in (x_train, x_test))
    return (x_train, y_train), (x_test, y_test)


def cifar10_or_digits(data_dir, n=None):
    """((x_train, y_train), (x_test, y_test), class names): CIFAR-10 from its
    binary files when data_dir is given, else the digits as 3x32x32 images.
    Images are float32 (N, 3, 32, 32) in [0, 1] (what ToTensor gives)."""
    if data_dir is not None:
        train, test = load_cifar10(data_dir, train=True), load_cifar10(data_dir, train=False)
        names = CIFAR10_CLASSES
    else:
        train, test = digits_as(32, 3)
        names = DIGIT_CLASSES
    return (*limit_split(train, test, n), names)


def mnist_or_digits(data_dir, n=None):
    """((x_train, y_train), (x_test, y_test)): MNIST from its IDX files when
    data_dir is given, else the digits as 1x28x28 images; float32 in [0, 1]."""
    if data_dir is not None:
        train, test = load_mnist(data_dir, train=True), load_mnist(data_dir, train=False)
    else:
        train, test = digits_as(28, 1)
    return limit_split(train, test, n)
