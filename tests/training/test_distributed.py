"""Training under torchrun: 2 CPU processes (gloo) train as one process does, resume across world sizes,
synchronise BatchNorm, keep their copies equal, and end together when one fails."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from gankit import ConfigError, load_config, resume, train
from gankit.runs.checkpoint import load_checkpoint
from gankit.sample import generate, load_run
from gankit.training.distributed import World

WORKER = Path(__file__).with_name("ddp_worker.py")
pytestmark = pytest.mark.slow  # each test starts processes under torchrun: seconds each

# No BatchNorm and no dropout, so 2 x 32 must equal 1 x 64 exactly up to float order; R1 exercises a
# double-backward penalty through DDP, EMA the averaged copy, a linear schedule the per-step state.
EXACT = [
    "--preset",
    "mnist-vanilla",
    "--set",
    "data.max_items=256",
    "--set",
    "train.batch_size=64",
    "--set",
    "train.epochs=2",
    "--set",
    "loss.penalties.r1.weight=1.0",
    "--set",
    "optim.ema_decay=0.9",
    "--set",
    "optim.lr_schedule=linear",
    "--set",
    "log.every=2",
    "--set",
    "log.checkpoint_every=1",
    "--set",
    "train.device=cpu",
]


def torchrun(*args: str, nproc: int = 2, timeout: float = 240) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]
    # gloo on CPU processes, also on a GPU machine: one GPU cannot host two NCCL ranks.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


def gankit_train(*args: str) -> subprocess.CompletedProcess:
    result = torchrun("-m", "gankit", "train", "--quiet", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _config(args: list[str]):
    preset = args[args.index("--preset") + 1]
    return load_config(preset, None, [a for i, a in enumerate(args) if i and args[i - 1] == "--set"])


def _run_dir(out: Path) -> Path:
    (run,) = out.iterdir()
    return run


def _weights(run: Path) -> dict[str, torch.Tensor]:
    _, tensors = load_checkpoint(run / "checkpoints" / "final.json")
    return {k: v for k, v in tensors.items() if k.split(".")[0] in ("G", "D", "G_ema")}


def _assert_close(a: dict, b: dict, atol: float = 1e-6) -> None:
    assert a.keys() == b.keys()
    worst = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
    assert worst < atol, worst


@pytest.fixture(scope="module")
def one_process(tmp_path_factory) -> Path:
    return train(_config(EXACT), out=tmp_path_factory.mktemp("one"), quiet=True)


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("two")
    result = gankit_train(*EXACT, "--out", str(out))
    assert "batch 64 = 2 processes x 32" in result.stdout  # the log states the global and per-rank batch
    return _run_dir(out)


def test_two_processes_train_exactly_as_one_with_the_global_batch(one_process, two_processes):
    _assert_close(_weights(one_process), _weights(two_processes))

    # The logged losses are averaged over the ranks: the same numbers one process logs.
    def losses(run):
        return [(r["step"], r["loss_d"], r["loss_g"], r["r1"]) for r in map(json.loads, open(run / "metrics.jsonl"))]

    for a, b in zip(losses(one_process), losses(two_processes), strict=True):
        assert a[0] == b[0] and all(abs(x - y) < 1e-5 for x, y in zip(a[1:], b[1:]))
    # Only rank 0 wrote: one run folder, one line per readout.
    assert len(list(two_processes.parent.iterdir())) == 1


def _unfinished_copy(run: Path, to: Path) -> Path:
    copy = shutil.copytree(run, to / run.name)
    for final in (copy / "checkpoints").glob("final.*"):
        final.unlink()  # as if the run had been killed after its epoch-1 checkpoint
    return copy


def test_a_two_process_run_resumes_in_one_process_and_back(one_process, two_processes, tmp_path):
    resumed_in_one = resume(_unfinished_copy(two_processes, tmp_path / "a"), quiet=True)
    _assert_close(_weights(resumed_in_one), _weights(one_process))

    resumed_in_two = _unfinished_copy(one_process, tmp_path / "b")
    gankit_train("--resume", str(resumed_in_two))
    _assert_close(_weights(resumed_in_two), _weights(two_processes))


def test_sync_batchnorm_matches_batchnorm_on_the_whole_batch():
    result = torchrun(str(WORKER), "syncbn")
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("sync", [True, False])
def test_a_batchnorm_model_trains_checkpoints_and_samples(tmp_path, sync):
    gankit_train(
        "--preset",
        "mnist-dcgan",
        "--set",
        "data.max_items=256",
        "--set",
        "train.epochs=2",
        "--set",
        f"train.sync_batchnorm={str(sync).lower()}",
        "--out",
        str(tmp_path),
    )
    run = _run_dir(tmp_path)
    # Every checkpoint passed the cross-rank check (weights, BatchNorm statistics and the EMA equal on both).
    assert {p.name for p in (run / "checkpoints").glob("*.json")} == {"final.json", "step_00000004.json"}
    assert all(torch.isfinite(t).all() for t in _weights(run).values())
    images = generate(load_run(run), 8)  # the checkpoint loads in one process
    assert images.shape == (8, 1, 28, 28) and torch.isfinite(images).all()


def test_batch_size_must_split_over_the_processes(tmp_path, monkeypatch):
    import contextlib
    import importlib

    api = importlib.import_module("gankit.train")  # the module: the package exports a function of that name

    @contextlib.contextmanager
    def two_processes(device):
        yield World(rank=0, size=2), device

    monkeypatch.setattr(api, "world_from_env", two_processes)
    config = load_config("mnist-vanilla", None, ["train.batch_size=63"])
    with pytest.raises(ConfigError, match="does not split evenly over 2 processes"):
        api.train(config, out=tmp_path, quiet=True)
    assert not list(tmp_path.iterdir())  # refused before anything was written


@pytest.mark.parametrize("mode", ["fail-at-start", "fail-in-training"])
def test_a_failing_rank_ends_the_whole_job_with_its_error(tmp_path, mode):
    started = time.monotonic()
    args = ["--preset", "mnist-vanilla", "--set", "data.max_items=256", "--quiet", "--out", str(tmp_path)]
    result = torchrun(str(WORKER), mode, *args, timeout=120)
    assert result.returncode != 0
    assert time.monotonic() - started < 90  # ended, not hung until a collective timed out
    shown = "/nonexistent/mnist" if mode == "fail-at-start" else "rank 1: simulated crash"
    assert shown in result.stderr


def test_gradient_penalty_trains_under_ddp(tmp_path):
    gankit_train("--preset", "toy2d-wgan-gp", "--set", "train.epochs=2", "--out", str(tmp_path))
    run = _run_dir(tmp_path)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert records and all(r["gp"] > 0 for r in records)  # the penalty was computed, on both ranks (averaged)
    assert all(torch.isfinite(t).all() for t in _weights(run).values())


def test_two_processes_stream_a_cache_that_rank_0_prepared_once(tmp_path):
    from PIL import Image

    rng, images = np.random.default_rng(0), tmp_path / "images"
    images.mkdir()
    for i in range(128):
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(images / f"{i:03d}.png")
    cache = tmp_path / "cache"
    data = ["data.name=folder", f"data.root={images}", "data.channels=1", f"data.cache_dir={cache}"]
    base = [
        "--preset",
        "mnist-vanilla",
        "--set",
        "train.batch_size=32",
        "--set",
        "train.epochs=2",
        "--set",
        "train.device=cpu",
    ]
    for item in data:
        base += ["--set", item]
    one = train(_config([*base, "--set", "data.cache=false"]), out=tmp_path / "one", quiet=True)
    gankit_train(*base, "--set", "data.cache=true", "--set", "data.in_memory=false", "--out", str(tmp_path / "two"))
    _assert_close(_weights(one), _weights(_run_dir(tmp_path / "two")))
    (prepared,) = (p for p in cache.iterdir() if p.is_dir())  # one cache, made by one rank
    assert (prepared / "manifest.json").is_file() and not (prepared / "progress.json").exists()
