"""The mode-seeking penalty against a case computed by hand, and that stepping on it spreads a collapsed G."""

import pytest
import torch

from gankit import load_config
from gankit.losses.penalties import ModeSeekingPenalty
from gankit.training.objective import StepBatch


class Scaled(torch.nn.Module):
    """G(z, c) = k z + c: its output spread per latent spread is exactly k, whatever the classes."""

    def __init__(self, k: float):
        super().__init__()
        self.k = torch.nn.Parameter(torch.tensor(k))

    def forward(self, z, c=None):
        return self.k * z + (0 if c is None else c[:, None].float())


class Objective:
    def __init__(self, G, classes=None):
        self.generator, self.classes, self.draws = G, classes, torch.Generator().manual_seed(0)
        self.calls = []

    def latents(self, n, device):
        z = torch.randn(n, 5, generator=self.draws)
        c = None if self.classes is None else torch.randint(self.classes, (n,), generator=self.draws)
        self.calls.append(n)
        return z, c


def _batch(n=16):
    return StepBatch(torch.zeros(n, 5), None, torch.zeros(n, 5), None)


@pytest.mark.parametrize("classes", [None, 10])
def test_mode_seeking_is_the_inverse_spread_ratio(classes):
    # |k z1 + c - (k z2 + c)| = k |z1 - z2|: the ratio is k and the penalty 1 / (k + eps), the classes shared.
    penalty = ModeSeekingPenalty(batch_shrink=2, eps=1e-5)
    objective = Objective(Scaled(0.5), classes)
    assert penalty(objective, _batch(16)).item() == pytest.approx(1 / (0.5 + 1e-5), rel=1e-5)
    assert objective.calls == [4, 4]  # 16 / 2 / 2 pairs


def test_stepping_on_it_spreads_a_collapsing_generator():
    G = Scaled(0.01)
    objective, penalty = Objective(G), ModeSeekingPenalty()
    optimizer = torch.optim.SGD(G.parameters(), lr=1e-4)
    for _ in range(20):
        optimizer.zero_grad()
        penalty(objective, _batch()).backward()
        optimizer.step()
    assert G.k.item() > 0.05  # d(1/k)/dk = -1/k^2: a strong push away from collapse


def test_a_run_trains_with_it_on_a_conditional_dcgan(tmp_path):
    from gankit import train

    overrides = ["loss.penalties.ms={weight: 1}", "data.max_items=128", "train.epochs=1", "train.precision=fp32"]
    overrides += ["log.sample_every=100", "log.grid_size=16", "model.g_width=8", "model.d_width=8"]
    run = train(load_config("mnist-dcgan-cond", overrides=overrides), out=tmp_path, quiet=True)
    records = [line for line in (run / "metrics.jsonl").read_text().splitlines() if '"ms"' in line]
    assert records, "the penalty's value is read out"
