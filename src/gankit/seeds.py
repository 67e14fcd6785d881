"""Every random stream of a run, derived from its one seed (`train.seed`), in one place.

The offsets are part of what a seed means: changing one changes every run's numbers, so they never move.
"""

from __future__ import annotations

import random
from typing import NamedTuple

import numpy as np
import torch

_RANK_STRIDE = 1_000_003  # a prime: seeds of different ranks and epochs never collide for runs of < 1M steps


class Seeds(NamedTuple):
    run: int  # train.seed, >= 0

    def globals(self, rank: int = 0, step: int = 0) -> int:
        """torch's, NumPy's and Python's global generators on `rank` (from `step` on, after a resume): weight
        init, dropout, penalty draws. Rank 0 of a fresh run uses the run seed itself."""
        return self.run + _RANK_STRIDE * rank + step

    @property
    def fixed_noise(self) -> int:
        """The latents of the per-epoch sample grids."""
        return self.run + 1

    @property
    def latents(self) -> int:
        """The training latents and classes, one stream shared by all ranks (each takes its slice)."""
        return self.run + 2

    def data_order(self, epoch: int) -> int:
        """The permutation of the data set in `epoch` (the same on every rank)."""
        return self.run * _RANK_STRIDE + epoch

    @property
    def subset(self) -> int:
        """Which items `data.max_items` keeps, and which real items judge a run during training."""
        return self.run

    @property
    def evaluation(self) -> int:
        """The latents an evaluation during training draws (fixed, so evaluations compare like with like)."""
        return self.run


def seed_globals(seed: int) -> None:
    """Seed torch's, NumPy's and Python's global generators with one value."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)
