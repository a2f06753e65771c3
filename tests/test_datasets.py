"""Tests for tinygrad_dc.datasets: the embedded digits and the MNIST / CIFAR-10 file readers.

The file readers are tested on tiny files written into tmp_path; nothing is downloaded.
"""

import gzip
import struct

import numpy as np
import pytest

from tinygrad_dc.datasets import (
    digits_split,
    load_cifar10,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_mnist,
    read_idx,
)

# ---------------------------------------------------------------- digits


def test_digits_shape_dtype_range():
    x, y = load_digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    # Pixels are counts 0..16 scaled by 1/16, so x*16 is integral.
    np.testing.assert_array_equal(x * 16, np.round(x * 16))
    np.testing.assert_array_equal(
        np.bincount(y), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    )


def test_digits_match_sklearn_if_installed():
    import sklearn.datasets as sk  # in the test extra, so this always runs
    d = sk.load_digits()
    x, y = load_digits()
    np.testing.assert_array_equal(x[:, 0] * 16, d.images)
    np.testing.assert_array_equal(y, d.target)


def test_digits_split_deterministic_and_stratified():
    a = digits_split()
    b = digits_split()
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    x_tr, y_tr, x_te, y_te = a
    assert len(x_tr) + len(x_te) == 1797 and len(x_tr) == len(y_tr) and len(x_te) == len(y_te)
    assert abs(len(x_te) - 0.2 * 1797) <= 10
    # Stratified: every class gets ~20% of its samples in the test part.
    full = np.bincount(load_digits()[1])
    assert np.all(np.abs(np.bincount(y_te, minlength=10) - 0.2 * full) <= 1)
    # Train + test is exactly the full data set, as a multiset of (image, label) rows.
    def sorted_rows(x, y):
        rows = np.concatenate([np.round(x.reshape(len(x), -1) * 16), y[:, None]], axis=1)
        return rows[np.lexsort(rows.T[::-1])]
    np.testing.assert_array_equal(
        sorted_rows(np.concatenate([x_tr, x_te]), np.concatenate([y_tr, y_te])), sorted_rows(*load_digits())
    )
    # A different seed gives a different split.
    assert not np.array_equal(digits_split(seed=1)[1], y_tr)


def test_digits_split_bad_fraction():
    with pytest.raises(ValueError):
        digits_split(test_fraction=1.0)


def test_load_dataset_digits():
    x_tr, y_tr, x_te, y_te = digits_split()
    x, y = load_dataset("digits", train=True)
    np.testing.assert_array_equal(x, x_tr)
    np.testing.assert_array_equal(y, y_tr)
    x, y = load_dataset("digits", data_dir="ignored", train=False)
    np.testing.assert_array_equal(x, x_te)
    np.testing.assert_array_equal(y, y_te)


def test_load_dataset_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("imagenet")
    with pytest.raises(ValueError, match="data_dir"):
        load_dataset("mnist")


# ---------------------------------------------------------------- IDX / MNIST


def idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    """Encode arr as an IDX file: 0x0000, dtype code, ndim, big-endian uint32 dims, big-endian data."""
    big = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(big).tobytes()


def write_idx(path, arr, code=0x08, gz=False):
    data = idx_bytes(arr, code)
    path.write_bytes(gzip.compress(data) if gz else data)


@pytest.fixture
def mnist_arrays():
    rng = np.random.default_rng(0)
    return {
        "train": (rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), rng.integers(0, 10, 5, dtype=np.uint8)),
        "t10k": (rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), rng.integers(0, 10, 3, dtype=np.uint8)),
    }


def write_mnist(folder, arrays, gz):
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    for prefix, (images, labels) in arrays.items():
        write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", images, gz=gz)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", labels, gz=gz)


@pytest.mark.parametrize("code", [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E])
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_roundtrip_all_dtypes(tmp_path, code, gz):
    native = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.int16, 0x0C: np.int32, 0x0D: np.float32, 0x0E: np.float64}
    # Negative values for signed codes, fractions for float codes (unsigned: 0..23).
    values = np.arange(24) - (0 if code == 0x08 else 7) + (0.5 if code >= 0x0D else 0)
    arr = values.reshape(2, 3, 4).astype(native[code])
    p = tmp_path / "a.idx"
    write_idx(p, arr, code, gz=gz)
    out = read_idx(p)
    assert out.dtype == np.dtype(native[code]) and out.dtype.isnative
    assert out.shape == arr.shape
    np.testing.assert_array_equal(out, arr)
    out[0, 0, 0] = 1  # result is a writable array, not a read-only buffer view


def test_read_idx_header_is_big_endian(tmp_path):
    # 300 = 0x0000012C: a little-endian reader would see a huge dimension.
    arr = np.arange(300, dtype=np.uint8)
    p = tmp_path / "a"
    p.write_bytes(b"\x00\x00\x08\x01" + b"\x00\x00\x01\x2c" + arr.tobytes())
    np.testing.assert_array_equal(read_idx(p), arr)


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_roundtrip(tmp_path, mnist_arrays, gz):
    write_mnist(tmp_path, mnist_arrays, gz)
    for train, prefix in [(True, "train"), (False, "t10k")]:
        x, y = load_mnist(tmp_path, train=train)
        images, labels = mnist_arrays[prefix]
        assert x.shape == (len(images), 1, 28, 28) and x.dtype == np.float32
        assert y.dtype == np.int64
        assert 0.0 <= x.min() and x.max() <= 1.0
        np.testing.assert_array_equal(np.round(x[:, 0] * 255).astype(np.uint8), images)
        np.testing.assert_array_equal(y, labels)


def test_load_mnist_torchvision_layout(tmp_path, mnist_arrays):
    write_mnist(tmp_path / "MNIST" / "raw", mnist_arrays, gz=True)
    x, y = load_mnist(tmp_path, train=False)
    np.testing.assert_array_equal(y, mnist_arrays["t10k"][1])
    write_mnist(tmp_path / "FashionMNIST" / "raw", mnist_arrays, gz=False)
    x, y = load_fashion_mnist(tmp_path)
    np.testing.assert_array_equal(y, mnist_arrays["train"][1])
    x2, y2 = load_dataset("fashion-mnist", tmp_path)
    np.testing.assert_array_equal(x2, x)


def test_load_mnist_missing_files(tmp_path, mnist_arrays):
    with pytest.raises(FileNotFoundError) as e:
        load_mnist(tmp_path)
    msg = str(e.value)
    assert "train-images-idx3-ubyte" in msg and "train-labels-idx1-ubyte" in msg and str(tmp_path) in msg
    # Only the test files present: asking for train still fails, naming the train files.
    write_mnist(tmp_path, {"t10k": mnist_arrays["t10k"]}, gz=False)
    with pytest.raises(FileNotFoundError, match="train-images"):
        load_mnist(tmp_path, train=True)


def test_read_idx_bad_magic(tmp_path):
    p = tmp_path / "bad"
    p.write_bytes(b"\x08\x03\x00\x00" + bytes(16))
    with pytest.raises(ValueError, match="magic"):
        read_idx(p)
    p.write_bytes(b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00")  # unknown dtype code
    with pytest.raises(ValueError, match="magic"):
        read_idx(p)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_truncated(tmp_path, gz):
    data = idx_bytes(np.zeros((4, 28, 28), np.uint8))
    p = tmp_path / "t"
    cut = data[:-10]
    p.write_bytes(gzip.compress(cut) if gz else cut)
    with pytest.raises(ValueError, match="truncated"):
        read_idx(p)
    p.write_bytes(data[:9])  # header cut inside the dims
    with pytest.raises(ValueError, match="truncated"):
        read_idx(p)
    p.write_bytes(data[:2])
    with pytest.raises(ValueError):
        read_idx(p)


def test_read_idx_corrupt_gzip(tmp_path):
    p = tmp_path / "t.gz"
    p.write_bytes(gzip.compress(idx_bytes(np.zeros(100, np.uint8)))[:-8])
    with pytest.raises(ValueError, match="gzip"):
        read_idx(p)


def test_load_mnist_count_mismatch(tmp_path, mnist_arrays):
    images, labels = mnist_arrays["train"]
    write_mnist(tmp_path, {"train": (images, labels[:-1])}, gz=False)
    with pytest.raises(ValueError, match="labels"):
        load_mnist(tmp_path)


# ---------------------------------------------------------------- CIFAR-10


def cifar_records(n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    raw = np.concatenate([labels[:, None], images.reshape(n, -1)], axis=1).tobytes()
    return images, labels, raw


def write_cifar(folder, sizes=(2, 1, 3, 1, 2), n_test=2):
    folder.mkdir(parents=True, exist_ok=True)
    train = []
    for i, n in enumerate(sizes, start=1):
        images, labels, raw = cifar_records(n, seed=i)
        (folder / f"data_batch_{i}.bin").write_bytes(raw)
        train.append((images, labels))
    images, labels, raw = cifar_records(n_test, seed=99)
    (folder / "test_batch.bin").write_bytes(raw)
    return (np.concatenate([t[0] for t in train]), np.concatenate([t[1] for t in train])), (images, labels)


@pytest.mark.parametrize("sub", ["", "cifar-10-batches-bin"])
def test_load_cifar10_roundtrip(tmp_path, sub):
    (tr_x, tr_y), (te_x, te_y) = write_cifar(tmp_path / sub if sub else tmp_path)
    x, y = load_cifar10(tmp_path, train=True)
    assert x.shape == (9, 3, 32, 32) and x.dtype == np.float32 and y.dtype == np.int64
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_array_equal(np.round(x * 255).astype(np.uint8), tr_x)
    np.testing.assert_array_equal(y, tr_y)
    x, y = load_dataset("cifar10", tmp_path, train=False)
    np.testing.assert_array_equal(np.round(x * 255).astype(np.uint8), te_x)
    np.testing.assert_array_equal(y, te_y)


def test_load_cifar10_channel_layout(tmp_path):
    # One record whose R plane is 1s, G plane 2s, B plane 3s: channel order must be RGB.
    planes = np.concatenate([np.full(1024, c, np.uint8) for c in (1, 2, 3)])
    (tmp_path / "test_batch.bin").write_bytes(bytes([7]) + planes.tobytes())
    x, y = load_cifar10(tmp_path, train=False)
    assert y.tolist() == [7]
    np.testing.assert_array_equal(np.round(x[0, :, 5, 9] * 255), [1, 2, 3])


def test_load_cifar10_missing(tmp_path):
    write_cifar(tmp_path)
    (tmp_path / "data_batch_3.bin").unlink()
    with pytest.raises(FileNotFoundError) as e:
        load_cifar10(tmp_path, train=True)
    msg = str(e.value)
    assert "data_batch_3.bin" in msg and "binary" in msg and str(tmp_path) in msg
    load_cifar10(tmp_path, train=False)  # the test file is still there


def test_load_cifar10_bad_size(tmp_path):
    write_cifar(tmp_path)
    (tmp_path / "test_batch.bin").write_bytes(bytes(3073 * 2 - 5))
    with pytest.raises(ValueError, match="3073"):
        load_cifar10(tmp_path, train=False)
    (tmp_path / "test_batch.bin").write_bytes(b"")
    with pytest.raises(ValueError, match="3073"):
        load_cifar10(tmp_path, train=False)
