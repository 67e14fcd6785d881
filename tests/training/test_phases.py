"""Phases: what a step runs is data. Intervals, lazy regularisers on either network, frozen D in G's phase."""

import contextlib

import pytest
import torch
from torch import nn

from gankit import load_config
from gankit.losses import PENALTIES
from gankit.losses.penalties import Penalty
from gankit.training.builder import build_parts
from gankit.training.objective import StepBatch
from gankit.training.phases import Network, Phase, Regularizer, frozen
from gankit.training.stats import Stats

# From a preset without penalties, so that the penalties a test asks for are all there are.
TOY = ["data.n=256", "model.g_hidden=[8]", "model.d_hidden=[8]", "model.pack=1"]


class Recording(Network):
    """A network whose steps record the loss they were given instead of stepping."""

    def step(self, loss):
        self.losses.append(float(loss))


def _network() -> Recording:
    net = nn.Linear(1, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    recording = Recording("D", net, opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0))
    recording.losses = []
    return recording


def _batch() -> StepBatch:
    return StepBatch(torch.zeros(2, 1), None, torch.zeros(2, 1), None)


def test_a_phase_runs_on_its_interval():
    phase = Phase("G", _network(), lambda b: (torch.tensor(1.0), {}), every=3)
    assert [s for s in range(9) if phase.due(s)] == [2, 5, 8]  # after every 3rd D step


def test_a_lazy_regulariser_runs_every_n_of_its_phase_weighted_by_n():
    network, calls = _network(), []

    def penalty(objective, batch):
        calls.append(1)
        return torch.tensor(0.5)

    reg = Regularizer("r1", penalty, weight=2.0, every=4)
    phase = Phase("D", network, lambda b: (torch.tensor(1.0), {}), regularizers=(reg,))
    stats = Stats()
    for step in range(8):
        phase.run(_batch(), step, None, stats, contextlib.nullcontext)
    assert len(calls) == 2
    assert network.losses == [1.0 + 2.0 * 4 * 0.5, 1.0, 1.0, 1.0] * 2  # as strong on average as every step
    readout = stats.flush()
    assert readout["r1"] == 0.5 and readout["loss_d"] == pytest.approx((5.0 + 3.0) / 4)


def test_a_lazy_regulariser_counts_its_own_phase_not_all_steps():
    network, due_at = _network(), []
    reg = Regularizer("pl", lambda o, b: due_at.append(step) or torch.tensor(0.0), weight=1.0, every=2)
    phase = Phase("G", network, lambda b: (torch.tensor(1.0), {}), every=5, regularizers=(reg,))
    for step in range(20):
        if phase.due(step):
            phase.run(_batch(), step, None, Stats(), contextlib.nullcontext)
    assert due_at == [4, 14]  # the 1st and 3rd of G's runs (steps 4, 9, 14, 19)


def test_frozen_module_passes_gradients_but_gets_none():
    D, x = nn.Linear(3, 1), torch.randn(4, 3, requires_grad=True)
    with frozen(D):
        D(x).sum().backward()
    assert x.grad is not None and D.weight.grad is None
    assert all(p.requires_grad for p in D.parameters())  # thawed after


@pytest.fixture
def g_penalty():
    """A penalty on G, registered for one test: it must land in G's phase, not D's."""

    class MeanOfFakes(Penalty):
        """Test penalty on G."""

        network = "G"

        def __call__(self, objective, batch):
            return batch.fake.square().mean()

    PENALTIES.register("test_g")(MeanOfFakes)
    yield "test_g"
    PENALTIES._items.pop("test_g")


def test_a_g_side_penalty_is_config_not_code(g_penalty):
    config = load_config("toy2d-gan", overrides=[*TOY, f"loss.penalties.{g_penalty}={{weight: 3, every: 2}}"])
    d, g = build_parts(config).phases
    assert [r.name for r in g.regularizers] == [g_penalty] and not d.regularizers
    assert (g.regularizers[0].weight, g.regularizers[0].every) == (3.0, 2)


def test_the_default_phases_are_d_then_g_every_d_steps():
    config = load_config(
        "toy2d-gan", overrides=[*TOY, "optim.d_steps=5", "loss.name=wasserstein", "loss.penalties.gp.weight=10"]
    )
    d, g = build_parts(config).phases
    assert (d.name, d.every, [r.name for r in d.regularizers]) == ("D", 1, ["gp"])
    assert (g.name, g.every, g.through_fakes, g.frozen is not None) == ("G", 5, True, True)


def test_a_phase_in_a_stage_runs_only_inside_it_counting_from_its_start():
    phase = Phase("G", _network(), lambda b: (torch.tensor(1.0), {}), every=2, start=5, stop=11)
    assert [s for s in range(15) if phase.due(s)] == [6, 8, 10]


def test_a_phase_with_step_if_skips_its_step_but_reports_its_loss():
    network = _network()
    phase = Phase("D", network, lambda b: (torch.tensor(float(b.real.sum())), {}), step_if=lambda loss: loss > 0.15)
    stats = Stats()
    phase.run(StepBatch(torch.full((2, 1), 0.05), None, None, None), 0, None, stats, contextlib.nullcontext)
    phase.run(StepBatch(torch.full((2, 1), 0.5), None, None, None), 1, None, stats, contextlib.nullcontext)
    assert network.losses == [1.0]  # only the second stepped
    assert stats.flush()["loss_d"] == pytest.approx((0.1 + 1.0) / 2)
