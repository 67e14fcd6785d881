"""The training loop's sections of a run config: `optim` (optimiser, schedule, EMA), `anneal` (schedules over
images seen), `train` (epochs, batch, precision, device) and `log` (readouts, grids, checkpoints)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from gankit.errors import ConfigError
from gankit.training.optim import OPTIMIZERS
from gankit.typecheck import coerce, positive


@dataclass
class OptimConfig:
    name: str = "adam"  # optimiser of both networks: adam or rmsprop
    lr_g: float = 2e-4  # generator learning rate
    lr_d: float = 2e-4  # discriminator learning rate
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas; beta1 0.5 as in the DCGAN paper
    lr_schedule: Literal["constant", "linear", "cosine"] = "constant"  # decay of both lrs to 0 over the run
    lr_decay_from: float = 0.0  # fraction of the run at full lr before the decay starts (CycleGAN: 0.5)
    grad_clip: float | None = None  # max global gradient norm per network; None: no clipping
    d_steps: int = 1  # D steps per G step (WGAN's n_critic)
    ema_decay: float | None = None  # keep an EMA of G's weights (e.g. 0.999) for sampling; None: off
    ema_half_life: int | None = None  # or: the EMA's half-life in real images (StyleGAN2: 10,000 x batch / 32)
    ema_rampup: float | None = None  # with ema_half_life: at most this fraction of the images seen (0.05)
    freeze_d: int = 0  # FreezeD (Mo et al. 2020): D's first k weighted blocks from the input keep their weights

    def __post_init__(self) -> None:
        OPTIMIZERS.get(self.name)
        for name in ("lr_g", "lr_d", "grad_clip", "d_steps", "ema_half_life", "ema_rampup"):
            positive(f"optim.{name}", getattr(self, name))
        positive("optim.freeze_d", self.freeze_d, allow_zero=True)
        if self.ema_decay is not None and self.ema_half_life is not None:
            raise ConfigError("give optim.ema_decay or optim.ema_half_life, not both")
        if self.ema_rampup is not None and self.ema_half_life is None:
            raise ConfigError("optim.ema_rampup needs optim.ema_half_life")
        if not 0 <= self.lr_decay_from < 1:
            raise ConfigError(f"optim.lr_decay_from must be in [0, 1), got {self.lr_decay_from}")
        if self.lr_decay_from and self.lr_schedule == "constant":
            raise ConfigError("optim.lr_decay_from starts a decay: set optim.lr_schedule to linear or cosine")
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
        positive("anneal.images", self.images)
        for name in ("lr_g", "lr_d", "ema_half_life"):
            positive(f"anneal.{name}", getattr(self, name))
        if self.beta2 is not None and not 0 <= self.beta2 < 1:
            raise ConfigError(f"anneal.beta2 must be in [0, 1), got {self.beta2}")
        if not isinstance(self.penalties, dict):
            raise ConfigError(f"anneal.penalties must map penalty names to end weights, got {self.penalties!r}")
        self.penalties = {k: coerce(v, float, f"anneal.penalties.{k}") for k, v in self.penalties.items()}
        for name, value in self.penalties.items():
            positive(f"anneal.penalties.{name}", value, allow_zero=True)
        ends = [self.lr_g, self.lr_d, self.beta2, self.ema_half_life, *self.penalties.values()]
        if self.images is None and any(v is not None for v in ends):
            raise ConfigError("anneal: end values need anneal.images, the real images over which they are reached")

    @property
    def active(self) -> bool:
        return self.images is not None


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
    init_from: str | None = None  # RUN[:checkpoint]: start G, D and the EMA from a trained run's weights
    continue_from: str | None = None  # RUN[:checkpoint]: start in that run's whole training state (its init_from
    # then only records how that run began)

    def __post_init__(self) -> None:
        positive("train.epochs", self.epochs)
        positive("train.batch_size", self.batch_size)
        positive("train.seed", self.seed, allow_zero=True)
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
            positive(f"log.{name}", getattr(self, name))
