"""The 8x8 handwritten digits, shipped inside the package (no download, no scikit-learn).

``digits.npz`` holds the same 1,797 images as ``sklearn.datasets.load_digits``;
see ``DIGITS_LICENSE.txt`` for provenance and ``_make_digits.py`` for how it was made.
"""

from importlib import resources

import numpy as np

__all__ = ["load_digits", "digits_split"]


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """Return ``(images, labels)``: float32 ``(1797, 1, 8, 8)`` in [0, 1] and int64 ``(1797,)``."""
    # importlib.resources rather than __file__ so this also works from a zipped install.
    with resources.files(__package__).joinpath("digits.npz").open("rb") as f:
        with np.load(f) as z:
            raw, labels = z["images"], z["labels"]
    # Raw pixels are counts 0..16; /16 maps them onto [0, 1]. Add the channel axis (NCHW).
    images = (raw.astype(np.float32) / 16.0)[:, None, :, :]
    return images, labels.astype(np.int64)


def digits_split(test_fraction: float = 0.2, seed: int = 0):
    """Deterministic stratified split of the digits: ``(x_train, y_train, x_test, y_test)``.

    Each class contributes ``round(test_fraction * class_size)`` samples to the test set,
    so both parts keep the class balance. Same ``seed`` -> same split.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    x, y = load_digits()
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = int(round(test_fraction * len(idx)))
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    # Shuffle across classes too, so consecutive minibatches are not single-class.
    train_idx = rng.permutation(np.concatenate(train_idx))
    test_idx = rng.permutation(np.concatenate(test_idx))
    return x[train_idx], y[train_idx], x[test_idx], y[test_idx]
