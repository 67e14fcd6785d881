"""Images from a NumPy .npy or .npz file: (N, H, W) or (N, H, W, C), uint8 or float; labels optional."""

from __future__ import annotations

import tokenize
import zipfile
from pathlib import Path

import numpy as np
import torch

from gankit.data.base import DataSet
from gankit.data.registry import DATASETS
from gankit.errors import DataError

IMAGE_KEYS = ("images", "x", "x_train", "arr_0")
LABEL_KEYS = ("labels", "y", "y_train", "arr_1")


def load_array_file(path: Path) -> np.ndarray | np.lib.npyio.NpzFile:
    if not path.is_file():
        raise DataError(f"array file {path} does not exist")
    try:
        # Never unpickle a user's file. Memory-map .npy files, so a header that declares more data than the
        # file holds fails on the mapping instead of allocating what it declares.
        loaded = np.load(path, allow_pickle=False, mmap_mode="r")
        return np.array(loaded) if isinstance(loaded, np.ndarray) else loaded
    except ValueError as err:
        if "pickle" in str(err) or "Python objects" in str(err):
            raise DataError(f"{path} holds Python objects, which gankit will not unpickle; save plain arrays") from None
        raise DataError(f"cannot read {path}: {err}") from None
    # numpy parses the .npy header with ast.literal_eval: a damaged one can raise SyntaxError or TokenError.
    except (OSError, EOFError, zipfile.BadZipFile, SyntaxError, tokenize.TokenError, TypeError) as err:
        raise DataError(
            f"cannot read {path}: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        ) from None


def pick_array(npz, key: str | None, candidates: tuple[str, ...], path: Path, what: str) -> np.ndarray | None:
    if key is not None:
        if key not in npz.files:
            raise DataError(f"{path} has no array {key!r}", f"it holds: {', '.join(npz.files)}")
        return npz[key]
    found = next((k for k in candidates if k in npz.files), None)
    if found is None and what == "images":
        raise DataError(
            f"{path} has none of {', '.join(candidates)}", f"set data.images_key; it holds: {', '.join(npz.files)}"
        )
    return None if found is None else npz[found]


def images_to_uint8(a: np.ndarray, source: str) -> torch.Tensor:
    """(N, H, W[, C]) uint8 or float in [0, 1], [-1, 1] or [0, 255] -> uint8 [N, C, H, W]."""
    if a.ndim == 3:
        a = a[..., None]
    if a.ndim != 4 or a.shape[-1] not in (1, 3, 4) or a.shape[0] == 0:
        raise DataError(f"{source}: images must have shape (N, H, W) or (N, H, W, C) with C 1, 3 or 4; got {a.shape}")
    a = a[..., :3]  # drop alpha
    if a.dtype != np.uint8:
        if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
            raise DataError(f"{source}: images must be uint8 or float, got {a.dtype}")
        a = a.astype(np.float32)
        if not np.isfinite(a).all():
            raise DataError(f"{source}: images contain NaN or infinity")
        lo, hi = float(a.min()), float(a.max())
        if lo >= 0 and hi <= 1:
            a = a * 255.0
        elif lo >= -1 and hi <= 1:
            a = (a + 1) * 127.5
        elif lo < 0 or hi > 255:
            raise DataError(f"{source}: values span [{lo:g}, {hi:g}]; expected [0, 1], [-1, 1] or [0, 255]")
        a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))


def labels_to_tensor(y: np.ndarray, n: int, source: str) -> torch.Tensor:
    y = np.asarray(y).reshape(-1) if np.asarray(y).ndim == 2 and np.asarray(y).shape[1] == 1 else np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{source}: labels must be a 1-D integer array, got {y.dtype} {y.shape}")
    if len(y) != n:
        raise DataError(f"{source}: {n} images but {len(y)} labels")
    if len(y) and y.min() < 0:
        raise DataError(f"{source}: labels must be >= 0, found {int(y.min())}")
    return torch.from_numpy(y.astype(np.int64))


@DATASETS.register("array")
def array(
    *,
    root: str | None,
    split: str,
    resolution: int | None,
    images_key: str | None = None,
    labels_key: str | None = None,
    labels_file: str | None = None,
) -> DataSet:
    """Images from a .npy or .npz file, (N, H, W[, C]) uint8 or float; labels from the .npz or a second .npy."""
    if root is None:
        raise DataError("data set 'array' needs data.root: the path of a .npy or .npz file")
    path = Path(root).expanduser()
    loaded = load_array_file(path)
    if isinstance(loaded, np.ndarray):
        images, labels = loaded, None
    else:
        with loaded as npz:
            images = pick_array(npz, images_key, IMAGE_KEYS, path, "images")
            labels = pick_array(npz, labels_key, LABEL_KEYS, path, "labels")
    if labels_file is not None:
        labels = load_array_file(Path(labels_file).expanduser())
        if not isinstance(labels, np.ndarray):
            raise DataError(f"data.labels_file {labels_file} must be a .npy file")
    x = images_to_uint8(images, str(path))
    y = None if labels is None else labels_to_tensor(labels, len(x), str(path))
    return DataSet("array", x, y)
