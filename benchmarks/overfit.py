"""Does D memorise a small training set? For each kept checkpoint of a run, D's mean logit on the run's own
training items, on real items it never saw and on its generator's samples (the diagnostic of Karras et al. 2020,
"Training GANs with limited data", fig. 1b): when the first two part, D has learnt the training items, not the
digits, and its verdicts stop teaching G. Beside it, ADA's p and r_t from the run's metrics.jsonl.

    python -m benchmarks.overfit RUN [RUN ...] --n 500 --out docs/quality/overfit.png

Each checkpoint's live G and D (not the EMA: D trains against the live G), D in eval mode, the same `--n` items
and latents at every checkpoint. One JSON line per checkpoint on stdout; the figure has one panel per run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from gankit.audit import training_sets  # noqa: E402
from gankit.data import to_model_range  # noqa: E402
from gankit.models import ModelSpec  # noqa: E402
from gankit.report.view import read_run  # noqa: E402
from gankit.runs.checkpoint import load_checkpoint, module_state  # noqa: E402
from gankit.runs.run_dir import RunDir  # noqa: E402
from gankit.sample import LoadedRun, generate  # noqa: E402
from gankit.viz.curves import save_figure  # noqa: E402


def pick(x: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    keep = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
    return to_model_range(x[keep])


@torch.no_grad()
def mean_logit(D: torch.nn.Module, x: torch.Tensor, batch: int = 250) -> float:
    return torch.cat([D(part, None).flatten().float() for part in x.split(batch)]).mean().item()


def trajectory(run: RunDir, n: int, seed: int) -> list[dict[str, float]]:
    train_set, held, _ = training_sets(run.path, None, seed)
    if held is None:
        raise SystemExit(f"{run}: no real items outside its training set to compare with")
    seen, unseen = pick(train_set.x, n, seed), pick(held, n, seed)
    rows = []
    for record in [*run.step_checkpoints(), *([run.checkpoint("final")] if run.finished else [])]:
        meta, tensors = load_checkpoint(record)
        G, D = ModelSpec.from_dict(meta["model"]).build()
        if G.num_classes:
            raise SystemExit(f"{run}: a conditional run; this diagnostic takes unconditional ones")
        G.load_state_dict(module_state(tensors, "G"))
        D.load_state_dict(module_state(tensors, "D"))
        fakes = generate(LoadedRun(run.path, G.eval(), meta, record), n, seed)
        D.eval()
        rows.append(
            {
                "run": run.path.name,
                "step": meta["step"],
                "train": mean_logit(D, seen),
                "held_out": mean_logit(D, unseen),
                "fake": mean_logit(D, fakes),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def ada_readouts(run: RunDir) -> list[dict[str, float]]:
    return [r for r in read_run(run.path).records if "ada_p" in r]  # the report's reader: a torn last line skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--n", type=int, default=500, help="items of each kind per checkpoint")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="the figure (.png)")
    args = parser.parse_args(argv)
    runs = [RunDir.open(r) for r in args.runs]
    fig, axes = plt.subplots(2, len(runs), figsize=(4 * len(runs), 6), squeeze=False, sharex="col")
    for col, run in enumerate(runs):
        rows = trajectory(run, args.n, args.seed)
        steps = [r["step"] for r in rows]
        top = axes[0, col]
        for key, style in (("train", "-"), ("held_out", "--"), ("fake", ":")):
            top.plot(steps, [r[key] for r in rows], style, label=key.replace("_", "-"))
        top.set_title(run.path.name, fontsize=9)
        top.set_ylabel("mean D logit")
        top.legend(fontsize=8)
        bottom = axes[1, col]
        ada = ada_readouts(run)
        if ada:
            bottom.plot([r["step"] for r in ada], [r["ada_p"] for r in ada], label="p")
            bottom.plot([r["step"] for r in ada], [r["ada_rt"] for r in ada], label="r_t")
            bottom.legend(fontsize=8)
        else:
            bottom.text(0.5, 0.5, "no ADA", ha="center", va="center", transform=bottom.transAxes)
        bottom.set_xlabel("step")
    save_figure(fig, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
