"""Typed run configuration: defaults <- preset YAML <- config file <- `--set key=value` overrides.

The `data` and `model` sections have a few common fields plus the keyword arguments of the registered
data set or model they name; those are checked against the factory's signature, so an unknown key or
a wrong type fails here, before any training starts.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from gankit.data import DATASETS
from gankit.errors import ConfigError
from gankit.losses import LOSSES
from gankit.metrics.names import metric_names
from gankit.models import MODELS
from gankit.registry import unknown_name
from gankit.training.optim import OPTIMIZERS
from gankit.training.trainer import READOUT_KEYS
from gankit.typecheck import coerce


def _positive(where: str, value: float | None, allow_zero: bool = False) -> None:
    if value is not None and (value < 0 or (value == 0 and not allow_zero)):
        raise ConfigError(f"{where} must be {'>= 0' if allow_zero else '> 0'}, got {value}")


@dataclass
class DataConfig:
    name: str = "mnist5k"  # registered data set: `gankit datasets`
    root: str | None = None  # folder or file to read; None for bundled or generated data
    split: Literal["train", "test"] = "train"  # which part of a data set that has both
    resolution: int | None = None  # square side in pixels after load; None keeps the data set's own
    channels: Literal[1, 3] | None = None  # 1 (grey) or 3 (RGB); None keeps the data set's own
    max_items: int | None = None  # a seeded random subset of this many items; None uses all
    kwargs: dict[str, Any] = field(default_factory=dict)  # the data set's own options

    def __post_init__(self) -> None:
        _positive("data.resolution", self.resolution)
        _positive("data.max_items", self.max_items)
        if self.resolution is not None and self.resolution < 4:
            raise ConfigError(f"data.resolution must be >= 4 pixels, got {self.resolution}")
        self.kwargs = _check_kwargs(DATASETS, self.name, self.kwargs, "data", skip=("root", "split", "resolution"))


@dataclass
class ModelConfig:
    name: str = "dcgan"  # registered model family: `gankit models`
    z_dim: int = 100  # latent size
    kwargs: dict[str, Any] = field(default_factory=dict)  # the model family's own sizes and options

    def __post_init__(self) -> None:
        _positive("model.z_dim", self.z_dim)
        self.kwargs = _check_kwargs(MODELS, self.name, self.kwargs, "model", skip=("shape", "z_dim", "num_classes"))


POSITIVE_TRAIN_FIELDS = (
    "epochs", "batch_size", "lr_g", "lr_d", "d_steps", "sample_every", "grid_size", "log_every",
    "checkpoint_every", "keep_checkpoints", "grad_clip", "gp_weight", "r1_weight", "r1_every", "clip_weights",
    "checkpoint_steps", "eval_every", "eval_n", "aux_weight",
)  # fmt: skip


@dataclass
class TrainConfig:
    epochs: int = 20  # passes over the data set
    batch_size: int = 64  # real images per D step (under torchrun: the global batch, split over the processes)
    seed: int = 0  # seeds weights, data order and noise
    loss: str = "nonsaturating"  # adversarial loss: `gankit losses`
    optimizer: str = "adam"  # adam or rmsprop
    lr_g: float = 2e-4  # generator learning rate
    lr_d: float = 2e-4  # discriminator learning rate
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas; beta1 0.5 as in the DCGAN paper
    d_steps: int = 1  # D steps per G step
    label_smoothing: float = 0.0  # real targets become 1 - this (one-sided, Salimans et al. 2016)
    grad_clip: float | None = None  # max global gradient norm per network; None: no clipping
    gp_weight: float | None = None  # WGAN-GP penalty weight lambda (10 in Gulrajani et al.); None: off
    r1_weight: float | None = None  # R1 penalty weight gamma on real data (Mescheder et al.); None: off
    r1_every: int = 1  # lazy R1: compute it every N D steps, weighted by N (16 in StyleGAN2)
    clip_weights: float | None = None  # WGAN: clamp D's weights into [-c, c] after each D step (0.01); None: off
    instance_noise: float = 0.0  # std of Gaussian noise added to D's inputs, decayed linearly to 0 over the run
    aux_weight: float = 1.0  # weight of the AC-GAN class loss (used when model.aux_classifier is true)
    ema_decay: float | None = None  # keep an EMA of G's weights (e.g. 0.999) for sampling; None: off
    lr_schedule: Literal["constant", "linear", "cosine"] = "constant"  # decay of both lrs to 0 over the run
    precision: Literal["auto", "fp32", "bf16"] = "auto"  # bf16: autocast matmuls/convs, fp32 weights and optimiser;
    # auto: bf16 on CPUs with native bf16 (AVX-512-BF16/AMX), else fp32 (CUDA convs run TF32 already)
    channels_last: bool = False  # NHWC memory layout for conv models (faster convs on CPU oneDNN and GPU tensor cores)
    compile: bool = False  # torch.compile G and D (measured slower on a 2-core CPU, see docs/performance.md)
    device: str = "auto"  # auto (cuda, then mps, then cpu), cpu, cuda, cuda:N, mps
    deterministic: bool = False  # CUDA: deterministic kernels, bit-identical resumes (slower); CPU always is
    sample_every: int = 1  # epochs between sample grids
    grid_size: int = 64  # images per sample grid, from the same fixed noise every time
    log_every: int = 50  # steps between loss readouts; each readout is one host sync
    checkpoint_every: int = 1  # epochs between checkpoints
    checkpoint_steps: int | None = None  # also checkpoint every this many steps; None: at epoch ends only
    keep_checkpoints: int = 2  # newest step/epoch checkpoints kept; `final` and `best` are always kept
    eval_every: int | None = None  # epochs between evaluations (FID etc., into metrics.jsonl); None: off
    eval_n: int = 2000  # generated samples per evaluation (and at most this many real ones)
    eval_extractor: str = "lenet-mnist"  # feature extractor: lenet-mnist or an evaluator's .json
    best_metric: str | None = None  # keep checkpoints/best by this value, e.g. fid2k[lenet-mnist]; None: off
    best_mode: Literal["min", "max"] = "min"  # whether a lower or a higher best_metric is better
    on_divergence: Literal["stop", "rollback"] = "stop"  # on NaN/Inf: stop, or reload the last checkpoint
    rollback_lr_scale: float = 0.5  # after a rollback both learning rates are multiplied by this
    sync_batchnorm: bool = False  # under torchrun: BatchNorm statistics over the global batch, not each rank's

    def __post_init__(self) -> None:
        for name in POSITIVE_TRAIN_FIELDS:  # None, where allowed, means "off" and passes
            _positive(f"train.{name}", getattr(self, name))
        if self.ema_decay is not None and not 0 < self.ema_decay < 1:
            raise ConfigError(f"train.ema_decay must be in (0, 1) or null, got {self.ema_decay}")
        if not 0 <= self.label_smoothing < 0.5:
            raise ConfigError(f"train.label_smoothing must be in [0, 0.5), got {self.label_smoothing}")
        if not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"train.betas must each be in [0, 1), got {list(self.betas)}")
        if not (self.device in ("auto", "cpu", "cuda", "mps") or self.device.startswith("cuda:")):
            raise ConfigError(f"train.device must be auto, cpu, cuda, cuda:N or mps, got {self.device!r}")
        if not 0 < self.rollback_lr_scale < 1:
            raise ConfigError(f"train.rollback_lr_scale must be in (0, 1), got {self.rollback_lr_scale}")
        extractor = Path(self.eval_extractor).stem if self.eval_extractor.endswith(".json") else self.eval_extractor
        valid = list(READOUT_KEYS) + (metric_names(self.eval_n, extractor, True) if self.eval_every else [])
        if self.best_metric is not None and self.best_metric not in valid:
            hint = "" if self.eval_every else "evaluation metrics need train.eval_every; "
            raise ConfigError(f"unknown train.best_metric {self.best_metric!r}", f"{hint}valid: {', '.join(valid)}")
        _positive("train.instance_noise", self.instance_noise, allow_zero=True)
        loss = LOSSES.get(self.loss)()
        if self.label_smoothing > 0 and not loss.smoothing:
            raise ConfigError(f"train.label_smoothing does not apply to the {self.loss} loss", "set it to 0")
        OPTIMIZERS.get(self.optimizer)
        if self.compile and (self.gp_weight or self.r1_weight):
            raise ConfigError(
                "train.compile cannot run the gradient penalties (gp_weight, r1_weight): compiled graphs have no double backward",
                "set train.compile=false",
            )


@dataclass
class RunConfig:
    """Everything a run needs; written to the run folder as config.yaml, from which it can be repeated."""

    description: str = ""  # one line shown by `gankit presets`
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        """Nested plain dict, with each section's kwargs flattened into it (the YAML form)."""
        out: dict[str, Any] = {"description": self.description}
        for section in ("data", "model", "train"):
            values = dataclasses.asdict(getattr(self, section))
            values.update(values.pop("kwargs", {}))
            out[section] = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
        return out

    def dump(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}
DEFAULT_PRESET = "mnist-dcgan"


def _check_kwargs(registry, name: str, kwargs: dict[str, Any], section: str, skip: tuple[str, ...]) -> dict:
    """Check kwargs against the keyword parameters of the factory registered as `name`."""
    factory = registry.get(name)
    params = {p.name: p for p in inspect.signature(factory).parameters.values() if p.name not in skip}
    hints = typing.get_type_hints(factory)
    out = {}
    for key, value in kwargs.items():
        if key not in params:
            common = [f.name for f in dataclasses.fields(SECTIONS[section]) if f.name not in ("kwargs", *params)]
            valid = sorted(params) + common
            raise ConfigError(f"unknown key {section}.{key} for {registry.kind} {name!r}", f"valid: {', '.join(valid)}")
        out[key] = coerce(value, hints.get(key, Any), f"{section}.{key}")
    return out


def _build_section(section: str, values: dict[str, Any]) -> Any:
    cls = SECTIONS[section]
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.name != "kwargs"}
    typed = {k: coerce(v, hints[k], f"{section}.{k}") for k, v in values.items() if k in known}
    extra = {k: v for k, v in values.items() if k not in known}
    if section == "train" and extra:
        key = sorted(extra)[0]
        raise ConfigError(f"unknown key train.{key}", f"valid: {', '.join(sorted(known))}")
    return cls(**typed, kwargs=extra) if extra or section != "train" else cls(**typed)


def list_presets() -> list[tuple[str, str]]:
    """(name, description) of each packaged preset."""
    out = []
    for path in sorted(resources.files("gankit.presets").iterdir(), key=lambda p: p.name):
        if path.name.endswith(".yaml"):
            out.append((path.name[: -len(".yaml")], yaml.safe_load(path.read_text()).get("description", "")))
    return out


def _read_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{source} is not valid YAML: {str(err).splitlines()[0]}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"{source} must hold a mapping of sections (data, model, train)")
    return values


def preset_values(name: str) -> dict[str, Any]:
    names = [n for n, _ in list_presets()]
    if name not in names:
        raise unknown_name("preset", name, names)
    return _read_yaml((resources.files("gankit.presets") / f"{name}.yaml").read_text(), f"preset {name}")


def _merge(base: dict[str, Any], update: dict[str, Any], source: str) -> dict[str, Any]:
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for key, value in update.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: section {key!r} must be a mapping, got {value!r}")
            section = out.setdefault(key, {})
            if "name" in value and value["name"] != section.get("name", value["name"]):
                section.clear()  # a different data set or model: the old one's options do not apply
            section.update(value)
        elif key == "description":
            out[key] = value
        else:
            raise ConfigError(f"{source}: unknown section {key!r}", f"valid: description, {', '.join(SECTIONS)}")
    return out


def parse_override(text: str) -> dict[str, Any]:
    """`train.epochs=5` -> {"train": {"epochs": 5}}; the value is read as YAML (numbers, lists, null)."""
    key, sep, raw = text.partition("=")
    parts = key.strip().split(".")
    if not sep or len(parts) != 2 or not all(parts):
        raise ConfigError(f"override {text!r} must look like SECTION.KEY=VALUE, e.g. train.epochs=5")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return {parts[0]: {parts[1]: value}}


def load_config(
    preset: str | None = None, config_file: str | Path | None = None, overrides: typing.Sequence[str] = ()
) -> RunConfig:
    """Resolve a RunConfig: typed defaults <- preset (or config file) <- overrides, then validate."""
    if preset and config_file:
        raise ConfigError("give either a preset or a config file, not both")
    if config_file:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        values = _merge({}, _read_yaml(path.read_text(), str(path)), str(path))
    else:
        values = _merge({}, preset_values(preset or DEFAULT_PRESET), f"preset {preset or DEFAULT_PRESET}")
    for text in overrides:
        values = _merge(values, parse_override(text), f"--set {text}")
    return config_from_dict(values)


def config_from_dict(values: dict[str, Any]) -> RunConfig:
    sections = {s: _build_section(s, dict(values.get(s) or {})) for s in SECTIONS}
    return RunConfig(description=str(values.get("description", "")), **sections)
