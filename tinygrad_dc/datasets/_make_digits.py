"""Maintainer script: regenerate ``digits.npz`` from scikit-learn's copy of the data.

This is NOT imported at runtime (the loader only reads the shipped ``.npz``,
so scikit-learn is not a dependency). Run it once, from the repo root, with
scikit-learn installed:

    python tinygrad_dc/datasets/_make_digits.py

Provenance and license of the data: see ``DIGITS_LICENSE.txt`` next to this file.
"""

from pathlib import Path

import numpy as np


def main() -> None:
    from sklearn.datasets import load_digits  # maintainer-only dependency

    d = load_digits()
    images = d.images
    # The raw data are integer counts 0..16 (number of "on" pixels in each 4x4
    # block of the 32x32 original), so uint8 stores them losslessly.
    assert images.shape == (1797, 8, 8)
    assert np.array_equal(images, np.round(images)) and images.min() >= 0 and images.max() <= 16
    labels = d.target
    assert labels.shape == (1797,) and labels.min() >= 0 and labels.max() <= 9

    out = Path(__file__).with_name("digits.npz")
    # Keep scikit-learn's sample order so results can be compared one to one.
    np.savez_compressed(out, images=images.astype(np.uint8), labels=labels.astype(np.uint8))
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
