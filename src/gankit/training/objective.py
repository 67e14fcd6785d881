"""The GAN objective: the only place the generator meets the discriminator.

It combines an adversarial loss pair with the optional pieces of the GAN family: differentiable augmentation
of everything D sees (DiffAugment, ADA), instance noise on D's inputs, class conditioning and an auxiliary
classifier (AC-GAN) term. Penalties are not here: the training
phases add them to the loss of the network they regularise, on their own interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gankit.losses import AdversarialLoss


@dataclass
class StepBatch:
    """What one training step works on: a real batch and the fakes drawn for it (shared by the step's phases)."""

    real: torch.Tensor  # [N, ...] in model range
    c_real: torch.Tensor | None  # [N] classes, or None
    fake: torch.Tensor | None  # [N, ...]; carries G's graph only when a G phase runs this step; None when no
    # due phase uses the step's fakes
    c_fake: torch.Tensor | None


class GANObjective:
    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        loss: AdversarialLoss,
        label_smoothing: float = 0.0,
        num_classes: int | None = None,
        instance_noise: float = 0.0,
        aux_weight: float = 0.0,
        z_dim: int | None = None,
        latent_seed: int = 0,
        shard: tuple[int, int] = (0, 1),
        device: torch.device | str = "cpu",
        augment: Any = None,
        generator_module: nn.Module | None = None,
    ):
        # G and D may be DistributedDataParallel wrappers; the objective only calls them.
        self.G, self.D, self.loss = generator, discriminator, loss
        self.generator = generator_module or generator  # the bare G, for penalties that need its parts
        self.augment = augment  # x -> x, differentiable; applied to reals and fakes in D's and G's steps
        self.z_dim = generator.z_dim if z_dim is None else z_dim
        # Latents come from their own stream, drawn for the global batch on every rank and sliced (rank, ranks),
        # so N processes train on exactly the latents one process would (the checkpoint keeps this stream).
        self.latent_rng = torch.Generator(device=device).manual_seed(latent_seed)
        self.shard = shard
        self.label_smoothing, self.num_classes = label_smoothing, num_classes
        self.instance_noise, self.aux_weight = instance_noise, aux_weight
        self.noise_std = instance_noise  # annealed to 0 over the run by set_progress

    def set_progress(self, fraction: float) -> None:
        """Tell the objective how far training is (0..1); instance noise decays linearly to 0."""
        self.noise_std = self.instance_noise * max(0.0, 1.0 - fraction)

    def latents(self, n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
        """This rank's n of z [N, z_dim] ~ N(0, I), and uniform classes [N] when the generator is conditional."""
        rank, ranks = self.shard
        mine = slice(rank * n, (rank + 1) * n)
        z = torch.randn(n * ranks, self.z_dim, generator=self.latent_rng, device=device)[mine]
        c = None
        if self.num_classes is not None:
            c = torch.randint(self.num_classes, (n * ranks,), generator=self.latent_rng, device=device)[mine]
        return z, c

    def generate(self, n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
        z, c = self.latents(n, device)
        return self.G(z, c), c

    def critic(self, x: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        """D's logits [N] as the loss sees them: through the augmentation, if any (penalties use this)."""
        return self.D(x if self.augment is None else self.augment(x), c)

    def _discriminate(self, x: torch.Tensor, c: torch.Tensor | None):
        if self.augment is not None:
            x = self.augment(x)
        if self.noise_std > 0:
            x = x + self.noise_std * torch.randn_like(x)
        if self.aux_weight > 0:
            return self.D(x, c, classify=True)  # (logits [N], class logits [N, K])
        return self.D(x, c), None

    def _summary(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits).mean() if self.loss.probabilities else logits.mean()

    def d_loss(self, real, c_real, fake, c_fake) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """D's loss on a real batch and a (detached) fake batch, and the readouts it makes."""
        real_logits, real_aux = self._discriminate(real, c_real)
        fake_logits, fake_aux = self._discriminate(fake, c_fake)
        loss = self.loss.d(real_logits.float(), fake_logits.float(), self.label_smoothing)
        stats = {"d_real": self._summary(real_logits.float()), "d_fake": self._summary(fake_logits.float())}
        if self.augment is not None:
            stats.update(self.augment.observe(real_logits))  # ADA adapts its strength to D(real)
        if real_aux is not None:
            aux = F.cross_entropy(real_aux.float(), c_real) + F.cross_entropy(fake_aux.float(), c_fake)
            loss = loss + self.aux_weight * aux
            stats["d_aux"] = aux
        return loss, stats

    def g_loss(
        self, fake: torch.Tensor, c_fake: torch.Tensor | None, real: torch.Tensor | None = None, c_real=None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """G's loss on its fakes; a relativistic loss also judges them against D's logits of `real`."""
        logits, aux_logits = self._discriminate(fake, c_fake)
        if self.loss.relativistic:
            if real is None:
                raise ValueError("a relativistic loss needs the real batch in G's step")
            loss = self.loss.g(logits.float(), self._discriminate(real, c_real)[0].float())
        else:
            loss = self.loss.g(logits.float())
        stats = {}
        if aux_logits is not None:
            aux = F.cross_entropy(aux_logits.float(), c_fake)
            loss = loss + self.aux_weight * aux
            stats["g_aux"] = aux
        return loss, stats

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return {"rng.latent": self.latent_rng.get_state()}, {}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.latent_rng.set_state(tensors["rng.latent"])
