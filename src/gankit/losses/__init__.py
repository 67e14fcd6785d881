"""Adversarial losses (registered (d_loss, g_loss) pairs on logits), penalties and weight constraints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gankit.losses.adversarial import LOSSES, AdversarialLoss
from gankit.losses.constraints import clip_weights
from gankit.losses.penalties import PENALTIES, Penalty

if TYPE_CHECKING:
    from gankit.losses.config import LossConfig


def build_loss(section: LossConfig) -> tuple[AdversarialLoss, dict[str, Penalty]]:
    """The adversarial loss pair and the configured penalties (by name, each built with its own options)."""
    penalties = {name: PENALTIES.get(name)(**p.kwargs) for name, p in section.penalties.items()}
    return LOSSES.get(section.name)(), penalties


def list_losses() -> list[tuple[str, str]]:
    """(name, one-line description) of each registered adversarial loss."""
    return LOSSES.describe()


def list_penalties() -> list[tuple[str, str]]:
    """(name, one-line description) of each registered penalty."""
    return PENALTIES.describe()


__all__ = ["LOSSES", "PENALTIES", "AdversarialLoss", "Penalty", "build_loss", "clip_weights", "list_losses"]
