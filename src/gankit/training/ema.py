"""Exponential moving average of the generator's weights (Karras et al. 2018; Yazici et al. 2019)."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from gankit.runs.checkpoint import module_state


class EMA:
    """A frozen copy of a module whose parameters trail the live ones: p_ema <- p_ema + (1 - beta) (p - p_ema).

    With `decay`, beta ramps up as min(decay, (1 + n) / (10 + n)) over the n updates so far, so that early,
    random weights fade quickly. With `half_life` (in real images, StyleGAN2's form), beta = 0.5 ** (images per
    update / h), where h is the half-life, or with `rampup` at most that fraction of the images seen so far.
    Buffers (BatchNorm running statistics, w_avg) are copied, not averaged.
    """

    def __init__(
        self,
        module: nn.Module,
        decay: float | None = None,
        half_life: int | None = None,
        rampup: float | None = None,
        images_per_update: int = 1,
    ):
        if (decay is None) == (half_life is None):
            raise ValueError("an EMA needs either a decay or a half-life")
        self.decay, self.half_life, self.rampup, self.images_per_update = decay, half_life, rampup, images_per_update
        self.module = copy.deepcopy(module).eval().requires_grad_(False)
        self.updates = 0

    def beta(self) -> float:
        """The weight of the old average in the next update."""
        if self.half_life is None:
            return min(self.decay, (1 + self.updates) / (10 + self.updates))
        half_life = float(self.half_life)
        if self.rampup is not None:
            half_life = min(half_life, self.updates * self.images_per_update * self.rampup)
        return 0.5 ** (self.images_per_update / max(half_life, 1e-8))

    @torch.no_grad()
    def update(self, source: nn.Module) -> None:
        decay = self.beta()
        self.updates += 1
        ema_params = list(self.module.parameters())
        torch._foreach_lerp_(ema_params, [p.detach() for p in source.parameters()], 1.0 - decay)
        for ema_buffer, buffer in zip(self.module.buffers(), source.buffers()):
            ema_buffer.copy_(buffer)

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return {f"G_ema.{k}": v for k, v in self.module.state_dict().items()}, {"ema_updates": self.updates}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.module.load_state_dict(module_state(tensors, "G_ema"))
        self.updates = meta["ema_updates"]
