"""Images that stay on disk: a prepared cache's uint8 array, read row by row when a batch asks for them.

Rows are read with pread, not through a memory map: pages of a mapping that a process has touched count in its
resident memory, so an epoch over a mapped 2.5 GB array ends with 2.5 GB of RSS; pread leaves them in the
kernel's page cache (shared, evictable, not the process's), and memory stays flat in the data set's size.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch


class DiskImages:
    """uint8 images [N, C, H, W] in a raw C-order file, optionally seen through a row map (a subset).

    The part of the tensor API a data set's `x` is used through: len, shape, dtype, dim, is_floating_point,
    index_select(0, rows) and x[rows] (both read those rows into memory), subset(rows) (a lazy view).
    """

    def __init__(self, path: str | Path, shape: tuple[int, ...], rows: torch.Tensor | None = None):
        self.path, self.item_shape = Path(path), tuple(shape[1:])
        self.count = shape[0]
        self.rows = rows
        self.row_bytes = math.prod(self.item_shape)
        size = self.path.stat().st_size
        if size != self.count * self.row_bytes:
            raise ValueError(f"{self.path} holds {size} bytes, not {self.count} images of {self.item_shape}")
        self._fd: int | None = None

    def __len__(self) -> int:
        return self.count if self.rows is None else len(self.rows)

    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self), *self.item_shape))

    dtype = torch.uint8

    def dim(self) -> int:
        return 1 + len(self.item_shape)

    def is_floating_point(self) -> bool:
        return False

    def subset(self, rows: torch.Tensor) -> DiskImages:
        """A view of these rows (indices into this view), read nothing yet."""
        view = DiskImages.__new__(DiskImages)
        view.__dict__.update(self.__dict__)
        view.rows = rows.long() if self.rows is None else self.rows[rows.long()]
        view._fd = None
        return view

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        return self._fd

    def index_select(self, dim: int, index: torch.Tensor) -> torch.Tensor:
        if dim != 0:
            raise ValueError("disk images are selected by rows only")
        rows = index.long().cpu()
        if self.rows is not None:
            rows = self.rows[rows]
        out = np.empty((len(rows), self.row_bytes), dtype=np.uint8)
        fd, size = self._file(), self.row_bytes
        order = np.argsort(rows.numpy(), kind="stable")  # ascending offsets: sequential where rows are near
        for i in order:
            row = int(rows[i])
            if not 0 <= row < self.count:
                raise IndexError(f"image {row} is outside 0..{self.count - 1}")
            got = os.preadv(fd, [memoryview(out[i])], row * size)
            if got != size:
                raise OSError(f"{self.path} ended early at image {row}: the cache is damaged")
        return torch.from_numpy(out).view(len(rows), *self.item_shape)

    def read(self) -> torch.Tensor:
        """All its rows, into memory (one sequential read when it is the whole file)."""
        if self.rows is not None:
            return self[:]
        return torch.from_numpy(np.fromfile(self.path, dtype=np.uint8)).view(self.count, *self.item_shape)

    def __getitem__(self, index) -> torch.Tensor:
        if isinstance(index, slice):
            index = torch.arange(len(self))[index]
        elif isinstance(index, int):
            return self.index_select(0, torch.tensor([index]))[0]
        return self.index_select(0, torch.as_tensor(index))

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)
