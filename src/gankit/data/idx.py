"""MNIST and Fashion-MNIST from the standard IDX files, gzipped or raw."""

from __future__ import annotations

import gzip
import math
import os
from pathlib import Path

import numpy as np
import torch

from gankit.data.base import DataSet
from gankit.data.registry import DATASETS
from gankit.errors import DataError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (optionally gzipped). Checks magic, declared sizes and length before allocating."""
    path = Path(path)
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    try:
        with opener(path, "rb") as f:
            header = f.read(4)
            if len(header) < 4 or header[:2] != b"\0\0" or header[2] not in _DTYPES or not 1 <= header[3] <= 4:
                raise DataError(f"{path} is not an IDX file (bad magic {header.hex() or 'empty'})")
            ndim = header[3]
            dims_raw = f.read(4 * ndim)
            if len(dims_raw) < 4 * ndim:
                raise DataError(f"{path} is truncated inside its header")
            dims = tuple(int(d) for d in np.frombuffer(dims_raw, ">u4"))
            if 0 in dims:  # (numpy cannot even shape [0, 59224, 550742, 282776812]: a fuzzer found it)
                raise DataError(f"{path} declares an empty array of shape {dims}")
            dtype = np.dtype(_DTYPES[header[2]])
            expected = math.prod(dims) * dtype.itemsize  # Python ints: an int64 product of forged dims wraps to 0
            if not gzipped and os.path.getsize(path) - 4 - 4 * ndim < expected:
                raise DataError(f"{path} is truncated: header declares {dims} but the file is too short")
            body = _read_at_most(f, expected + 1)
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataError(f"cannot read {path}: {err}") from None
    if len(body) < expected:
        raise DataError(f"{path} is truncated: header declares {dims}, {expected} bytes, found {len(body)}")
    if len(body) > expected:
        raise DataError(f"{path} has bytes beyond the {dims} its header declares")
    return np.frombuffer(body, dtype).reshape(dims)


def _read_at_most(f, limit: int, chunk: int = 1 << 24) -> bytes:
    """Read up to `limit` bytes in chunks, so memory grows with the data present, not with a forged header."""
    parts, size = [], 0
    while size < limit:
        part = f.read(min(chunk, limit - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _candidates(split: str) -> list[str]:
    prefix = "train" if split == "train" else "t10k"
    names = []
    for kind, ndim in (("images", 3), ("labels", 1)):
        names.append(
            [f"{prefix}-{kind}-idx{ndim}-ubyte{gz}" for gz in (".gz", "")] + [f"{prefix}-{kind}.idx{ndim}-ubyte"]
        )
    return names


def _find(root: Path, subdirs: list[str], names: list[str]) -> Path | None:
    for sub in ["", *subdirs]:
        for name in names:
            if (root / sub / name).is_file():
                return root / sub / name
    return None


def load_idx_pair(root: str | None, split: str, dataset: str, subdirs: list[str], source: str) -> DataSet:
    if root is None:
        raise DataError(f"data set {dataset!r} needs data.root: the folder holding its IDX files", source)
    base = Path(root).expanduser()
    image_names, label_names = _candidates(split)
    images_path = _find(base, subdirs, image_names)
    labels_path = _find(base, subdirs, label_names)
    if images_path is None or labels_path is None:
        missing = image_names[0] if images_path is None else label_names[0]
        where = ", ".join(str(base / s) for s in ["", *subdirs])
        raise DataError(f"{missing} (or its un-gzipped form) not found in {where}", source)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1:
        raise DataError(f"{images_path} must hold [N, H, W] images and {labels_path} [N] labels")
    if len(images) != len(labels):
        raise DataError(f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels")
    x = torch.from_numpy(images.astype(np.uint8, copy=True)).unsqueeze(1)
    return DataSet(dataset, x, torch.from_numpy(labels.astype(np.int64)))


@DATASETS.register("mnist")
def mnist(*, root: str | None, split: str, resolution: int | None) -> DataSet:
    """MNIST digits from the standard IDX files (.gz or raw), e.g. a torchvision MNIST/raw folder."""
    source = "get the four IDX files from the MNIST page, or point data.root at a torchvision/Keras download"
    return load_idx_pair(root, split, "mnist", ["MNIST/raw", "raw", "mnist"], source)


@DATASETS.register("fashion-mnist")
def fashion_mnist(*, root: str | None, split: str, resolution: int | None) -> DataSet:
    """Fashion-MNIST clothing images from the standard IDX files (.gz or raw)."""
    source = "get the four IDX files from github.com/zalandoresearch/fashion-mnist (data/fashion)"
    data = load_idx_pair(root, split, "fashion-mnist", ["FashionMNIST/raw", "raw", "fashion"], source)
    data.class_names = list(FASHION_CLASSES)
    return data
