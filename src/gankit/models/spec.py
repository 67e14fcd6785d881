"""ModelSpec: what rebuilds a run's networks. Saved in every checkpoint; `gankit sample` rebuilds from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn

from gankit.models.registry import MODELS


@dataclass(frozen=True)
class ModelSpec:
    """A registered model family with its constructor kwargs, and the facts of the data it was built for."""

    name: str  # registered family: `gankit models`
    z_dim: int  # latent size
    shape: tuple[int, ...]  # one item: (C, H, W) for images, (D,) for points
    num_classes: int | None = None  # the data set's classes; the family uses them when asked to be conditional
    kwargs: dict[str, Any] = field(default_factory=dict)  # the family's own sizes and options

    def build(self) -> tuple[nn.Module, nn.Module]:
        """A fresh (G, D) pair, initialised from torch's global generator."""
        factory = MODELS.get(self.name)
        return factory(shape=tuple(self.shape), z_dim=self.z_dim, num_classes=self.num_classes, **self.kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "z_dim": self.z_dim,
            "shape": list(self.shape),
            "num_classes": self.num_classes,
            "kwargs": dict(self.kwargs),
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelSpec:
        return cls(values["name"], values["z_dim"], tuple(values["shape"]), values.get("num_classes"), values["kwargs"])
