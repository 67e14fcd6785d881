"""Do runs repeat? The same config trained N times in fresh processes, every tensor of the final checkpoints
compared; and the speed cost of MKL's strict reproducibility (gankit.repeatable), per preset.

    python -m benchmarks.repeat runs --preset mnist-vanilla --n 5                 # as shipped (MKL_CBWR=AUTO,STRICT)
    python -m benchmarks.repeat runs --preset mnist-vanilla --n 5 --mkl-cbwr ''   # MKL's default mode
    python -m benchmarks.repeat cost --presets mnist-vanilla mnist-dcgan mnist-stylegan2

`runs` uses the `gankit train` command as a user would, one run after the other: run it alone on the cores
(a busy machine does not change the bits, but makes it slow). `cost` times training steps on synthetic data
of the preset's shape in fresh processes, the two modes alternating, and prints the median of each.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.reference import synthetic

SHAPES = {"mnist-vanilla": (1, 28, 28), "mnist-dcgan": (1, 28, 28), "mnist-stylegan2": (1, 32, 32)}
MODES = {"MKL default": "", "AUTO,STRICT": "AUTO,STRICT"}  # an empty MKL_CBWR is MKL's default (no CNR)


def _env(mkl_cbwr: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if mkl_cbwr is not None:
        env["MKL_CBWR"] = mkl_cbwr
    return env


def _digests(run: Path) -> dict[str, str]:
    from safetensors.torch import load_file

    tensors = load_file(str(run / "checkpoints" / "final.safetensors"))
    return {k: hashlib.sha256(v.numpy().tobytes()).hexdigest()[:16] for k, v in sorted(tensors.items())}


def runs(preset: str, n: int, overrides: list[str], mkl_cbwr: str | None) -> int:
    """Train `preset` n times; print each run's time and digest, and which tensors differ from the first run.
    Returns the number of distinct final states."""
    sets = [arg for o in overrides for arg in ("--set", o)]
    first: dict[str, str] | None = None
    distinct: list[str] = []
    print(f"{preset} {' '.join(overrides)} | MKL_CBWR={os.environ.get('MKL_CBWR') if mkl_cbwr is None else mkl_cbwr!r}")
    print("| run | s | digest of every tensor | tensors unlike run 1 |\n|---:|---:|---|---:|")
    with tempfile.TemporaryDirectory() as out:
        for i in range(1, n + 1):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "gankit", "train", "--quiet", "--preset", preset, "--out", out, *sets],
                env=_env(mkl_cbwr),
                check=True,
                stdout=subprocess.DEVNULL,
            )
            seconds = time.perf_counter() - started
            (run,) = [p for p in Path(out).iterdir() if p.is_dir() and not p.name.startswith("done-")]
            digests = _digests(run)
            first = first or digests
            digest = hashlib.sha256(repr(digests).encode()).hexdigest()[:16]
            distinct += [digest] if digest not in distinct else []
            unlike = sum(first[k] != v for k, v in digests.items())
            print(f"| {i} | {seconds:.1f} | {digest} | {unlike} of {len(digests)} |", flush=True)
            os.rename(run, Path(out) / f"done-{i}")
    print(f"{len(distinct)} distinct final state(s) in {n} runs")
    return len(distinct)


def _step_ms(preset: str, batch: int, steps: int) -> float:
    """In this process: ms per training step, after 10 untimed ones."""
    from gankit import load_config
    from gankit.training.builder import new_trainer

    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()):
        trainer = new_trainer(
            load_config(preset, overrides=[f"train.batch_size={batch}"]), out, synthetic(SHAPES[preset])
        )
        batches = trainer.sampler.endless()
        for _ in range(10):
            trainer.train_step(*next(batches))
        start = time.perf_counter()
        for _ in range(steps):
            trainer.train_step(*next(batches))
        return (time.perf_counter() - start) / steps * 1e3


def cost(presets: list[str], steps: int, repeats: int) -> None:
    print(
        "| preset | batch | ms/step, MKL default | ms/step, AUTO,STRICT | strict / default |\n|---|---:|---:|---:|---:|"
    )
    from gankit import load_config

    for preset in presets:
        batch = load_config(preset).train.batch_size
        times: dict[str, list[float]] = {mode: [] for mode in MODES}
        for _ in range(repeats):
            for mode, value in MODES.items():
                out = subprocess.run(
                    [sys.executable, "-m", "benchmarks.repeat", "_step", preset, str(batch), str(steps)],
                    env=_env(value),
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                times[mode].append(float(out.split()[-1]))
        default, strict = (statistics.median(times[mode]) for mode in MODES)
        print(f"| {preset} | {batch} | {default:.2f} | {strict:.2f} | {strict / default:.3f} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    r = sub.add_parser("runs", help="train one config N times; count distinct final states")
    r.add_argument("--preset", default="mnist-vanilla")
    r.add_argument("--n", type=int, default=5)
    r.add_argument("--set", nargs="*", default=[], help="config overrides, e.g. train.epochs=20")
    r.add_argument("--mkl-cbwr", help="MKL_CBWR for the runs ('' for MKL's default); unset: gankit's")
    c = sub.add_parser("cost", help="ms per step with and without MKL's strict mode")
    c.add_argument("--presets", nargs="+", default=list(SHAPES), choices=sorted(SHAPES))
    c.add_argument("--steps", type=int, default=40)
    c.add_argument("--repeats", type=int, default=3)
    s = sub.add_parser("_step")  # one measurement, in a fresh process (the mode is fixed at MKL's first call)
    s.add_argument("preset")
    s.add_argument("batch", type=int)
    s.add_argument("steps", type=int)
    args = parser.parse_args(argv)
    if args.what == "runs":
        runs(args.preset, args.n, args.set, args.mkl_cbwr)
    elif args.what == "cost":
        cost(args.presets, args.steps, args.repeats)
    else:
        print(f"{_step_ms(args.preset, args.batch, args.steps):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
