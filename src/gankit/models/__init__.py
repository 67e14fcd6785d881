"""Model families. Each module registers `f(*, shape, z_dim, num_classes, **sizes) -> (generator, discriminator)`.

Every generator is called as G(z, c=None) -> [N, *shape] and has `z_dim` and `num_classes` (None when
unconditional); c holds class indices [N] or, for a mix of classes (class morphs), float class weights [N, K].
Every discriminator is called as D(x, c=None) -> [N] logits, and, when built with an auxiliary classifier
(`D.aux_classifier` true), D(x, c, classify=True) -> (logits, class logits). The training loop relies on
nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

from gankit.models.registry import MODELS
from gankit.models.spec import ModelSpec

from gankit.models import dcgan, mlp, r3gan, signals, stylegan2, timegan  # noqa: E402,F401  isort: skip  (registers the families)

if TYPE_CHECKING:
    from gankit.data import DataSet
    from gankit.models.config import ModelConfig


def build_spec(section: ModelConfig, data: DataSet) -> ModelSpec:
    """The model section, completed with what the data set knows (item shape, number of classes)."""
    return ModelSpec(section.name, section.z_dim, data.shape, data.num_classes, dict(section.kwargs))


def build_models(
    name: str, shape: tuple[int, ...], z_dim: int, num_classes: int | None = None, **kwargs
) -> tuple[nn.Module, nn.Module]:
    """The (G, D) pair of a registered family for items of `shape` ((C, H, W) or (D,)).

    `num_classes` comes from the data set; the family uses it only when asked to be conditional.
    """
    return ModelSpec(name, z_dim, tuple(shape), num_classes, kwargs).build()


def list_models() -> list[tuple[str, str]]:
    """(name, one-line description) of each registered model family."""
    return MODELS.describe()


__all__ = ["MODELS", "ModelSpec", "build_models", "build_spec", "list_models"]
