"""Optimisers and learning-rate schedules, built from plain values."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from gankit.registry import Registry

OPTIMIZERS = Registry("optimizer")
FUSED_ADAM = tuple(int(v) for v in torch.__version__.split(".")[:2]) >= (2, 4)  # fused Adam on CPU came in 2.4


@OPTIMIZERS.register("adam")
def adam(params: Iterable[torch.nn.Parameter], lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    """Adam (Kingma & Ba 2015), fused into one kernel per parameter where torch has it (CPU from torch 2.4, CUDA);
    for the small GANs here the optimiser step is a third of a step's time with the multi-tensor path."""
    params = list(params)
    fused = FUSED_ADAM and all(p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.Adam(params, lr=lr, betas=tuple(betas), fused=fused or None, foreach=None if fused else True)


@OPTIMIZERS.register("rmsprop")
def rmsprop(params: Iterable[torch.nn.Parameter], lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    """RMSprop, as WGAN with weight clipping uses it (betas ignored)."""
    return torch.optim.RMSprop(params, lr=lr, foreach=True)


def lr_factor(kind: str, total_steps: int, decay_from: float = 0.0):
    """Multiplier of the base learning rate at a step: constant, or linear / cosine decay to 0 at total_steps.
    The decay starts after the fraction `decay_from` of the steps (CycleGAN: half the run at full rate)."""
    if kind == "constant":
        return lambda step: 1.0
    start = int(decay_from * total_steps)
    span = max(total_steps - start, 1)

    def t(step: int) -> float:  # how far along the decay, 0 .. 1
        return min(max(step - start, 0), span) / span

    if kind == "linear":
        return lambda step: 1.0 - t(step)
    return lambda step: 0.5 * (1.0 + math.cos(math.pi * t(step)))


def build_optimizer(name: str, params, lr: float, betas, schedule: str, total_steps: int, decay_from: float = 0.0):
    """(optimizer, LambdaLR scheduler stepped once per optimiser step)."""
    opt = OPTIMIZERS.get(name)(params, lr=lr, betas=betas)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lr_factor(schedule, max(total_steps, 1), decay_from))
