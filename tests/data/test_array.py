import numpy as np
import pytest

from gankit import DataError, build_dataset


def test_npy_uint8_nhw(tmp_path):
    a = np.random.default_rng(0).integers(0, 256, (5, 8, 8), dtype=np.uint8)
    np.save(tmp_path / "a.npy", a)
    data = build_dataset("array", root=str(tmp_path / "a.npy"))
    assert data.x.shape == (5, 1, 8, 8) and (data.x[:, 0].numpy() == a).all() and data.labels is None


@pytest.mark.parametrize(("lo", "hi"), [(0.0, 1.0), (-1.0, 1.0), (0.0, 255.0)])
def test_float_ranges_map_to_0_255(tmp_path, lo, hi):
    a = np.linspace(lo, hi, 2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)
    np.savez(tmp_path / "a.npz", x=a, y=np.array([1, 0]))
    data = build_dataset("array", root=str(tmp_path / "a.npz"))
    assert data.x.shape == (2, 3, 4, 4) and data.x.min() == 0 and data.x.max() == 255
    assert data.labels.tolist() == [1, 0]


def test_out_of_range_floats(tmp_path):
    np.save(tmp_path / "a.npy", np.full((2, 4, 4), 300.0))
    with pytest.raises(DataError, match="expected \\[0, 1\\]"):
        build_dataset("array", root=str(tmp_path / "a.npy"))


def test_object_arrays_are_not_unpickled(tmp_path):
    np.save(tmp_path / "a.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="will not unpickle"):
        build_dataset("array", root=str(tmp_path / "a.npy"))


def test_label_count_mismatch(tmp_path):
    np.savez(tmp_path / "a.npz", images=np.zeros((3, 4, 4), np.uint8), labels=np.zeros(2, np.int64))
    with pytest.raises(DataError, match="3 images but 2 labels"):
        build_dataset("array", root=str(tmp_path / "a.npz"))


def test_separate_labels_file_and_named_keys(tmp_path):
    np.savez(tmp_path / "a.npz", pics=np.zeros((3, 4, 4), np.uint8))
    np.save(tmp_path / "y.npy", np.array([2, 0, 1]))
    data = build_dataset("array", root=str(tmp_path / "a.npz"), images_key="pics", labels_file=str(tmp_path / "y.npy"))
    assert data.labels.tolist() == [2, 0, 1]
    with pytest.raises(DataError, match="it holds: pics"):
        build_dataset("array", root=str(tmp_path / "a.npz"))


@pytest.mark.parametrize("shape", [(3, 4), (3, 4, 4, 2), (0, 4, 4)])
def test_bad_shapes(tmp_path, shape):
    np.save(tmp_path / "a.npy", np.zeros(shape, np.uint8))
    with pytest.raises(DataError, match="shape"):
        build_dataset("array", root=str(tmp_path / "a.npy"))


def test_damaged_file(tmp_path):
    (tmp_path / "a.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(DataError, match="cannot read"):
        build_dataset("array", root=str(tmp_path / "a.npy"))
