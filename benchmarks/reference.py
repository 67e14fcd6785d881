"""The loop the tutorials write, with gankit's networks: the baseline gankit's speed is measured against.

A per-sample Dataset with a per-sample transform behind a DataLoader, each batch copied to the device, a
second G forward for the G step, and `.item()` on each loss every step; fp32, the optimiser's default Adam.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from benchmarks.ceiling import sync
from gankit import build_models, load_config
from gankit.data.base import DataSet
from gankit.losses.penalties import gradient_penalty


def synthetic(shape: tuple[int, int, int], n: int = 4096) -> DataSet:
    """Random uint8 images of a preset's shape (so CIFAR-10 needs no download), with labels."""
    g = torch.Generator().manual_seed(0)
    return DataSet(
        "synthetic",
        torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=g),
        torch.randint(10, (n,), generator=g),
    )


class TutorialDataset(Dataset):
    """One sample at a time, transformed one at a time, as torchvision-style tutorials do."""

    def __init__(self, data: DataSet):
        self.x, self.y = data.x, data.labels

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        image = self.x[i].float() / 255.0  # ToTensor
        return (image - 0.5) / 0.5, int(self.y[i])  # Normalize((0.5,), (0.5,))


def reference_rate(
    preset: str, shape: tuple[int, int, int], batch: int, steps: int, warmup: int, device: str | torch.device = "cpu"
) -> float:
    config = load_config(preset)
    o, m, loss = config.optim, config.model, config.loss
    torch.manual_seed(0)
    G, D = (net.to(device) for net in build_models(m.name, shape, m.z_dim, **m.kwargs))
    Adam = torch.optim.Adam
    opt_g = Adam(G.parameters(), lr=o.lr_g, betas=o.betas)
    opt_d = Adam(D.parameters(), lr=o.lr_d, betas=o.betas)
    loader = DataLoader(TutorialDataset(synthetic(shape)), batch_size=batch, shuffle=True, drop_last=True)
    wasserstein = loss.name == "wasserstein"
    gp_weight = loss.penalties["gp"].weight if "gp" in loss.penalties else 0.0
    done, start, it = 0, None, 0
    while done < warmup + steps:
        for real, _ in loader:
            if done == warmup:
                sync()
                start = time.perf_counter()
            real = real.to(device)
            z = torch.randn(batch, m.z_dim, device=device)
            fake = G(z)
            real_out, fake_out = D(real), D(fake.detach())
            if wasserstein:
                d_loss = fake_out.mean() - real_out.mean() + gp_weight * gradient_penalty(D, real, fake)
            else:
                ones, zeros = torch.ones_like(real_out), torch.zeros_like(fake_out)
                d_loss = F.binary_cross_entropy_with_logits(real_out, ones) + F.binary_cross_entropy_with_logits(
                    fake_out, zeros
                )
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            d_loss.item()
            it += 1
            if it % o.d_steps == 0:
                out = D(G(z))  # tutorials draw the fakes again for the G step
                g_loss = -out.mean() if wasserstein else F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
                opt_g.zero_grad()
                g_loss.backward()
                opt_g.step()
                g_loss.item()
            done += 1
            if done == warmup + steps:
                break
    sync()
    return steps * batch / (time.perf_counter() - start)
