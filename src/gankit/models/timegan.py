"""TimeGAN (Yoon, Jarrett and van der Schaar, NeurIPS 2019) for short multivariate series [N, C, L].

Five GRU networks: an embedder and a recovery (an autoencoder from series to latent sequences and back), a
generator of latent sequences from noise, a supervisor that predicts each latent step from the ones before, and
a discriminator that scores latent sequences step by step. G holds the first four (a sample is
recovery(supervisor(generator(z)))), D the last. They train in three stages, by TimeGAN's own recipe
(gankit/training/recipes/timegan.py), not by the adversarial loss pair the other families share, so the
family takes none of their options (conditioning, auxiliary classifier, frozen D blocks).
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models.registry import MODELS


class Sequence(nn.Module):
    """A GRU stack and a linear map of each step's state: [N, L, inputs] -> [N, L, outputs], then `activation`."""

    def __init__(self, inputs: int, hidden: int, layers: int, outputs: int, activation: nn.Module | None):
        super().__init__()
        self.rnn = nn.GRU(inputs, hidden, layers, batch_first=True)
        self.out = nn.Linear(hidden, outputs)
        self.activation = activation or nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(x)
        return self.activation(self.out(h))


class TimeGANGenerator(nn.Module):
    """G(z) = recovery(supervisor(generator(z as L steps of z_dim / L noise values))) -> [N, C, L] in [-1, 1].

    Latent sequences are in (0, 1) (sigmoid), as in TimeGAN; the recovery ends in tanh, our signals' range.
    """

    def __init__(self, z_dim: int, shape: tuple[int, int], hidden: int, layers: int, stages: dict[str, float]):
        super().__init__()
        channels, length = shape
        self.z_dim, self.shape, self.num_classes = z_dim, tuple(shape), None
        self.noise_per_step = z_dim // length
        self.stages = dict(stages)  # the shares of the run's steps that the recipe's first two stages take
        self.embedder = Sequence(channels, hidden, layers, hidden, nn.Sigmoid())
        self.recovery = Sequence(hidden, hidden, layers, channels, nn.Tanh())
        self.generator = Sequence(self.noise_per_step, hidden, layers, hidden, nn.Sigmoid())
        self.supervisor = Sequence(hidden, hidden, max(1, layers - 1), hidden, nn.Sigmoid())

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Series [N, C, L] -> latent sequences [N, L, hidden]."""
        return self.embedder(x.transpose(1, 2))

    def recover(self, h: torch.Tensor) -> torch.Tensor:
        """Latent sequences [N, L, hidden] -> series [N, C, L]."""
        return self.recovery(h).transpose(1, 2)

    def noise_sequence(self, z: torch.Tensor) -> torch.Tensor:
        """z [N, z_dim] ~ N(0, I) -> [N, L, z_dim / L] ~ U(0, 1), TimeGAN's noise: the normal CDF maps each value
        to a uniform one, so the run's latents stay Gaussian (for sampling and walks) while G sees TimeGAN's
        draws, whose variance is 1/12 of a Gaussian's."""
        return (0.5 * (1 + torch.erf(z * 0.5**0.5))).view(len(z), self.shape[1], self.noise_per_step)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.recover(self.supervisor(self.generator(self.noise_sequence(z))))


class TimeGANDiscriminator(nn.Module):
    """Scores latent sequences [N, L, hidden] step by step (`score_latents`: logits [N, L]), as TimeGAN trains
    it. Called as every family's D, on series [N, C, L], it scores their embedding: the mean of its steps' logits.
    The embedder is G's (held by reference, saved and trained with G)."""

    def __init__(self, hidden: int, layers: int, embedder: Sequence):
        super().__init__()
        self.net = Sequence(hidden, hidden, layers, 1, None)
        self._embedder = (embedder,)  # a tuple: not registered, so neither saved twice nor stepped by D's optimiser

    def score_latents(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h).squeeze(-1)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.score_latents(self._embedder[0](x.transpose(1, 2))).mean(1)


@MODELS.register("timegan")
def timegan(
    *,
    shape: tuple[int, ...],
    z_dim: int,
    num_classes: int | None = None,
    hidden: int = 24,
    layers: int = 3,
    embedding_share: float = 1 / 3,
    supervised_share: float = 1 / 3,
) -> tuple[nn.Module, nn.Module]:
    """TimeGAN: embedder, recovery, generator, supervisor, latent discriminator; trained in its three stages.

    `hidden` and `layers` size every GRU (TimeGAN: 24 and 3 on sines). The first `embedding_share` of the
    run's steps trains the autoencoder alone, the next `supervised_share` the supervisor on real latent
    sequences, the rest all five jointly (TimeGAN: a third each). `model.z_dim` is L x the noise values drawn
    per step. Unconditional.
    """
    if len(shape) != 2:
        raise ConfigError(f"timegan models series [C, L]; this data set has items of shape {tuple(shape)}")
    length = shape[1]
    if z_dim % length:
        raise ConfigError(
            f"model.z_dim {z_dim} must be a multiple of the series length {length}",
            f"TimeGAN draws z_dim / {length} noise values per step, e.g. model.z_dim={length * shape[0]}",
        )
    for name, value in (("hidden", hidden), ("layers", layers)):
        if value < 1:
            raise ConfigError(f"model.{name} must be >= 1, got {value}")
    for name, value in (("embedding_share", embedding_share), ("supervised_share", supervised_share)):
        if not 0 <= value < 1:
            raise ConfigError(f"model.{name} must be in [0, 1), got {value}")
    if embedding_share + supervised_share >= 1:
        raise ConfigError(
            f"model.embedding_share + model.supervised_share is {embedding_share + supervised_share}",
            "leave the joint stage a share of the run: keep their sum below 1",
        )
    stages = {"embedding": embedding_share, "supervised": supervised_share}
    g = TimeGANGenerator(z_dim, (shape[0], length), hidden, layers, stages)
    return g, TimeGANDiscriminator(hidden, layers, g.embedder)
