"""Adversarial losses (registered (d_loss, g_loss) pairs on logits), D penalties and weight constraints."""

from gankit.losses.adversarial import LOSSES, AdversarialLoss
from gankit.losses.constraints import clip_weights
from gankit.losses.penalties import PENALTIES


def list_losses() -> list[tuple[str, str]]:
    """(name, one-line description) of each registered adversarial loss."""
    return LOSSES.describe()


__all__ = ["LOSSES", "PENALTIES", "AdversarialLoss", "clip_weights", "list_losses"]
