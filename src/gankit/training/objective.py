"""The GAN objective: the only place the generator meets the discriminator."""

from __future__ import annotations

import torch
from torch import nn

from gankit.losses import AdversarialLoss


class GANObjective:
    """Draws latents, and computes D's and G's losses for one step from an adversarial loss pair."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, loss: AdversarialLoss, label_smoothing: float):
        self.G, self.D, self.loss, self.label_smoothing = generator, discriminator, loss, label_smoothing

    def latents(self, n: int, device: torch.device) -> torch.Tensor:
        return torch.randn(n, self.G.z_dim, device=device)  # [N, z_dim] standard normal

    def generate(self, n: int, device: torch.device, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.G(self.latents(n, device), c)

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, c_real=None, c_fake=None):
        """D's loss on a real batch and a (detached) fake batch; stats hold mean D(x) and D(G(z))."""
        real_logits, fake_logits = self.D(real, c_real), self.D(fake, c_fake)
        loss = self.loss.d(real_logits.float(), fake_logits.float(), self.label_smoothing)
        stats = {
            "d_real": torch.sigmoid(real_logits.float()).mean(),
            "d_fake": torch.sigmoid(fake_logits.float()).mean(),
        }
        return loss, stats

    def g_loss(self, fake: torch.Tensor, c_fake=None) -> torch.Tensor:
        return self.loss.g(self.D(fake, c_fake).float())
