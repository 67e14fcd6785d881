"""Where a TimeGAN run's samples differ from real series: in the latent space its discriminator sees, or only after
the recovery? For a trained `timegan` run, on the run's own training series:

- a fresh copy of TimeGAN's latent D trained on real latents H (the embedder's) against G's latents, then tested on
  held-out ones: against H_hat (the supervised latents that samples are recovered from) and E_hat (the generator's);
- the run's own D on the same held-out latents;
- the mean step-to-step change |v[t+1] - v[t]| of latents and of series: real, real through the autoencoder,
  generated.

    python -m benchmarks.timegan_latents runs/00004-sines-timegan

A latent D near 50% while the post-hoc GRU of `gankit eval` tells the series apart means the recovery makes
differences that the latent D cannot see (docs/signals.md).
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from gankit.config_files import load_config
from gankit.data import build_dataset
from gankit.models.timegan import TimeGANDiscriminator
from gankit.runs.checkpoint import load_checkpoint, module_state
from gankit.runs.run_dir import RunDir
from gankit.sample import load_run


def _accuracy(D: TimeGANDiscriminator, real: torch.Tensor, fake: torch.Tensor) -> float:
    """Balanced accuracy of D's mean logit over the steps (real > 0, fake < 0)."""
    with torch.no_grad():
        hits = (D.score_latents(real).mean(1) > 0).float().mean() + (D.score_latents(fake).mean(1) < 0).float().mean()
    return hits.item() / 2


def _step_change(v: torch.Tensor, time_axis: int) -> float:
    return v.diff(dim=time_axis).abs().mean().item()


def probe(run: str, steps: int = 1000, held_out: float = 0.2, seed: int = 0) -> dict[str, float]:
    loaded = load_run(run)
    G = loaded.generator.eval()
    if not hasattr(G, "supervisor"):
        raise SystemExit(f"{run} is not a timegan run")
    folder = RunDir.open(run)
    _, tensors = load_checkpoint(folder.checkpoint(loaded.record.stem))
    hidden, layers = G.embedder.rnn.hidden_size, G.embedder.rnn.num_layers
    trained = TimeGANDiscriminator(hidden, layers, G.embedder)
    trained.load_state_dict(module_state(tensors, "D"))
    section = load_config(config_file=folder.config).data
    x = build_dataset(section.name, section.root, "train", None, None, None, 0, **section.kwargs).x
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    with torch.no_grad():
        h = G.embed(x)
        e_hat = G.generator(G.noise_sequence(torch.randn(len(x), G.z_dim, generator=g)))
        h_hat = G.supervisor(e_hat)
        out = {
            "series_step_change_real": _step_change(x, 2),
            "series_step_change_autoencoded": _step_change(G.recover(h), 2),
            "series_step_change_generated": _step_change(G.recover(h_hat), 2),
            "latent_step_change_h": _step_change(h, 1),
            "latent_step_change_h_hat": _step_change(h_hat, 1),
            "latent_step_change_e_hat": _step_change(e_hat, 1),
        }
    cut = int(len(x) * (1 - held_out))
    for name, fake in (("h_hat", h_hat), ("e_hat", e_hat)):
        out[f"trained_d_accuracy_{name}"] = _accuracy(trained, h[cut:], fake[cut:])
        fresh = TimeGANDiscriminator(hidden, layers, G.embedder)
        optimiser = torch.optim.Adam(fresh.net.parameters(), 1e-3)
        for _ in range(steps):
            pick = torch.randint(cut, (min(128, cut),), generator=g)
            real_logits, fake_logits = fresh.score_latents(h[pick]), fresh.score_latents(fake[pick])
            loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            loss = loss + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        out[f"fresh_d_accuracy_{name}"] = _accuracy(fresh, h[cut:], fake[cut:])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a timegan run folder")
    parser.add_argument("--steps", type=int, default=1000, help="Adam steps of the fresh latent D")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for key, value in probe(args.run, args.steps, seed=args.seed).items():
        print(f"{key:34s} {value:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
