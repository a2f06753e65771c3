"""Checkpoints (tg.save / tg.load: exact round trips, atomic writes, clear
errors for unsupported objects and bad files) and safetensors interchange
with PyTorch."""
import collections
import io
import json
import os
import pathlib
import struct
import sys

import numpy as np
import pytest
import safetensors
import safetensors.numpy
import safetensors.torch
import torch
from hypothesis import given, strategies as st

import tinygrad_dc as tg
from tinygrad_dc import serialization
from tinygrad_dc.serialization import CheckpointError


def same(a, b):
    """Deep equality that also insists on equal types (tuple is not list,
    1 is not 1.0 or True) and on equal dtypes for tensors and arrays."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, tg.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.device == b.device
        assert a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b)
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for (ka, va), (kb, vb) in zip(a.items(), b.items()):
            assert type(ka) is type(kb) and ka == kb
            same(va, vb)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def roundtrip(obj, tmp_path):
    path = tmp_path / "ckpt.tgdc"
    tg.save(obj, path)
    return tg.load(path)


def optimizer_state():
    return {"state": {0: {"step": 3, "exp_avg": tg.randn(3, 2), "exp_avg_sq": tg.rand(3, 2)},
                      1: {"step": 3, "exp_avg": tg.zeros(4, dtype=tg.float64),
                          "momentum_buffer": None}},
            "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8,
                              "weight_decay": 0, "amsgrad": False, "params": [0, 1]}]}


# ---------------------------------------------------------------- round trips
def test_optimizer_state_dict_roundtrips_exactly(tmp_path):
    sd = optimizer_state()
    back = roundtrip(sd, tmp_path)
    same(sd, back)
    assert type(back["param_groups"][0]["betas"]) is tuple
    assert list(back["state"]) == [0, 1] and all(type(k) is int for k in back["state"])


scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                    st.floats(allow_nan=True), st.text(max_size=5))
keys = st.one_of(st.text(max_size=4), st.integers(-5, 5), st.none(), st.floats(-2, 2))
trees = st.recursive(scalars, lambda kids: st.one_of(
    st.lists(kids, max_size=3), st.lists(kids, max_size=3).map(tuple),
    st.dictionaries(keys, kids, max_size=3)), max_leaves=12)


@given(tree=trees)
def test_nested_python_values_roundtrip(tree):
    buf = io.BytesIO()
    tg.save(tree, buf)
    buf.seek(0)
    same(tree, tg.load(buf))


@given(dtype=st.sampled_from(["float16", "float32", "float64", "int8", "uint8", "int16",
                              "int32", "int64", "bool"]),
       shape=st.lists(st.integers(0, 3), max_size=3).map(tuple))
def test_tensors_and_arrays_roundtrip(dtype, shape):
    array = (np.random.default_rng(0).standard_normal(shape) * 50).astype(dtype)
    obj = {"t": tg.tensor(array), "a": array, "s": array.reshape(-1)[:1].sum()}
    buf = io.BytesIO()
    tg.save(obj, buf)
    buf.seek(0)
    back = tg.load(buf)
    same(obj, back)
    assert back["t"].dtype.name == dtype


def test_tensor_details_roundtrip(tmp_path):
    weight = tg.nn.Parameter(tg.randn(3, 2))
    frozen = tg.nn.Parameter(tg.ones(2), requires_grad=False)
    leaf = tg.randn(2, 3, requires_grad=True)
    strided = tg.tensor(np.arange(12.0).reshape(3, 4)).T[::2]
    big_endian = np.arange(5, dtype=">i4")
    obj = {"w": weight, "frozen": frozen, "leaf": leaf, "strided": strided,
           "scalar": tg.tensor(2.5), "be": big_endian, "od": collections.OrderedDict(b=1, a=2),
           "tied": [weight, weight], "npf": np.float64(0.5), "npi": np.int32(-3)}
    back = roundtrip(obj, tmp_path)
    assert type(back["w"]) is tg.nn.Parameter and back["w"].requires_grad
    assert type(back["frozen"]) is tg.nn.Parameter and not back["frozen"].requires_grad
    assert type(back["leaf"]) is tg.Tensor and back["leaf"].requires_grad
    same(weight.detach(), back["w"].detach())
    np.testing.assert_array_equal(back["strided"].numpy(), strided.numpy())
    assert back["scalar"].shape == () and back["scalar"].item() == 2.5
    assert back["be"].dtype == np.int32 and back["be"].tolist() == [0, 1, 2, 3, 4]
    assert type(back["od"]) is collections.OrderedDict and list(back["od"]) == ["b", "a"]
    assert back["tied"][0] is back["tied"][1] is back["w"]  # tied weights stay tied
    assert type(back["npf"]) is np.float64 and type(back["npi"]) is np.int32
    back["w"].data.mul_(2)  # loaded arrays are writable
    assert back["leaf"].device == "cpu"


def test_paths_and_file_objects(tmp_path):
    sd = {"x": tg.arange(3)}
    tg.save(sd, str(tmp_path / "a"))
    same(sd, tg.load(str(tmp_path / "a")))
    tg.save(sd, pathlib.Path(tmp_path / "b"))
    same(sd, tg.load(pathlib.Path(tmp_path / "b"), map_location="cpu", weights_only=True))
    with open(tmp_path / "c", "wb") as f:
        tg.save(sd, f)
    with open(tmp_path / "c", "rb") as f:
        same(sd, tg.load(f, map_location={"cuda": "cpu"}))
    with pytest.raises(TypeError, match="map_location"):
        tg.load(tmp_path / "c", map_location=3)
    with pytest.raises(tg.DeviceError, match="unknown device 'tpu'"):
        tg.load(tmp_path / "c", map_location="tpu")


def test_file_layout_is_documented_json(tmp_path):
    path = tmp_path / "x"
    tg.save({"w": tg.ones(2, 3)}, path)
    raw = path.read_bytes()
    magic, version, n = struct.unpack("<8sIQ", raw[:20])
    assert magic == b"TGDCCKPT" and version == 1
    header = json.loads(raw[20:20 + n])
    node = header["tree"]["v"][0]
    assert node["t"] == "tensor" and node["device"] == "cpu"
    assert header["blobs"][node["b"]]["dtype"] == "<f4"
    assert header["blobs"][node["b"]]["shape"] == [2, 3]


# ---------------------------------------------------------------- atomic writes
def test_failed_save_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "model.tgdc"
    tg.save({"version": 1}, path)
    before = path.read_bytes()
    calls = []

    def failing_write(f, array):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        f.write(array.reshape(-1).view(np.uint8))
    monkeypatch.setattr(serialization, "_write_array", failing_write)
    with pytest.raises(OSError, match="simulated"):
        tg.save({"a": tg.ones(100), "b": tg.ones(100), "c": tg.ones(3)}, path)
    assert len(calls) == 2  # it did fail halfway through the arrays
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.tgdc"]
    monkeypatch.undo()
    tg.save({"version": 2}, path)
    assert tg.load(path) == {"version": 2}
    assert os.listdir(tmp_path) == ["model.tgdc"]


def test_unsupported_objects_raise_before_touching_the_file(tmp_path):
    path = tmp_path / "model.tgdc"
    tg.save({"ok": 1}, path)
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    with pytest.raises(TypeError, match=r"builtins\.set at obj\['opt'\]\[1\]\['x'\]"):
        tg.save({"w": tg.ones(2), "opt": [0, {"x": {1, 2}}]}, path)
    with pytest.raises(TypeError, match=r"dict key of type tuple \(\(1, 2\)\) at obj"):
        tg.save({(1, 2): 3}, path)
    with pytest.raises(TypeError, match=r"dtype object at obj\[0\]"):
        tg.save([np.array([None])], path)
    with pytest.raises(TypeError, match="function"):
        tg.save(lambda: 0, path)
    loop = [1]
    loop.append(loop)
    with pytest.raises(ValueError, match=r"contains itself: obj\[1\]"):
        tg.save(loop, path)
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
    assert os.listdir(tmp_path) == ["model.tgdc"]


# ---------------------------------------------------------------- bad files
def test_truncated_files_raise_clearly(tmp_path):
    path = tmp_path / "full"
    tg.save({"a": tg.ones(5), "b": np.arange(3), "c": "text"}, path)
    raw = path.read_bytes()
    cut = tmp_path / "cut"
    for n in sorted(set(range(1, len(raw), 7)) | {1, 8, 19, 20, 21, len(raw) - 1}):
        cut.write_bytes(raw[:n])
        with pytest.raises(CheckpointError, match="truncated"):
            tg.load(cut)
        with pytest.raises(ValueError, match="truncated"):  # a stream, with no known size
            tg.load(io.BytesIO(raw[:n]))


def test_foreign_and_corrupt_files(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="empty file"):
        tg.load(path)
    path.write_bytes(b"hello world, this is not a checkpoint")
    with pytest.raises(ValueError, match="not a tinygrad_dc checkpoint"):
        tg.load(path)
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(ValueError, match="not a tinygrad_dc checkpoint.*PyTorch"):
        tg.load(path)
    safetensors.numpy.save_file({"w": np.ones(2)}, str(path))
    with pytest.raises(ValueError, match="load_safetensors"):
        tg.load(path)
    path.write_bytes(struct.pack("<8sIQ", b"TGDCCKPT", 1, 8) + b"{nojson}" + b"\0" * 36)
    with pytest.raises(ValueError, match="corrupt checkpoint header"):
        tg.load(path)
    path.write_bytes(struct.pack("<8sIQ", b"TGDCCKPT", 99, 0))
    with pytest.raises(ValueError, match="version 99 is newer"):
        tg.load(path)


def _crafted(header):
    head = json.dumps(header).encode()
    raw = struct.pack("<8sIQ", b"TGDCCKPT", 1, len(head)) + head
    return io.BytesIO(raw + b"\0" * (-len(raw) % 64) + b"\0" * 64)


def test_crafted_headers_are_rejected():
    # an object dtype would make NumPy hold Python objects: never allowed
    bad_dtype = {"tree": {"t": "ndarray", "b": 0}, "data_size": 64,
                 "blobs": [{"dtype": "|O", "shape": [1], "offset": 0, "nbytes": 8}]}
    with pytest.raises(ValueError, match="corrupt checkpoint header"):
        tg.load(_crafted(bad_dtype))
    lying = {"tree": {"t": "ndarray", "b": 0}, "data_size": 64,
             "blobs": [{"dtype": "<f8", "shape": [100], "offset": 0, "nbytes": 8}]}
    with pytest.raises(ValueError, match="inconsistent array description"):
        tg.load(_crafted(lying))
    dangling = {"tree": {"t": "ndarray", "b": 3}, "data_size": 0, "blobs": []}
    with pytest.raises(ValueError, match="corrupt checkpoint tree"):
        tg.load(_crafted(dangling))
    unknown = {"tree": {"t": "pickle", "v": "cos\nsystem"}, "data_size": 0, "blobs": []}
    with pytest.raises(ValueError, match="unknown node type 'pickle'"):
        tg.load(_crafted(unknown))
    # a shape whose element count wraps around in int64 must not pass as 0 bytes
    wrapping = {"tree": {"t": "ndarray", "b": 0}, "data_size": 0,
                "blobs": [{"dtype": "<f8", "shape": [2**32, 2**32], "offset": 0, "nbytes": 0}]}
    with pytest.raises(ValueError, match="inconsistent array description"):
        tg.load(_crafted(wrapping))
    complex_tensor = {"tree": {"t": "tensor", "b": 0, "id": 0, "device": "cpu",
                               "requires_grad": False, "parameter": False}, "data_size": 64,
                      "blobs": [{"dtype": "<c8", "shape": [1], "offset": 0, "nbytes": 8}]}
    with pytest.raises(ValueError, match="corrupt checkpoint tree.*unsupported dtype"):
        tg.load(_crafted(complex_tensor))
    deep = {"tree": [[[]]], "data_size": 0, "blobs": []}
    with pytest.raises(ValueError, match="corrupt checkpoint tree"):
        tg.load(_crafted(deep))
    head = b'{"tree":' + b"[" * 100000 + b"]" * 100000 + b',"blobs":[],"data_size":0}'
    too_deep = struct.pack("<8sIQ", b"TGDCCKPT", 1, len(head)) + head
    with pytest.raises(ValueError, match="corrupt checkpoint header"):
        tg.load(io.BytesIO(too_deep + b"\0" * (-len(too_deep) % 64)))


# ---------------------------------------------------------------- safetensors
DTYPES = [("float32", torch.float32), ("float64", torch.float64), ("int64", torch.int64),
          ("float16", torch.float16), ("int32", torch.int32), ("bool", torch.bool)]


def _torch_state(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {name: (torch.randn(3, 4, generator=g) * 10).to(dt) for name, dt in DTYPES}


def test_safetensors_from_torch(tmp_path):
    theirs = _torch_state()
    safetensors.torch.save_file(theirs, str(tmp_path / "t.safetensors"))
    ours = tg.load_safetensors(tmp_path / "t.safetensors")
    assert set(ours) == set(theirs)
    for name, dt in DTYPES:
        assert ours[name].dtype.name == name and ours[name].device == "cpu"
        np.testing.assert_array_equal(ours[name].numpy(), theirs[name].numpy())


def test_safetensors_to_torch(tmp_path):
    ours = {name: tg.tensor(t.numpy()) for name, t in _torch_state(1).items()}
    ours["strided"] = tg.tensor(np.arange(12.0).reshape(3, 4)).T  # a non-contiguous view
    path = tmp_path / "o.safetensors"
    tg.save_safetensors(ours, path, metadata={"format": "pt"})
    theirs = safetensors.torch.load_file(str(path))
    assert set(theirs) == set(ours)
    for name, t in ours.items():
        assert str(theirs[name].dtype) == f"torch.{t.dtype.name}"
        np.testing.assert_array_equal(theirs[name].numpy(), t.numpy())
    with safetensors.safe_open(str(path), framework="np") as f:
        assert f.metadata() == {"format": "pt"}
    assert os.listdir(tmp_path) == ["o.safetensors"]


def test_safetensors_errors_and_atomicity(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    tg.save_safetensors({"w": tg.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=r"state_dict\['b'\] is a list"):
        tg.save_safetensors({"w": tg.ones(2), "b": [1]}, path)
    with pytest.raises(TypeError, match="names must be str"):
        tg.save_safetensors({0: tg.ones(2)}, path)
    with pytest.raises(TypeError, match="metadata"):
        tg.save_safetensors({"w": tg.ones(2)}, path, metadata={"epoch": 3})

    def half_written(arrays, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"partial")
        raise RuntimeError("crash while writing (simulated)")
    monkeypatch.setattr(safetensors.numpy, "save_file", half_written)
    with pytest.raises(RuntimeError, match="simulated"):
        tg.save_safetensors({"w": tg.zeros(5)}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.safetensors"]
    path.write_bytes(before[:-3])
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        tg.load_safetensors(path)


def test_safetensors_missing_package_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match="pip install safetensors"):
        tg.save_safetensors({"w": tg.ones(1)}, "unused.safetensors")
    with pytest.raises(ImportError, match="pip install safetensors"):
        tg.load_safetensors("unused.safetensors")
