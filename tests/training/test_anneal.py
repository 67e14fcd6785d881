"""R3GAN's schedules: values annealed over images seen, applied to the optimisers, penalties and EMA, resumed exactly."""

import json
import math

import pytest
import torch

from gankit import ConfigError, load_config, resume, train
from gankit.runs.checkpoint import load_checkpoint
from gankit.training.anneal import progress

from formats import write_mnist5k_csv

# 8 steps of 8 images an epoch; the values reach their ends after 40 images (step 5) of a 24-step run.
ANNEALED = [
    "model.name=dcgan",
    "model.g_width=4",
    "model.d_width=4",
    "train.batch_size=8",
    "train.epochs=3",
    "train.precision=fp32",
    "log.every=1",
    "log.checkpoint_steps=2",
    "loss.name=rpgan",
    "loss.penalties={r1: {weight: 1.0}, r2: {weight: 1.0, every: 2}}",
    "optim.lr_g=1e-3",
    "optim.lr_d=2e-3",
    "optim.betas=[0.0,0.9]",
    "optim.ema_decay=null",
    "optim.ema_half_life=10",
    "anneal.images=96",
    "anneal.lr_g=1e-4",
    "anneal.lr_d=5e-4",
    "anneal.beta2=0.99",
    "anneal.ema_half_life=1000",
    "anneal.penalties={r1: 0.1, r2: 0.01}",
]


def test_progress_follows_a_cosine_or_a_line_and_then_holds():
    assert progress(0, 100, "cosine") == 0 and progress(100, 100, "cosine") == pytest.approx(1)
    assert progress(50, 100, "cosine") == pytest.approx(0.5) and progress(25, 100, "cosine") < 0.25
    assert progress(25, 100, "linear") == 0.25 and progress(500, 100, "linear") == 1


@pytest.fixture
def data_root(tmp_path):
    return str(write_mnist5k_csv(tmp_path / "mnist_5k.csv.gz", per_class=7))  # 70 digits: 8 batches of 8


def _records(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if '"loss_d"' in line]


def test_the_loop_takes_the_annealed_values(data_root, tmp_path):
    run = train(load_config(overrides=[*ANNEALED, f"data.root={data_root}"]), out=tmp_path / "runs", quiet=True)
    lrs = [r["lr_g"] for r in _records(run)]
    # readouts after step s show the lr of step s + 1, which has seen (s + 1) x 8 images of the 96
    expected = [1e-3 + progress(8 * s, 96, "cosine") * (1e-4 - 1e-3) for s in range(1, 25)]
    assert lrs == pytest.approx(expected, rel=1e-6)
    meta, _ = load_checkpoint(run / "checkpoints" / "final.json")
    groups = {k: g["param_groups"][0] for k, g in meta["optimizers"].items()}
    assert groups["opt_d"]["lr"] == pytest.approx(5e-4) and groups["opt_g"]["betas"][1] == pytest.approx(0.99)
    assert meta["anneal"]["steps"] == 24


def test_a_stopped_annealed_run_resumes_to_the_same_weights(data_root, tmp_path, monkeypatch):
    from gankit.training.trainer import Trainer

    config = load_config(overrides=[*ANNEALED, f"data.root={data_root}"])
    whole = train(config, out=tmp_path / "whole", quiet=True)
    original = Trainer.train_step

    def stop_at_step_6(self, *args):  # inside the anneal: the weights, lrs, betas and gammas are all moving
        original(self, *args)
        if self.step == 5:
            self.stop_requested = True

    monkeypatch.setattr(Trainer, "train_step", stop_at_step_6)
    run = train(config, out=tmp_path / "stopped", quiet=True)
    monkeypatch.setattr(Trainer, "train_step", original)
    resume(run, quiet=True)
    meta_a, a = load_checkpoint(whole / "checkpoints" / "final.json")
    meta_b, b = load_checkpoint(run / "checkpoints" / "final.json")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert meta_a["optimizers"] == meta_b["optimizers"]


def test_the_anneal_applies_to_the_ema_and_penalties(data_root, tmp_path):
    from gankit.training.builder import new_trainer

    config = load_config(overrides=[*ANNEALED, f"data.root={data_root}"])
    trainer = new_trainer(config, tmp_path)
    batches = trainer.sampler.endless()
    for _ in range(12):  # 96 images: at the end
        trainer.train_step(*next(batches))
        trainer.step += 1
    weights = {r.name: r.weight for phase in trainer.phases for r in phase.regularizers}
    assert weights == pytest.approx({"r1": 0.1, "r2": 0.01, "ms": 2.0})  # the preset's ms penalty is not annealed
    assert trainer.ema.half_life == pytest.approx(1000)
    assert trainer.ema.beta() == pytest.approx(0.5 ** (8 / 1000))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["anneal.lr_g=1e-4"], "need anneal.images"),
        (["anneal.images=100", "anneal.penalties={r1: 0.1}"], "no such penalty"),
        (["anneal.images=100", "anneal.ema_half_life=100"], "needs optim.ema_half_life"),
        (["anneal.images=100", "anneal.beta2=0.99", "optim.name=rmsprop"], "anneals Adam's beta2"),
        (["anneal.images=100", "anneal.beta2=1.5"], r"anneal.beta2 must be in \[0, 1\)"),
        (["anneal.images=0"], "anneal.images must be > 0"),
        (["anneal.images=100", "anneal.lr_g=1e-5", "train.on_divergence=rollback"], "rollback scales"),
        (["anneal.images=100", "anneal.penalties={r1: 0.1}", "loss.penalties={r1: {weight: auto}}"], "numeric"),
    ],
)
def test_bad_anneal_settings_say_what_to_do(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config("mnist-dcgan", overrides=overrides)


def test_r3gan_presets_anneal_to_the_papers_ratios():
    config = load_config("cifar10-r3gan")
    a = config.anneal
    assert math.isclose(a.lr_g / config.optim.lr_g, 0.25) and a.beta2 == 0.99 and config.optim.betas[1] == 0.9
    assert a.penalties == {"r1": 0.005, "r2": 0.005} and config.loss.penalties["r1"].weight == 0.05
