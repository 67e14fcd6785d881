"""Transfer learning: a run's networks started from another run's checkpoint (`train.init_from`), and FreezeD
(`optim.freeze_d`, Mo et al. 2020), which keeps D's first blocks as the pretrained run left them.

Only weights and buffers carry over (G, D, the EMA of G, StyleGAN2's w_avg with G); optimiser moments, the
schedules, augmentation strength and step count start fresh, as in StyleGAN2-ADA's `--resume` of a pickle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from gankit.errors import ConfigError, RunError
from gankit.runs.checkpoint import load_checkpoint, module_state
from gankit.runs.run_dir import RunDir

_HINT = "start from a run of the same model section (its config.yaml) on data of the same shape and classes"


def split_source(source: str) -> tuple[Path, str | None]:
    """RUN[:checkpoint] -> (run folder, checkpoint name or None); a path that exists as given has no suffix."""
    path = Path(source).expanduser()
    if not path.exists() and ":" in source:
        run, name = source.rsplit(":", 1)
        return Path(run).expanduser(), name or None
    return path, None


def init_networks(source: str, family: str, G: nn.Module, D: nn.Module, G_ema: nn.Module | None) -> dict[str, Any]:
    """Load G, D (and G_ema: the source's EMA, else its G) from checkpoint `source`; returns what was loaded."""
    run_path, name = split_source(source)
    try:
        run = RunDir.open(run_path)
        record = run.checkpoint(name) if name else run.latest_checkpoint()
        if not record.is_file():
            raise RunError(f"checkpoint {record} does not exist", "name one of its checkpoints/, e.g. RUN:final")
        meta, tensors = load_checkpoint(record)
    except RunError as err:
        raise ConfigError(f"train.init_from: {err.message}", err.hint) from None
    if meta["model"]["name"] != family:
        raise ConfigError(
            f"train.init_from: {run.path} is a {meta['model']['name']} run and this run builds {family}", _HINT
        )
    saved = set(meta.get("modules", []))
    targets = [("G", G, "G"), ("D", D, "D")]
    if G_ema is not None:
        targets.append(("G_ema", G_ema, "G_ema" if "G_ema" in saved else "G"))
    for name_here, module, prefix in targets:
        try:
            module.load_state_dict(module_state(tensors, prefix))
        except RuntimeError as err:
            lines = [line.strip() for line in str(err).splitlines() if line.strip()]
            raise ConfigError(
                f"train.init_from: checkpoint {record.stem} of {run.path} does not fit this run's {name_here}: "
                f"{lines[1] if len(lines) > 1 else lines[0]}",
                _HINT,
            ) from None
    return {"run": str(run.path), "checkpoint": record.stem, "step": meta["step"], "sha256": meta["sha256"]}


def freeze_d(D: nn.Module, blocks: int) -> None:
    """Keep D's first `blocks` weighted blocks from the input as they are: no gradients, no optimiser steps."""
    if blocks == 0:
        return
    groups = D.input_blocks() if hasattr(D, "input_blocks") else []
    if blocks > len(groups):
        raise ConfigError(
            f"optim.freeze_d is {blocks} but this discriminator has {len(groups)} blocks before its head",
            f"use 0..{len(groups)}",
        )
    for group in groups[:blocks]:
        for module in group:
            module.requires_grad_(False)
