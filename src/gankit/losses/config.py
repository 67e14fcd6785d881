"""The `loss` section of a run config: the adversarial loss, its tricks, and the penalties with their options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from gankit.errors import ConfigError
from gankit.losses.adversarial import LOSSES
from gankit.losses.penalties import PENALTIES
from gankit.typecheck import check_kwargs, coerce, positive


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
        positive("loss.instance_noise", self.instance_noise, allow_zero=True)
        positive("loss.aux_weight", self.aux_weight)
        positive("loss.clip_weights", self.clip_weights)
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
            kwargs=check_kwargs(PENALTIES, name, options, where, (), ("weight", "every")),
        )
        if penalty.weight != "auto":
            positive(f"{where}.weight", penalty.weight)
        positive(f"{where}.every", penalty.every)
        return penalty
