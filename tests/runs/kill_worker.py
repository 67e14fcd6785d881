"""Run by tests/runs/test_kill_fuzz.py: `python kill_worker.py SPEC.json`; prints one JSON line of outcomes.

SPEC: {"out": folder, "preset": name or null, "overrides": [...], "chains": [[[kind, k], ...], ...]}.
Each chain is one run: a process trains it until the chain's first instant, the next process resumes it until
the second, and so on; a last process resumes it to the end. The first chain is usually empty: the uninterrupted
reference, made the same way. Instants, counted from the start of each process:
  kill-before K   SIGKILL before the process's K-th file rename (a checkpoint, grid, plot or record whole on
                  disk under its temporary name, not yet in place)
  kill-after K    SIGKILL right after the K-th rename (e.g. a checkpoint's tensors in place, its record not)
  kill-step K     SIGKILL as the process's K-th training step begins
  term-step K     SIGTERM as the K-th step begins: the run should checkpoint and exit 0
  term-write K    SIGTERM before the K-th rename, i.e. inside a write
A first process killed before its config.yaml is in place leaves a folder that cannot be resumed (and no
training lost): chains do not start so. Each process is forked from this one, which imports gankit and touches no tensor (so no OpenMP pool is
forked), and ends as a real killed process would: no finally blocks, no flushing.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from pathlib import Path

from gankit import load_config, resume, train
from gankit.runs.run_dir import RunDir
from gankit.training.trainer import Trainer

SIGNALS = {"kill": signal.SIGKILL, "term": signal.SIGTERM}


def _arm(kind: str, k: int, mark: Path) -> None:
    """In the child: send the instant's signal to itself at its K-th rename or step, leaving file MARK first."""
    action, where = kind.split("-")
    signum = SIGNALS[action]
    count = [0]

    def hit() -> bool:
        count[0] += 1
        if count[0] == k:
            mark.touch()
        return count[0] == k

    if where in ("before", "after", "write"):
        rename = os.replace

        def replace(src, dst):
            fire = hit()
            if fire and where != "after":
                os.kill(os.getpid(), signum)
            rename(src, dst)
            if fire and where == "after":
                os.kill(os.getpid(), signum)

        os.replace = replace
    else:
        step = Trainer.train_step

        def train_step(self, *args):
            if hit():
                os.kill(os.getpid(), signum)
            step(self, *args)

        Trainer.train_step = train_step


def _child(spec: dict, run: Path | None, instant: list | None) -> None:
    try:
        if instant is not None:
            _arm(*instant, Path(spec["out"], "fired"))
        if run is None:
            train(load_config(spec.get("preset"), overrides=spec["overrides"]), out=spec["out"], quiet=True)
        else:
            resume(run, quiet=True)
        code = 0
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _process(spec: dict, run: Path | None, instant: list | None) -> tuple[str, bool]:
    """How the process ended (a signal's name, or exit N), and whether its instant came."""
    pid = os.fork()
    if pid == 0:
        _child(spec, run, instant)
    _, status = os.waitpid(pid, 0)
    mark = Path(spec["out"], "fired")
    fired = mark.is_file()
    mark.unlink(missing_ok=True)
    if os.WIFSIGNALED(status):
        return signal.Signals(os.WTERMSIG(status)).name, fired
    return f"exit {os.WEXITSTATUS(status)}", fired


def _newest_step(run: Path | None) -> int | None:
    if run is None or not run.is_dir():
        return None
    steps = RunDir(run).step_checkpoints()
    return int(steps[-1].stem.split("_")[1]) if steps else None


def main(spec_file: str) -> None:
    spec = json.loads(Path(spec_file).read_text())
    chains = []
    for number, chain in enumerate(spec["chains"]):
        out = Path(spec["out"]) / f"chain_{number:03d}"
        out.mkdir(parents=True)
        run: Path | None = None
        outcomes = []
        for instant in [*chain, None]:
            if run is not None and RunDir(run).finished:
                outcomes.append({"instant": instant, "outcome": "finished before it"})
                continue
            outcome, fired = _process({**spec, "out": str(out)}, run, instant)
            if run is None:
                made = [p for p in out.iterdir() if p.is_dir()]
                run = made[0] if made else None
            outcomes.append({"instant": instant, "outcome": outcome, "fired": fired, "newest_step": _newest_step(run)})
            if run is None:
                break  # killed before it made its folder: nothing to resume
        chains.append({"run": str(run) if run else None, "outcomes": outcomes})
    print(json.dumps(chains))


if __name__ == "__main__":
    main(sys.argv[1])
