"""Peak memory of a training process, measured in a fresh process so that nothing else inflates it.

python -m benchmarks.memory PRESET BATCH    # prints "RSS_MIB CUDA_MIB" (CUDA_MIB is - without a GPU)
"""

from __future__ import annotations

import contextlib
import io
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from benchmarks.reference import synthetic

# Items in the data sets these presets train on (mnist5k, CIFAR-10's training set).
REAL_SIZE = {
    "mnist-vanilla": 5000,
    "mnist-dcgan": 5000,
    "mnist-wgan-gp-paper": 5000,
    "cifar10-dcgan": 50000,
    "celeba-dcgan": 202599,
}


def peak_rss_mib(preset: str, batch: int) -> tuple[float, float | None]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", preset, str(batch)], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), None if out[1] == "-" else float(out[1])


def _peak_rss_mib() -> float:
    """This process's peak resident set. Linux's VmHWM starts afresh at exec; ru_maxrss would carry over the
    forked parent's peak, so it is only the fallback (other systems)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(preset: str, batch: int) -> tuple[float, float | None]:
    from benchmarks.speed import PRESETS
    from gankit import load_config
    from gankit.training.builder import new_trainer

    data = synthetic(PRESETS[preset], REAL_SIZE[preset])
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()):
        config = load_config(preset, overrides=[f"train.batch_size={batch}"])
        trainer = new_trainer(config, out, data)
        batches = trainer.sampler.endless()
        for _ in range(100):
            trainer.train_step(*next(batches))
            trainer.step += 1
        trainer.end_epoch(1)  # a sample grid, the loss plot and a checkpoint
        trainer.save(1)
    rss = _peak_rss_mib()
    cuda = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
    return rss, cuda


if __name__ == "__main__":
    rss, cuda = _measure(sys.argv[1], int(sys.argv[2]))
    print(f"{rss:.1f} {'-' if cuda is None else f'{cuda:.1f}'}")
