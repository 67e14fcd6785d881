"""Differentiable augmentation of what D sees: every real and fake image, in D's steps and G's, so D cannot
memorise a small data set while G still learns the un-augmented distribution.

Each registered augmentation is built from its options and called as aug(x) -> x on images in [-1, 1]
[N, C, H, W]. One that adapts also has `observe(real_logits) -> readouts` (called by the objective on D's
real logits), `update()` (after each D step) and `state()` / `load_state()` (checkpointed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gankit.augment.registry import AUGMENTS

from gankit.augment import ada, diffaugment  # noqa: E402,F401  isort: skip  (registers them)

if TYPE_CHECKING:
    from gankit.augment.config import AugmentConfig


def build_augment(section: AugmentConfig, **facts: Any):
    """The configured augmentation, or None for `augment.name: none`. `facts` are what the run knows and the
    augmentation may ask for by keyword (batch_size, world)."""
    if section.name == "none":
        return None
    factory = AUGMENTS.get(section.name)
    wanted = {k: v for k, v in facts.items() if k in getattr(factory, "FACTS", ())}
    return factory(**section.kwargs, **wanted)


def list_augments() -> list[tuple[str, str]]:
    return AUGMENTS.describe()


__all__ = ["AUGMENTS", "build_augment", "list_augments"]
