"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"), re-implemented
from the paper's definitions. Each op draws its parameters per sample from torch's global generator.

    color        brightness + U(-0.5, 0.5); saturation x U(0, 2) around the per-pixel channel mean;
                 contrast x U(0.5, 1.5) around the per-image mean
    translation  a shift of up to 1/8 of the size in each direction, in whole pixels, zero-padded
    cutout       a square of half the size, centred anywhere (clipped at the borders), set to zero

All are differentiable in the image (and twice: gradient penalties pass through them), since translation and
cutout are gathers and masks with no learned parameters. Signals [N, C, L] go through the same ops as images
one pixel high: an amplitude offset and scale (color), a shift of up to L/8 steps, and a zeroed span of L/2.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from gankit.augment.registry import AUGMENTS
from gankit.errors import ConfigError
from gankit.models.layers import is_channels_last


def _uniform(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    return torch.rand(len(x), 1, 1, 1, device=x.device, dtype=x.dtype) * (high - low) + low


def brightness(x: torch.Tensor) -> torch.Tensor:
    return x + _uniform(x, -0.5, 0.5)


def saturation(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(1, keepdim=True)
    return (x - mean) * _uniform(x, 0.0, 2.0) + mean


def contrast(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean((1, 2, 3), keepdim=True)
    return (x - mean) * _uniform(x, 0.5, 1.5) + mean


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by whole pixels, up to round(ratio * size) each way; what moves in is zero."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device)[None, :, None]
    cols = torch.arange(w, device=x.device)[None, None, :]
    # Index into x padded by one zero pixel: sources outside the image land on the padding.
    src_r = (rows - dy + 1).clamp(0, h + 1).expand(n, h, w)
    src_c = (cols - dx + 1).clamp(0, w + 1).expand(n, h, w)
    padded = F.pad(x, [1, 1, 1, 1])
    batch = torch.arange(n, device=x.device)[:, None, None].expand(n, h, w)
    return padded.permute(0, 2, 3, 1)[batch, src_r, src_c].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero a square of round(ratio * size) pixels a side, centred uniformly (partly outside near a border)."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device)[None, :, None]
    cols = torch.arange(w, device=x.device)[None, None, :]
    inside = (rows >= cy - ch // 2) & (rows < cy - ch // 2 + ch) & (cols >= cx - cw // 2) & (cols < cx - cw // 2 + cw)
    return x * (~inside)[:, None].to(x.dtype)


POLICIES: dict[str, list[Callable[[torch.Tensor], torch.Tensor]]] = {
    "color": [brightness, saturation, contrast],
    "translation": [translation],
    "cutout": [cutout],
}


@AUGMENTS.register("diffaugment")
class DiffAugment:
    """DiffAugment (Zhao et al. 2020): color, translation and cutout on every image (or signal) D sees."""

    def __init__(self, policy: str = "color,translation,cutout"):
        self.names = [p.strip() for p in policy.split(",") if p.strip()]
        unknown = [p for p in self.names if p not in POLICIES]
        if unknown or not self.names:
            raise ConfigError(f"unknown DiffAugment policy {policy!r}", f"use a comma list of {', '.join(POLICIES)}")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:  # a signal: an image one pixel high
            return self(x.unsqueeze(2)).squeeze(2)
        layout = torch.channels_last if is_channels_last(x) else torch.contiguous_format
        for name in self.names:
            for op in POLICIES[name]:
                x = op(x)
        return x.contiguous(memory_format=layout)  # the gathers return NHWC strides: back to the input's layout

    def observe(self, real_logits: torch.Tensor) -> dict[str, torch.Tensor]:
        return {}
