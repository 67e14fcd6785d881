import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.data import Storage, build_dataset
from gankit.data import cache as cache_module
from gankit.data.disk import DiskImages
from gankit.data.folder import folder
from gankit.data.sampler import BatchSampler
from gankit.errors import DataError


def _folder(root, n=14, size=(20, 24), grey_from=None):
    """n random PNGs in two class folders; from index `grey_from` on they are greyscale."""
    rng = np.random.default_rng(0)
    for i in range(n):
        label = "b" if i % 2 else "a"
        (root / label).mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        img = Image.fromarray(pixels)
        if grey_from is not None and i >= grey_from:
            img = img.convert("L")
        img.save(root / label / f"{i:03d}.png")
    return root


def _cached(tmp_path, **kw):
    return Storage(cache=True, cache_dir=str(tmp_path / "cache"), **kw)


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch):
    monkeypatch.setattr(cache_module, "CHUNK", 4)  # several pieces even for a few files


def test_a_prepared_folder_equals_the_decoded_one_in_memory_and_on_disk(tmp_path):
    root = _folder(tmp_path / "imgs")
    direct = build_dataset("folder", str(root), resolution=16, storage=Storage(cache=False))
    cached = build_dataset("folder", str(root), resolution=16, storage=_cached(tmp_path))
    streamed = build_dataset("folder", str(root), resolution=16, storage=_cached(tmp_path, in_memory=False))
    assert isinstance(cached.x, torch.Tensor) and isinstance(streamed.x, DiskImages)
    assert torch.equal(cached.x, direct.x) and torch.equal(streamed.x[:], direct.x)
    assert torch.equal(cached.labels, direct.labels) and cached.class_names == direct.class_names == ["a", "b"]
    memory, disk = (BatchSampler(d, 4, 7, torch.device("cpu")) for d in (direct, streamed))
    for (xa, ya), (xb, yb) in zip(memory.epoch(2), disk.epoch(2)):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    grey = build_dataset("folder", str(root), resolution=16, channels=1, storage=_cached(tmp_path))
    assert torch.equal(grey.x, build_dataset("folder", str(root), resolution=16, channels=1).x)
    few = build_dataset(
        "folder", str(root), resolution=16, max_items=5, seed=3, storage=_cached(tmp_path, in_memory=False)
    )
    assert torch.equal(few.x, build_dataset("folder", str(root), resolution=16, max_items=5, seed=3).x)


def test_a_second_open_decodes_nothing_and_a_changed_file_is_decoded_again(tmp_path, monkeypatch, capsys):
    root = _folder(tmp_path / "imgs")
    first = build_dataset("folder", str(root), resolution=16, storage=_cached(tmp_path))

    def no_decoding(*args):
        raise AssertionError("decoded again")

    with monkeypatch.context() as m:
        m.setattr(cache_module, "decode_piece", no_decoding)
        assert torch.equal(build_dataset("folder", str(root), resolution=16, storage=_cached(tmp_path)).x, first.x)
    Image.fromarray(np.zeros((20, 24, 3), dtype=np.uint8)).save(root / "a" / "000.png")
    os.utime(root / "a" / "000.png", ns=(1, 1))  # whatever the clock: another mtime
    again = build_dataset("folder", str(root), resolution=16, storage=_cached(tmp_path))
    assert "changed since its cache" in capsys.readouterr().err
    changed = (again.x != first.x).flatten(1).any(1)
    assert changed.tolist() == [True] + [False] * (len(first) - 1) and again.x[0].max() == 0


def test_unreadable_files_are_listed_and_refused_unless_skipped(tmp_path):
    root = _folder(tmp_path / "imgs")
    (root / "b" / "005.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"1 of 14 images could not be read \(first: .*005.png"):
        build_dataset("folder", str(root), storage=_cached(tmp_path))
    listing = next((tmp_path / "cache").glob("folder-*/unreadable.txt")).read_text()
    assert "005.png\t" in listing
    assert not list((tmp_path / "cache").glob("folder-*/manifest.json"))  # no run can use it
    kept = build_dataset("folder", str(root), storage=_cached(tmp_path, skip_unreadable=True))
    (root / "b" / "005.png").unlink()
    assert torch.equal(kept.x, build_dataset("folder", str(root)).x) and len(kept) == 13
    assert torch.equal(kept.labels, build_dataset("folder", str(root)).labels)


def test_an_interrupted_prepare_leaves_nothing_usable_and_resumes_where_it_stopped(tmp_path, monkeypatch):
    root = _folder(tmp_path / "imgs")
    real, calls = cache_module.decode_piece, []

    def killed_after_two(*args):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(args[2])
        return real(*args)

    monkeypatch.setattr(cache_module, "decode_piece", killed_after_two)
    with pytest.raises(KeyboardInterrupt):
        build_dataset("folder", str(root), storage=_cached(tmp_path))
    folder = next(p for p in (tmp_path / "cache").glob("folder-*") if p.is_dir())
    assert not (folder / "manifest.json").exists()
    assert json.loads((folder / "progress.json").read_text())["done"] == [0, 4]
    calls.clear()
    monkeypatch.setattr(cache_module, "decode_piece", lambda *a: (calls.append(a[2]), real(*a))[1])
    resumed = build_dataset("folder", str(root), storage=_cached(tmp_path))
    assert calls == [8, 12]  # only the pieces not finished before
    assert torch.equal(resumed.x, build_dataset("folder", str(root)).x)


def test_grey_then_colour_files_make_rgb_as_the_in_memory_loader_does(tmp_path):
    root = _folder(tmp_path / "imgs", n=8, grey_from=0)
    Image.fromarray(np.full((20, 24, 3), (200, 10, 10), dtype=np.uint8)).save(root / "b" / "999.png")
    cached = build_dataset("folder", str(root), storage=_cached(tmp_path))
    assert cached.shape == (3, 20, 24) and torch.equal(cached.x, build_dataset("folder", str(root)).x)


def test_worker_processes_write_what_one_process_writes(tmp_path):
    root = _folder(tmp_path / "imgs", n=12)
    files = folder(root=str(root), split="train", resolution=16)
    for workers, name in ((1, "one"), (2, "two")):
        cache_module.prepare_files(files, tmp_path / name, {}, files.fingerprint(), None, workers=workers, quiet=True)
    assert (tmp_path / "one" / "images.u8").read_bytes() == (tmp_path / "two" / "images.u8").read_bytes()
    one, two = (json.loads((tmp_path / n / "manifest.json").read_text()) for n in ("one", "two"))
    assert one["images_sha256"] == two["images_sha256"] and len(one["images_sha256"]) == 64


def test_array_sets_and_the_command(tmp_path, capsys):
    images = np.random.default_rng(1).integers(0, 256, (30, 12, 12), dtype=np.uint8)
    np.savez(tmp_path / "digits.npz", images=images, labels=np.arange(30) % 3)
    out = tmp_path / "prepared"
    assert main(["prepare", f"array={tmp_path / 'digits.npz'}", "--resolution", "8", "--out", str(out)]) == 0
    assert "prepared 30 images of 1x8x8" in capsys.readouterr().out
    cached = build_dataset(
        "array", str(tmp_path / "digits.npz"), resolution=8, storage=Storage(cache=True, cache_dir=str(out))
    )
    direct = build_dataset("array", str(tmp_path / "digits.npz"), resolution=8)
    assert torch.equal(cached.x, direct.x) and torch.equal(cached.labels, direct.labels)
    assert main(["prepare", "mnist5k", "--out", str(out)]) == 2  # bundled: nothing to prepare


def test_a_run_on_a_streamed_cache_ends_where_the_in_memory_run_ends(tmp_path):
    from gankit import load_config, train
    from gankit.runs.checkpoint import load_checkpoint
    from gankit.runs.run_dir import RunDir

    root = _folder(tmp_path / "imgs", n=16)
    base = ["data.name=folder", f"data.root={root}", "data.resolution=16", "model.g_width=8", "model.d_width=8"]
    base += ["train.batch_size=4", "train.epochs=2", "log.grid_size=4", f"data.cache_dir={tmp_path / 'cache'}"]
    weights = []
    for storage in (["data.cache=false"], ["data.cache=true", "data.in_memory=false"]):
        run = train(load_config(overrides=[*base, *storage]), out=tmp_path / "runs", quiet=True)
        weights.append(load_checkpoint(RunDir(run).latest_checkpoint())[1])
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
