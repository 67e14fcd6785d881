"""Annealing over real images seen (R3GAN's schedules, Huang et al. 2024): learning rates, Adam's beta2, penalty
weights and the EMA half-life move from their configured values to end values along a cosine (or line), and
stay there. Every value is a function of the images seen, which the run checkpoints, so a resumed run takes
exactly the values the uninterrupted run would have.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from gankit.training.ema import EMA
from gankit.training.phases import Network, Regularizer

if TYPE_CHECKING:
    from gankit.config import RunConfig


def progress(images: int, horizon: int, shape: str) -> float:
    """How far along the way from start to end value after `images` (0 .. 1)."""
    t = min(images / horizon, 1.0)
    return 0.5 * (1.0 - math.cos(math.pi * t)) if shape == "cosine" else t


class Anneal:
    """Sets the annealed values after each D step (one batch of real images). `values(images)` is what a step
    taken after `images` real images uses."""

    def __init__(
        self, config: RunConfig, networks: dict[str, Network], regularizers: list[Regularizer], ema: EMA | None
    ):
        section = config.anneal
        self.horizon, self.shape, self.images_per_step = section.images, section.shape, config.train.batch_size
        o = config.optim
        self.ranges: dict[str, tuple[float, float]] = {}  # name -> (start, end)
        if section.lr_g is not None:
            self.ranges["lr_g"] = (o.lr_g, section.lr_g)
        if section.lr_d is not None:
            self.ranges["lr_d"] = (o.lr_d, section.lr_d)
        if section.beta2 is not None:
            self.ranges["beta2"] = (o.betas[1], section.beta2)
        if section.ema_half_life is not None:
            self.ranges["ema_half_life"] = (float(o.ema_half_life), section.ema_half_life)
        self.regularizers = {r.name: r for r in regularizers if r.name in section.penalties}
        for name, end in section.penalties.items():
            self.ranges[name] = (self.regularizers[name].weight, end)
        self.networks, self.ema = networks, ema
        self.steps = 0  # D steps taken

    def values(self, images: int) -> dict[str, float]:
        f = progress(images, self.horizon, self.shape)
        return {name: start + f * (end - start) for name, (start, end) in self.ranges.items()}

    def update(self) -> None:
        """After a D step: the values of the next one."""
        self.steps += 1
        self.apply(self.values(self.steps * self.images_per_step))

    def apply(self, values: dict[str, float]) -> None:
        for key in ("g", "d"):
            if f"lr_{key}" in values:
                set_lr(self.networks[key], values[f"lr_{key}"])
        if "beta2" in values:
            for network in self.networks.values():
                for group in network.optimizer.param_groups:
                    group["betas"] = (group["betas"][0], values["beta2"])
        if "ema_half_life" in values and self.ema is not None:
            self.ema.half_life = values["ema_half_life"]
        for name, regularizer in self.regularizers.items():
            regularizer.weight = values[name]

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return {}, {"anneal": {"steps": self.steps}}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.steps = meta["anneal"]["steps"]
        self.apply(self.values(self.steps * self.images_per_step))


def set_lr(network: Network, lr: float) -> None:
    """The network's base learning rate, under whatever optim.lr_schedule multiplies it by."""
    network.scheduler.base_lrs = [lr] * len(network.scheduler.base_lrs)
    network.refresh_lr()
