"""2-D toy mixtures for mode-collapse studies (VEEGAN / PacGAN protocol)."""

from __future__ import annotations

import inspect
import math
from typing import Literal

import torch

from gankit.data.base import DataSet
from gankit.data.registry import DATASETS


def mixture_modes(mixture: str) -> torch.Tensor:
    """Mode centres [K, 2]: 8 on the unit circle, or the 5x5 grid {-4, -2, 0, 2, 4}^2."""
    if mixture == "ring8":
        angles = torch.arange(8) * (2 * math.pi / 8)
        return torch.stack([angles.cos(), angles.sin()], 1)
    steps = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    return torch.cartesian_prod(steps, steps)


def mixture_std(mixture: str, std: float | None = None) -> float:
    """The spread of each mode (or of the swiss roll's noise): `std`, else 0.01 for ring8 and 0.05 otherwise."""
    if std is not None:
        return std
    return 0.01 if mixture == "ring8" else 0.05


@DATASETS.register("toy2d")
def toy2d(
    *,
    root: str | None,
    split: str,
    resolution: int | None,
    mixture: Literal["ring8", "grid25", "swissroll"] = "ring8",
    n: int = 50_000,
    std: float | None = None,
    seed: int = 0,
) -> DataSet:
    """Generated 2-D points: ring of 8 Gaussians (std 0.01), 5x5 grid of 25 (std 0.05) or a swiss roll."""
    g = torch.Generator().manual_seed(seed + (1 if split == "test" else 0))
    if mixture == "swissroll":
        t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=g))
        x = torch.stack([t * t.cos(), t * t.sin()], 1) / 5.0  # about [-2.8, 3] on each axis
        x = x + mixture_std(mixture, std) * torch.randn(n, 2, generator=g)
        return DataSet("toy2d", x.float())
    modes = mixture_modes(mixture)
    labels = torch.randint(len(modes), (n,), generator=g)
    sigma = mixture_std(mixture, std)
    x = modes[labels] + sigma * torch.randn(n, 2, generator=g)
    return DataSet("toy2d", x.float(), labels, [f"mode {i}" for i in range(len(modes))])


def mixture_of(options: dict) -> tuple[str, float]:
    """(mixture, std) that a toy2d data section with these options generates, its defaults filled in."""
    mixture = options.get("mixture", inspect.signature(toy2d).parameters["mixture"].default)
    return mixture, mixture_std(mixture, options.get("std"))
