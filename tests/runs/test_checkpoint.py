import json
import pickle

import pytest
import torch

from gankit import RunError
from gankit.runs.checkpoint import load_checkpoint, module_state, save_checkpoint
from gankit.runs.files import atomic_write_text
from gankit.runs.run_dir import RunDir
from gankit.training.state import optimizer_state

from formats import PickleExploit


def _save(folder, name="final", scale=1.0):
    net = torch.nn.Linear(3, 2)
    with torch.no_grad():
        net.weight.mul_(scale)
    opt = torch.optim.Adam(net.parameters())
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    opt_tensors, groups = optimizer_state(opt, "opt_g")
    tensors = {**{f"G.{k}": v for k, v in net.state_dict().items()}, **opt_tensors, "fixed_noise": torch.ones(2, 3)}
    save_checkpoint(folder / f"{name}.json", tensors, {"epoch": 1, "optimizers": {"opt_g": groups}})
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
    run = RunDir.create(tmp_path, "run")
    for step in (1, 2, 3):
        _save(run.checkpoints, RunDir.step_name(step))
    _save(run.checkpoints, "final")
    run.prune(keep=2)
    assert sorted(p.stem for p in run.checkpoints.glob("*.json")) == ["final", "step_00000002", "step_00000003"]
    assert not (run.checkpoints / "step_00000001.safetensors").exists()


def test_latest_prefers_final(tmp_path):
    run = RunDir.create(tmp_path, "run")
    with pytest.raises(RunError, match="no checkpoint"):
        run.latest_checkpoint()
    _save(run.checkpoints, "step_00000078")
    _save(run.checkpoints, "step_00000156")
    assert run.latest_checkpoint().name == "step_00000156.json"
    _save(run.checkpoints, "final")
    assert run.latest_checkpoint().name == "final.json"
    assert run.latest_checkpoint(final=False).name == "step_00000156.json"


def test_run_dirs_are_numbered_and_never_reused(tmp_path):
    a = RunDir.create(tmp_path, "mnist dcgan").path
    b = RunDir.create(tmp_path, "mnist dcgan").path
    assert (a.name, b.name) == ("00000-mnist-dcgan", "00001-mnist-dcgan")
    assert (a / "samples").is_dir() and (a / "checkpoints").is_dir()


def test_only_a_folder_with_a_config_is_a_run(tmp_path):
    with pytest.raises(RunError, match="does not exist"):
        RunDir.open(tmp_path / "missing")
    with pytest.raises(RunError, match="not a gankit run folder"):
        RunDir.open(tmp_path)
    run = RunDir.create(tmp_path, "run")
    run.config.write_text("{}")
    assert RunDir.open(run.path).path == run.path


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path):
    path = atomic_write_text(tmp_path / "f.txt", "old")

    def explode(tmp):
        tmp.write_text("half")
        raise OSError(28, "No space left on device")

    from gankit.runs.files import atomic_write

    with pytest.raises(RunError, match="No space left"):
        atomic_write(path, explode)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_planted_pickle_checkpoint_is_refused_without_running(tmp_path):
    import hashlib

    marker = tmp_path / "pwned"
    payload = pickle.dumps({"state_dict": PickleExploit(marker)})
    (tmp_path / "final.safetensors").write_bytes(payload)
    # Even with a record whose hash matches, the bytes are never unpickled: safetensors cannot parse them.
    record = {"format": "gankit-checkpoint/1", "sha256": hashlib.sha256(payload).hexdigest()}
    (tmp_path / "final.json").write_text(json.dumps(record))
    with pytest.raises(RunError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path / "final.json")
    assert not marker.exists()


def test_truncated_checkpoint_is_refused(tmp_path):
    _save(tmp_path)
    weights = tmp_path / "final.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(RunError, match="recorded hash"):
        load_checkpoint(tmp_path / "final.json")


def test_read_only_output_folder_is_a_clear_error(tmp_path):
    import os

    if os.geteuid() == 0:
        pytest.skip("root can write to read-only folders")
    folder = tmp_path / "ro"
    folder.mkdir()
    _save(folder)
    before = (folder / "final.safetensors").read_bytes()
    folder.chmod(0o500)
    try:
        with pytest.raises(RunError, match="cannot write in"):
            _save(folder)
    finally:
        folder.chmod(0o700)
    assert (folder / "final.safetensors").read_bytes() == before


def test_read_only_file_system_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    import errno
    import os

    _save(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(os, "replace", read_only)
    with pytest.raises(RunError, match="Read-only file system"):
        _save(tmp_path, scale=3.0)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # old files intact, no temp files


def test_written_files_get_ordinary_permissions(tmp_path):
    import os

    path = atomic_write_text(tmp_path / "f.txt", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_grids_come_in_epoch_order_past_three_digits(tmp_path):
    run = RunDir.create(tmp_path, "run")
    run.samples.mkdir(parents=True, exist_ok=True)
    for epoch in (750, 1000, 250, 3000):
        run.grid(epoch).write_bytes(b"")
    (run.samples / "epoch_last.png").write_bytes(b"")  # not an epoch's grid
    assert [epoch for epoch, _ in run.grids()] == [250, 750, 1000, 3000]
    assert [p.name for _, p in run.grids()][::3] == ["epoch_250.png", "epoch_3000.png"]
