"""conv1d and rnn: shapes for any length, phase shuffle as specified, conditioning, and every loss and penalty."""

import pytest
import torch

from gankit import ConfigError, build_models
from gankit.models.signals import PhaseShuffle


@pytest.mark.parametrize("length", [24, 100, 150, 1000])
def test_conv1d_makes_any_length(length):
    G, D = build_models("conv1d", (3, length), z_dim=8)
    x = G(torch.randn(4, 8))
    assert x.shape == (4, 3, length) and x.abs().max() <= 1
    assert D(x).shape == (4,)


def test_conv1d_generator_can_interpolate_instead_of_repeating_steps():
    from gankit import load_config

    G, _ = build_models("conv1d", (1, 150), z_dim=8, stages=3, upsample="linear")
    modes = [m.mode for m in G.modules() if isinstance(m, torch.nn.Upsample)]
    assert modes == ["linear"] * 3
    with pytest.raises(ConfigError, match="model.upsample"):
        load_config("gunpoint-cond", overrides=["model.upsample=cubic"])


def test_phase_shuffle_shifts_each_item_by_at_most_n_with_reflection():
    torch.manual_seed(0)
    shuffle = PhaseShuffle(2)
    x = torch.arange(10.0).repeat(200, 1, 1)  # [200, 1, 10]
    y = shuffle(x)
    shifts = {int(round(float(y[i, 0, 5] - x[i, 0, 5]))) for i in range(200)}
    assert shifts == {-2, -1, 0, 1, 2}  # every shift in [-n, n] drawn, nothing beyond
    moved = y[y[:, 0, 5] == 3][0, 0]  # shifted right by 2: reflected in at the start
    assert moved.tolist() == [2, 1, 0, 1, 2, 3, 4, 5, 6, 7]
    assert torch.equal(shuffle.eval()(x), x)  # identity when judging


@pytest.mark.parametrize("family", ["conv1d", "rnn"])
def test_conditional_signal_models_use_their_labels(family):
    torch.manual_seed(0)
    G, D = build_models(family, (2, 24), z_dim=8, num_classes=3, condition="projection")
    z = torch.randn(5, 8)
    a, b = G(z, torch.zeros(5, dtype=torch.long)), G(z, torch.full((5,), 2))
    assert not torch.allclose(a, b)
    assert not torch.allclose(D(a, torch.zeros(5, dtype=torch.long)), D(a, torch.full((5,), 2)))


def test_signal_models_refuse_images_and_images_models_refuse_signals():
    with pytest.raises(ConfigError, match="1-D signals"):
        build_models("conv1d", (1, 28, 28), z_dim=8)
    with pytest.raises(ConfigError, match="square images"):
        build_models("dcgan", (5, 24), z_dim=8)


@pytest.mark.parametrize(
    ("family", "loss"),
    [("conv1d", "wasserstein"), ("conv1d", "hinge"), ("rnn", "wasserstein"), ("rnn", "nonsaturating")],
)
def test_signal_models_train_with_each_loss_and_gradient_penalty(family, loss, tmp_path):
    from gankit import load_config, train

    penalty = "gp" if loss == "wasserstein" else "r1"
    overrides = [
        "data.name=sines", "data.n=64", f"model.name={family}", "model.z_dim=8", f"loss.name={loss}",
        f"loss.penalties.{penalty}={{weight: 1.0}}", "train.epochs=2", "train.batch_size=16", "train.precision=fp32",
        "log.grid_size=8",
    ]  # fmt: skip
    if family == "conv1d":
        overrides.append("model.spectral_norm=true")
    run = train(load_config(overrides=overrides), out=tmp_path, quiet=True)
    assert (run / "checkpoints" / "final.json").is_file() and (run / "samples" / "epoch_002.png").is_file()
