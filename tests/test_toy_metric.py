import torch

from gankit.data.toy2d import mixture_modes
from gankit.metrics.toy import mode_coverage


def test_all_modes_vs_one_mode():
    modes = mixture_modes("ring8")
    everywhere = modes.repeat(100, 1) + 0.005 * torch.randn(800, 2)
    assert mode_coverage(everywhere, modes, 0.01) == (8, 8, 1.0)
    collapsed = modes[3] + 0.005 * torch.randn(800, 2)
    assert mode_coverage(collapsed, modes, 0.01)[:2] == (1, 8)
    far = torch.zeros(10, 2)  # the centre of the ring is 1 from every mode: not high quality
    assert mode_coverage(far, modes, 0.01) == (0, 8, 0.0)
