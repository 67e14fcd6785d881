"""Config files in the layout of gankit 0.1: every training option in one flat `train` section.

Run folders made by that version hold such a config.yaml; `gankit train --resume` and `--config` read them
through `migrate`, which moves each field to its section (e.g. train.lr_g -> optim.lr_g,
train.gp_weight -> loss.penalties.gp.weight). Overrides in the old spelling are refused with the new name.
"""

from __future__ import annotations

from typing import Any

MOVED = {  # train.<key> in gankit 0.1 -> (section, key) now
    "loss": ("loss", "name"),
    "label_smoothing": ("loss", "label_smoothing"),
    "instance_noise": ("loss", "instance_noise"),
    "aux_weight": ("loss", "aux_weight"),
    "clip_weights": ("loss", "clip_weights"),
    "optimizer": ("optim", "name"),
    "lr_g": ("optim", "lr_g"),
    "lr_d": ("optim", "lr_d"),
    "betas": ("optim", "betas"),
    "lr_schedule": ("optim", "lr_schedule"),
    "grad_clip": ("optim", "grad_clip"),
    "d_steps": ("optim", "d_steps"),
    "ema_decay": ("optim", "ema_decay"),
    "log_every": ("log", "every"),
    "sample_every": ("log", "sample_every"),
    "grid_size": ("log", "grid_size"),
    "checkpoint_every": ("log", "checkpoint_every"),
    "checkpoint_steps": ("log", "checkpoint_steps"),
    "keep_checkpoints": ("log", "keep_checkpoints"),
    "best_metric": ("log", "best_metric"),
    "best_mode": ("log", "best_mode"),
    "eval_every": ("eval", "every"),
    "eval_n": ("eval", "n"),
    "eval_extractor": ("eval", "extractor"),
}
PENALTY_FIELDS = {"gp_weight": ("gp", "weight"), "r1_weight": ("r1", "weight"), "r1_every": ("r1", "every")}


def moved_key(section: str, key: str) -> str | None:
    """The current name of an option given in the 0.1 spelling (`train.lr_g` -> `optim.lr_g`), or None."""
    if section != "train":
        return None
    if key in MOVED:
        return ".".join(MOVED[key])
    if key in PENALTY_FIELDS:
        return "loss.penalties.{}.{}".format(*PENALTY_FIELDS[key])
    return None


def is_legacy(values: dict[str, Any]) -> bool:
    train = values.get("train")
    return isinstance(train, dict) and any(k in MOVED or k in PENALTY_FIELDS for k in train)


def migrate(values: dict[str, Any]) -> dict[str, Any]:
    """A 0.1 config (sections data, model, train) in today's sections; values are kept as they are."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in values.items()}
    train = out.setdefault("train", {})
    for key, (section, new) in MOVED.items():
        if key in train:
            out.setdefault(section, {})[new] = train.pop(key)
    penalties: dict[str, dict[str, Any]] = {}
    for key, (name, option) in PENALTY_FIELDS.items():
        if key in train:
            penalties.setdefault(name, {})[option] = train.pop(key)
    # 0.1 wrote every field: a penalty was off when its weight was null, whatever its interval said.
    kept = {name: options for name, options in penalties.items() if options.get("weight") is not None}
    if kept:
        out.setdefault("loss", {}).setdefault("penalties", {}).update(kept)
    return out
