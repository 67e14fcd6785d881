"""The per-epoch sample grids of a run: the same fixed latents every time, so grids show training, not noise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from gankit.data import to_uint8
from gankit.viz.grids import save_grid, save_scatter
from gankit.viz.traces import pick_panels, save_traces


class SampleGrids:
    """Fixed latents [grid, z_dim] (and, for a conditional G, one row per class) drawn through G for each grid.

    A conditional grid has as many columns as `size` allows with one row per class (at least one column).
    Points (toy data) are drawn as a scatter plot over `reference` real points.
    """

    def __init__(
        self,
        size: int,
        z_dim: int,
        num_classes: int | None,
        seed: int,
        device: torch.device,
        reference: torch.Tensor | None = None,
    ) -> None:
        self.labels = None
        if num_classes:
            columns = max(1, size // num_classes)
            size = columns * num_classes
            self.labels = torch.arange(num_classes).repeat_interleave(columns).to(device)
        self.rows = num_classes
        self.noise = torch.randn(size, z_dim, generator=torch.Generator().manual_seed(seed)).to(device)
        self.reference, self.device = reference, device

    @torch.inference_mode()
    def save(self, G: nn.Module, path: Path) -> Path:
        was_training = G.training
        G.eval()
        fake = G(self.noise, self.labels)
        G.train(was_training)
        if fake.dim() == 4:
            return save_grid(to_uint8(fake), path, nrow=len(fake) // self.rows if self.rows else None)
        if fake.dim() == 3:  # signals: panels spread over the grid, so a conditional one shows every class
            keep = pick_panels(len(fake))
            titles = None if self.labels is None else [f"class {int(c)}" for c in self.labels[keep]]
            return save_traces(fake[keep], path, titles)
        return save_scatter(fake.float(), path, self.reference)

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors = {"fixed_noise": self.noise}
        if self.labels is not None:
            tensors["fixed_labels"] = self.labels
        return tensors, {}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.noise = tensors["fixed_noise"].to(self.device)
