import torch

from gankit.training.ema import EMA


def test_ema_trails_the_live_weights():
    net = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        net.weight.zero_()
    ema = EMA(net, decay=0.9)
    for _ in range(200):  # warm-up done: decay is 0.9 from step 80 on
        ema.update(net)
    with torch.no_grad():
        net.weight.fill_(1.0)
    ema.update(net)
    assert torch.allclose(ema.module.weight, torch.full((1, 2), 0.1))
    assert not ema.module.weight.requires_grad and not ema.module.training


def test_ema_warms_up_quickly():
    net = torch.nn.Linear(2, 1, bias=False)
    ema = EMA(net, decay=0.999)
    with torch.no_grad():
        net.weight.add_(1.0)
    ema.update(net)  # first decay is 1/10: the average moves 90% of the way
    assert torch.allclose(ema.module.weight, net.weight - 0.1, atol=1e-6)


def test_buffers_are_copied():
    net = torch.nn.BatchNorm1d(3)
    ema = EMA(net, decay=0.99)
    net(torch.randn(8, 3) + 5)
    ema.update(net)
    assert torch.equal(ema.module.running_mean, net.running_mean)


def test_half_life_in_images_and_its_ramp_up():
    # StyleGAN2's rule: beta = 0.5 ** (images per update / half-life), the half-life at most rampup x images seen.
    net = torch.nn.Linear(1, 1, bias=False)
    ema = EMA(net, half_life=1000, rampup=0.05, images_per_update=100)
    assert ema.beta() == 0.0  # nothing seen yet: copy the weights
    ema.updates = 10  # 1,000 images seen -> half-life min(1000, 50) = 50 images
    assert abs(ema.beta() - 0.5 ** (100 / 50)) < 1e-12
    ema.updates = 10_000  # 1M images seen -> the full half-life
    assert abs(ema.beta() - 0.5 ** (100 / 1000)) < 1e-12
    with torch.no_grad():
        net.weight.fill_(0.0)
        ema.module.weight.fill_(1.0)
    for _ in range(10):  # ten updates of 100 images: one half-life
        ema.update(net)
    assert torch.allclose(ema.module.weight, torch.tensor([[0.5]]), atol=1e-6)
