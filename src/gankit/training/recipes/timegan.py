"""TimeGAN's training (Yoon et al. 2019, and its reference code's loss weights) as phases of the loop.

Stage 1, `embedding_share` of the steps: the embedder and recovery learn to reconstruct real series.
Stage 2, `supervised_share`: the supervisor learns to predict each real latent step from the ones before.
Stage 3, the rest: each step, G (generator and supervisor) on the adversarial losses of its supervised and
unsupervised latents, the supervised loss and the first two moments of its series; then the autoencoder on
reconstruction plus 0.1 x the supervised loss; and every second step D, skipped while its loss is below 0.15.
Each phase draws its own noise from the run's latent stream (checkpointed), so a resume is exact.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import ConfigError
from gankit.training.optim import build_optimizer
from gankit.training.phases import Network, Phase
from gankit.training.recipes.registry import RECIPES

GAMMA = 1.0  # weight of the unsupervised latents' adversarial loss (TimeGAN's gamma)
D_FLOOR = 0.15  # D does not step while its loss is below this (TimeGAN's reference code)


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits.float(), torch.full_like(logits.float(), target))


def _next_step_error(h: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
    """The supervised loss: the supervisor's prediction at step t against the latent at t + 1."""
    return F.mse_loss(predicted[:, :-1], h[:, 1:])


def _moments(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean absolute gaps of the per-(channel, step) standard deviation and mean over the batch."""
    std = (torch.sqrt(fake.var(0, unbiased=False) + 1e-6) - torch.sqrt(real.var(0, unbiased=False) + 1e-6)).abs()
    return std.mean() + (fake.mean(0) - real.mean(0)).abs().mean()


def _check(config, world) -> None:
    loss = config.loss
    if world.size > 1:
        raise ConfigError("timegan trains in one process only", "run it without torchrun")
    if loss.penalties or loss.label_smoothing or loss.instance_noise or loss.clip_weights is not None:
        raise ConfigError(
            "timegan trains on its own losses: loss.penalties, label_smoothing, instance_noise and clip_weights do "
            "not apply",
            "remove them from the config",
        )
    if config.augment.name != "none":
        raise ConfigError("timegan's D scores latent sequences: augment does not apply", "set augment.name=none")


@RECIPES.register("timegan")
def timegan(config, G, D, objective, total_steps: int, ema, world) -> tuple[dict[str, Network], list[Phase]]:
    """TimeGAN's three stages: autoencoder, supervisor, then all five networks jointly."""
    _check(config, world)
    first = round(G.stages["embedding"] * total_steps)
    joint = first + round(G.stages["supervised"] * total_steps)
    o = config.optim

    def network(name, module, params, lr, saves_weights=True) -> Network:
        opt, sched = build_optimizer(o.name, params, lr, o.betas, o.lr_schedule, total_steps, o.lr_decay_from)
        return Network(name, module, opt, sched, o.grad_clip, saves_weights=saves_weights)

    autoencoder = nn.ModuleList([G.embedder, G.recovery])
    g_params = [*G.generator.parameters(), *G.supervisor.parameters()]
    # Each stage steps its own optimiser, as TimeGAN's code does. A shared one enters the joint stage (losses
    # near 10) with Adam's moments of the supervised stage (a loss near 1e-4) and no bias correction left: its
    # steps are then up to ~6x the learning rate for hundreds of steps (the supervisor moved 3x as far in the
    # first 5). G saves the weights of every network but D.
    networks = {
        "e0": network("E0", autoencoder, autoencoder.parameters(), o.lr_g, saves_weights=False),
        "gs": network("GS", G, g_params, o.lr_g, saves_weights=False),
        "g": network("G", G, g_params, o.lr_g),
        "ae": network("AE", autoencoder, autoencoder.parameters(), o.lr_g, saves_weights=False),
        "d": network("D", D, D.parameters(), o.lr_d),
    }

    def latents(n: int, device) -> torch.Tensor:
        return G.noise_sequence(objective.latents(n, device)[0])

    def reconstruction(b):
        h = G.embed(b.real)
        error = F.mse_loss(G.recover(h), b.real)
        return h, error

    def embedding_loss(b):
        _, error = reconstruction(b)
        return 10 * torch.sqrt(error), {"reconstruction": error}

    def supervised_loss(b):
        with torch.no_grad():
            h = G.embed(b.real)
        error = _next_step_error(h, G.supervisor(h))
        return error, {"supervised": error}

    def g_loss(b):
        with torch.no_grad():
            h = G.embed(b.real)
        e_hat = G.generator(latents(len(b.real), b.real.device))
        h_hat = G.supervisor(e_hat)
        adversarial = _bce(D.score_latents(h_hat), 1.0) + GAMMA * _bce(D.score_latents(e_hat), 1.0)
        supervised = _next_step_error(h, G.supervisor(h))
        moments = _moments(G.recover(h_hat), b.real)
        loss = adversarial + 100 * torch.sqrt(supervised) + 100 * moments
        return loss, {"g_adversarial": adversarial, "supervised": supervised, "moments": moments}

    def autoencoder_loss(b):
        h, error = reconstruction(b)
        return 10 * torch.sqrt(error) + 0.1 * _next_step_error(h, G.supervisor(h)), {"reconstruction": error}

    def d_loss(b):
        with torch.no_grad():
            h = G.embed(b.real)
            e_hat = G.generator(latents(len(b.real), b.real.device))
            h_hat = G.supervisor(e_hat)
        real, fake, fake_e = D.score_latents(h), D.score_latents(h_hat), D.score_latents(e_hat)
        loss = _bce(real, 1.0) + _bce(fake, 0.0) + GAMMA * _bce(fake_e, 0.0)
        return loss, {"d_real": torch.sigmoid(real.float()).mean(), "d_fake": torch.sigmoid(fake.float()).mean()}

    mine = {"uses_fakes": False}
    others_of_g = nn.ModuleList([D, autoencoder])  # G's phase passes gradients through them, never into them
    phases = [
        Phase("embed", networks["e0"], embedding_loss, stop=first, **mine),
        Phase("supervise", networks["gs"], supervised_loss, start=first, stop=joint, frozen=G.embedder, **mine),
        Phase("G", networks["g"], g_loss, start=joint, frozen=others_of_g,
              after=() if ema is None else (lambda: ema.update(G),), **mine),
        Phase("E", networks["ae"], autoencoder_loss, start=joint, frozen=nn.ModuleList([G.supervisor, D]), **mine),
        Phase("D", networks["d"], d_loss, start=joint, every=2, step_if=lambda loss: loss.item() > D_FLOOR, **mine),
    ]  # fmt: skip
    return networks, phases
