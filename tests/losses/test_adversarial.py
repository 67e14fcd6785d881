import math

import pytest
import torch

from gankit.losses import LOSSES

LOG2 = math.log(2)


def test_nonsaturating_values_at_known_logits():
    loss = LOSSES.get("nonsaturating")()
    zero = torch.zeros(4)
    assert loss.d(zero, zero, 0.0).item() == pytest.approx(2 * LOG2)  # D undecided: -log(1/2) twice
    assert loss.g(zero).item() == pytest.approx(LOG2)
    big = torch.full((4,), 20.0)
    assert loss.d(big, -big, 0.0).item() == pytest.approx(0.0, abs=1e-6)  # perfect D
    assert loss.g(big).item() == pytest.approx(math.log1p(math.exp(-20)), rel=1e-4)


def test_minimax_generator_loss_is_log_one_minus_d():
    loss = LOSSES.get("minimax")()
    t = torch.tensor([-1.0, 0.5])
    expected = torch.log(1 - torch.sigmoid(t)).mean()
    assert loss.g(t).item() == pytest.approx(expected.item(), rel=1e-6)


def test_label_smoothing_targets_point_nine():
    loss = LOSSES.get("nonsaturating")()
    real, fake = torch.tensor([2.0]), torch.tensor([-30.0])
    p = torch.sigmoid(real)
    expected = -(0.9 * torch.log(p) + 0.1 * torch.log(1 - p))
    assert loss.d(real, fake, 0.1).item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize("name", LOSSES.names())
def test_every_loss_gives_gradients(name):
    loss = LOSSES.get(name)()
    # A D that is wrong both ways (real scored low, fake high), where every loss is active.
    real, fake = torch.full((5,), -0.5, requires_grad=True), torch.full((5,), 0.5, requires_grad=True)
    d_real, d_fake = torch.autograd.grad(loss.d(real, fake, 0.0), (real, fake))
    (g_fake,) = torch.autograd.grad(loss.g(fake, real) if loss.relativistic else loss.g(fake), fake)
    assert (d_real < 0).all() and (d_fake > 0).all()  # D pushes real logits up, fake ones down
    assert (g_fake < 0).all()  # G pushes its fakes' logits up


def test_hinge_values():
    loss = LOSSES.get("hinge")()
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    # relu(1 - real) = [0, 0.5] -> 0.25; relu(1 + fake) = [0, 1] -> 0.5
    assert loss.d(real, fake, 0.0).item() == pytest.approx(0.75)
    assert loss.g(fake).item() == pytest.approx(1.0)


def test_least_squares_values():
    loss = LOSSES.get("lsgan")()
    real, fake = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])
    # 0.5 mean((real - 1)^2) = 0.25; 0.5 mean(fake^2) = 1.0
    assert loss.d(real, fake, 0.0).item() == pytest.approx(1.25)
    assert loss.g(fake).item() == pytest.approx(0.5)  # 0.5 mean((fake - 1)^2) = 0.5 * (1 + 1) / 2


def test_wasserstein_values():
    loss = LOSSES.get("wasserstein")()
    real, fake = torch.tensor([3.0, 1.0]), torch.tensor([0.5, -0.5])
    assert loss.d(real, fake, 0.0).item() == pytest.approx(-2.0)  # E[D(fake)] - E[D(real)]
    assert loss.g(fake).item() == pytest.approx(0.0)


def test_relativistic_pairing_judges_each_fake_against_its_real():
    loss = LOSSES.get("rpgan")()
    real, fake = torch.tensor([1.0, -2.0]), torch.tensor([0.0, 0.0])
    # softplus(fake - real) = [softplus(-1), softplus(2)]: the pair, not the batch means, decides
    expected = (math.log1p(math.exp(-1.0)) + math.log1p(math.exp(2.0))) / 2
    assert loss.d(real, fake, 0.0).item() == pytest.approx(expected, rel=1e-6)
    assert loss.g(fake, real).item() == pytest.approx((math.log1p(math.exp(1.0)) + math.log1p(math.exp(-2.0))) / 2)
    # shifting every logit leaves the game unchanged (only differences count), unlike BCE
    assert loss.d(real + 5, fake + 5, 0.0).item() == pytest.approx(expected, rel=1e-6)
