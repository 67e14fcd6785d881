import json
import pickle

import pytest
import torch

from gankit import RunError
from gankit.runs.checkpoint import latest_checkpoint, load_checkpoint, module_state, prune_checkpoints, save_checkpoint
from gankit.runs.files import atomic_write_text
from gankit.runs.run_dir import create_run_dir


def _save(folder, name="final", scale=1.0):
    net = torch.nn.Linear(3, 2)
    with torch.no_grad():
        net.weight.mul_(scale)
    opt = torch.optim.Adam(net.parameters())
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    save_checkpoint(folder, name, {"G": net}, {"opt_g": opt}, {"epoch": 1}, {"fixed_noise": torch.ones(2, 3)})
    return net, opt


def test_round_trip_of_weights_optimizer_and_extra(tmp_path):
    net, opt = _save(tmp_path)
    meta, tensors = load_checkpoint(tmp_path / "final.json")
    assert meta["epoch"] == 1 and meta["optimizers"]["opt_g"]["param_groups"][0]["lr"] == 1e-3
    assert torch.equal(module_state(tensors, "G")["weight"], net.weight.detach())
    assert torch.equal(tensors["opt_g.0.exp_avg"], opt.state[net.weight]["exp_avg"])
    assert torch.equal(tensors["fixed_noise"], torch.ones(2, 3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final.json", "final.safetensors"]  # no temp files left


def test_tampered_tensor_file_is_refused(tmp_path):
    _save(tmp_path)
    (tmp_path / "other").mkdir()
    _save(tmp_path / "other", scale=2.0)
    (tmp_path / "final.safetensors").write_bytes((tmp_path / "other" / "final.safetensors").read_bytes())
    with pytest.raises(RunError, match="recorded hash"):
        load_checkpoint(tmp_path / "final.json")


def test_a_pickle_is_never_loaded(tmp_path):
    (tmp_path / "final.json").write_text(json.dumps({"format": "something-else"}))
    (tmp_path / "final.safetensors").write_bytes(pickle.dumps({"weights": [1, 2]}))
    with pytest.raises(RunError, match="not a gankit checkpoint"):
        load_checkpoint(tmp_path / "final.json")


def test_prune_keeps_the_newest(tmp_path):
    for epoch in (1, 2, 3):
        _save(tmp_path, f"step_{epoch:08d}")
    prune_checkpoints(tmp_path, keep=2)
    assert sorted(p.stem for p in tmp_path.glob("*.json")) == ["step_00000002", "step_00000003"]


def test_latest_prefers_final(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    with pytest.raises(RunError, match="no checkpoint"):
        latest_checkpoint(tmp_path)
    _save(folder, "step_00000078")
    assert latest_checkpoint(tmp_path).name == "step_00000078.json"
    _save(folder, "final")
    assert latest_checkpoint(tmp_path).name == "final.json"


def test_run_dirs_are_numbered_and_never_reused(tmp_path):
    a = create_run_dir(tmp_path, "mnist dcgan")
    b = create_run_dir(tmp_path, "mnist dcgan")
    assert (a.name, b.name) == ("00000-mnist-dcgan", "00001-mnist-dcgan")
    assert (a / "samples").is_dir() and (a / "checkpoints").is_dir()


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path):
    path = atomic_write_text(tmp_path / "f.txt", "old")

    def explode(tmp):
        tmp.write_text("half")
        raise OSError(28, "No space left on device")

    from gankit.runs.files import atomic_write

    with pytest.raises(RunError, match="No space left"):
        atomic_write(path, explode)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]
