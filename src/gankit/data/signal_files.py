"""Readers of the files signals come in: .npy/.npz arrays, CSV (wide or long), WAV folders, UCR/UEA .ts.

Each returns float64 values [N, C, L] and integer labels [N] (or None) with class names, and refuses a file it
cannot read whole with one DataError naming the file and what is wrong: ragged rows, NaN or infinite values,
a WAV shorter than its header says. Nothing is allocated from a size a file declares before the file is
checked to hold it.
"""

from __future__ import annotations

import csv
import io
import wave
from collections import defaultdict
from pathlib import Path
from typing import Literal

import numpy as np

from gankit.data.array import labels_to_tensor, load_array_file, pick_array
from gankit.errors import DataError

Signals = tuple[np.ndarray, np.ndarray | None, list[str] | None]

SIGNAL_KEYS = ("signals", "x", "x_train", "arr_0")
LABEL_KEYS = ("labels", "y", "y_train", "arr_1")


def _finite(values: np.ndarray, source: str) -> np.ndarray:
    if not np.isfinite(values).all():
        item = int(np.argwhere(~np.isfinite(values))[0][0])
        raise DataError(f"{source}: item {item} holds NaN or infinite values", "drop or fill those series first")
    return values


def _classes(raw: list[str]) -> tuple[np.ndarray, list[str]]:
    """Labels as read (strings) -> indices and names, ordered numerically when all are numbers."""
    names = sorted(set(raw), key=lambda s: (0, float(s), s) if _is_number(s) else (1, 0.0, s))
    index = {name: i for i, name in enumerate(names)}
    return np.array([index[s] for s in raw], dtype=np.int64), names


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_array(path: Path, layout: Literal["ncl", "nlf"], key: str | None) -> Signals:
    """(N, L), (N, C, L) or, with layout nlf, (N, L, F) numbers; labels from the .npz's labels/y."""
    loaded = load_array_file(path)
    labels = None
    if isinstance(loaded, np.ndarray):
        values = loaded
    else:
        with loaded as npz:
            values = pick_array(npz, key, SIGNAL_KEYS, path, "signals")
            labels = pick_array(npz, None, LABEL_KEYS, path, "labels")
    if values is None:
        raise DataError(f"{path} has none of {', '.join(SIGNAL_KEYS)}", "set data.key to the array that holds them")
    if not (np.issubdtype(values.dtype, np.floating) or np.issubdtype(values.dtype, np.integer)):
        raise DataError(f"{path}: signals must be numbers, got {values.dtype}")
    if values.ndim == 2:
        values = values[:, None, :]
    elif values.ndim == 3 and layout == "nlf":
        values = values.transpose(0, 2, 1)
    elif values.ndim != 3:
        raise DataError(f"{path}: signals must have shape (N, L), (N, C, L) or (N, L, F); got {values.shape}")
    values = _finite(np.asarray(values, dtype=np.float64), str(path))
    y = None if labels is None else labels_to_tensor(labels, len(values), str(path)).numpy()
    return values, y, None if y is None else [str(i) for i in range(int(y.max()) + 1)]


def _rows(path: Path) -> tuple[list[str] | None, list[list[str]]]:
    """A CSV's rows, and its header if the first row is not all numbers."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read CSV {path}: {err}") from None
    rows = [row for row in csv.reader(io.StringIO(text)) if row and any(cell.strip() for cell in row)]
    if not rows:
        raise DataError(f"CSV {path} holds no rows")
    header = None if all(_is_number(cell) for cell in rows[0]) else [cell.strip() for cell in rows[0]]
    return header, rows[1:] if header else rows


def _column(header: list[str] | None, name: str | int, path: Path, width: int) -> int:
    if isinstance(name, int) or (header is None and str(name).lstrip("-").isdigit()):
        index = int(name)
        if not -width <= index < width:
            raise DataError(f"CSV {path} has {width} columns, no column {index}")
        return index % width
    if header is None or name not in header:
        raise DataError(f"CSV {path} has no column {name!r}", f"its header: {', '.join(header or ['(none)'])}")
    return header.index(name)


def _number(cell: str, path: Path, row: int, column: int) -> float:
    try:
        return float(cell)
    except ValueError:
        raise DataError(f"CSV {path}, row {row}, column {column + 1}: {cell[:20]!r} is not a number") from None


def read_csv(path: Path, label_column: str | int | None, id_column: str | int | None) -> Signals:
    """Wide: one series per row (all rows one length), an optional label column. Long: one time step per row,
    grouped by `id_column` in file order; every other column but the label is a feature."""
    header, rows = _rows(path)
    width = len(header) if header else len(rows[0])
    label = None if label_column is None else _column(header, label_column, path, width)
    ident = None if id_column is None else _column(header, id_column, path, width)
    for i, row in enumerate(rows):
        if len(row) != width:
            raise DataError(
                f"CSV {path}: row {i + 1 + bool(header)} has {len(row)} values, expected {width}",
                "every row needs the same columns (a ragged series belongs in long format with data.id_column)",
            )
    features = [c for c in range(width) if c not in (label, ident)]
    if not features:
        raise DataError(f"CSV {path} has no value columns besides its id and label")
    raw_labels: list[str] = []
    if ident is None:
        values = np.array([[_number(r[c], path, i + 1, c) for c in features] for i, r in enumerate(rows)])[:, None, :]
        raw_labels = [r[label].strip() for r in rows] if label is not None else []
    else:
        series: dict[str, list[list[float]]] = defaultdict(list)
        first_label: dict[str, str] = {}
        for i, row in enumerate(rows):
            key = row[ident].strip()
            series[key].append([_number(row[c], path, i + 1, c) for c in features])
            if label is not None:
                first_label.setdefault(key, row[label].strip())
        lengths = {len(steps) for steps in series.values()}
        if len(lengths) > 1:
            raise DataError(
                f"CSV {path}: series have different lengths {sorted(lengths)[:4]}", "cut them to one length"
            )
        values = np.array(list(series.values())).transpose(0, 2, 1)  # [N, F, L]
        raw_labels = [first_label[k] for k in series] if label is not None else []
    values = _finite(values, str(path))
    if not raw_labels:
        return values, None, None
    labels, names = _classes(raw_labels)
    return values, labels, names


def _wav(path: Path) -> tuple[np.ndarray, int]:
    """[C, L] float samples in [-1, 1] and the sample rate; the data's size is checked against the file's."""
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate, frames = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            available = path.stat().st_size
            if frames * channels * width > available:
                raise DataError(f"WAV {path} declares {frames} frames but the file holds {available} bytes")
            data = w.readframes(frames)
    except (wave.Error, EOFError) as err:
        raise DataError(f"cannot read WAV {path}: {err}") from None
    if len(data) != frames * channels * width:
        raise DataError(
            f"WAV {path} is truncated: {len(data)} bytes of sound, its header says {frames * channels * width}"
        )
    if width == 1:
        samples = (np.frombuffer(data, np.uint8).astype(np.float64) - 128) / 128
    elif width in (2, 4):
        samples = np.frombuffer(data, f"<i{width}").astype(np.float64) / 2 ** (8 * width - 1)
    elif width == 3:
        triples = np.frombuffer(data, np.uint8).reshape(-1, 3).astype(np.int32)
        joined = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        samples = np.where(joined >= 2**23, joined - 2**24, joined).astype(np.float64) / 2**23
    else:
        raise DataError(f"WAV {path}: {8 * width}-bit samples are not supported (8, 16, 24 or 32-bit PCM)")
    return samples.reshape(-1, channels).T, rate


def read_wav_folder(folder: Path, length: int | None) -> tuple[np.ndarray, np.ndarray | None, list[str] | None, int]:
    """Every .wav in `folder` (or in its class sub-folders), cut to `length` samples (None: the shortest);
    one channel count and one sample rate for all (gankit does not resample)."""
    classes = sorted(d.name for d in folder.iterdir() if d.is_dir() and any(d.glob("*.wav")))
    files = [(p, i) for i, c in enumerate(classes) for p in sorted((folder / c).glob("*.wav"))]
    files = files or [(p, None) for p in sorted(folder.glob("*.wav"))]
    if not files:
        raise DataError(f"no .wav files in {folder}")
    clips = [(p, *_wav(p)) for p, _ in files]
    formats = {(c.shape[0], rate) for _, c, rate in clips}
    if len(formats) > 1:
        raise DataError(
            f"WAV files in {folder} differ in channels or sample rate: {sorted(formats)[:3]}",
            "convert them to one format first (e.g. sox in.wav -r 16000 -c 1 out.wav)",
        )
    shortest = min(c.shape[1] for _, c, _ in clips)
    length = length or shortest
    if length > shortest:
        short = next(p for p, c, _ in clips if c.shape[1] < length)
        raise DataError(f"{short} has fewer than data.length={length} samples", f"the shortest clip has {shortest}")
    values = np.stack([c[:, :length] for _, c, _ in clips])
    labels = np.array([i for _, i in files], dtype=np.int64) if classes else None
    return values, labels, classes or None, clips[0][2]


def _resampled(series: list[list[float]], length: int) -> list[np.ndarray]:
    """Each dimension of one case onto `length` evenly spaced steps by linear interpolation of its own steps."""
    grid = np.linspace(0.0, 1.0, length)
    return [np.interp(grid, np.linspace(0.0, 1.0, len(dim)), dim) if len(dim) > 1 else np.full(length, dim[0])
            for dim in series]  # fmt: skip


def read_ts(path: Path, length: int | None = None) -> Signals:
    """A UCR/UEA .ts file: `@` header lines, then after @data one case per line, dimensions separated by ':'
    and the class label last. Series of different lengths (JapaneseVowels: 7 to 29 steps) are read only with
    `length`, which resamples every series to that many steps (linear interpolation; the series keeps its
    start and end, so a short one is stretched, not padded)."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read {path}: {err}") from None
    try:
        start = next(i for i, line in enumerate(lines) if line.strip().lower() == "@data") + 1
    except StopIteration:
        raise DataError(f"{path} has no @data line: not a .ts file") from None
    header = " ".join(lines[:start]).lower()
    labelled = "@classlabel true" in header
    cases, raw_labels = [], []
    for number, line in enumerate(lines[start:], start + 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.strip().split(":")
        if labelled:
            raw_labels.append(parts.pop().strip())
        try:
            cases.append([[float(v) for v in dim.split(",")] for dim in parts])
        except ValueError:
            raise DataError(
                f"{path}, line {number}: a value is not a number (missing values '?' are not supported)"
            ) from None
    if not cases:
        raise DataError(f"{path} holds no series after @data")
    if len({len(case) for case in cases}) != 1:
        raise DataError(f"{path}: cases with different numbers of dimensions", "every case needs the same channels")
    steps = {len(dim) for case in cases for dim in case}
    if length is not None:
        cases = [_resampled(case, length) for case in cases]
    elif len(steps) != 1:
        raise DataError(
            f"{path}: series of {min(steps)} to {max(steps)} steps",
            f"set data.length to resample each to that many steps, e.g. data.length={max(steps)}",
        )
    values = _finite(np.array(cases, dtype=np.float64), str(path))
    if not labelled:
        return values, None, None
    labels, names = _classes(raw_labels)
    return values, labels, names


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """[C, L] samples in [-1, 1] as 16-bit PCM (values outside are clipped)."""
    pcm = np.round(np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(samples.shape[0])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.T.tobytes())
