"""ADA's pipeline and its controller: p follows D's overfitting, and a resumed run continues it exactly."""

import json

import pytest
import torch

from gankit import load_config, resume, train
from gankit.augment.ada import ADA, augment, resample
from gankit.runs.checkpoint import load_checkpoint


def test_p_rises_while_d_is_sure_of_the_reals_and_falls_otherwise():
    ada = ADA(target=0.6, interval=4, speed_images=6400, batch_size=64)  # a step of 64 * 4 / 6400 = 0.04
    for _ in range(8):  # D says "real" for every real: r_t = 1 > 0.6, two adjustments
        ada.observe(torch.full((64,), 3.0))
        ada.update()
    assert ada.p.item() == pytest.approx(0.08)
    for _ in range(4):  # D is unsure: r_t = 0 < 0.6
        ada.observe(torch.tensor([1.0, -1.0] * 32))
        ada.update()
    assert ada.p.item() == pytest.approx(0.04)
    for _ in range(40):
        ada.observe(-torch.ones(64))
        ada.update()
    assert ada.p.item() == 0.0  # clamped


def test_at_p_zero_the_pipeline_is_the_identity_and_at_one_it_changes_every_image():
    torch.manual_seed(0)
    x = torch.rand(16, 3, 16, 16) * 2 - 1
    assert torch.allclose(augment(x, torch.tensor(0.0)), x, atol=1e-5)
    changed = (augment(x, torch.tensor(1.0)) - x).abs().flatten(1).max(1).values > 1e-3
    assert changed.all()


def test_resampling_with_a_translation_by_whole_pixels_shifts_the_image():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    one_pixel = torch.tensor([[[1.0, 0, 2 / 4], [0, 1, 0], [0, 0, 1]]])  # output x reads input x + 1 pixel
    y = resample(x, one_pixel)
    assert torch.equal(y[0, 0, :, :3], x[0, 0, :, 1:])
    assert torch.equal(y[0, 0, :, 3], x[0, 0, :, 3])  # mirrored about the outer edge: the edge pixel again


def test_grey_images_and_double_backward():
    x = torch.rand(4, 1, 12, 12, requires_grad=True)
    y = augment(x, torch.tensor(0.7))
    (grad,) = torch.autograd.grad(y.square().sum(), x, create_graph=True)
    grad.sum().backward()
    assert y.shape == x.shape and x.grad is not None


SMALL_ADA = [
    "data.max_items=128",
    "train.batch_size=16",
    "train.epochs=3",
    "model.g_width=8",
    "model.d_width=8",
    "augment.name=ada",
    "augment.interval=2",
    "augment.speed_images=800",  # p moves 0.04 per adjustment: far enough to show in a few steps
    "loss.penalties.r1={weight: 0.1, every: 4}",
    "log.every=2",
    "log.checkpoint_steps=5",
]


def test_ada_trains_logs_and_resumes_bit_for_bit(tmp_path, monkeypatch):
    from gankit.training.trainer import Trainer

    reference = train(load_config(overrides=SMALL_ADA), out=tmp_path / "a", quiet=True)
    records = [json.loads(line) for line in (reference / "metrics.jsonl").read_text().splitlines()]
    assert all("ada_p" in r and "ada_rt" in r for r in records) and records[-1]["ada_p"] > 0
    original = Trainer.train_step

    def stop_at_step_13(self, *args):
        original(self, *args)
        if self.step == 12:
            self.stop_requested = True

    monkeypatch.setattr(Trainer, "train_step", stop_at_step_13)
    run = train(load_config(overrides=SMALL_ADA), out=tmp_path / "b", quiet=True)
    monkeypatch.setattr(Trainer, "train_step", original)
    resume(run, quiet=True)
    meta_a, a = load_checkpoint(reference / "checkpoints" / "final.json")
    meta_b, b = load_checkpoint(run / "checkpoints" / "final.json")
    assert a.keys() == b.keys() and "augment.p" in a
    assert not [k for k in a if not torch.equal(a[k], b[k])]
    assert meta_a == meta_b
