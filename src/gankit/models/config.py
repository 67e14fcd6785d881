"""The `model` section of a run config: a registered model family, the latent size and the family's own sizes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gankit.models.registry import MODELS
from gankit.typecheck import check_kwargs, positive


@dataclass
class ModelConfig:
    name: str = "dcgan"  # registered model family: `gankit models`
    z_dim: int = 100  # latent size
    kwargs: dict[str, Any] = field(default_factory=dict)  # the model family's own sizes and options

    def __post_init__(self) -> None:
        positive("model.z_dim", self.z_dim)
        skip = ("shape", "z_dim", "num_classes")
        self.kwargs = check_kwargs(MODELS, self.name, self.kwargs, "model", skip, ("name", "z_dim"))
