"""`train()` and `resume()`: a run folder, the parts its config names, and the one training loop."""

from __future__ import annotations

import sys
from pathlib import Path

from gankit.config import RunConfig
from gankit.config_files import load_config
from gankit.errors import RunError
from gankit.runs.files import atomic_write_text
from gankit.runs.run_dir import RunDir
from gankit.training.builder import build_parts, build_trainer, describe
from gankit.training.continue_from import check_continuation, continue_state
from gankit.training.device import resolve_device
from gankit.training.distributed import World, world_from_env
from gankit.training.trainer import Trainer


def train(config: RunConfig, out: str | Path = "runs", name: str | None = None, quiet: bool = False) -> Path:
    """Train a GAN as `config` says; returns the new run folder under `out` (never an existing one).

    SIGINT or SIGTERM ends training after the current step with a checkpoint; `resume` continues it. With
    `train.continue_from` the run starts in that checkpoint's training state (training/continue_from.py).
    """
    source = check_continuation(config) if config.train.continue_from else None
    with world_from_env(resolve_device(config.train.device)) as (world, device):
        # refuses what does not fit before any file is written; a continued run's weights come from its source
        parts = build_parts(config, world, device, initialise=source is None)
        run = _new_run_dir(out, name or parts.default_name, world)
        if world.main:
            atomic_write_text(run.config, config.dump())
        trainer = build_trainer(parts, run, quiet)
        _say(world, quiet, describe(parts, run))
        if source is not None:
            _continue(trainer, *source, quiet)
        _finish(trainer, trainer.fit())
        del trainer, parts  # their DDP wrappers hold the process group: they go first (see world_from_env)
    return run.path


def resume(run_dir: str | Path, quiet: bool = False) -> Path:
    """Continue an unfinished run from its newest checkpoint; on CPU the result equals an uninterrupted run.

    A run stopped before its first checkpoint starts again in the same folder, from step 0.
    """
    run = RunDir.open(run_dir)
    if run.finished:
        raise RunError(
            f"run {run.path} has already finished",
            f"to train it longer: gankit train --continue-from {run.path} --set train.epochs=N",
        )
    config = load_config(config_file=run.config)
    with world_from_env(resolve_device(config.train.device)) as (world, device):
        started = bool(run.step_checkpoints())  # every rank reads the same folder (a shared file system)
        if world.main and started:
            run.remove_torn_files()
        elif world.main:
            run.remove_outputs()
        world.barrier()
        parts = build_parts(config, world, device, initialise=not (started or config.train.continue_from))
        trainer = build_trainer(parts, run, quiet)
        if started:
            record = run.latest_checkpoint(final=False)
            try:
                trainer.restore(record)
            except (RuntimeError, KeyError, ValueError) as err:
                raise RunError(
                    f"checkpoint {record} does not fit this run's config: {str(err).splitlines()[0]}"
                ) from None
            _say(world, quiet, f"gankit: resuming {run} from step {trainer.step} ({record.name})")
        elif config.train.continue_from:
            _continue(trainer, *check_continuation(config), quiet)
        else:  # killed before its first checkpoint: the same config and seed from step 0 give the same run
            _say(world, quiet, f"gankit: {run} has no checkpoint yet; starting it again from step 0 with its seed")
        _finish(trainer, trainer.fit())
        del trainer, parts  # their DDP wrappers hold the process group: they go first (see world_from_env)
    return run.path


def _continue(trainer: Trainer, source: RunDir, record: Path, quiet: bool) -> None:
    continue_state(trainer, source, record)
    _say(trainer.world, quiet, f"gankit: continuing {source.path} from step {trainer.step} ({record.stem})")


def _new_run_dir(out: str | Path, name: str, world: World) -> RunDir:
    """Rank 0 makes the numbered folder and tells the others its name."""
    path = RunDir.create(out, name).path if world.main else None
    return RunDir(world.share_text(str(path) if path else None))


def _say(world: World, quiet: bool, line: str) -> None:
    if world.main:
        print(line, file=sys.stdout if quiet else sys.stderr)


def _finish(trainer: Trainer, finished: bool) -> None:
    if not finished and trainer.world.main:
        print(
            f"gankit: stopped at step {trainer.step} with a checkpoint; continue with: gankit train --resume {trainer.run_dir}",
            file=sys.stderr,
        )
