"""CIFAR-10 from `cifar-10-batches-bin` (fixed-size records) or `cifar-10-batches-py` (restricted unpickling)."""

from __future__ import annotations

import codecs
import io
import pickle
from pathlib import Path

import numpy as np
import torch

from gankit.data.base import DataSet
from gankit.data.registry import DATASETS
from gankit.errors import DataError

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
RECORD = 1 + 3 * 32 * 32  # label byte, then R, G, B planes of 32x32
SOURCE = "get cifar-10-binary.tar.gz or cifar-10-python.tar.gz from www.cs.toronto.edu/~kriz/cifar.html and unpack it"

try:  # numpy >= 2 moved the array reconstructor
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy < 2
    from numpy.core.multiarray import _reconstruct

# The only globals a CIFAR python batch needs: numpy array reconstruction, and latin-1 bytes from Python 2.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
}


class _CifarUnpickler(pickle.Unpickler):
    """Refuses every global except the few that plain arrays, lists, dicts and bytes need."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise DataError(f"refusing to unpickle {module}.{name}: a CIFAR batch holds only arrays, lists and bytes")
        return _ALLOWED[(module, name)]


def read_python_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _CifarUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except DataError:
        raise
    except Exception as err:  # a damaged pickle can fail in many ways; none of them may crash us
        raise DataError(f"{path} is not a readable CIFAR python batch ({type(err).__name__}: {err})") from None
    if not isinstance(batch, dict):
        raise DataError(f"{path} is not a CIFAR python batch (expected a dict)")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DataError(f"{path}: 'data' must be a uint8 array of shape [N, 3072]")
    if not isinstance(labels, list) or len(labels) != len(data):
        raise DataError(f"{path}: 'labels' must be a list with one label per image ({len(data)})")
    return data.reshape(-1, 3, 32, 32), np.asarray(labels, dtype=np.int64)


def read_binary_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % RECORD:
        raise DataError(f"{path} is not a CIFAR-10 binary batch: {raw.size} bytes is not a multiple of {RECORD}")
    records = raw.reshape(-1, RECORD)
    return records[:, 1:].reshape(-1, 3, 32, 32), records[:, 0].astype(np.int64)


@DATASETS.register("cifar10")
def cifar10(*, root: str | None, split: str, resolution: int | None) -> DataSet:
    """CIFAR-10 (32x32 RGB, 10 classes) from cifar-10-batches-bin or cifar-10-batches-py."""
    if root is None:
        raise DataError("data set 'cifar10' needs data.root: the folder holding cifar-10-batches-bin or -py", SOURCE)
    base = Path(root).expanduser()
    stems = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    for folder, suffix, reader in (
        ("cifar-10-batches-bin", ".bin", read_binary_batch),
        ("cifar-10-batches-py", "", read_python_batch),
    ):
        for d in (base / folder, base):
            paths = [d / f"{s}{suffix}" for s in stems]
            if all(p.is_file() for p in paths):
                parts = [reader(p) for p in paths]
                x = torch.from_numpy(np.concatenate([p[0] for p in parts]))
                y = torch.from_numpy(np.concatenate([p[1] for p in parts]))
                if int(y.min()) < 0 or int(y.max()) > 9:
                    raise DataError(f"CIFAR-10 labels must be 0..9, found {int(y.min())}..{int(y.max())} in {d}")
                return DataSet("cifar10", x, y, list(CLASSES))
    looked = (
        f"{stems[0]}.bin or {stems[0]} in {base / 'cifar-10-batches-bin'}, {base / 'cifar-10-batches-py'} or {base}"
    )
    raise DataError(f"CIFAR-10 {split} batches not found: looked for {looked}", SOURCE)
