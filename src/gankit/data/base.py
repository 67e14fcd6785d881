"""The data contract every data set meets: all items in memory, images as uint8 NCHW."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gankit.errors import DataError


@dataclass
class DataSet:
    """A whole data set held in memory.

    x: uint8 [N, C, H, W] images in 0..255, float32 [N, D] points (toy data), or float32 [N, C, L] signals
       scaled per channel to [-1, 1].
    labels: int64 [N] class indices, or None when the data set has no labels.
    units: signals only, float64 [2, C]: each channel's (low, high) in the data's own units, which -1 and 1
       stand for; a run keeps it, so its samples are written back in those units.
    """

    name: str
    x: torch.Tensor
    labels: torch.Tensor | None = None
    class_names: list[str] | None = None
    units: torch.Tensor | None = None
    sample_rate: int | None = None  # signals read from WAV files: their rate in Hz, so samples can be played
    judge: str | None = None  # the feature extractor `gankit eval` judges it with when none is named

    def __post_init__(self) -> None:
        if len(self.x) == 0:
            raise DataError(f"data set {self.name!r} holds no items")
        if self.labels is not None:
            if len(self.labels) != len(self.x):
                raise DataError(f"data set {self.name!r} has {len(self.x)} items but {len(self.labels)} labels")
            self.labels = self.labels.long()
            if self.class_names is None:
                self.class_names = [str(i) for i in range(int(self.labels.max()) + 1)]

    @property
    def is_image(self) -> bool:
        return self.x.dtype == torch.uint8

    @property
    def is_signal(self) -> bool:
        return self.x.dim() == 3 and self.x.is_floating_point()

    @property
    def shape(self) -> tuple[int, ...]:
        """One item's shape: (C, H, W) for images, (D,) for points, (C, L) for signals."""
        return tuple(self.x.shape[1:])

    @property
    def num_classes(self) -> int | None:
        return len(self.class_names) if self.class_names is not None and self.labels is not None else None

    def __len__(self) -> int:
        return len(self.x)


def to_model_range(x: torch.Tensor) -> torch.Tensor:
    """A batch as the networks see it: uint8 images -> float in [-1, 1]; points pass through as float."""
    if x.dtype == torch.uint8:
        return x.float().mul_(1 / 127.5).sub_(1.0)
    return x.float()


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] (as generators make them) -> uint8 0..255."""
    return x.detach().float().add(1.0).mul(127.5).round_().clamp_(0, 255).to(torch.uint8)
