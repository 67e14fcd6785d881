from pathlib import Path

import pytest
import torch

SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)


@pytest.fixture
def shared_mnist() -> Path:
    """The real MNIST test set (IDX), present in CI beside the checkout; tests skip without it."""
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"real MNIST test set not found at {SHARED_MNIST} (CI provides ../shared/data/mnist)")
    return SHARED_MNIST
