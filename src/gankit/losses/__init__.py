"""Adversarial losses: registered (d_loss, g_loss) pairs of pure functions on logits."""

from gankit.losses.adversarial import LOSSES, AdversarialLoss


def list_losses() -> list[tuple[str, str]]:
    """(name, one-line description) of each registered adversarial loss."""
    return LOSSES.describe()


__all__ = ["LOSSES", "AdversarialLoss", "list_losses"]
