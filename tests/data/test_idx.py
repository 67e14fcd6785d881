import gzip
from collections import Counter

import numpy as np
import pytest

from gankit import DataError, build_dataset
from gankit.data.idx import read_idx

from formats import idx_bytes, write_idx, write_mnist


@pytest.mark.parametrize("gz", [True, False])
def test_reads_mnist_layout_gz_and_raw(tmp_path, gz):
    images, labels = write_mnist(tmp_path / "MNIST" / "raw", n=12, gz=gz)
    data = build_dataset("mnist", root=str(tmp_path))
    assert data.x.shape == (12, 1, 28, 28) and data.x.dtype.is_floating_point is False
    assert np.array_equal(data.x[:, 0].numpy(), images)
    assert data.labels.tolist() == labels.tolist()
    assert data.num_classes == 10


def test_test_split_reads_t10k_files(tmp_path):
    write_mnist(tmp_path, n=5, split="train", seed=1)
    images, _ = write_mnist(tmp_path, n=7, split="test", seed=2)
    data = build_dataset("mnist", root=str(tmp_path), split="test")
    assert np.array_equal(data.x[:, 0].numpy(), images)


def test_fashion_mnist_has_class_names(tmp_path):
    write_mnist(tmp_path / "FashionMNIST" / "raw", n=4)
    data = build_dataset("fashion-mnist", root=str(tmp_path))
    assert data.class_names[9] == "Ankle boot" and len(data) == 4


def test_resize_and_channels_applied_once_at_load(tmp_path):
    write_mnist(tmp_path, n=3)
    data = build_dataset("mnist", root=str(tmp_path), resolution=32, channels=3)
    assert data.x.shape == (3, 3, 32, 32) and data.x.dtype.itemsize == 1


def test_missing_folder_names_files_and_source(tmp_path):
    with pytest.raises(DataError) as err:
        build_dataset("mnist", root=str(tmp_path / "nowhere"))
    text = str(err.value)
    assert "train-images-idx3-ubyte.gz" in text and "MNIST/raw" in text and "MNIST page" in text


def test_missing_root_says_what_to_set():
    with pytest.raises(DataError, match="data.root"):
        build_dataset("mnist")


def test_bad_magic(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"\x12\x34\x08\x03" + bytes(100))
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(path)


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_body(tmp_path, gz):
    data = idx_bytes(np.zeros((4, 28, 28), np.uint8))[:-10]
    path = tmp_path / "t"
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(DataError, match="truncated"):
        read_idx(path)


def test_truncated_header(tmp_path):
    path = tmp_path / "t"
    path.write_bytes(b"\0\0\x08\x03\0\0")
    with pytest.raises(DataError, match="truncated inside its header"):
        read_idx(path)


def test_forged_huge_header_does_not_allocate(tmp_path):
    # Declares 4e9 x 65535 x 65535 bytes; must fail fast on length, not try to read or allocate it.
    path = tmp_path / "huge.gz"
    path.write_bytes(gzip.compress(b"\0\0\x08\x03" + bytes.fromhex("ee6b2800ffffffff0000ffff") + bytes(64)))
    with pytest.raises(DataError, match="truncated"):
        read_idx(path)


def test_trailing_bytes_are_an_error(tmp_path):
    path = tmp_path / "t"
    path.write_bytes(idx_bytes(np.zeros((2, 3), np.uint8)) + b"junk")
    with pytest.raises(DataError, match="beyond"):
        read_idx(path)


def test_count_mismatch_between_images_and_labels(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((5, 28, 28), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(DataError, match="5 images but .* 4 labels"):
        build_dataset("mnist", root=str(tmp_path))


def test_real_mnist_test_set(shared_mnist):
    data = build_dataset("mnist", root=str(shared_mnist), split="test")
    assert data.x.shape == (10000, 1, 28, 28)
    counts = Counter(data.labels.tolist())
    assert [counts[k] for k in range(10)] == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    # Real digits: mostly background, bright strokes.
    assert 0.1 < (data.x > 128).float().mean().item() < 0.2
