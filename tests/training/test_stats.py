import torch

from gankit.training.optim import lr_factor
from gankit.training.stats import Stats


def test_stats_average_between_flushes():
    stats = Stats()
    for v in (1.0, 2.0, 6.0):
        stats.add("a", torch.tensor(v))
    stats.add("b", torch.tensor(5.0))
    assert stats.flush() == {"a": 3.0, "b": 5.0}
    assert stats.flush() == {}


def test_lr_schedules():
    assert lr_factor("constant", 10)(7) == 1.0
    assert lr_factor("linear", 10)(5) == 0.5 and lr_factor("linear", 10)(10) == 0.0
    assert abs(lr_factor("cosine", 10)(5) - 0.5) < 1e-9 and lr_factor("cosine", 10)(0) == 1.0


def test_lr_decay_starts_late():
    # CycleGAN's schedule: full rate for the first 3/4, then a line to 0 at the last step
    f = lr_factor("linear", 100, decay_from=0.75)
    assert f(0) == f(75) == 1.0 and f(80) == 0.8 and f(100) == 0.0
    g = lr_factor("cosine", 100, decay_from=0.5)
    assert g(50) == 1.0 and abs(g(75) - 0.5) < 1e-9 and g(100) == 0.0
