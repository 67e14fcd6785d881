"""Distribution metrics on feature sets: FID and KID (through torchmetrics), improved precision/recall and
density/coverage (k-NN manifolds, written here: twenty lines, no library does them on given features)."""

from __future__ import annotations

import torch
from torch import nn


class _Given(nn.Module):
    """torchmetrics' FID/KID call a feature module on what update() receives; ours are features already."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def fid(real: torch.Tensor, fake: torch.Tensor) -> float:
    """Frechet distance between Gaussians fitted to two feature sets [N, F] (Heusel et al. 2017)."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    metric = FrechetInceptionDistance(feature=_Given(real.shape[1]))
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    return float(metric.compute())


def kid(real: torch.Tensor, fake: torch.Tensor, subset_size: int = 1000, subsets: int = 50) -> tuple[float, float]:
    """Kernel Inception Distance (Binkowski et al. 2018): (mean, std) of the cubic-kernel MMD^2 over subsets."""
    import warnings

    from torchmetrics.image.kid import KernelInceptionDistance

    size = min(subset_size, len(real), len(fake))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "will save all extracted features": we pass features on purpose
        metric = KernelInceptionDistance(feature=_Given(real.shape[1]), subsets=subsets, subset_size=size)
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    with torch.random.fork_rng():  # torchmetrics draws the subsets from the global RNG
        torch.manual_seed(0)
        mean, std = metric.compute()
    return float(mean), float(std)


CHUNK = 2048  # rows of a distance matrix at a time: 2048 x 10,000 floats is 80 MB


def _kth_neighbour_radius(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each point [N, F] to its k-th nearest other point -> [N]."""
    return torch.cat([torch.cdist(part, x).kthvalue(k + 1, dim=1).values for part in x.split(CHUNK)])


def _count_within(points: torch.Tensor, centres: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
    """For each centre [M, F] with its radius [M]: how many points [N, F] lie within it -> [M]."""
    return sum((torch.cdist(part, centres) <= radius[None, :]).sum(0) for part in points.split(CHUNK))


def _inside_any(points: torch.Tensor, centres: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
    """For each point: whether it lies within any centre's ball -> bool [N]."""
    return torch.cat([(torch.cdist(part, centres) <= radius[None, :]).any(1) for part in points.split(CHUNK)])


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019): the share of fakes inside the real k-NN
    manifold, and of reals inside the fake one."""
    real, fake = real.float(), fake.float()
    precision = _inside_any(fake, real, _kth_neighbour_radius(real, k)).float().mean().item()
    recall = _inside_any(real, fake, _kth_neighbour_radius(fake, k)).float().mean().item()
    return precision, recall


def density_coverage(real: torch.Tensor, fake: torch.Tensor, k: int = 5) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020): real k-NN balls holding each fake, summed and divided by
    k * N_fake; and the share of real balls holding at least one fake."""
    real, fake = real.float(), fake.float()
    counts = _count_within(fake, real, _kth_neighbour_radius(real, k))  # fakes per real ball
    return counts.sum().item() / (k * len(fake)), (counts > 0).float().mean().item()
