"""Typed run configuration: the sections composed into one RunConfig (`gankit.config_files` layers presets,
files and `--set` overrides).

Each package owns its section beside its code (`data/config.py`, `models/config.py`, `losses/config.py`,
`augment/config.py`, `training/config.py`, `metrics/config.py`): a dataclass validated once, when it is made,
against its package's registry. The `data` and `model` sections have a few common fields plus the keyword
arguments of the registered data set or model they name, and each entry of `loss.penalties` the options of its
penalty: those are checked against the factory's signature, so an unknown key or a wrong type fails there,
before any training starts. This module holds only what reads more than one section. Files in the earlier
one-section layout (a run folder's config.yaml from gankit 0.1) are read through `gankit.legacy_config`.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any

import yaml

from gankit.augment.config import AugmentConfig
from gankit.data.config import DataConfig
from gankit.errors import ConfigError
from gankit.legacy_config import moved_key
from gankit.losses.config import LossConfig, PenaltyConfig
from gankit.losses.penalties import PENALTIES
from gankit.metrics.config import EvalConfig
from gankit.metrics.names import readout_names
from gankit.models.config import ModelConfig
from gankit.training.config import AnnealConfig, LogConfig, OptimConfig, TrainConfig
from gankit.typecheck import coerce


@dataclass
class RunConfig:
    """Everything a run needs; written to the run folder as config.yaml, from which it can be repeated."""

    description: str = ""  # one line shown by `gankit presets`
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    anneal: AnnealConfig = field(default_factory=AnnealConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    log: LogConfig = field(default_factory=LogConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def __post_init__(self) -> None:
        """The checks that read more than one section."""
        best = self.log.best_metric
        valid = readout_names(self.loss.penalties) + self.eval.metric_names()
        if best is not None and best not in valid:
            hint = "" if self.eval.every else "evaluation metrics need eval.every; "
            raise ConfigError(f"unknown log.best_metric {best!r}", f"{hint}valid: {', '.join(valid)}")
        pack = self.model.kwargs.get("pack", 1)
        if self.train.batch_size % pack:
            raise ConfigError(
                f"train.batch_size {self.train.batch_size} is not a multiple of model.pack {pack}",
                "D judges pack samples at once: choose a batch size it divides",
            )
        self._check_anneal()
        needs_double_backward = [n for n in self.loss.penalties if PENALTIES.get(n).double_backward]
        if self.train.compile and needs_double_backward:
            raise ConfigError(
                f"train.compile cannot run gradient penalties ({', '.join(needs_double_backward)}):"
                " compiled graphs have no double backward",
                "set train.compile=false",
            )

    def _check_anneal(self) -> None:
        a = self.anneal
        for name in a.penalties:
            if name not in self.loss.penalties:
                raise ConfigError(f"anneal.penalties.{name}: no such penalty in loss.penalties", "configure it there")
            if self.loss.penalties[name].weight == "auto":
                raise ConfigError(f"anneal.penalties.{name} needs a numeric loss.penalties.{name}.weight to start from")
        if a.ema_half_life is not None and self.optim.ema_half_life is None:
            raise ConfigError("anneal.ema_half_life needs optim.ema_half_life, the value it starts from")
        if (a.lr_g is not None or a.lr_d is not None) and self.train.on_divergence == "rollback":
            raise ConfigError(
                "train.on_divergence=rollback scales the learning rates that anneal.lr_g / anneal.lr_d set",
                "use train.on_divergence=stop, or anneal no learning rate",
            )
        if a.beta2 is not None and self.optim.name != "adam":
            raise ConfigError(f"anneal.beta2 anneals Adam's beta2; optim.name is {self.optim.name}")

    def to_dict(self) -> dict[str, Any]:
        """Nested plain dict, with each section's kwargs flattened into it (the YAML form)."""
        out: dict[str, Any] = {"description": self.description}
        for section in SECTIONS:
            values = dataclasses.asdict(getattr(self, section))
            values.update(values.pop("kwargs", {}))
            if section == "loss":
                values["penalties"] = {n: _flat(p) for n, p in values["penalties"].items()}
            out[section] = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
        return out

    def dump(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def _flat(penalty: dict[str, Any]) -> dict[str, Any]:
    return {"weight": penalty["weight"], "every": penalty["every"], **penalty["kwargs"]}


SECTIONS = {
    "data": DataConfig,
    "model": ModelConfig,
    "loss": LossConfig,
    "augment": AugmentConfig,
    "optim": OptimConfig,
    "anneal": AnnealConfig,
    "train": TrainConfig,
    "log": LogConfig,
    "eval": EvalConfig,
}
DEFAULT_PRESET = "mnist-dcgan-cond"


def _build_section(section: str, values: dict[str, Any]) -> Any:
    cls = SECTIONS[section]
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    known = {n for n in names if n != "kwargs"}
    typed = {k: coerce(v, hints[k], f"{section}.{k}") for k, v in values.items() if k in known}
    extra = {k: v for k, v in values.items() if k not in known}
    if "kwargs" in names:
        return cls(**typed, kwargs=extra)
    if extra:
        key = sorted(extra)[0]
        moved = moved_key(section, key)
        hint = f"it is {moved} since gankit 0.2" if moved else f"valid: {', '.join(sorted(known))}"
        raise ConfigError(f"unknown key {section}.{key}", hint)
    return cls(**typed)


def config_from_dict(values: dict[str, Any]) -> RunConfig:
    sections = {s: _build_section(s, dict(values.get(s) or {})) for s in SECTIONS}
    return RunConfig(description=str(values.get("description", "")), **sections)


__all__ = [
    "DEFAULT_PRESET",
    "SECTIONS",
    "AnnealConfig",
    "AugmentConfig",
    "DataConfig",
    "EvalConfig",
    "LogConfig",
    "LossConfig",
    "ModelConfig",
    "OptimConfig",
    "PenaltyConfig",
    "RunConfig",
    "TrainConfig",
    "config_from_dict",
]  # fmt: skip  (the sections stay importable from here, as before they moved to their packages)
