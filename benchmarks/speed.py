"""Training throughput of gankit's loop against the loop the tutorials write, with the same networks.

    python -m benchmarks.speed [--steps 60] [--repeats 3] [--out docs/performance-table.md]

For each preset and batch size it times full D+G iterations after warm-up (median of repeats) in
both loops, on synthetic uint8 data of the preset's image shape (so CIFAR-10 needs no download),
and prints real images per second and the ratio. The reference loop is the tutorial pattern: a
per-sample Dataset with a per-sample transform behind a DataLoader, a fresh G forward for the G
step, and `.item()` on each loss every step. Run it alone: another busy process skews every number.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import platform
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from gankit import build_models, load_config
from gankit.data.base import DataSet
from gankit.losses import PENALTIES
from gankit.train import build_trainer

PRESETS = {
    "mnist-vanilla": (1, 28, 28),
    "mnist-dcgan": (1, 28, 28),
    "cifar10-dcgan": (3, 32, 32),
    "mnist-wgan-gp": (1, 28, 28),
}


def synthetic(shape: tuple[int, int, int], n: int = 4096) -> DataSet:
    g = torch.Generator().manual_seed(0)
    return DataSet(
        "synthetic",
        torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=g),
        torch.randint(10, (n,), generator=g),
    )


def gankit_rate(preset: str, batch: int, steps: int, warmup: int) -> float:
    config = load_config(preset, overrides=[f"train.batch_size={batch}", "train.log_every=50"])
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stderr(io.StringIO()):
        trainer = build_trainer(config, None, out, "bench", quiet=True, data=synthetic(PRESETS[preset]))
        batches = (batch for epoch in itertools.count(1) for batch in trainer.sampler.epoch(epoch))
        for _ in range(warmup):
            trainer.train_step(*next(batches))
            trainer.step += 1
        start = time.perf_counter()
        for _ in range(steps):
            trainer.train_step(*next(batches))
            trainer.step += 1
            if trainer.step % 50 == 0:
                trainer.stats.flush()  # the loop's readout cost, as in training
        trainer.stats.flush()
        return steps * batch / (time.perf_counter() - start)


class TutorialDataset(Dataset):
    """One sample at a time, transformed one at a time, as torchvision-style tutorials do."""

    def __init__(self, data: DataSet):
        self.x, self.y = data.x, data.labels

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        image = self.x[i].float() / 255.0  # ToTensor
        return (image - 0.5) / 0.5, int(self.y[i])  # Normalize((0.5,), (0.5,))


def reference_rate(preset: str, batch: int, steps: int, warmup: int) -> float:
    config = load_config(preset)
    t, m = config.train, config.model
    torch.manual_seed(0)
    G, D = build_models(m.name, PRESETS[preset], m.z_dim, **m.kwargs)
    Adam = torch.optim.Adam
    opt_g = Adam(G.parameters(), lr=t.lr_g, betas=t.betas)
    opt_d = Adam(D.parameters(), lr=t.lr_d, betas=t.betas)
    loader = DataLoader(TutorialDataset(synthetic(PRESETS[preset])), batch_size=batch, shuffle=True, drop_last=True)
    wasserstein, gp = t.loss == "wasserstein", PENALTIES.get("gp")
    done, start, it = 0, None, 0
    while done < warmup + steps:
        for real, _ in loader:
            if done == warmup:
                start = time.perf_counter()
            z = torch.randn(batch, m.z_dim)
            fake = G(z)
            real_out, fake_out = D(real), D(fake.detach())
            if wasserstein:
                d_loss = fake_out.mean() - real_out.mean() + t.gp_weight * gp(D, real, fake)
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
            if it % t.d_steps == 0:
                out = D(G(z))  # tutorials draw the fakes again for the G step
                g_loss = -out.mean() if wasserstein else F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
                opt_g.zero_grad()
                g_loss.backward()
                opt_g.step()
                g_loss.item()
            done += 1
            if done == warmup + steps:
                break
    return steps * batch / (time.perf_counter() - start)


def compare(preset: str, batch: int, steps: int, repeats: int) -> tuple[float, float]:
    """Median images/s of (gankit, reference). Measurements alternate, after one untimed run of each:
    run back to back, whichever goes second gains from the first's warmed caches and allocator."""
    ours, theirs = [], []
    for i in range(repeats + 1):
        a, b = gankit_rate(preset, batch, steps, warmup=10), reference_rate(preset, batch, steps, warmup=10)
        if i:
            ours.append(a)
            theirs.append(b)
    return statistics.median(ours), statistics.median(theirs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="timed iterations per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per cell; the median is reported")
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    args = parser.parse_args(argv)
    print(
        f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    )
    print("| preset | batch | gankit img/s | tutorial loop img/s | ratio |")
    print("|---|---:|---:|---:|---:|")
    for preset in args.presets:
        for batch in args.batches:
            ours, theirs = compare(preset, batch, args.steps, args.repeats)
            print(f"| {preset} | {batch} | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.2f}x |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
