import torch

from gankit import build_models
from gankit.losses import LOSSES
from gankit.training.objective import GANObjective


def _objective(**kwargs):
    G, D = build_models(
        "vanilla", (2,), z_dim=4, num_classes=kwargs.pop("num_classes", None), **kwargs.pop("model", {})
    )
    return GANObjective(G, D, LOSSES.get("nonsaturating")(), num_classes=G.num_classes, **kwargs)


def test_instance_noise_decays_to_zero():
    obj = _objective(instance_noise=0.5)
    assert obj.noise_std == 0.5
    obj.set_progress(0.5)
    assert obj.noise_std == 0.25
    obj.set_progress(1.0)
    assert obj.noise_std == 0.0


def test_conditional_latents_and_aux_loss():
    obj = _objective(num_classes=3, model={"condition": "concat", "aux_classifier": True}, aux_weight=1.0)
    z, c = obj.latents(16, torch.device("cpu"))
    assert z.shape == (16, 4) and c.shape == (16,) and int(c.max()) < 3
    fake, c_fake = obj.generate(16, torch.device("cpu"))
    loss, stats = obj.d_loss(torch.randn(16, 2), c, fake.detach(), c_fake)
    assert "d_aux" in stats and stats["d_aux"] > 0
    g_loss, g_stats = obj.g_loss(fake, c_fake)
    g_loss.backward()
    assert "g_aux" in g_stats and all(p.grad is not None for p in obj.G.parameters())


def test_ranks_draw_their_slice_of_the_latents_one_process_would_draw():
    one = _objective(num_classes=3, model={"condition": "concat"}, latent_seed=5)
    z, c = one.latents(8, torch.device("cpu"))
    parts = [_objective(num_classes=3, model={"condition": "concat"}, latent_seed=5, shard=(r, 2)) for r in (0, 1)]
    drawn = [p.latents(4, torch.device("cpu")) for p in parts]
    assert torch.equal(torch.cat([d[0] for d in drawn]), z)
    assert torch.equal(torch.cat([d[1] for d in drawn]), c)
    z2, _ = one.latents(8, torch.device("cpu"))
    assert not torch.equal(z, z2)  # the stream moves on
    torch.manual_seed(123)  # and does not depend on the global RNG
    assert torch.equal(_objective(latent_seed=5).latents(8, torch.device("cpu"))[0], z)


def test_the_latent_stream_is_restored_from_its_state():
    obj = _objective(latent_seed=3)
    obj.latents(8, torch.device("cpu"))
    tensors, meta = obj.state()
    expected, _ = obj.latents(8, torch.device("cpu"))
    again = _objective(latent_seed=99)
    again.load_state(tensors, meta)
    assert torch.equal(again.latents(8, torch.device("cpu"))[0], expected)


def test_relativistic_generator_loss_pairs_each_fake_with_a_real():
    import pytest
    import torch.nn.functional as F

    G, D = build_models("vanilla", (2,), z_dim=4)
    obj = GANObjective(G, D, LOSSES.get("rpgan")())
    fake, _ = obj.generate(8, torch.device("cpu"))
    real = torch.randn(8, 2)
    loss, _ = obj.g_loss(fake, None, real, None)
    assert loss.item() == pytest.approx(F.softplus(D(real) - D(fake)).mean().item(), rel=1e-6)
    with pytest.raises(ValueError, match="needs the real batch"):
        obj.g_loss(fake, None)
