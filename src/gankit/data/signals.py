"""1-D signals and time series [N, C, L]: files of them (`signals`), UCR/UEA sets (`ucr`), and generated ones
(`sines`, TimeGAN's benchmark; `waves`, four labelled shapes for conditional tests).

Each channel is scaled to [-1, 1] by its minimum and maximum over the data set (TimeGAN's min-max scaling,
to the generators' tanh range); those are kept as `units`, so samples go back to the data's own units.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from gankit.data.base import DataSet
from gankit.data.registry import DATASETS
from gankit.data.signal_files import read_array, read_csv, read_ts, read_wav_folder
from gankit.errors import DataError


def scaled(
    name: str,
    values: np.ndarray,
    labels: np.ndarray | None,
    class_names: list[str] | None,
    like: np.ndarray | None = None,
) -> DataSet:
    """float64 [N, C, L] in any units -> a DataSet of float32 in [-1, 1] per channel, with those units; the
    range is `like`'s when given (a test split is scaled as its training split was)."""
    raw = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float64))
    reference = raw if like is None else torch.from_numpy(np.asarray(like, dtype=np.float64))
    low, high = reference.amin(dim=(0, 2)), reference.amax(dim=(0, 2))
    span = torch.where(high > low, high - low, torch.ones_like(high))  # a constant channel maps to -1
    x = ((raw - low[None, :, None]) / span[None, :, None] * 2 - 1).float()
    y = None if labels is None else torch.from_numpy(np.asarray(labels, dtype=np.int64))
    return DataSet(name, x, y, class_names if y is not None else None, units=torch.stack([low, high]))


def to_units(x: torch.Tensor, units: torch.Tensor | list) -> torch.Tensor:
    """Signals in [-1, 1] [N, C, L] -> the data's units, by each channel's (low, high)."""
    low, high = torch.as_tensor(units, dtype=torch.float64)
    return (x.double() + 1) / 2 * (high - low)[None, :, None] + low[None, :, None]


@DATASETS.register("signals")
def signals(
    *,
    root: str | None,
    split: str,
    resolution: int | None,
    layout: Literal["ncl", "nlf"] = "ncl",
    key: str | None = None,
    label_column: str | int | None = None,
    id_column: str | int | None = None,
    length: int | None = None,
) -> DataSet:
    """Series from a .npy/.npz ([N, L], [N, C, L], or [N, L, F] with layout nlf), a CSV (one series per row,
    or long format with id_column) or a folder of WAV clips (class sub-folders become labels)."""
    if root is None:
        raise DataError("data set 'signals' needs data.root: a .npy, .npz or .csv file, or a folder of .wav files")
    path = Path(root).expanduser()
    rate = None
    if path.is_dir():
        values, labels, names, rate = read_wav_folder(path, length)
    elif not path.is_file():
        raise DataError(f"signal file {path} does not exist")
    elif path.suffix.lower() in (".npy", ".npz"):
        values, labels, names = read_array(path, layout, key)
    elif path.suffix.lower() == ".csv":
        values, labels, names = read_csv(path, label_column, id_column)
    else:
        raise DataError(f"{path}: signals are read from .npy, .npz, .csv or a folder of .wav files")
    if length is not None and not path.is_dir():
        if length > values.shape[2]:
            raise DataError(f"data.length={length} is longer than the series ({values.shape[2]} steps)")
        values = values[:, :, :length]
    data = scaled("signals", values, labels, names)
    data.sample_rate = rate
    return data


@DATASETS.register("sines")
def sines(
    *,
    root: str | None,
    split: str,
    resolution: int | None,
    n: int = 10_000,
    length: int = 24,
    features: int = 5,
    seed: int = 0,
) -> DataSet:
    """TimeGAN's sines (Yoon et al. 2019): each feature (sin(f t + p) + 1) / 2, f and p ~ U(0, 0.1) per series
    and feature, t = 0..length-1; in those units, as the paper's metrics see them."""
    g = torch.Generator().manual_seed(seed + (1 if split == "test" else 0))
    freq, phase = torch.rand(2, n, features, 1, generator=g, dtype=torch.float64) * 0.1
    t = torch.arange(length, dtype=torch.float64)
    return scaled("sines", ((torch.sin(freq * t + phase) + 1) / 2).numpy(), None, None)


WAVES = ("sine", "square", "triangle", "sawtooth")


@DATASETS.register("waves")
def waves(
    *,
    root: str | None,
    split: str,
    resolution: int | None,
    n: int = 4000,
    length: int = 64,
    noise: float = 0.05,
    seed: int = 0,
) -> DataSet:
    """Four labelled shapes (sine, square, triangle, sawtooth), 1 to 4 periods per series, random phase and
    amplitude 0.5-1, plus Gaussian noise: a known conditional task with no download."""
    g = torch.Generator().manual_seed(seed + (1 if split == "test" else 0))
    labels = torch.randint(len(WAVES), (n,), generator=g)
    periods = 1 + 3 * torch.rand(n, 1, generator=g, dtype=torch.float64)
    phase = torch.rand(n, 1, generator=g, dtype=torch.float64)
    amplitude = 0.5 + 0.5 * torch.rand(n, 1, generator=g, dtype=torch.float64)
    cycle = (periods * torch.arange(length, dtype=torch.float64) / length + phase) % 1.0  # position in the period
    shapes = torch.stack(
        [
            torch.sin(2 * math.pi * cycle),
            torch.where(cycle < 0.5, 1.0, -1.0),
            1 - 4 * (cycle - 0.5).abs(),
            2 * cycle - 1,
        ]
    )
    x = amplitude * shapes[labels, torch.arange(n)] + noise * torch.randn(n, length, generator=g, dtype=torch.float64)
    return scaled("waves", x[:, None].numpy(), labels.numpy(), list(WAVES))


def _ucr_folder(problem: str, root: str | None) -> Path:
    if root is not None:
        return Path(root).expanduser()
    spec = importlib.util.find_spec("aeon")  # finds the installed package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            f"UCR problem {problem!r} needs data.root (a folder with {problem}_TRAIN.ts) or the aeon wheel's copy",
            "pip install --no-deps aeon (gankit reads its .ts files, never imports it)",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / problem


@DATASETS.register("ucr")
def ucr(
    *, root: str | None, split: str, resolution: int | None, problem: str = "GunPoint", length: int | None = None
) -> DataSet:
    """A UCR/UEA archive set in .ts format (NAME_TRAIN.ts / NAME_TEST.ts): from data.root, else from the
    copies the aeon wheel ships (GunPoint, ItalyPowerDemand, ArrowHead, BasicMotions, JapaneseVowels, ...).
    `length` resamples every series to that many steps, which sets of unequal lengths need."""
    if length is not None and length < 2:
        raise DataError(f"data.length must be at least 2 steps, got {length}")
    files = {part: _ucr_folder(problem, root) / f"{problem}_{part.upper()}.ts" for part in ("train", split)}
    for path in files.values():
        if not path.is_file():
            raise DataError(f"UCR file {path} does not exist", "check data.problem and data.root")
    values, labels, names = read_ts(files[split], length)
    train = values if split == "train" else read_ts(files["train"], length)[0]
    return scaled(f"ucr-{problem}", values, labels, names, like=train)
