"""The `augment` section of a run config: a registered augmentation of what D sees, and its options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gankit.augment.registry import AUGMENTS
from gankit.errors import ConfigError
from gankit.typecheck import check_kwargs


@dataclass
class AugmentConfig:
    name: str = "none"  # differentiable augmentation of what D sees: none, diffaugment, ada (`gankit augments`)
    kwargs: dict[str, Any] = field(default_factory=dict)  # its options (diffaugment: policy; ada: target, ...)

    def __post_init__(self) -> None:
        if self.name == "none":
            if self.kwargs:
                raise ConfigError(f"augment.{sorted(self.kwargs)[0]} needs augment.name (diffaugment or ada)")
            return
        skip = getattr(AUGMENTS.get(self.name), "FACTS", ())  # what the run supplies (batch size, ranks)
        self.kwargs = check_kwargs(AUGMENTS, self.name, self.kwargs, "augment", skip, ("name",))
