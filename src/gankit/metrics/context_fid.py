"""Context-FID for series (Jeha et al. 2022, PSA-GAN): the Frechet distance between real and generated series
embedded by an encoder trained, at evaluation time, on the real series alone. No weights to download: the
encoder learns in seconds on a CPU.

The encoder and its objective follow TS2Vec (Yue et al. 2022), which the paper uses, from its published
description: a linear projection of each step, a stack of residual blocks of dilated 3-wide convolutions
(dilation 1, 2, 4, ... until one block sees the whole series), a 3-wide convolution to the representation,
and during training the projected steps masked at random. It learns by hierarchical contrast: two overlapping
random crops of each series must agree on their overlap, step by step against the other series of the batch
(instance contrast) and against the other steps of the same series (temporal contrast), at every scale of
max-pooling by two. A series' embedding is its representation max-pooled over all steps.

Our scale, for a CPU: width 32, 64 dimensions (TS2Vec: 64 and 320), TS2Vec's 200 Adam steps of 8 series at
its learning rate 1e-3. A score is comparable between runs on the same data set and settings, not with
published Context-FID values, whose encoders differ in size.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gankit.metrics.distances import fid

STEPS, BATCH, WIDTH, DIMS = 200, 8, 32, 64


class _Block(nn.Module):
    """Two dilated 3-wide convolutions with GELU before each, added to the input."""

    def __init__(self, width: int, dilation: int):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(width, width, 3, padding=dilation, dilation=dilation) for _ in range(2))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        out = h
        for conv in self.convs:
            out = conv(F.gelu(out))
        return h + out


class SeriesEncoder(nn.Module):
    """Series [N, L, C] -> per-step representations [N, L, dims]; `embed` pools them to [N, dims]."""

    def __init__(self, channels: int, length: int, width: int = WIDTH, dims: int = DIMS):
        super().__init__()
        blocks = max(1, math.ceil(math.log2(max(2, length))))  # the last block's dilation spans the series
        self.project = nn.Linear(channels, width)
        self.blocks = nn.Sequential(*(_Block(width, 2**i) for i in range(blocks)))
        self.out = nn.Conv1d(width, dims, 3, padding=1)

    def forward(self, x: torch.Tensor, mask: torch.Generator | None = None) -> torch.Tensor:
        h = self.project(x)
        if mask is not None:  # training: each step's projection kept with probability 1/2
            h = h * torch.bernoulli(torch.full(h.shape[:2], 0.5), generator=mask).unsqueeze(-1)
        return self.out(self.blocks(h.transpose(1, 2))).transpose(1, 2)

    @torch.no_grad()
    def embed(self, series: torch.Tensor, batch: int = 1024) -> torch.Tensor:
        """Series [N, C, L] -> [N, dims], each the maximum of its steps' representations."""
        x = series.float().transpose(1, 2)
        return torch.cat([self(x[i : i + batch]).amax(1) for i in range(0, len(x), batch)])


def _contrast(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """InfoNCE over the first axis of two views [K, M, D]: item m of `a` must pick item m of `b` (and back)
    from the other 2M - 1 items of the same row k."""
    k, m, _ = a.shape
    if m < 2:
        return a.new_zeros(())
    z = torch.cat([a, b], 1)  # [K, 2M, D]
    similarity = z @ z.transpose(1, 2)
    similarity = similarity.masked_fill(torch.eye(2 * m, dtype=torch.bool), float("-inf"))  # not itself
    partner = torch.cat([torch.arange(m, 2 * m), torch.arange(m)])
    return F.cross_entropy(similarity.reshape(k * 2 * m, 2 * m), partner.repeat(k))


def hierarchical_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """TS2Vec's loss on two views [N, T, D] of the same steps: instance and temporal contrast, then again on
    the views max-pooled by two, down to one step."""
    total, scales = a.new_zeros(()), 0
    while True:
        total = total + _contrast(a.transpose(0, 1), b.transpose(0, 1))  # per step, across series
        if a.shape[1] > 1:
            total = total + _contrast(a, b)  # per series, across steps
        scales += 1
        if a.shape[1] == 1:
            return total / scales
        a, b = (F.max_pool1d(v.transpose(1, 2), 2, ceil_mode=True).transpose(1, 2) for v in (a, b))


def _views(x: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """Two crops of the batch [N, L, C] that overlap on `overlap` steps, starting `offset` steps into the first."""
    length = x.shape[1]

    def pick(low: int, high: int) -> int:  # an integer in [low, high]
        return int(torch.randint(low, high + 1, (), generator=g))

    overlap = pick(min(2, length), length)
    start = pick(0, length - overlap)
    first, last = pick(0, start), pick(start + overlap, length)
    return x[:, first : start + overlap], x[:, start:last], start - first, overlap


def train_encoder(real: torch.Tensor, seed: int = 0, steps: int = STEPS) -> SeriesEncoder:
    """A SeriesEncoder trained on real series [N, C, L] by hierarchical contrast of overlapping crops."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # the encoder's initial weights
    x = real.float().transpose(1, 2)
    encoder = SeriesEncoder(x.shape[2], x.shape[1])
    optimiser = torch.optim.AdamW(encoder.parameters(), lr=1e-3)
    for _ in range(steps):
        batch = x[torch.randperm(len(x), generator=g)[:BATCH]]
        one, two, offset, overlap = _views(batch, g)
        a = encoder(one, mask=g)[:, offset : offset + overlap]
        b = encoder(two, mask=g)[:, :overlap]
        optimiser.zero_grad(set_to_none=True)
        hierarchical_loss(a, b).backward()
        optimiser.step()
    return encoder.eval()


def context_fid(real: torch.Tensor, fake: torch.Tensor, seed: int = 0, steps: int = STEPS) -> float:
    """Frechet distance between real and generated series [N, C, L] in the space of an encoder trained on the
    real ones (seed: its initial weights, crops and masks)."""
    encoder = train_encoder(real, seed, steps)
    return fid(encoder.embed(real), encoder.embed(fake))
