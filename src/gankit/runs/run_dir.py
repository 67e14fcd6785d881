"""A run folder and its layout. Every path a run writes or reads is spelled here and nowhere else.

NNNNN-name/
  config.yaml                 the resolved config (`gankit train --config` repeats the run)
  samples/epoch_001.png ...   grids from the same fixed noise
  losses.png, metrics.png     curves of the readouts and evaluations
  metrics.jsonl               one JSON record per readout or evaluation
  eval.json                   the report of `gankit eval`
  tensorboard/                event files, with log.tensorboard
  checkpoints/NAME.json + NAME.safetensors   (NAME: step_00000780, final, best)
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from gankit.errors import RunError

FINAL, BEST = "final", "best"


class RunDir:
    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __str__(self) -> str:
        return str(self.path)

    config = property(lambda self: self.path / "config.yaml")
    samples = property(lambda self: self.path / "samples")
    checkpoints = property(lambda self: self.path / "checkpoints")
    metrics = property(lambda self: self.path / "metrics.jsonl")
    losses_plot = property(lambda self: self.path / "losses.png")
    metrics_plot = property(lambda self: self.path / "metrics.png")
    eval_report = property(lambda self: self.path / "eval.json")
    tensorboard = property(lambda self: self.path / "tensorboard")

    def grid(self, epoch: int) -> Path:
        return self.samples / f"epoch_{epoch:03d}.png"

    def grids(self) -> list[tuple[int, Path]]:
        """The epoch grids in epoch order (by number: epoch_1000 after epoch_750)."""
        found = ((re.fullmatch(r"epoch_(\d+)\.png", p.name), p) for p in self.samples.glob("epoch_*.png"))
        return sorted((int(m.group(1)), p) for m, p in found if m)

    def checkpoint(self, name: str) -> Path:
        """The JSON record of checkpoint NAME (its tensors are NAME.safetensors beside it)."""
        return self.checkpoints / f"{name}.json"

    @staticmethod
    def step_name(step: int) -> str:
        return f"step_{step:08d}"

    @property
    def finished(self) -> bool:
        return self.checkpoint(FINAL).is_file()

    def step_checkpoints(self) -> list[Path]:
        """JSON records of the step checkpoints, oldest first."""
        return sorted(self.checkpoints.glob("step_*.json"))

    def latest_checkpoint(self, final: bool = True) -> Path:
        """The record of `final` (unless final=False), else of the newest step checkpoint."""
        if final and self.finished:
            return self.checkpoint(FINAL)
        steps = self.step_checkpoints()
        if not steps:
            raise RunError(
                f"no checkpoint in {self.checkpoints}", "is this a gankit run folder, and did its first epoch finish?"
            )
        return steps[-1]

    def prune(self, keep: int) -> None:
        """Delete all but the newest `keep` step checkpoints (record first, so no record points at nothing)."""
        for record in self.step_checkpoints()[:-keep]:
            record.unlink(missing_ok=True)
            record.with_suffix(".safetensors").unlink(missing_ok=True)

    def remove_outputs(self) -> None:
        """Everything training wrote (grids, records, plots, checkpoints), so a run can start again here.

        config.yaml stays: it is what the run is."""
        for folder in (self.samples, self.checkpoints):
            for path in folder.glob("*"):
                if path.is_file():
                    path.unlink()
        for path in (self.metrics, self.losses_plot, self.metrics_plot, self.tensorboard):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        self.remove_torn_files()
        self.samples.mkdir(exist_ok=True)
        self.checkpoints.mkdir(exist_ok=True)

    def remove_torn_files(self) -> None:
        """Temporary files left by a write that a kill interrupted: checkpoints, grids, records, plots."""
        for folder in (self.path, self.samples, self.checkpoints):
            for torn in folder.glob(".*.tmp"):
                torn.unlink()

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """An existing run folder; a folder without config.yaml is refused."""
        run = cls(path)
        if not run.path.is_dir():
            raise RunError(f"run folder {run.path} does not exist")
        if not run.config.is_file():
            raise RunError(f"{run.path} is not a gankit run folder (no config.yaml)")
        return run

    @classmethod
    def create(cls, parent: str | Path, name: str) -> RunDir:
        """Make `parent/NNNNN-name` with the next free number; an existing run is never overwritten."""
        parent = Path(parent).expanduser()
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RunError(f"cannot create output folder {parent}: {err.strerror}", "choose another --out") from None
        if not parent.is_dir():
            raise RunError(f"--out {parent} is a file, not a folder")
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "run"
        numbers = [int(m.group(1)) for p in parent.iterdir() if (m := re.match(r"(\d{5})-", p.name))]
        number = max(numbers, default=-1) + 1
        while True:
            run = cls(parent / f"{number:05d}-{safe}")
            try:
                run.path.mkdir()  # fails if another process took the number meanwhile
            except FileExistsError:
                number += 1
                continue
            except OSError as err:
                raise RunError(
                    f"cannot create run folder in {parent}: {err.strerror}", "choose another --out"
                ) from None
            run.samples.mkdir()
            run.checkpoints.mkdir()
            return run
