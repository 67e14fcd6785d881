"""Decode once: an image data set prepared into a folder that later runs open in a moment.

    CACHE/NAME-KEY/images.u8       uint8 [N, C, H, W], C-order, no header (np.memmap-able; shape in the manifest)
                   labels.npy      int64 [N], for labelled sets
                   rows.npy        the rows kept, when unreadable files were skipped
                   manifest.json   written last: what was prepared from what (source, its files' fingerprint,
                                   shape, class names, skipped files, a SHA-256 of images.u8 by pieces)

KEY digests what decides the pixels: the data set, its root, split, resolution, channels and options. The
fingerprint digests each source file's path, size and mtime: a changed, added or removed file makes the cache
stale, and the next run says so in one line and prepares it again. Decoding runs in CHUNK-file pieces over
worker processes, each writing its rows in place; progress.json records the finished pieces, so an interrupted
prepare continues where it stopped. Until manifest.json exists no run uses the folder.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from gankit.data.base import DataSet
from gankit.data.disk import DiskImages
from gankit.data.transforms import convert_channels, pil_to_array
from gankit.errors import DataError
from gankit.runs.files import atomic_write_text

FORMAT = "gankit-cache/1"
CHUNK = 512  # files per piece of work: the unit of progress and of resuming
POOL_FILES = 2000  # from this many files on, pieces are decoded by one worker process per core
SAVE_EVERY = 5.0  # seconds between writes of progress.json (each is fsynced: one per piece cost seconds)
MEMORY_LIMIT = 1 << 30  # a prepared set up to this size is read whole into memory; larger ones stream from disk


@dataclass
class FileIndex:
    """What a file-based data set reads, before decoding: its files (and labels), and how each is cropped/resized."""

    name: str
    root: Path
    files: Sequence[str | Path]  # 200,000 Path objects cost seconds at every start: folders give strings
    labels: list[int] | None = None
    class_names: list[str] | None = None
    resolution: int | None = None  # None: the files' own size, which must then be the same for all
    crop: int | None = None

    def fingerprint(self) -> str:
        return fingerprint_files(self.root, self.files)


def fingerprint_files(root: Path, files: Sequence[str | Path]) -> str:
    """SHA-256 over each file's path (relative to root), size and modification time."""
    base = str(root).rstrip(os.sep) + os.sep
    lines = []
    for path in map(str, files):
        st = os.stat(path)
        lines.append(f"{path.removeprefix(base)}\0{st.st_size}\0{st.st_mtime_ns}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


@dataclass(frozen=True)
class Storage:
    """How an image data set is held: decoded into a cache folder once (or not), then in memory or on disk."""

    cache: bool | None = None  # None: cache file-based sets of AUTO_FILES files or more; others load directly
    cache_dir: str | None = None  # None: $GANKIT_CACHE, else ~/.cache/gankit/data
    skip_unreadable: bool = False  # leave out files that cannot be decoded (listed) instead of refusing the set
    in_memory: bool | None = None  # None: whole in memory up to MEMORY_LIMIT bytes, else batches read from disk
    quiet: bool = False


AUTO_FILES = 10_000  # about 5 s of decoding on one core: below it a cache saves little, above it every start pays


def source_files(root: Path) -> list[Path]:
    """The files an array-backed data set may read under `root` (itself, if a file), for its fingerprint."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """Where prepared data sets live: data.cache_dir, else $GANKIT_CACHE, else ~/.cache/gankit/data."""
    chosen = cache_dir or os.environ.get("GANKIT_CACHE") or Path.home() / ".cache" / "gankit" / "data"
    return Path(chosen).expanduser()


def cache_folder(root: Path, name: str, source: dict[str, Any]) -> Path:
    key = hashlib.sha256(json.dumps(source, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return root / f"{name}-{key}"


def read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("format") == FORMAT else None


def open_prepared(folder: Path, manifest: dict[str, Any], in_memory: bool | None = None) -> DataSet:
    """The prepared set as a DataSet: read whole when small (or asked), else rows read from disk per batch."""
    shape = tuple(manifest["shape"])
    images = DiskImages(folder / "images.u8", shape)
    if (folder / "rows.npy").is_file():
        images = images.subset(torch.from_numpy(np.load(folder / "rows.npy", allow_pickle=False)))
    labels = None
    if (folder / "labels.npy").is_file():
        labels = torch.from_numpy(np.load(folder / "labels.npy", allow_pickle=False))
        if images.rows is not None:
            labels = labels[images.rows]
    size = len(images) * images.row_bytes
    x = images.read() if (in_memory if in_memory is not None else size <= MEMORY_LIMIT) else images
    return DataSet(manifest["name"], x, labels, manifest.get("class_names"))


def _say(quiet: bool, line: str) -> None:
    if not quiet:
        print(line, file=sys.stderr)


def prepared(
    index: FileIndex, source: dict[str, Any], channels: int | None, storage: Storage, workers: int | None = None
) -> DataSet:
    """The data set of `index`, from its cache when that is current, else prepared there first."""
    folder = cache_folder(cache_root(storage.cache_dir), index.name, source)
    fingerprint = index.fingerprint()
    with _locked(folder):  # two runs started together: one prepares, the other then opens what it made
        manifest = read_manifest(folder)
        if manifest is None or manifest["fingerprint"] != fingerprint:
            if manifest is not None:
                _say(
                    storage.quiet, f"gankit: {index.root} changed since its cache {folder} was made; decoding it again"
                )
                shutil.rmtree(folder)
            prepare_files(index, folder, source, fingerprint, channels, storage.skip_unreadable, workers, storage.quiet)
            manifest = read_manifest(folder)
    assert manifest is not None
    return open_prepared(folder, manifest, storage.in_memory)


@contextlib.contextmanager
def _locked(folder: Path):
    """An exclusive lock on FOLDER.lock beside the cache folder, held while it is checked or written."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(folder.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def prepared_array(data: DataSet, root: Path, source: dict[str, Any], storage: Storage) -> DataSet:
    """An array-backed image set (CIFAR-10, IDX, .npy) through its cache: written from memory when absent or stale."""
    folder = cache_folder(cache_root(storage.cache_dir), data.name, source)
    fingerprint = fingerprint_files(root, source_files(root))
    with _locked(folder):
        manifest = read_manifest(folder)
        if manifest is None or manifest["fingerprint"] != fingerprint:
            _write_array(data, root, folder, source, fingerprint, storage, manifest is not None)
            manifest = read_manifest(folder)
    return open_prepared(folder, manifest, storage.in_memory)


def _write_array(
    data: DataSet, root: Path, folder: Path, source, fingerprint: str, storage: Storage, stale: bool
) -> None:
    """Write an in-memory image set into `folder` as a prepared cache (its manifest last)."""
    if stale:
        _say(storage.quiet, f"gankit: {root} changed since its cache {folder} was made; writing it again")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    x = data.x.contiguous().numpy()
    with open(folder / "images.u8", "wb") as f:
        x.tofile(f)
    index = FileIndex(data.name, root, [], None if data.labels is None else data.labels.tolist(), data.class_names)
    digests = {str(s): hashlib.sha256(x[s : s + CHUNK].tobytes()).hexdigest() for s in range(0, len(x), CHUNK)}
    _finish(index, folder, source, fingerprint, tuple(x.shape), {"failed": {}, "digests": digests}, False)


def _first_shape(index: FileIndex, channels: int | None) -> tuple[int, int, int]:
    """Item shape of the cache: resolution (or the first image's size) and channels (or the first image's)."""
    try:
        with Image.open(index.files[0]) as img:
            first = pil_to_array(img, index.resolution, index.crop)
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise DataError(f"cannot read image {index.files[0]}: {err}") from None
    return (channels or first.shape[2], first.shape[0], first.shape[1])


def prepare_files(
    index: FileIndex,
    folder: Path,
    source: dict[str, Any],
    fingerprint: str,
    channels: int | None,
    skip_unreadable: bool = False,
    workers: int | None = None,
    quiet: bool = False,
) -> None:
    """Decode every file of `index` into `folder` (resuming a prepare of the same files), then its manifest."""
    if not index.files:
        raise DataError(f"no images in {index.root}")
    shape = (len(index.files), *_first_shape(index, channels))
    progress_path = folder / "progress.json"
    progress = _read_json(progress_path)
    if progress.get("fingerprint") != fingerprint or progress.get("shape") != list(shape):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        progress = {"fingerprint": fingerprint, "shape": list(shape), "done": [], "failed": {}, "colour": False}
        progress["digests"] = {}
        with open(folder / "images.u8", "wb") as f:
            f.truncate(int(np.prod(shape)))
        atomic_write_text(progress_path, json.dumps(progress))
    pieces = [s for s in range(0, len(index.files), CHUNK) if s not in set(progress["done"])]
    auto_channels = channels is None

    saved = [time.monotonic()]

    def finished(start: int, failed: dict[str, str], colour: bool, digest: str) -> None:
        progress["done"].append(start)
        progress["digests"][str(start)] = digest
        progress["failed"].update(failed)
        progress["colour"] = progress["colour"] or colour
        if time.monotonic() - saved[0] > SAVE_EVERY:  # a kill loses at most these seconds of decoding
            atomic_write_text(progress_path, json.dumps(progress))
            saved[0] = time.monotonic()

    how = (index.resolution, index.crop)
    jobs = [(str(folder / "images.u8"), shape, s, [str(p) for p in index.files[s : s + CHUNK]], how) for s in pieces]
    try:
        _run_pieces(jobs, finished, workers, quiet, f"decoding {len(index.files)} images of {index.root}")
    finally:  # stopped (Ctrl-C, an error) or done: what finished is kept for the next prepare
        atomic_write_text(progress_path, json.dumps(progress))
    if progress["colour"] and auto_channels and shape[1] == 1:  # a colour image after grey ones: as load_images, RGB
        shutil.rmtree(folder)
        return prepare_files(index, folder, source, fingerprint, 3, skip_unreadable, workers, quiet)
    _finish(index, folder, source, fingerprint, shape, progress, skip_unreadable)


def _finish(index, folder, source, fingerprint, shape, progress, skip_unreadable) -> None:
    failed = {int(k): v for k, v in progress["failed"].items()}
    sizes = {i: why for i, why in failed.items() if why.startswith("size ")}
    if sizes:
        i, why = next(iter(sizes.items()))
        raise DataError(
            f"images have different sizes ({index.files[i]}: {why})", "set data.resolution to resize them all"
        )
    if failed:
        listing = folder / "unreadable.txt"
        atomic_write_text(listing, "".join(f"{index.files[i]}\t{why}\n" for i, why in sorted(failed.items())))
        if not skip_unreadable:
            first = min(failed)
            raise DataError(
                f"{len(failed)} of {len(index.files)} images could not be read (first: {index.files[first]}: "
                f"{failed[first]}; all listed in {listing})",
                "fix or remove them, or skip them with data.skip_unreadable=true (gankit prepare --skip-unreadable)",
            )
    if index.labels is not None:
        np.save(folder / "labels.npy", np.asarray(index.labels, dtype=np.int64))
    if failed:
        np.save(folder / "rows.npy", np.asarray([i for i in range(shape[0]) if i not in failed], dtype=np.int64))
    manifest = {
        "format": FORMAT,
        "name": index.name,
        "source": source,
        "fingerprint": fingerprint,
        "shape": list(shape),
        "class_names": index.class_names,
        "skipped": len(failed),
        # SHA-256 over the SHA-256 of each CHUNK rows of images.u8, in order: computed by the workers in parallel
        "images_sha256": hashlib.sha256(
            "".join(progress["digests"][str(s)] for s in range(0, shape[0], CHUNK)).encode()
        ).hexdigest(),
    }
    with open(folder / "images.u8", "rb+") as f:
        os.fsync(f.fileno())
    atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=1))
    (folder / "progress.json").unlink(missing_ok=True)


def _run_pieces(jobs: list, finished: Callable, workers: int | None, quiet: bool, what: str) -> None:
    if workers is None:  # starting worker processes (about 2 s: each imports torch) pays from a few thousand files
        workers = os.cpu_count() or 1 if sum(len(job[3]) for job in jobs) >= POOL_FILES else 1
    workers = min(workers, len(jobs))
    bar = tqdm(total=sum(len(job[3]) for job in jobs), disable=quiet or not jobs, unit="img", desc=what, leave=False)
    try:
        if workers <= 1:
            for job in jobs:
                finished(*decode_piece(*job))
                bar.update(len(job[3]))
            return
        # spawn, not fork: the parent holds torch's thread pools, which a forked child must not inherit
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = {pool.submit(decode_piece, *job): len(job[3]) for job in jobs}
            try:
                for future in concurrent.futures.as_completed(futures):
                    finished(*future.result())
                    bar.update(futures[future])
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    finally:
        bar.close()


def decode_piece(path: str, shape: tuple[int, ...], start: int, files: list[str], how: tuple[int | None, int | None]):
    """Decode files (rows start.. of the array at `path`), each cropped and resized as `how` = (resolution, crop)
    says; returns (start, what went wrong per row, whether any image had colour)."""
    _, c, h, w = shape
    resolution, crop = how
    images = np.memmap(path, dtype=np.uint8, mode="r+", shape=tuple(shape))
    failed: dict[str, str] = {}
    colour = False
    for offset, name in enumerate(files):
        try:
            with Image.open(name) as img:
                arr = pil_to_array(img, resolution, crop)
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as err:
            failed[str(start + offset)] = f"{type(err).__name__}: {err}".replace("\n", " ")
            continue
        if arr.shape[:2] != (h, w):
            failed[str(start + offset)] = f"size {arr.shape[1]}x{arr.shape[0]}, not {w}x{h}"
            continue
        colour = colour or arr.shape[2] == 3
        item = arr.transpose(2, 0, 1)  # [C, H, W]
        if len(item) == 1 and c == 3:
            item = np.repeat(item, 3, axis=0)
        elif len(item) == 3 and c == 1:  # the same luma weights and rounding as an in-memory set's conversion
            item = convert_channels(torch.from_numpy(item.copy())[None], 1)[0].numpy()
        images[start + offset] = item
    images.flush()
    digest = hashlib.sha256(images[start : start + len(files)].tobytes()).hexdigest()
    del images
    return start, failed, colour, digest


def _read_json(path: Path) -> dict[str, Any]:
    with contextlib.suppress(OSError, json.JSONDecodeError):
        value = json.loads(path.read_text())
        if isinstance(value, dict):
            return value
    return {}
