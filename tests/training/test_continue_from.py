"""`train.continue_from` / `gankit train --continue-from`: a new run in another run's whole training state."""

import json
import subprocess
import sys

import pytest
import torch

from gankit import ConfigError, load_config, resume, train
from gankit.runs.checkpoint import load_checkpoint

TOY = [
    "data.name=toy2d",
    "data.n=256",
    "model.name=vanilla",
    "model.g_hidden=[32]",
    "model.d_hidden=[32]",
    "optim.ema_decay=0.9",
    "train.batch_size=32",
    "train.precision=fp32",
    "log.every=1",
]


def _train(out, *overrides):
    return train(load_config(overrides=[*TOY, *overrides]), out=out, quiet=True)


def _continue(out, source, *overrides, checkpoint=""):
    config = load_config(config_file=source / "config.yaml", overrides=list(overrides))
    config.train.continue_from = f"{source}{checkpoint}"
    return train(config, out=out, quiet=True)


def _records(run):
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "images_per_s"} for line in lines]


def _files(run):
    return {p.relative_to(run): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def test_a_finished_run_continued_equals_the_longer_run(tmp_path):
    whole = _train(tmp_path / "whole", "train.epochs=4")
    short = _train(tmp_path / "short", "train.epochs=2")
    before = _files(short)
    longer = _continue(tmp_path / "longer", short, "train.epochs=4")
    assert _files(short) == before  # the source is only read
    meta_w, tw = load_checkpoint(whole / "checkpoints" / "final.json")
    meta_l, tl = load_checkpoint(longer / "checkpoints" / "final.json")
    assert tw.keys() == tl.keys() and all(torch.equal(tw[k], tl[k]) for k in tw)  # weights, moments, EMA, RNG
    assert meta_w == meta_l
    assert _records(longer) == _records(whole)  # the source's records up to its end, then the new ones
    assert load_config(config_file=longer / "config.yaml").train.continue_from == str(short)


def test_a_step_checkpoint_continues_under_a_late_decay(tmp_path):
    source = _train(tmp_path / "a", "train.epochs=4", "log.keep_checkpoints=4")  # 8 steps an epoch
    lr = load_config(overrides=TOY).optim.lr_d
    run = _continue(
        tmp_path / "b",
        source,
        "train.epochs=4",
        "optim.lr_schedule=linear",
        "optim.lr_decay_from=0.5",
        checkpoint=":step_00000016",
    )
    records = _records(run)
    assert [r["step"] for r in records][:16] == list(range(1, 17))
    assert records[15] == _records(source)[15]  # the source's records up to the checkpoint are carried over
    lrs = [r["lr_d"] for r in records]
    assert lrs[16] < lr and lrs[-1] == pytest.approx(0.0, abs=1e-12)  # decays over steps 17..32
    assert [r["lr_d"] for r in _records(source)] == [lr] * 32


@pytest.mark.parametrize(
    "override, message",
    [
        ("optim.lr_d=1e-3", "optim.lr_d cannot change"),
        ("model.g_hidden=[16]", "model.g_hidden cannot change"),
        ("train.seed=3", "train.seed cannot change"),
        ("train.epochs=2", "train.epochs is 2"),
    ],
)
def test_what_the_state_holds_cannot_change(tmp_path, override, message):
    source = _train(tmp_path / "a", "train.epochs=2")
    with pytest.raises(ConfigError, match=message):
        _continue(tmp_path / "b", source, override)
    assert not (tmp_path / "b").exists()  # refused before a folder was made


def test_a_staged_family_keeps_its_length(tmp_path):
    short = ["data.n=256", "train.batch_size=64", "train.epochs=3", "model.hidden=4", "model.layers=1"]
    source = train(
        load_config("sines-timegan", overrides=[*short, "log.checkpoint_every=1"]), out=tmp_path / "a", quiet=True
    )
    with pytest.raises(ConfigError, match="stages"):
        _continue(tmp_path / "b", source, "train.epochs=6")
    run = _continue(tmp_path / "b", source, "optim.lr_schedule=cosine", checkpoint=":step_00000008")
    assert (run / "checkpoints" / "final.json").is_file()


def test_stopped_before_its_first_checkpoint_resumes_from_the_source(tmp_path):
    source = _train(tmp_path / "a", "train.epochs=2")
    whole = _continue(tmp_path / "b", source, "train.epochs=3")
    stopped = _continue(tmp_path / "c", source, "train.epochs=3")
    for path in (stopped / "checkpoints").iterdir():  # as if killed before its first checkpoint
        path.unlink()
    resume(stopped, quiet=True)
    _, a = load_checkpoint(whole / "checkpoints" / "final.json")
    _, b = load_checkpoint(stopped / "checkpoints" / "final.json")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _records(stopped) == _records(whole)


def test_cli_continues_and_refuses_in_one_line(tmp_path):
    source = _train(tmp_path / "a", "train.epochs=2")
    cli = [sys.executable, "-m", "gankit", "train", "--quiet", "--out", str(tmp_path / "b")]
    bad = subprocess.run(
        [*cli, "--continue-from", f"{source}:step_9", "--set", "train.epochs=3"], capture_output=True, text=True
    )
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "step_9" in bad.stderr and "final" in bad.stderr  # says which checkpoints there are
    ok = subprocess.run(
        [*cli, "--continue-from", str(source), "--set", "train.epochs=3"], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    (run,) = (tmp_path / "b").iterdir()
    assert run.name.endswith("-toy2d-vanilla") and _records(run)[-1]["step"] == 24


def test_the_first_step_takes_the_new_schedules_rate(tmp_path, monkeypatch):
    from gankit.training.trainer import Trainer

    source = _train(tmp_path / "a", "train.epochs=4", "log.keep_checkpoints=4")
    lr = load_config(overrides=TOY).optim.lr_d
    rates = []
    monkeypatch.setattr(Trainer, "fit", lambda self: rates.append(self.networks["d"].lr) or True)
    _continue(tmp_path / "b", source, "train.epochs=4", "optim.lr_schedule=linear", checkpoint=":step_00000016")
    assert rates == [pytest.approx(lr * (1 - 16 / 32))]  # not the constant rate the source's optimiser held
