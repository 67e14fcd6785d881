"""Optional TensorBoard event files beside metrics.jsonl: the same readouts and evaluations, and the grids.

metrics.jsonl stays the record a run is judged and resumed by; TensorBoard is a view of it for those who use it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

MISSING = "gankit: log.tensorboard is on but the tensorboard package is not installed (pip install tensorboard); going on without it"


class TensorBoard:
    """Scalars by their metrics.jsonl names, one image per sample grid; `purge_step` hides a resumed run's
    events past its checkpoint, which the killed process may have written before it died."""

    def __init__(self, folder: Path, purge_step: int | None = None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(folder), purge_step=purge_step or None, flush_secs=30)

    def record(self, record: dict) -> None:
        for key, value in record.items():
            if key not in ("step", "epoch") and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(key, value, record["step"])

    def grid(self, png: Path, step: int) -> None:
        with Image.open(png) as image:
            pixels = np.asarray(image.convert("RGB"))
        self.writer.add_image("samples", pixels, step, dataformats="HWC")
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def open_tensorboard(folder: Path, enabled: bool, writes: bool, purge_step: int = 0) -> TensorBoard | None:
    """The writer when asked for and this process writes the run's files; else None (with a line if the
    package is missing, since the run is worth more than its TensorBoard view)."""
    if not (enabled and writes):
        return None
    try:
        return TensorBoard(folder, purge_step)
    except ImportError:
        print(MISSING, file=sys.stderr)
        return None
