"""What a report shows of one run folder, read once: config, grids, records, evaluation, checkpoints.

Nothing here trusts the folder: a torn last line of metrics.jsonl, a missing tensor file or a checkpoint
whose hash does not match is shown as such, not raised, since a report is how one looks at a broken run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gankit.runs.checkpoint import sha256_of
from gankit.runs.run_dir import RunDir


@dataclass(frozen=True)
class CheckpointView:
    name: str
    step: int | None
    epoch: int | None
    size: int | None  # bytes of NAME.safetensors; None when it is missing
    sha256: str  # as recorded in NAME.json
    verified: bool  # the tensor file hashes to the recorded value


@dataclass(frozen=True)
class RunView:
    path: Path
    config_text: str
    config: dict[str, Any]  # flattened: "optim.lr_g" -> 0.0002
    grids: list[tuple[int, Path]]  # (epoch, PNG), oldest first
    records: list[dict[str, Any]]
    skipped_lines: int  # lines of metrics.jsonl that were not JSON records (a write cut by a kill)
    evaluation: dict[str, Any] | None
    checkpoints: list[CheckpointView]
    audit: dict[str, Any] | None = None  # audit.json of `gankit audit`
    audit_pairs: Path | None = None  # its audit.png

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def finished(self) -> bool:
        return any(c.name == "final" for c in self.checkpoints)

    @property
    def last_step(self) -> int:
        steps = [c.step for c in self.checkpoints if c.step is not None] + [r["step"] for r in self.records]
        return max(steps, default=0)

    @property
    def status(self) -> str:
        if self.finished:
            return f"finished at step {self.last_step}"
        if self.checkpoints:
            return f"stopped; newest checkpoint at step {max(c.step or 0 for c in self.checkpoints)}"
        return "no checkpoint yet"

    def final_metrics(self) -> dict[str, Any]:
        """The newest readout, the newest in-training evaluation and eval.json's metrics, by name."""
        out: dict[str, Any] = {}
        for record in self.records:  # later records overwrite earlier ones
            out.update({k: v for k, v in record.items() if k not in ("step", "epoch")})
        if self.evaluation:
            out.update(self.evaluation.get("metrics", {}))
        return out


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys; lists and scalars are leaves."""
    if not isinstance(tree, dict) or not tree:
        return {prefix: tree} if prefix else {}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _records(path: Path) -> tuple[list[dict], int]:
    if not path.is_file():
        return [], 0
    records, skipped = [], 0
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            skipped += 1
            continue
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            records.append(record)
        elif line.strip():
            skipped += 1
    return records, skipped


def _checkpoint(record: Path) -> CheckpointView:
    try:
        meta = json.loads(record.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        meta = {}
    if not isinstance(meta, dict):
        meta = {}
    tensors = record.with_suffix(".safetensors")
    recorded = str(meta.get("sha256", ""))
    size = tensors.stat().st_size if tensors.is_file() else None
    verified = size is not None and sha256_of(tensors) == recorded
    step, epoch = meta.get("step"), meta.get("epoch")
    return CheckpointView(
        record.stem,
        step if isinstance(step, int) else None,
        epoch if isinstance(epoch, int) else None,
        size,
        recorded,
        verified,
    )


def read_run(path: str | Path) -> RunView:
    """A run folder as the report shows it; a folder without config.yaml is refused (RunError)."""
    run = RunDir.open(path)
    config_text = run.config.read_text(errors="replace")
    try:
        config = flatten(yaml.safe_load(config_text) or {})
    except yaml.YAMLError:
        config = {}
    grids = run.grids()
    records, skipped = _records(run.metrics)
    evaluation = None
    if run.eval_report.is_file():
        try:
            evaluation = json.loads(run.eval_report.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            evaluation = {"metrics": {}, "error": "eval.json is not valid JSON"}
    audit = _json_or_none(run.path / "audit.json")
    order = {"final": 0, "best": 1}
    records_of_checkpoints = sorted(run.checkpoints.glob("*.json"), key=lambda p: (order.get(p.stem, 2), p.stem))
    return RunView(
        run.path,
        config_text,
        config,
        grids,
        records,
        skipped,
        evaluation if isinstance(evaluation, dict) else None,
        [_checkpoint(p) for p in records_of_checkpoints],
        audit,
        run.path / "audit.png" if audit and (run.path / "audit.png").is_file() else None,
    )


def _json_or_none(path: Path) -> dict[str, Any] | None:
    """A JSON object from a file, or None when it is missing or not one (shown as absent, never raised)."""
    try:
        value = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None
