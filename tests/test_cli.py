"""The CLI contract: an end-to-end tiny run, the files it writes, sampling, listing and error handling."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gankit.cli import main

TINY = ["--set", "data.max_items=256", "--set", "train.epochs=2", "--set", "log.every=2", "--quiet"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    assert main(["train", "--out", str(out), *TINY]) == 0
    (run,) = out.iterdir()
    return run


def test_train_writes_exactly_the_run_files(run_dir):
    files = sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file())
    assert files == [
        "checkpoints/final.json",
        "checkpoints/final.safetensors",
        "checkpoints/step_00000004.json",
        "checkpoints/step_00000004.safetensors",
        "config.yaml",
        "losses.png",
        "metrics.jsonl",
        "samples/epoch_001.png",
        "samples/epoch_002.png",
    ]
    assert run_dir.name == "00000-mnist5k-dcgan"
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6, 8]  # 256 // 64 = 4 steps per epoch
    assert {"loss_d", "loss_g", "d_real", "d_fake", "lr_g", "images_per_s"} <= set(records[0])
    grid = Image.open(run_dir / "samples" / "epoch_002.png")
    # The default is class-conditional: a row per digit, 64 // 10 = 6 images of 28 px + 2 px padding, upscaled 2x.
    assert grid.size == (2 * (6 * 30 + 2), 2 * (10 * 30 + 2))


def test_config_file_repeats_the_run(run_dir, tmp_path, capsys):
    assert main(["train", "--config", str(run_dir / "config.yaml"), "--out", str(tmp_path), "--quiet"]) == 0
    (again,) = tmp_path.iterdir()
    assert (again / "config.yaml").read_text() == (run_dir / "config.yaml").read_text()
    original = [json.loads(x)["loss_d"] for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    repeated = [json.loads(x)["loss_d"] for x in (again / "metrics.jsonl").read_text().splitlines()]
    assert repeated == pytest.approx(original, rel=1e-5)  # same seed, same data order: same run on CPU
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith(f"run folder: {again}") and "samples/epoch_001.png .. epoch_002.png" in last


def test_a_second_run_gets_a_new_folder(run_dir):
    assert main(["train", "--out", str(run_dir.parent), *TINY, "--set", "train.epochs=1"]) == 0
    assert sorted(p.name for p in run_dir.parent.iterdir())[:2] == ["00000-mnist5k-dcgan", "00001-mnist5k-dcgan"]
    assert (run_dir / "checkpoints" / "step_00000004.json").exists()  # the first run is untouched


def test_sample_grid_npy_and_folder(run_dir, tmp_path):
    assert main(["sample", str(run_dir), "--n", "9", "--out", str(tmp_path / "g.png")]) == 0
    assert Image.open(tmp_path / "g.png").size[0] > 3 * 28
    assert main(["sample", str(run_dir), "--n", "5", "--out", str(tmp_path / "s.npy")]) == 0
    arr = np.load(tmp_path / "s.npy")
    assert arr.shape == (5, 1, 28, 28) and arr.dtype == np.float32 and arr.min() >= -1 and arr.max() <= 1
    assert main(["sample", str(run_dir), "--n", "3", "--out", str(tmp_path / "pngs")]) == 0
    assert sorted(p.name for p in (tmp_path / "pngs").iterdir()) == ["000000.png", "000001.png", "000002.png"]
    assert Image.open(tmp_path / "pngs" / "000000.png").size == (28, 28)


def test_sample_is_reproducible_and_refuses_to_overwrite(run_dir, tmp_path, capsys):
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    main(["sample", str(run_dir), "--n", "4", "--out", str(a), "--seed", "3"])
    main(["sample", str(run_dir), "--n", "4", "--out", str(b), "--seed", "3"])
    assert np.array_equal(np.load(a), np.load(b))
    before = a.read_bytes()
    assert main(["sample", str(run_dir), "--n", "2", "--out", str(a)]) == 2
    assert "already exists" in capsys.readouterr().err and a.read_bytes() == before


def test_damaged_checkpoint_is_detected(run_dir, tmp_path, capsys):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    weights = copy / "checkpoints" / "final.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    assert main(["sample", str(copy), "--out", str(tmp_path / "x.png")]) == 2
    assert "does not match its recorded hash" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["presets", "datasets", "models", "losses"])
def test_listings(command, capsys):
    assert main([command]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(len(line.split(None, 1)) == 2 for line in lines)  # name, then a description


def test_errors_are_one_line_exit_2_no_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "gankit", "train", "--set", "train.epochs=-1"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "gankit: error: train.epochs must be > 0, got -1"
    debug = subprocess.run(
        [sys.executable, "-m", "gankit", "--debug", "train", "--set", "train.epochs=-1"], capture_output=True, text=True
    )
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_missing_data_root_error(tmp_path, capsys):
    assert main(["train", "--set", "data.name=mnist", "--set", f"data.root={tmp_path}", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "train-images-idx3-ubyte.gz" in err
    assert list(tmp_path.iterdir()) == []  # no run folder for a run that never started


@pytest.mark.parametrize("command", ["train", "sample", "presets"])
def test_help(command):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0


def test_train_help_names_the_default_preset(capsys):
    from gankit.config import DEFAULT_PRESET

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert f"default {DEFAULT_PRESET}" in " ".join(capsys.readouterr().out.split())


def test_output_folder_that_cannot_be_made(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["train", *TINY, "--out", str(blocker / "runs")]) == 2
    assert "cannot create output folder" in capsys.readouterr().err


def test_sample_a_named_checkpoint(run_dir, tmp_path, capsys):
    assert main(["sample", str(run_dir), "--checkpoint", "step_00000004", "--out", str(tmp_path / "a.npy")]) == 0
    assert main(["sample", str(run_dir), "--checkpoint", "nope", "--out", str(tmp_path / "b.npy")]) == 2
    assert "checkpoint" in capsys.readouterr().err and not (tmp_path / "b.npy").exists()
