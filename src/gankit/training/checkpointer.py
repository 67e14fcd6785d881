"""Checkpoints of a training run: its state gathered from the parts that hold it, written by rank 0 only,
checked across ranks first, and restored into the same parts for an exact resume."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from gankit.errors import DivergenceError, RunError
from gankit.runs.checkpoint import load_checkpoint, save_checkpoint
from gankit.runs.run_dir import RunDir
from gankit.training.distributed import World
from gankit.training.stats import Stats


class Stateful(Protocol):
    """A part of a run whose state a checkpoint keeps: tensors (safetensors) and JSON-able values (the record)."""

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]: ...

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None: ...


def _merge_meta(meta: dict[str, Any], values: dict[str, Any], where: str = "") -> None:
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(meta.get(key), dict):
            _merge_meta(meta[key], value, f"{where}{key}.")
        elif key in meta:
            raise ValueError(f"two parts of the run save {where}{key}")
        else:
            meta[key] = value


class Checkpointer:
    """Saves every part's state as one checkpoint NAME (step_*, final, best) and restores it.

    `modules` are the networks whose copies the ranks must agree on; `stats` holds the running losses, which
    must be finite for a state to be saved (a rollback must find good weights).
    """

    def __init__(
        self,
        run: RunDir,
        world: World,
        keep: int,
        meta: dict[str, Any],
        parts: Sequence[Stateful],
        modules: dict[str, nn.Module],
        stats: Stats,
    ) -> None:
        self.run, self.world, self.keep, self.meta = run, world, keep, meta
        self.parts, self.modules, self.stats = list(parts), modules, stats
        self.saved_step: int | None = None  # step of the newest step checkpoint

    def save(self, step: int, epoch: int, name: str | None = None, loop: dict[str, Any] | None = None) -> None:
        """Every rank calls this at the same steps and only rank 0 writes; `best` involves no collective, since
        evaluation runs on rank 0 alone. `name` None is a step checkpoint, of which the newest `keep` stay.
        `loop` holds the training loop's own JSON values (where in the epoch's work it was)."""
        self._check_savable(step, local=name == "best")
        if not self.world.main:
            if name is None:
                self.saved_step = step
            return
        tensors: dict[str, torch.Tensor] = {}
        meta: dict[str, Any] = {
            **self.meta,
            **(loop or {}),
            "epoch": epoch,
            "step": step,
            "modules": sorted(self.modules),
        }
        for part in self.parts:
            part_tensors, part_meta = part.state()
            if clash := tensors.keys() & part_tensors.keys():
                raise ValueError(f"two parts of the run save tensor {sorted(clash)[0]}")
            tensors.update(part_tensors)
            _merge_meta(meta, part_meta)
        save_checkpoint(self.run.checkpoint(name or RunDir.step_name(step)), tensors, meta)
        if name is None:
            self.run.prune(self.keep)
            self.saved_step = step

    def restore(self, record: Path) -> dict[str, Any]:
        """Load checkpoint `record` into every part; returns its record (step, epoch, ...)."""
        meta, tensors = load_checkpoint(record)
        for part in self.parts:
            part.load_state(tensors, meta)
        self.saved_step = meta["step"]
        return meta

    def _check_savable(self, step: int, local: bool) -> None:
        """Never save a state whose running losses are NaN/Inf on any rank, nor one in which the ranks' copies
        of the networks differ."""
        bad = self.stats.non_finite()
        if bad is not None if local else self.world.any(bad is not None):
            raise DivergenceError(f"training diverged by step {step}: {bad or 'a loss on another rank'} is not finite")
        if local:
            return
        # Without SyncBatchNorm each rank's BatchNorm running statistics follow its own batches (DDP does not
        # broadcast them per forward): take rank 0's now, so every rank holds, and rank 0 saves, one state.
        self.world.broadcast_([b for m in self.modules.values() for b in m.buffers()])
        if not self.world.agree([t for m in self.modules.values() for t in m.state_dict().values()]):
            raise RunError(
                f"the processes' copies of the networks differ at step {step}: the ranks drifted apart",
                "report this with the run's config.yaml; the last checkpoint before it is intact",
            )
