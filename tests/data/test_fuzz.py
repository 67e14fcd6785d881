"""Property tests: damaged or forged files give a DataError or a correct data set, never a crash or a hang."""

import gzip
import io
import pickle
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gankit import DataError, build_dataset
from gankit.data.cifar10 import read_binary_batch, read_python_batch
from gankit.data.idx import read_idx

from formats import idx_bytes, write_cifar_py

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
VALID_IDX = idx_bytes(np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5))


def _mutate(data: bytes, cut: int, flips: list[tuple[int, int]]) -> bytes:
    out = bytearray(data[: cut % (len(data) + 1)])
    for position, value in flips:
        if out:
            out[position % len(out)] = value
    return bytes(out)


@FUZZ
@given(
    cut=st.integers(0, 200),
    flips=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=4),
    gz=st.booleans(),
)
def test_idx_mutations(cut, flips, gz):
    data = _mutate(VALID_IDX, cut, flips)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x"
        path.write_bytes(gzip.compress(data) if gz else data)
        try:
            array = read_idx(path)
        except DataError:
            return
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    assert array.shape == dims  # accepted only when the header and the body agree


@FUZZ
@given(dims=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=4), body=st.binary(max_size=64))
@example(dims=[0, 59224, 550742, 282776812], body=b"")  # once raised numpy's ValueError, not a DataError
@example(dims=[2**20, 2**22, 2**22], body=b"")  # 2**64 items: the int64 size wrapped to 0 and passed the checks
def test_idx_forged_headers_never_allocate_what_they_declare(dims, body):
    data = bytes([0, 0, 0x08, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + body
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.gz"
        path.write_bytes(gzip.compress(data))
        try:
            array = read_idx(path)
        except DataError:
            return
    assert array.size == len(body) and array.shape == tuple(dims)


@FUZZ
@given(size=st.integers(0, 3 * 3073 + 5))
def test_cifar_binary_sizes(size):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "b.bin"
        path.write_bytes(bytes(range(256)) * (size // 256) + bytes(size % 256))
        try:
            x, y = read_binary_batch(path)
        except DataError:
            assert size == 0 or size % 3073
            return
    assert len(x) == len(y) == size // 3073


CIFAR_PICKLE = pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1, 2]}, protocol=2)


@FUZZ
@given(
    cut=st.integers(0, len(CIFAR_PICKLE)),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=3),
)
def test_cifar_python_mutations(cut, flips):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data_batch_1"
        path.write_bytes(_mutate(CIFAR_PICKLE, cut, flips))
        try:
            x, y = read_python_batch(path)
        except DataError:
            return
    assert x.shape == (len(y), 3, 32, 32)


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


VALID_NPY = _npy_bytes(np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4))


@FUZZ
@given(
    cut=st.integers(0, len(VALID_NPY)), flips=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=4)
)
def test_array_file_mutations(cut, flips):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.npy"
        path.write_bytes(_mutate(VALID_NPY, cut, flips))
        try:
            data = build_dataset("array", root=str(path))
        except DataError:
            return
    assert data.x.dtype.itemsize == 1 and data.x.dim() == 4 and data.x.shape[1] in (1, 3)


@FUZZ
@given(payload=st.binary(max_size=300), suffix=st.sampled_from([".png", ".jpg", ".gif", ".bmp"]))
def test_random_bytes_as_images_are_named(payload, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"img{suffix}"
        path.write_bytes(payload)
        try:
            data = build_dataset("folder", root=folder, resolution=8)
        except DataError as err:
            assert "img" in str(err)
            return
    assert data.x.shape[-2:] == (8, 8)


def test_cifar_python_fixture_round_trip(tmp_path):
    write_cifar_py(tmp_path)  # the unmutated file reads (guards the fuzz baseline)
    x, y = read_python_batch(tmp_path / "cifar-10-batches-py" / "data_batch_1")
    assert x.shape == (4, 3, 32, 32)


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGBA", "I;16", "CMYK", "LA"])
def test_odd_image_modes(tmp_path, mode):
    from PIL import Image

    Image.new(mode, (9, 7)).save(tmp_path / ("x.tif" if mode in ("I;16", "CMYK") else "x.png"))
    data = build_dataset("folder", root=str(tmp_path), resolution=6)
    assert data.x.shape in ((1, 1, 6, 6), (1, 3, 6, 6))
