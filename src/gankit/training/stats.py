"""Training statistics kept on the device and read back once per readout, not once per step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


class Stats:
    """Sums detached scalars where they live; `flush` syncs once and returns the means since the last flush."""

    def __init__(self, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)  # where restored sums go
        self._sums: dict[str, torch.Tensor] = {}
        self._counts: dict[str, int] = {}

    def add(self, name: str, value: torch.Tensor) -> None:
        value = value.detach().float()
        self._sums[name] = self._sums[name] + value if name in self._sums else value.clone()
        self._counts[name] = self._counts.get(name, 0) + 1

    def flush(self, reduce: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict[str, float]:
        """`reduce` (e.g. an average over ranks) is applied to all the sums at once, before the sync."""
        if not self._sums:
            return {}
        names = list(self._sums)
        sums = torch.stack([self._sums[n] for n in names])
        values = (sums if reduce is None else reduce(sums)).tolist()  # the one host sync
        out = {n: v / self._counts[n] for n, v in zip(names, values)}
        self._sums.clear()
        self._counts.clear()
        return out

    def non_finite(self) -> str | None:
        """The name of a running sum that is NaN or infinite (one host sync), or None."""
        if not self._sums:
            return None
        names = list(self._sums)
        finite = torch.isfinite(torch.stack([self._sums[n] for n in names])).tolist()
        return next((n for n, ok in zip(names, finite) if not ok), None)

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The running sums (tensors) and counts, so a resumed run reads out exactly what it would have."""
        return {f"stats.{k}": v.cpu() for k, v in self._sums.items()}, {"stats_counts": dict(self._counts)}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        device = self.device
        self._sums = {k[len("stats.") :]: v.to(device) for k, v in tensors.items() if k.startswith("stats.")}
        self._counts = dict(meta["stats_counts"])
