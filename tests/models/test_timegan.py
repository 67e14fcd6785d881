"""TimeGAN: its five networks, its three stages as phases of the loop (each stage moves only the networks it
trains), exact resume in the joint stage, and the configs it refuses."""

from __future__ import annotations

import json

import pytest
import torch

from gankit import ConfigError, build_models, load_config, resume, train
from gankit.runs.checkpoint import load_checkpoint, module_state
from gankit.training.trainer import Trainer

# 512 series of 5 x 24 in batches of 64: 8 steps an epoch; stages of 40 and 16 steps, then 40 joint steps.
SHORT = [
    "data.n=512",
    "train.batch_size=64",
    "train.epochs=12",
    "model.hidden=8",
    "model.layers=2",
    "model.embedding_share=0.4167",  # 40 of 96 steps
    "model.supervised_share=0.1667",  # 16
    "log.every=4",
    "log.checkpoint_every=1",
    "log.keep_checkpoints=12",
]


def test_shapes_and_ranges():
    G, D = build_models("timegan", (5, 24), z_dim=120, hidden=8, layers=2)
    x = G(torch.randn(3, 120))
    assert x.shape == (3, 5, 24) and x.abs().max() <= 1
    h = G.embed(x)
    assert h.shape == (3, 24, 8) and h.min() >= 0 and h.max() <= 1
    assert G.recover(h).shape == (3, 5, 24)
    assert D.score_latents(h).shape == (3, 24)
    assert torch.allclose(D(x), D.score_latents(G.embed(x)).mean(1))  # as every family's D: a logit a series
    assert not any(name.startswith("_embedder") for name, _ in D.named_parameters())  # G's, saved with G


def test_the_generator_draws_timegans_uniform_noise_from_gaussian_latents():
    G, _ = build_models("timegan", (5, 24), z_dim=120, hidden=8, layers=2)
    z = torch.randn(4000, 120, generator=torch.Generator().manual_seed(0))
    u = G.noise_sequence(z)  # [N, L, noise per step]
    assert u.shape == (4000, 24, 5) and u.min() > 0 and u.max() < 1
    assert abs(u.mean().item() - 0.5) < 0.01 and abs(u.var().item() - 1 / 12) < 0.002  # U(0, 1): 1/2 and 1/12
    order = z.argsort(1)
    assert (u.view(4000, 120).gather(1, order).diff(dim=1) >= 0).all()  # a monotone map of each value


def test_refuses_what_it_cannot_model():
    with pytest.raises(ConfigError, match="multiple of the series length 24"):
        build_models("timegan", (5, 24), z_dim=100)
    with pytest.raises(ConfigError, match="series"):
        build_models("timegan", (1, 28, 28), z_dim=28)
    with pytest.raises(ConfigError, match="own losses"):
        train(load_config("sines-timegan", overrides=[*SHORT, "loss.penalties.r1={weight: 1}"]), out="unused")
    with pytest.raises(ConfigError, match="keep their sum below 1"):
        build_models("timegan", (5, 24), z_dim=120, embedding_share=0.5, supervised_share=0.5)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train(load_config("sines-timegan", overrides=SHORT), out=tmp_path_factory.mktemp("timegan"), quiet=True)


def _weights(run, name: str) -> dict[str, dict[str, torch.Tensor]]:
    _, tensors = load_checkpoint(run / "checkpoints" / f"{name}.json")
    g = module_state(tensors, "G")
    parts = {
        p: {k: v for k, v in g.items() if k.startswith(p + ".")}
        for p in ("embedder", "recovery", "generator", "supervisor")
    }
    return {**parts, "discriminator": module_state(tensors, "D")}


def _moved(a: dict, b: dict) -> set[str]:
    return {part for part in a if any(not torch.equal(a[part][k], b[part][k]) for k in a[part])}


def test_each_stage_trains_only_its_networks(run):
    start, stage1, stage2, end = (
        _weights(run, name) for name in ("step_00000008", "step_00000040", "step_00000056", "final")
    )
    assert _moved(start, stage1) == {"embedder", "recovery"}
    assert _moved(stage1, stage2) == {"supervisor"}
    assert _moved(stage2, end) == {"embedder", "recovery", "generator", "supervisor", "discriminator"}
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [sorted(k for k in r if k.startswith("loss_")) for r in records]
    assert losses == [["loss_embed"]] * 10 + [["loss_supervise"]] * 4 + [["loss_d", "loss_e", "loss_g"]] * 10
    recon = [r["reconstruction"] for r in records[:10]]
    # Each learns in its stage (measured: 0.46 -> 0.39 and 0.0127 -> 0.0096); an untrained one stays within the
    # spread of its batches, a few percent.
    assert sum(recon[-2:]) < 0.92 * sum(recon[:2])
    supervised = [r["supervised"] for r in records[10:14]]
    assert supervised[-1] < 0.85 * supervised[0]


def test_each_stage_steps_its_own_optimiser(run):
    """As TimeGAN's code: the joint stage starts G and the autoencoder on fresh Adam moments, not on those of the
    supervised and embedding stages, whose losses are orders of magnitude smaller."""

    def steps(name: str) -> dict[str, int]:
        _, tensors = load_checkpoint(run / "checkpoints" / f"{name}.json")
        counts = {k.split(".")[0]: int(v) for k, v in tensors.items() if k.startswith("opt_") and k.endswith(".step")}
        return counts

    assert steps("step_00000056") == {"opt_e0": 40, "opt_gs": 16}  # the joint stage's optimisers not yet used
    assert steps("final") == {"opt_e0": 40, "opt_gs": 16, "opt_g": 40, "opt_ae": 40, "opt_d": 20}


def test_a_stop_in_the_joint_stage_resumes_exactly(run, tmp_path, monkeypatch):
    original = Trainer.train_step

    def stop_at_step_71(self, *args):
        original(self, *args)
        if self.step == 70:
            self.stop_requested = True

    monkeypatch.setattr(Trainer, "train_step", stop_at_step_71)
    stopped = train(load_config("sines-timegan", overrides=SHORT), out=tmp_path, quiet=True)
    monkeypatch.setattr(Trainer, "train_step", original)
    resume(stopped, quiet=True)
    meta_a, a = load_checkpoint(run / "checkpoints" / "final.json")
    meta_b, b = load_checkpoint(stopped / "checkpoints" / "final.json")
    assert a.keys() == b.keys() and not [k for k in a if not torch.equal(a[k], b[k])]
    assert meta_a == meta_b


def test_the_latent_probe_judges_a_run_on_its_own_series(run):
    from benchmarks.timegan_latents import probe

    from gankit.data.signals import sines

    out = probe(str(run), steps=20)
    accuracies = {k: v for k, v in out.items() if "accuracy" in k}
    assert len(accuracies) == 4 and all(0 <= v <= 1 for v in accuracies.values())
    real = sines(root=None, split="train", resolution=None, n=512).x  # the run's data.n
    assert out["series_step_change_real"] == pytest.approx(real.diff(dim=2).abs().mean().item())
    assert all(out[k] > 0 for k in out if "step_change" in k)
