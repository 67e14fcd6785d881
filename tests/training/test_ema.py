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
