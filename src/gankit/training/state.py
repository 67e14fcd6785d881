"""The parts of a run's state beyond weights that an exact resume needs: RNGs, optimisers, schedulers.

Each is split into tensors (for the .safetensors file) and JSON-able values (for the .json record).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from gankit.seeds import Seeds, seed_globals


class GlobalRNG:
    """torch's (CPU and CUDA), NumPy's and Python's global generators: seeded from the run seed, per rank, and
    checkpointed, so two runs with one seed, and a resumed run, draw the same numbers from all of them."""

    def __init__(self, seeds: Seeds, rank: int = 0, ranks: int = 1):
        self.seeds, self.rank, self.ranks = seeds, rank, ranks

    def seed(self, step: int = 0) -> None:
        seed_globals(self.seeds.globals(self.rank, step))

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors = {"rng.torch": torch.get_rng_state()}
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            tensors["rng.cuda"] = torch.cuda.get_rng_state()
        kind, keys, pos, has_gauss, gauss = np.random.get_state()
        version, internal, gauss_next = random.getstate()
        values = {
            "python": [*internal, version, gauss_next],
            "numpy": {"kind": kind, "pos": int(pos), "has_gauss": int(has_gauss), "gauss": float(gauss)},
        }
        tensors["rng.numpy"] = torch.from_numpy(np.asarray(keys, dtype=np.uint32).astype(np.int64))
        return tensors, {"rng": values}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        if self.ranks > 1:  # the checkpoint holds rank 0's streams; every rank draws its own from here on
            self.seed(meta["step"])
            return
        torch.set_rng_state(tensors["rng.torch"])
        if "rng.cuda" in tensors and torch.cuda.is_available():
            torch.cuda.set_rng_state(tensors["rng.cuda"])
        py = meta["rng"]["python"]
        random.setstate((py[-2], tuple(py[:-2]), py[-1]))
        n = meta["rng"]["numpy"]
        keys = tensors["rng.numpy"].numpy().astype(np.uint32)
        np.random.set_state((n["kind"], keys, n["pos"], n["has_gauss"], n["gauss"]))


def optimizer_state(opt: torch.optim.Optimizer, prefix: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The optimiser's per-parameter tensors as PREFIX.INDEX.NAME, and its param groups for the JSON."""
    state = opt.state_dict()
    tensors = {
        f"{prefix}.{index}.{key}": torch.as_tensor(value).detach().cpu().contiguous()
        for index, values in state["state"].items()
        for key, value in values.items()
    }
    return tensors, {"param_groups": state["param_groups"]}


def restore_optimizer(opt: torch.optim.Optimizer, prefix: str, tensors: dict[str, torch.Tensor], groups: dict) -> None:
    """Rebuild an optimiser's state_dict from its flattened tensors and JSON param groups."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            index, name = key[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(index), {})[name] = value
    opt.load_state_dict({"state": state, "param_groups": groups["param_groups"]})
    # Checkpoints hold contiguous tensors; a channels_last parameter needs its moments laid out as it is.
    # Fused Adam walks parameter and state storage together: with other strides it pairs the wrong elements.
    for group in opt.param_groups:
        for p in group["params"]:
            moments = opt.state.get(p, {})
            for name, value in moments.items():
                if torch.is_tensor(value) and value.shape == p.shape and value.stride() != p.stride():
                    moments[name] = torch.empty_like(p, dtype=value.dtype).copy_(value)


def scheduler_state(scheduler: torch.optim.lr_scheduler.LRScheduler) -> dict[str, Any]:
    return {k: v for k, v in scheduler.state_dict().items() if k != "lr_lambdas"}


def restore_scheduler(scheduler: torch.optim.lr_scheduler.LRScheduler, values: dict[str, Any]) -> None:
    scheduler.load_state_dict({**values, "lr_lambdas": [None] * len(scheduler.optimizer.param_groups)})
