"""The host allocator lever: a CPU training step with glibc's default malloc against gankit's setting
(`keep_freed_host_memory`). It is process-wide and cannot be undone, so each measurement is a fresh process.

python -m benchmarks.allocator PRESET BATCH STEPS default|kept    # prints "MS_PER_STEP FAULTS_PER_STEP SYS_MS_PER_STEP"
"""

from __future__ import annotations

import contextlib
import importlib
import io
import resource
import subprocess
import sys
import tempfile
import time

from benchmarks.reference import synthetic


def step_cost(preset: str, batch: int, steps: int, mode: str) -> tuple[float, float, float]:
    """(ms per step, minor page faults per step, kernel CPU ms per step) of `steps` training steps in a fresh
    process. The kernel time is the direct cost of the faults; wall time also carries this machine's drift."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.allocator", preset, str(batch), str(steps), mode],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


def _measure(preset: str, batch: int, steps: int, mode: str) -> tuple[float, float, float]:
    from benchmarks.speed import PRESETS
    from gankit import load_config

    if mode not in ("default", "kept"):
        raise ValueError(f"mode must be default or kept, got {mode!r}")
    builder = importlib.import_module("gankit.training.builder")
    if mode == "default":
        builder.keep_freed_host_memory = lambda: False
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()):
        config = load_config(preset, overrides=[f"train.batch_size={batch}"])
        trainer = builder.new_trainer(config, out, synthetic(PRESETS[preset]))
        batches = trainer.sampler.endless()
        for _ in range(10):
            trainer.train_step(*next(batches))
        before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        for _ in range(steps):
            trainer.train_step(*next(batches))
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
    return (
        seconds / steps * 1e3,
        (after.ru_minflt - before.ru_minflt) / steps,
        (after.ru_stime - before.ru_stime) / steps * 1e3,
    )


if __name__ == "__main__":
    ms, faults, sys_ms = _measure(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    print(f"{ms:.4f} {faults:.1f} {sys_ms:.4f}")
