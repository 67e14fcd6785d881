"""Penalties and constraints against values computed by hand on tiny critics."""

import pytest
import torch
from torch import nn

from gankit import build_models
from gankit.losses import clip_weights
from gankit.losses.penalties import gradient_penalty, r1_penalty


class Linear(nn.Module):
    """D(x) = <w, x>: its gradient is w everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))

    def forward(self, x, c=None):
        return x.flatten(1) @ self.w


class Quadratic(nn.Module):
    """D(x) = a/2 ||x||^2: its gradient is a x."""

    def __init__(self, a):
        super().__init__()
        self.a = a

    def forward(self, x, c=None):
        return 0.5 * self.a * x.flatten(1).pow(2).sum(1)


def test_gradient_penalty_of_a_linear_critic():
    D = Linear([3.0, 4.0])  # ||w|| = 5 -> (5 - 1)^2 = 16 on every interpolate
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    gp = gradient_penalty(D, real, fake)
    assert gp.item() == pytest.approx(16.0)
    gp.backward()  # double backward reaches the critic: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    assert torch.allclose(D.w.grad, torch.tensor([2 * 4 * 3 / 5, 2 * 4 * 4 / 5]))


def test_gradient_penalty_is_zero_for_a_1_lipschitz_linear_critic():
    D = Linear([0.6, 0.8])
    assert gradient_penalty(D, torch.randn(4, 2), torch.randn(4, 2)).item() == pytest.approx(0.0, abs=1e-10)


def test_r1_of_a_quadratic():
    x = torch.tensor([[1.0, 2.0], [0.0, 3.0]])
    r1 = r1_penalty(Quadratic(2.0), x)
    # 1/2 mean ||2x||^2 = 1/2 * mean(4 * 5, 4 * 9) = 14
    assert r1.item() == pytest.approx(14.0)


def test_r2_is_r1_on_the_fakes():
    from types import SimpleNamespace

    from gankit.losses import PENALTIES

    real, fake = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 3.0]])
    objective = SimpleNamespace(critic=Quadratic(2.0))
    batch = SimpleNamespace(real=real, c_real=None, fake=fake, c_fake=None)
    assert PENALTIES.get("r2")()(objective, batch).item() == pytest.approx(0.5 * 4 * 9)  # 1/2 ||2 fake||^2
    assert PENALTIES.get("r1")()(objective, batch).item() == pytest.approx(0.5 * 4 * 5)
    assert PENALTIES.get("r2").network == "D"


class PackedLinear(Linear):
    """D of pairs (PacGAN): <w, (x_2i, x_2i+1)>, one decision per consecutive pair."""

    def forward(self, x, c=None):
        return x.reshape(len(x) // 2, -1) @ self.w


def test_penalties_of_a_packed_critic_take_each_decisions_gradient_over_its_whole_pack():
    D = PackedLinear([0.6, 0.8, 0.0, 0.0])  # 1-Lipschitz in the space of pairs, 0.6 / 0.8 / 0 per sample
    assert gradient_penalty(D, torch.randn(8, 2), torch.randn(8, 2)).item() == pytest.approx(0.0, abs=1e-10)
    D = PackedLinear([3.0, 0.0, 0.0, 4.0])  # ||w|| = 5 over each pair: R1 = 1/2 * 25 per decision
    assert r1_penalty(D, torch.randn(8, 2)).item() == pytest.approx(12.5)


def test_weight_clipping_bounds_every_parameter():
    net = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 1))
    clip_weights(net, 0.01)
    assert all(p.abs().max() <= 0.01 for p in net.parameters())
    assert any((p.abs() == 0.01).any() for p in net.parameters())


def test_clipping_holds_after_a_training_step(tmp_path):
    from gankit import load_config, train
    from gankit.runs.checkpoint import load_checkpoint, module_state

    overrides = ["data.name=toy2d", "data.n=256", "model.name=vanilla", "model.g_hidden=[16]", "model.d_hidden=[16]"]
    overrides += ["loss.name=wasserstein", "loss.clip_weights=0.01", "optim.name=rmsprop", "train.epochs=1"]
    run = train(load_config(overrides=overrides), out=tmp_path, quiet=True)
    _, tensors = load_checkpoint(run / "checkpoints" / "final.json")
    assert max(t.abs().max().item() for t in module_state(tensors, "D").values()) <= 0.01 + 1e-9


def test_spectral_norm_makes_the_largest_singular_value_one():
    _, D = build_models("dcgan", (1, 28, 28), 8, spectral_norm=True, d_batchnorm=False)
    D.train()
    for _ in range(30):  # power iterations run on each training-mode forward
        D(torch.randn(2, 1, 28, 28))
    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers
    for layer in layers:
        sigma = torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=0.05)
