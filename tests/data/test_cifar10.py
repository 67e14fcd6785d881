import pickle

import numpy as np
import pytest

from gankit import DataError, build_dataset

from formats import PickleExploit, write_cifar_bin, write_cifar_py


@pytest.mark.parametrize("writer", [write_cifar_bin, write_cifar_py])
def test_reads_both_formats(tmp_path, writer):
    batches = writer(tmp_path, n_per_batch=3)
    train = build_dataset("cifar10", root=str(tmp_path))
    test = build_dataset("cifar10", root=str(tmp_path), split="test")
    assert train.x.shape == (15, 3, 32, 32) and test.x.shape == (3, 3, 32, 32)
    data, labels = batches["data_batch_2"]
    assert np.array_equal(train.x[3:6].reshape(3, -1).numpy(), data)  # CHW planes, in file order
    assert train.labels[3:6].tolist() == labels
    assert train.class_names[0] == "airplane"


def test_binary_of_wrong_size(tmp_path):
    write_cifar_bin(tmp_path)
    path = tmp_path / "cifar-10-batches-bin" / "test_batch.bin"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(DataError, match="multiple of 3073"):
        build_dataset("cifar10", root=str(tmp_path), split="test")


def test_planted_pickle_is_refused_without_running(tmp_path):
    write_cifar_py(tmp_path)
    marker = tmp_path / "pwned"
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(pickle.dumps({b"data": PickleExploit(marker), b"labels": []}, protocol=2))
    with pytest.raises(DataError, match="refusing to unpickle"):
        build_dataset("cifar10", root=str(tmp_path), split="test")
    assert not marker.exists()


def test_garbage_python_batch(tmp_path):
    write_cifar_py(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"\x80\x02garbage")
    with pytest.raises(DataError, match="not a readable CIFAR"):
        build_dataset("cifar10", root=str(tmp_path), split="test")


def test_missing_names_both_layouts(tmp_path):
    with pytest.raises(DataError) as err:
        build_dataset("cifar10", root=str(tmp_path))
    assert "cifar-10-batches-bin" in str(err.value) and "cifar-10-batches-py" in str(err.value)
