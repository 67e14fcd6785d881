"""Kill fuzz: runs killed (SIGKILL) or stopped (SIGTERM) at many instants (inside steps, at epoch ends, inside
checkpoint, grid, plot and record writes), each resumed, end equal to an uninterrupted run: every tensor and
JSON value of every step checkpoint both kept, of `best` and `final`, and every record of metrics.jsonl.

tests/runs/kill_worker.py makes the runs (see its docstring for the instants). One run takes a chain of about
ten instants, resuming after each; every step checkpoint is compared, so a failure names the first step that
differs and the instants before it.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gankit.runs.checkpoint import load_checkpoint

WORKER = Path(__file__).with_name("kill_worker.py")

EVERY_WRITE = ["log.checkpoint_steps=3", "log.keep_checkpoints=100", "log.every=3", "log.best_metric=loss_g"]

# The exact-resume config of tests/test_resume.py (BatchNorm, EMA, dropout, instance noise, lazy R1, a linear
# lr schedule, bf16): 8 steps an epoch, 4 epochs, checkpoints every 3 steps, so some epochs end between two.
DCGAN = [
    "data.max_items=256",
    "train.batch_size=32",
    "train.epochs=4",
    "optim.ema_decay=0.9",
    "optim.lr_schedule=linear",
    "model.d_dropout=0.2",
    "loss.instance_noise=0.05",
    "loss.penalties.r1={weight: 0.1, every: 3}",
    "train.precision=bf16",
    "eval.every=1",  # an epoch's end adds a record: run again after a kill, it must not add it twice
    "eval.n=100",
]
# A conditional preset with EMA of G, as shipped but small.
CGAN = ["data.max_items=192", "train.batch_size=32", "train.epochs=4", "model.g_hidden=[64]", "model.d_hidden=[64]"]
# StyleGAN2 with lazy R1, path length (its running mean), ADA (p and its sign sum), style mixing and w_avg.
STYLEGAN2 = [
    "data.max_items=128",
    "data.resolution=16",
    "train.batch_size=16",
    "train.epochs=3",
    "model.channel_base=128",
    "model.channel_max=16",
    "loss.penalties={r1: {weight: 10, every: 4}, pl: {weight: 2, every: 2}}",
    "augment.name=ada",
    "augment.interval=2",
    "augment.speed_images=800",
]

KINDS = ["kill-before", "kill-after", "kill-step", "term-step", "term-write"]


def _chains(seed: int, count: int, length: int) -> list[list[list]]:
    """Random instants: renames 1-9 (a resumed process first rewrites metrics.jsonl, then every 3 steps writes a
    checkpoint's two files, at epoch ends a grid and at times a plot or `best`), steps 1-5."""
    rng = random.Random(seed)
    chains = []
    for _ in range(count):
        chain = []
        for _ in range(length):
            kind = rng.choice(KINDS)
            low = 2 if not chain and not kind.endswith("step") else 1  # config.yaml is the first process's first rename
            chain.append([kind, rng.randint(1, 5) if kind.endswith("step") else rng.randint(low, 9)])
        chains.append(chain)
    return chains


def _metrics(run: Path) -> list[dict]:
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "images_per_s"} for r in records]  # wall-clock rate aside


def _differences(a: Path, b: Path) -> list[str]:
    meta_a, ta = load_checkpoint(a)
    meta_b, tb = load_checkpoint(b)
    if ta.keys() != tb.keys():
        return [f"tensor names {sorted(ta.keys() ^ tb.keys())[:3]}"]
    found = [k for k in ta if not torch.equal(ta[k], tb[k])]
    found += [f"record {k}" for k in meta_a.keys() | meta_b.keys() if meta_a.get(k) != meta_b.get(k)]
    return found


def _stopped_before_the_end(reference: Path, run: Path) -> bool:
    """A stop at an epoch's last step checkpoints before that epoch's end (grid, evaluation), where the
    uninterrupted run checkpoints after it: the same weights and state, one epoch end and its records fewer."""
    ours, theirs = json.loads(run.read_text()), json.loads(reference.read_text())
    return ours["ended_epoch"] == theirs["ended_epoch"] - 1 and ours["log_records"] <= theirs["log_records"]


def _first_difference(reference: Path, run: Path) -> str | None:
    """Where `run` departs from `reference`: the first step checkpoint of the reference's that `run` lacks or holds
    otherwise, else best/final, else metrics.jsonl, else a torn file; None if nowhere. (A stop by SIGTERM adds a
    step checkpoint of its own, which the reference has not.)"""
    names = sorted(p.name for p in (reference / "checkpoints").glob("step_*.json"))
    for name in [*names, "best.json", "final.json"]:
        if not (run / "checkpoints" / name).is_file():
            return f"{name} is missing"
        if found := _differences(reference / "checkpoints" / name, run / "checkpoints" / name):
            if set(found) <= {"record ended_epoch", "record log_records"} and _stopped_before_the_end(
                reference / "checkpoints" / name, run / "checkpoints" / name
            ):
                continue
            return f"{name}: {found[:4]}"
    if _metrics(reference) != _metrics(run):
        return "metrics.jsonl"
    if torn := sorted(p.name for p in run.rglob(".*.tmp")):
        return f"torn files left behind: {torn}"
    return None


def _fuzz(tmp_path: Path, preset: str | None, overrides: list[str], chains: list[list[list]]) -> int:
    """Run the reference and the chains; assert each chain's run equals the reference; the instants that fired."""
    spec = {"out": str(tmp_path), "preset": preset, "overrides": overrides, "chains": [[], *chains]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    done = subprocess.run(
        [sys.executable, str(WORKER), str(tmp_path / "spec.json")], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    reference, *runs = json.loads(done.stdout.splitlines()[-1])
    assert [o["outcome"] for o in reference["outcomes"]] == ["exit 0"], done.stderr[-3000:]
    fired = 0
    for chain in runs:
        outcomes = chain["outcomes"]
        told = "\n".join(
            f"  {o['instant']}: {o['outcome']}{'' if o.get('fired') else ' (not reached)'}, newest step checkpoint "
            f"{o.get('newest_step')}"
            for o in outcomes
        )
        assert Path(chain["run"], "checkpoints", "final.json").is_file(), (
            f"not finished:\n{told}\n{done.stderr[-3000:]}"
        )
        for o in outcomes:
            if o["instant"] is None or not o.get("fired"):
                assert o["outcome"] in ("exit 0", "finished before it"), f"{o}\n{told}\n{done.stderr[-3000:]}"
                continue
            # SIGTERM at a step is caught: a checkpoint, exit 0. Inside a write it may land where no handler is
            # installed (restoring, the final checkpoint) and end the process, which must be as harmless.
            kind = o["instant"][0]
            allowed = {"kill": ["SIGKILL"], "term": ["exit 0", "SIGTERM"] if kind == "term-write" else ["exit 0"]}
            assert o["outcome"] in allowed[kind.split("-")[0]], f"{o}\n{told}\n{done.stderr[-3000:]}"
            fired += 1
        where = _first_difference(Path(reference["run"]), Path(chain["run"]))
        assert where is None, f"{chain['run']} differs from the uninterrupted run at {where}; its instants:\n{told}"
    print(f"{fired} instants fired in {len(runs)} runs")
    return fired


@pytest.mark.slow
def test_dcgan_killed_anywhere_resumes_to_the_same_run(tmp_path):
    fired = _fuzz(tmp_path, None, DCGAN + EVERY_WRITE, _chains(seed=0, count=2, length=14))
    assert fired >= 26


@pytest.mark.slow
def test_conditional_preset_with_ema_killed_anywhere_resumes_to_the_same_run(tmp_path):
    fired = _fuzz(tmp_path, "mnist-cgan", CGAN + EVERY_WRITE, _chains(seed=1, count=1, length=12))
    assert fired >= 10


@pytest.mark.slow
def test_stylegan2_with_ada_killed_anywhere_resumes_to_the_same_run(tmp_path):
    fired = _fuzz(tmp_path, "mnist-stylegan2", STYLEGAN2 + EVERY_WRITE, _chains(seed=2, count=1, length=14))
    assert fired >= 10
