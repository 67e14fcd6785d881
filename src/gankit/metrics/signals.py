"""Metrics of generated signals [N, C, L] against real ones, all on the data's [-1, 1] scale unless named.

TimeGAN's two scores (Yoon et al. 2019, re-implemented from the paper's definitions and its settings):
- discriminative: a post-hoc GRU classifier (hidden C/2, one layer) learns real from generated on 80% of each
  and is tested on the other 20%; the score is |accuracy - 0.5| (0: indistinguishable).
- predictive: a post-hoc GRU (hidden C/2) trained on *generated* series to predict the last feature one step
  ahead from the others (the series itself when C = 1), tested on real series; the score is the mean absolute
  error in the data's units (the GRU works on the [0, 1] scale with a sigmoid read-out, as in the paper, and
  its error is scaled back by the feature's range), so on `sines`, whose units are TimeGAN's (sin + 1) / 2,
  it compares with the paper's numbers (real-on-real: about 0.094).
Both use Adam, batch 128 and the paper's 2,000 and 5,000 iterations, and are reported as mean and std over
repeats. Beside them, Context-FID (gankit/metrics/context_fid.py: the Frechet distance in the space of an
encoder trained on the real series), and three distances that need no training: of the mean power spectra, of
the mean autocorrelations, and of each feature's marginal distribution.
"""

from __future__ import annotations

import statistics

import torch
from torch import nn

from gankit.metrics.context_fid import STEPS as CONTEXT_STEPS
from gankit.metrics.context_fid import context_fid

DISCRIMINATIVE_STEPS, PREDICTIVE_STEPS, BATCH = 2000, 5000, 128
# What `gankit eval` reports for a signal run (each GRU score also with its _std), and for a conditional one.
SCORES = (
    "discriminative",
    "predictive",
    "predictive_real",
    "context_fid",
    "spectrum_distance",
    "acf_distance",
    "marginal_distance",
)
CONDITIONAL_SCORES = ("tstr_accuracy", "trtr_accuracy", "tstr_ratio")


class _GRUModel(nn.Module):
    """A one-layer GRU and a linear read-out, per step or of the last step."""

    def __init__(self, inputs: int, hidden: int, outputs: int, per_step: bool):
        super().__init__()
        self.rnn = nn.GRU(inputs, hidden, batch_first=True)
        self.out = nn.Linear(hidden, outputs)
        self.per_step = per_step

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x [N, L, F]
        h, _ = self.rnn(x)
        return self.out(h if self.per_step else h[:, -1])


def _hidden(channels: int) -> int:
    return max(1, channels // 2)  # TimeGAN's int(dim / 2), at least one unit for univariate series


def _fit(model: nn.Module, inputs, targets, steps: int, loss_fn, g: torch.Generator, batch: int = BATCH) -> nn.Module:
    optimiser = torch.optim.Adam(model.parameters())
    for _ in range(steps):
        pick = torch.randint(len(inputs), (min(batch, len(inputs)),), generator=g)
        optimiser.zero_grad(set_to_none=True)
        loss_fn(model(inputs[pick]), targets[pick]).backward()
        optimiser.step()
    return model


def discriminative_score(
    real: torch.Tensor, fake: torch.Tensor, seed: int = 0, steps: int = DISCRIMINATIVE_STEPS
) -> float:
    """|test accuracy - 0.5| of a GRU telling real from generated series [N, C, L] (equal counts are used)."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # the GRU's initial weights
    n = min(len(real), len(fake))
    real, fake = real[torch.randperm(len(real), generator=g)[:n]], fake[torch.randperm(len(fake), generator=g)[:n]]
    cut = int(0.8 * n)
    x = torch.cat([real, fake]).transpose(1, 2).float()  # [2n, L, C]
    y = torch.cat([torch.ones(n), torch.zeros(n)])
    train = torch.cat([torch.arange(cut), n + torch.arange(cut)])
    test = torch.cat([torch.arange(cut, n), n + torch.arange(cut, n)])
    model = _GRUModel(x.shape[2], _hidden(x.shape[2]), 1, per_step=False)
    _fit(
        model, x[train], y[train], steps, lambda out, t: nn.functional.binary_cross_entropy_with_logits(out[:, 0], t), g
    )
    with torch.no_grad():
        accuracy = ((model(x[test])[:, 0] > 0).float() == y[test]).float().mean().item()
    return abs(accuracy - 0.5)


def _next_step_task(series: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """TimeGAN's task on [0, 1] data: the other features up to t -> the last feature at t + 1."""
    x = (series.float().transpose(1, 2) + 1) / 2  # [N, L, C] on [0, 1]
    inputs = x[:, :-1, :-1] if x.shape[2] > 1 else x[:, :-1]
    return inputs, x[:, 1:, -1:]


def predictive_score(
    train_on: torch.Tensor, test_on: torch.Tensor, seed: int = 0, steps: int = PREDICTIVE_STEPS, span: float = 1.0
) -> float:
    """Mean absolute error on `test_on` (real) of a GRU predictor trained on `train_on` (generated, or real for
    the reference); `span` is the predicted feature's range in the data's units (1: the [0, 1] scale)."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    inputs, targets = _next_step_task(train_on)
    model = _GRUModel(inputs.shape[2], _hidden(train_on.shape[1]), 1, per_step=True)
    _fit(model, inputs, targets, steps, lambda out, t: (torch.sigmoid(out) - t).abs().mean(), g)
    test_inputs, test_targets = _next_step_task(test_on)
    with torch.no_grad():
        return span * (torch.sigmoid(model(test_inputs)) - test_targets).abs().mean().item()


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def power_spectrum(x: torch.Tensor) -> torch.Tensor:
    """Mean periodogram per channel [C, L//2 + 1] of series [N, C, L] (each series' mean removed)."""
    x = x.double() - x.double().mean(2, keepdim=True)
    return torch.fft.rfft(x, dim=2).abs().pow(2).mean(0) / x.shape[2]


def spectrum_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """Mean |log10 P_real(f) - log10 P_fake(f)| over channels and frequencies (decades; 0 = same spectrum)."""
    floor = 1e-12
    return (
        (power_spectrum(real).clamp_min(floor).log10() - power_spectrum(fake).clamp_min(floor).log10())
        .abs()
        .mean()
        .item()
    )


def autocorrelation(x: torch.Tensor, lags: int) -> torch.Tensor:
    """Mean autocorrelation per channel [C, lags] at lags 1..lags, each series normalised by its own variance."""
    x = x.double() - x.double().mean(2, keepdim=True)
    var = x.pow(2).mean(2).clamp_min(1e-12)
    return torch.stack([(x[:, :, k:] * x[:, :, :-k]).mean(2) / var for k in range(1, lags + 1)], 2).mean(0)


def autocorrelation_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """Mean |ACF_real - ACF_fake| over channels and lags 1..L/2."""
    lags = max(1, real.shape[2] // 2)
    return (autocorrelation(real, lags) - autocorrelation(fake, lags)).abs().mean().item()


def marginal_distance(real: torch.Tensor, fake: torch.Tensor, points: int = 1000) -> float:
    """Mean over channels of the 1-Wasserstein distance between the values each takes (all steps pooled)."""
    q = torch.linspace(0, 1, points, dtype=torch.float64)
    r = real.double().transpose(0, 1).reshape(real.shape[1], -1)
    f = fake.double().transpose(0, 1).reshape(fake.shape[1], -1)
    return (torch.quantile(r, q, dim=1) - torch.quantile(f, q, dim=1)).abs().mean().item()


def signal_metrics(
    real: torch.Tensor, fake: torch.Tensor, units: torch.Tensor | None = None, repeats: int = 3, quick: bool = False
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """The scores above by their names, and each repeated score's values one by one (a GRU that finds a cue in
    one repeat of ten moves the mean by a tenth of it: the values show it); `units` [2, C] the data's (low,
    high) per channel; `quick` cuts the post-hoc networks' steps tenfold (for tests)."""
    d_steps, p_steps, c_steps = (DISCRIMINATIVE_STEPS, PREDICTIVE_STEPS, CONTEXT_STEPS)
    if quick:
        d_steps, p_steps, c_steps = d_steps // 10, p_steps // 10, c_steps // 10
    span = 1.0 if units is None else float(units[1][-1] - units[0][-1])
    disc = [discriminative_score(real, fake, seed, d_steps) for seed in range(repeats)]
    pred = [predictive_score(fake, real, seed, p_steps, span) for seed in range(repeats)]
    pred_real = [predictive_score(real, real, seed, p_steps, span) for seed in range(repeats)]
    contextual = [context_fid(real, fake, seed, c_steps) for seed in range(repeats)]
    per_repeat = {"discriminative": disc, "predictive": pred, "predictive_real": pred_real, "context_fid": contextual}
    out = {}
    for name, values in per_repeat.items():
        out[name], out[f"{name}_std"] = mean_std(values)
    out["spectrum_distance"] = spectrum_distance(real, fake)
    out["acf_distance"] = autocorrelation_distance(real, fake)
    out["marginal_distance"] = marginal_distance(real, fake)
    return out, per_repeat


class SeriesClassifier(nn.Module):
    """A small 1-D CNN (three conv blocks, global average pooling) for train-on-synthetic-test-on-real."""

    def __init__(self, channels: int, classes: int, width: int = 32):
        super().__init__()
        layers: list[nn.Module] = []
        for c_in, c_out in ((channels, width), (width, 2 * width), (2 * width, 2 * width)):
            layers += [nn.Conv1d(c_in, c_out, 5, padding=2), nn.BatchNorm1d(c_out), nn.ReLU()]
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(2 * width, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def classifier_accuracy(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    classes: int,
    seed: int = 0,
    steps: int = 1000,
) -> float:
    """Test accuracy of a SeriesClassifier trained for `steps` Adam steps (batch 64) on (train_x, train_y)."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = SeriesClassifier(train_x.shape[1], classes)
    _fit(model, train_x.float(), train_y, steps, nn.functional.cross_entropy, g, batch=64)
    model.eval()
    with torch.no_grad():
        return (model(test_x.float()).argmax(1) == test_y).float().mean().item()
