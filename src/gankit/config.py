"""Typed run configuration in sections (`gankit.config_files` layers presets, files and `--set` overrides).

Each section is a dataclass validated once, when it is made. The `data` and `model` sections have a few
common fields plus the keyword arguments of the registered data set or model they name, and each entry of
`loss.penalties` the options of its penalty: those are checked against the factory's signature, so an unknown
key or a wrong type fails here, before any training starts. Files in the earlier one-section layout (a
run folder's config.yaml from gankit 0.1) are read through `gankit.legacy_config`.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from gankit.augment import AUGMENTS
from gankit.data import DATASETS
from gankit.errors import ConfigError
from gankit.legacy_config import moved_key
from gankit.losses import LOSSES, PENALTIES
from gankit.metrics.extractors import extractor_name
from gankit.metrics.names import metric_names, readout_names
from gankit.models import MODELS
from gankit.training.optim import OPTIMIZERS
from gankit.typecheck import coerce


def _positive(where: str, value: float | None, allow_zero: bool = False) -> None:
    """None, where a field allows it, means "off" and passes."""
    if value is not None and (value < 0 or (value == 0 and not allow_zero)):
        raise ConfigError(f"{where} must be {'>= 0' if allow_zero else '> 0'}, got {value}")


def _check_kwargs(registry, name: str, kwargs: dict[str, Any], where: str, skip: tuple[str, ...], common=()) -> dict:
    """Check kwargs against the keyword parameters of the factory registered as `name`; returns them typed."""
    factory = registry.get(name)
    params = {p.name for p in inspect.signature(factory).parameters.values() if p.name not in skip}
    hints = typing.get_type_hints(factory.__init__ if inspect.isclass(factory) else factory) if kwargs else {}
    out = {}
    for key, value in kwargs.items():
        if key not in params:
            valid = sorted(params) + [c for c in common if c not in params]
            raise ConfigError(f"unknown key {where}.{key} for {registry.kind} {name!r}", f"valid: {', '.join(valid)}")
        out[key] = coerce(value, hints.get(key, Any), f"{where}.{key}")
    return out


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
        common = [f.name for f in dataclasses.fields(self) if f.name != "kwargs"]
        skip = ("root", "split", "resolution")
        self.kwargs = _check_kwargs(DATASETS, self.name, self.kwargs, "data", skip, common)


@dataclass
class ModelConfig:
    name: str = "dcgan"  # registered model family: `gankit models`
    z_dim: int = 100  # latent size
    kwargs: dict[str, Any] = field(default_factory=dict)  # the model family's own sizes and options

    def __post_init__(self) -> None:
        _positive("model.z_dim", self.z_dim)
        skip = ("shape", "z_dim", "num_classes")
        self.kwargs = _check_kwargs(MODELS, self.name, self.kwargs, "model", skip, ("name", "z_dim"))


@dataclass
class PenaltyConfig:
    weight: float | Literal["auto"]  # multiplier in its network's loss (WGAN-GP lambda, R1 gamma); auto: the
    # penalty's published heuristic (R1: StyleGAN2-ADA's 0.0002 * H * W / batch)
    every: int = 1  # lazy regularisation: computed every N steps of its network, weighted by weight * N
    kwargs: dict[str, Any] = field(default_factory=dict)  # the penalty's own options


@dataclass
class LossConfig:
    name: str = "nonsaturating"  # adversarial loss: `gankit losses`
    label_smoothing: float = 0.0  # real targets become 1 - this (one-sided, Salimans et al. 2016)
    instance_noise: float = 0.0  # std of Gaussian noise added to D's inputs, decayed linearly to 0 over the run
    aux_weight: float = 1.0  # weight of the AC-GAN class loss (when the model has model.aux_classifier)
    clip_weights: float | None = None  # WGAN: clamp D's weights into [-c, c] after each D step (0.01); None: off
    penalties: dict[str, PenaltyConfig] = field(
        default_factory=dict
    )  # name -> {weight, every, options}: `gankit penalties`

    def __post_init__(self) -> None:
        loss = LOSSES.get(self.name)()
        if not 0 <= self.label_smoothing < 0.5:
            raise ConfigError(f"loss.label_smoothing must be in [0, 0.5), got {self.label_smoothing}")
        if self.label_smoothing > 0 and not loss.smoothing:
            raise ConfigError(f"loss.label_smoothing does not apply to the {self.name} loss", "set it to 0")
        _positive("loss.instance_noise", self.instance_noise, allow_zero=True)
        _positive("loss.aux_weight", self.aux_weight)
        _positive("loss.clip_weights", self.clip_weights)
        if not isinstance(self.penalties, dict):
            raise ConfigError(f"loss.penalties must be a mapping of penalty names, got {self.penalties!r}")
        self.penalties = {
            name: self._penalty(name, spec) for name, spec in self.penalties.items() if spec is not None
        }  # a null entry switches a preset's penalty off

    @staticmethod
    def _penalty(name: str, spec: Any) -> PenaltyConfig:
        where = f"loss.penalties.{name}"
        PENALTIES.get(name)
        if isinstance(spec, PenaltyConfig):
            return spec
        if not isinstance(spec, dict) or "weight" not in spec:
            raise ConfigError(f"{where} must be a mapping with a weight, e.g. {{weight: 10}}, got {spec!r}")
        options = {k: v for k, v in spec.items() if k not in ("weight", "every")}
        penalty = PenaltyConfig(
            weight=coerce(spec["weight"], float | Literal["auto"], f"{where}.weight"),
            every=coerce(spec.get("every", 1), int, f"{where}.every"),
            kwargs=_check_kwargs(PENALTIES, name, options, where, (), ("weight", "every")),
        )
        if penalty.weight != "auto":
            _positive(f"{where}.weight", penalty.weight)
        _positive(f"{where}.every", penalty.every)
        return penalty


@dataclass
class OptimConfig:
    name: str = "adam"  # optimiser of both networks: adam or rmsprop
    lr_g: float = 2e-4  # generator learning rate
    lr_d: float = 2e-4  # discriminator learning rate
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas; beta1 0.5 as in the DCGAN paper
    lr_schedule: Literal["constant", "linear", "cosine"] = "constant"  # decay of both lrs to 0 over the run
    grad_clip: float | None = None  # max global gradient norm per network; None: no clipping
    d_steps: int = 1  # D steps per G step (WGAN's n_critic)
    ema_decay: float | None = None  # keep an EMA of G's weights (e.g. 0.999) for sampling; None: off
    ema_half_life: int | None = None  # or: the EMA's half-life in real images (StyleGAN2: 10,000 x batch / 32)
    ema_rampup: float | None = None  # with ema_half_life: at most this fraction of the images seen (0.05)

    def __post_init__(self) -> None:
        OPTIMIZERS.get(self.name)
        for name in ("lr_g", "lr_d", "grad_clip", "d_steps", "ema_half_life", "ema_rampup"):
            _positive(f"optim.{name}", getattr(self, name))
        if self.ema_decay is not None and self.ema_half_life is not None:
            raise ConfigError("give optim.ema_decay or optim.ema_half_life, not both")
        if self.ema_rampup is not None and self.ema_half_life is None:
            raise ConfigError("optim.ema_rampup needs optim.ema_half_life")
        if not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"optim.betas must each be in [0, 1), got {list(self.betas)}")
        if self.ema_decay is not None and not 0 < self.ema_decay < 1:
            raise ConfigError(f"optim.ema_decay must be in (0, 1) or null, got {self.ema_decay}")


@dataclass
class AnnealConfig:
    images: int | None = None  # real images over which the values below are reached; None: nothing is annealed
    shape: Literal["cosine", "linear"] = "cosine"  # from the configured value to the end value; constant after
    lr_g: float | None = None  # end value of optim.lr_g; None: not annealed
    lr_d: float | None = None  # end value of optim.lr_d
    beta2: float | None = None  # end value of Adam's beta2 (optim.betas[1]); R3GAN: 0.9 -> 0.99
    ema_half_life: float | None = None  # end value of optim.ema_half_life, in real images
    penalties: dict[str, float] = field(default_factory=dict)  # penalty name -> end value of its weight (R1 gamma)

    def __post_init__(self) -> None:
        _positive("anneal.images", self.images)
        for name in ("lr_g", "lr_d", "ema_half_life"):
            _positive(f"anneal.{name}", getattr(self, name))
        if self.beta2 is not None and not 0 <= self.beta2 < 1:
            raise ConfigError(f"anneal.beta2 must be in [0, 1), got {self.beta2}")
        if not isinstance(self.penalties, dict):
            raise ConfigError(f"anneal.penalties must map penalty names to end weights, got {self.penalties!r}")
        self.penalties = {k: coerce(v, float, f"anneal.penalties.{k}") for k, v in self.penalties.items()}
        for name, value in self.penalties.items():
            _positive(f"anneal.penalties.{name}", value, allow_zero=True)
        ends = [self.lr_g, self.lr_d, self.beta2, self.ema_half_life, *self.penalties.values()]
        if self.images is None and any(v is not None for v in ends):
            raise ConfigError("anneal: end values need anneal.images, the real images over which they are reached")

    @property
    def active(self) -> bool:
        return self.images is not None


@dataclass
class AugmentConfig:
    name: str = "none"  # differentiable augmentation of what D sees: none, diffaugment, ada (`gankit augments`)
    kwargs: dict[str, Any] = field(default_factory=dict)  # its options (diffaugment: policy; ada: target, ...)

    def __post_init__(self) -> None:
        if self.name == "none":
            if self.kwargs:
                raise ConfigError(f"augment.{sorted(self.kwargs)[0]} needs augment.name (diffaugment or ada)")
            return
        skip = getattr(AUGMENTS.get(self.name), "FACTS", ())  # what the run supplies (batch size, ranks)
        self.kwargs = _check_kwargs(AUGMENTS, self.name, self.kwargs, "augment", skip, ("name",))


@dataclass
class TrainConfig:
    epochs: int = 20  # passes over the data set
    batch_size: int = 64  # real images per D step (under torchrun: the global batch, split over the processes)
    seed: int = 0  # seeds weights, data order, noise and every global generator (>= 0)
    precision: Literal["auto", "fp32", "bf16"] = "auto"  # bf16: autocast matmuls/convs, fp32 weights and optimiser;
    # auto: bf16 on CPUs with native bf16 (AVX-512-BF16/AMX), else fp32 (CUDA convs run TF32 already)
    channels_last: bool = False  # NHWC memory layout for conv models (faster convs on CPU oneDNN and GPU tensor cores)
    compile: bool = False  # torch.compile G and D (measured slower on a 2-core CPU, see docs/performance.md)
    device: str = "auto"  # auto (cuda, then mps, then cpu), cpu, cuda, cuda:N, mps
    deterministic: bool = False  # CUDA: deterministic kernels, bit-identical resumes (slower); CPU always is
    sync_batchnorm: bool = False  # under torchrun: BatchNorm statistics over the global batch, not each rank's
    on_divergence: Literal["stop", "rollback"] = "stop"  # on NaN/Inf: stop, or reload the last checkpoint
    rollback_lr_scale: float = 0.5  # after a rollback both learning rates are multiplied by this

    def __post_init__(self) -> None:
        _positive("train.epochs", self.epochs)
        _positive("train.batch_size", self.batch_size)
        _positive("train.seed", self.seed, allow_zero=True)
        if not (self.device in ("auto", "cpu", "cuda", "mps") or self.device.startswith("cuda:")):
            raise ConfigError(f"train.device must be auto, cpu, cuda, cuda:N or mps, got {self.device!r}")
        if not 0 < self.rollback_lr_scale < 1:
            raise ConfigError(f"train.rollback_lr_scale must be in (0, 1), got {self.rollback_lr_scale}")


@dataclass
class LogConfig:
    every: int = 50  # steps between loss readouts into metrics.jsonl; each readout is one host sync
    sample_every: int = 1  # epochs between sample grids
    grid_size: int = 64  # images per sample grid, from the same fixed noise every time
    checkpoint_every: int = 1  # epochs between checkpoints
    checkpoint_steps: int | None = None  # also checkpoint every this many steps; None: at epoch ends only
    keep_checkpoints: int = 2  # newest step/epoch checkpoints kept; `final` and `best` are always kept
    best_metric: str | None = None  # keep checkpoints/best by this readout or eval value, e.g. fid2k[lenet-mnist]
    best_mode: Literal["min", "max"] = "min"  # whether a lower or a higher best_metric is better
    tensorboard: bool = False  # also write readouts, evaluations and grids to RUN/tensorboard (needs tensorboard)

    def __post_init__(self) -> None:
        for name in ("every", "sample_every", "grid_size", "checkpoint_every", "checkpoint_steps", "keep_checkpoints"):
            _positive(f"log.{name}", getattr(self, name))


@dataclass
class EvalConfig:
    every: int | None = None  # epochs between evaluations (FID etc., into metrics.jsonl); None: off
    n: int = 2000  # generated samples per evaluation (and at most this many real ones)
    extractor: str = "lenet-mnist"  # feature extractor: `gankit extractors`, or an evaluator's .json

    def __post_init__(self) -> None:
        _positive("eval.every", self.every)
        _positive("eval.n", self.n)
        extractor_name(self.extractor)  # a registered name or an evaluator's .json

    def metric_names(self, conditional: bool = True) -> list[str]:
        return metric_names(self.n, extractor_name(self.extractor), conditional) if self.every else []


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
