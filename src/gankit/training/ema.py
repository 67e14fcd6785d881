"""Exponential moving average of the generator's weights (Karras et al. 2018; Yazici et al. 2019)."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from gankit.runs.checkpoint import module_state


class EMA:
    """A frozen copy of a module whose parameters trail the live ones: p_ema <- p_ema + (1 - decay) (p - p_ema).

    The decay ramps up as min(decay, (1 + step) / (10 + step)) so that early, random weights fade quickly.
    Buffers (BatchNorm running statistics) are copied, not averaged.
    """

    def __init__(self, module: nn.Module, decay: float):
        self.decay = decay
        self.module = copy.deepcopy(module).eval().requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, source: nn.Module) -> None:
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
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
