"""Model families. Each module registers `f(*, shape, z_dim, **sizes) -> (generator, discriminator)`.

Every generator is called as G(z, c=None) -> [N, *shape] and has `z_dim` and `num_classes` (None when
unconditional); every discriminator as D(x, c=None) -> [N] logits, and, when built with an auxiliary
classifier, D(x, c, classify=True) -> (logits, class logits). The training loop relies on nothing else.
"""

from __future__ import annotations

from torch import nn

from gankit.models.registry import MODELS

from gankit.models import dcgan, mlp  # noqa: E402,F401  isort: skip  (registers the families)


def build_models(
    name: str, shape: tuple[int, ...], z_dim: int, num_classes: int | None = None, **kwargs
) -> tuple[nn.Module, nn.Module]:
    """The (G, D) pair of a registered family for items of `shape` ((C, H, W) or (D,)).

    `num_classes` comes from the data set; the family uses it only when asked to be conditional.
    """
    return MODELS.get(name)(shape=tuple(shape), z_dim=z_dim, num_classes=num_classes, **kwargs)


def list_models() -> list[tuple[str, str]]:
    """(name, one-line description) of each registered model family."""
    return MODELS.describe()


__all__ = ["MODELS", "build_models", "list_models"]
