"""The mode-collapse protocol for 2-D mixtures (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018)."""

from __future__ import annotations

from typing import NamedTuple

import torch


class ModeCoverage(NamedTuple):
    modes: int  # modes with at least one high-quality sample
    total_modes: int
    high_quality: float  # fraction of samples within 3 sigma of their nearest mode


def mode_coverage(points: torch.Tensor, modes: torch.Tensor, sigma: float) -> ModeCoverage:
    """points [N, 2], modes [K, 2]: a sample is high quality within 3 sigma of its nearest mode,
    and a mode is captured when at least one high-quality sample falls to it."""
    distance, nearest = torch.cdist(points.float(), modes.float()).min(1)
    good = distance <= 3 * sigma
    captured = torch.unique(nearest[good]).numel()
    return ModeCoverage(captured, len(modes), good.float().mean().item())
