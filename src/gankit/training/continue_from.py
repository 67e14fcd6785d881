"""A longer run, or one with a new learning-rate schedule, continued from another run's checkpoint
(`train.continue_from`): a new run folder that starts with the whole training state of that moment (weights,
EMA, optimiser moments, schedule step, augmentation strength, random streams, metrics), so its first steps are
the ones the source run would have taken. The source folder is only read.

Only what that state does not hold may change: the epochs, the shape of the lr decay, logging, and where and how
fast it runs. Anything else (model, data, loss, learning rates, seed) would continue a state trained under other
settings; `train.init_from` starts a new run from the weights alone for that. What is scheduled over the run
(the lr decay, instance noise's fade) follows the new length from the checkpoint's step on; a family whose
recipe lays stages out over the steps (TimeGAN) keeps its length.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gankit.errors import ConfigError, RunError
from gankit.runs.checkpoint import read_meta
from gankit.runs.run_dir import RunDir
from gankit.training.init_from import split_source
from gankit.training.recipes import RECIPES

if TYPE_CHECKING:
    from gankit.config import RunConfig
    from gankit.training.trainer import Trainer

MAY_CHANGE = (
    "description",
    "train.epochs",
    "train.continue_from",
    "train.device",
    "train.compile",
    "train.channels_last",
    "train.on_divergence",
    "train.rollback_lr_scale",
    "optim.lr_schedule",
    "optim.lr_decay_from",
    "log.",
    "eval.",
)


def source_checkpoint(source: str) -> tuple[RunDir, Path]:
    """RUN[:checkpoint] -> the run and the checkpoint record (default: final, else the newest step)."""
    path, name = split_source(source)
    run = RunDir.open(path)
    record = run.checkpoint(name) if name else run.latest_checkpoint()
    if not record.is_file():
        names = ", ".join(p.stem for p in sorted(run.checkpoints.glob("*.json")))
        raise RunError(f"checkpoint {record} does not exist", f"name one of {run.checkpoints}: {names}")
    return run, record


def check_continuation(config: RunConfig) -> tuple[RunDir, Path]:
    """Refuse a config that differs from the source run's in what its checkpoint holds, or that ends before it."""
    from gankit.config_files import load_config

    try:
        run, record = source_checkpoint(config.train.continue_from)
    except RunError as err:
        raise ConfigError(f"train.continue_from: {err.message}", err.hint) from None
    before, after = _flat(load_config(config_file=run.config).to_dict()), _flat(config.to_dict())
    for key in sorted(before.keys() | after.keys()):
        if before.get(key) != after.get(key) and not key.startswith(MAY_CHANGE):
            raise ConfigError(
                f"train.continue_from continues {run.path}'s training state, so {key} cannot change "
                f"({before.get(key)!r} there, {after.get(key)!r} here)",
                "change only train.epochs, optim.lr_schedule, optim.lr_decay_from or log.*; "
                "to train its weights under other settings use --init-from",
            )
    if config.train.epochs != before["train.epochs"] and config.model.name in RECIPES:
        raise ConfigError(
            f"{config.model.name} lays its stages out over the run's steps, so a run of other length would move them",
            "continue it with the same train.epochs (e.g. under another lr schedule), or start a new run",
        )
    try:
        meta = read_meta(record)
    except RunError as err:
        raise ConfigError(f"train.continue_from: {err.message}", err.hint) from None
    if config.train.epochs <= meta["epoch"]:
        raise ConfigError(
            f"train.epochs is {config.train.epochs}, and checkpoint {record.stem} of {run.path} is at epoch "
            f"{meta['epoch']}",
            "set train.epochs above it",
        )
    return run, record


def continue_state(trainer: Trainer, source: RunDir, record: Path) -> None:
    """Start `trainer`'s fresh run folder in the state of `source`'s checkpoint `record`."""
    if trainer.world.main and source.metrics.is_file():  # the records up to the checkpoint: one curve
        shutil.copyfile(source.metrics, trainer.run.metrics)
    trainer.world.barrier()
    trainer.restore(record)
    for network in trainer.networks.values():  # the restored optimiser holds the source schedule's current rate
        network.refresh_lr()


def _flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
