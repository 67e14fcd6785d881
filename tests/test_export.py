"""`gankit generate`: labelled synthetic sets our loaders read back, with a manifest that names the checkpoint."""

import hashlib
import json

import numpy as np
import pytest
import torch

from gankit import ConfigError, RunError, build_dataset, load_config, train
from gankit.cli import main
from gankit.export import CHUNK, generate_dataset


@pytest.fixture(scope="module")
def cond_run(tmp_path_factory):
    overrides = ["data.max_items=128", "train.batch_size=32", "train.epochs=1", "model.g_width=8", "model.d_width=8"]
    return train(load_config("mnist-dcgan-cond", overrides=overrides), out=tmp_path_factory.mktemp("runs"), quiet=True)


def test_balanced_npz_reads_back_with_its_labels_and_manifest(cond_run, tmp_path):
    out = generate_dataset(cond_run, 25, tmp_path / "syn.npz", balanced=True, seed=3)
    data = build_dataset("array", root=str(out))
    assert data.x.shape == (25, 1, 28, 28) and data.x.dtype == torch.uint8
    assert torch.bincount(data.labels).tolist() == [3] * 5 + [2] * 5
    manifest = json.loads((tmp_path / "syn.npz.json").read_text())
    weights = cond_run / "checkpoints" / "final.safetensors"
    assert manifest["checkpoint_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert manifest["count_per_class"] == {str(k): 3 if k < 5 else 2 for k in range(10)}
    assert (manifest["seed"], manifest["samples"], manifest["checkpoint"]) == (3, 25, "final")


def test_png_folders_per_class_read_back_as_the_folder_data_set(cond_run, tmp_path):
    out = generate_dataset(cond_run, 20, tmp_path / "syn", label=7)
    data = build_dataset("folder", root=str(out))
    assert len(data) == 20 and data.class_names[data.labels[0]] == "7" and (out / "manifest.json").is_file()
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [str(k) for k in range(10)]


def test_a_seed_fixes_the_samples(cond_run, tmp_path):
    a = np.load(generate_dataset(cond_run, CHUNK + 5, tmp_path / "a.npz", balanced=True))["images"]
    b = np.load(generate_dataset(cond_run, CHUNK + 5, tmp_path / "b.npz", balanced=True))["images"]
    c = np.load(generate_dataset(cond_run, CHUNK + 5, tmp_path / "c.npz", balanced=True, seed=1))["images"]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_samples_are_drawn_chunk_by_chunk(cond_run, tmp_path, monkeypatch):
    import gankit.export as export

    sizes, original = [], export.generate_from
    monkeypatch.setattr(export, "generate_from", lambda G, z, *a: sizes.append(len(z)) or original(G, z, *a))
    generate_dataset(cond_run, 2 * CHUNK + 3, tmp_path / "x.npz")
    assert sizes == [CHUNK, CHUNK, 3]  # memory holds one chunk of images, however many are asked for


def test_refusals_leave_nothing_behind(cond_run, tmp_path):
    generate_dataset(cond_run, 4, tmp_path / "x.npz")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(RunError, match="never overwrites"):
        generate_dataset(cond_run, 4, tmp_path / "x.npz")
    with pytest.raises(ConfigError, match="--class must be in 0..9"):
        generate_dataset(cond_run, 4, tmp_path / "y.npz", label=10)
    with pytest.raises(ConfigError, match="give --out FILE.npz"):
        generate_dataset(cond_run, 4, tmp_path / "y", fmt="npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_cli_generate_and_its_errors(cond_run, tmp_path, capsys):
    assert main(["generate", str(cond_run), "--n", "10", "--balanced", "--out", str(tmp_path / "s.npz")]) == 0
    assert main(["generate", str(cond_run), "--n", "10", "--out", str(tmp_path / "s.npz")]) == 2
    assert "already exists" in capsys.readouterr().err
