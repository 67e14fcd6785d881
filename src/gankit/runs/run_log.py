"""metrics.jsonl: one JSON record per readout or evaluation, and which record is the best so far."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from gankit.runs.files import atomic_write_text


class RunLog:
    """The run's records in memory and on disk (only the writing process writes, `writes=True`).

    With `best_metric`, a record that improves on it (lower or higher, by `best_mode`) is reported by
    `append`, and the caller keeps a `best` checkpoint of that moment.
    """

    def __init__(
        self, path: Path, writes: bool, best_metric: str | None, best_mode: Literal["min", "max"] = "min"
    ) -> None:
        self.path, self.writes = path, writes
        self.best_metric, self.best_mode = best_metric, best_mode
        self.records: list[dict[str, Any]] = []
        self.best_value: float | None = None

    def append(self, record: dict[str, Any]) -> bool:
        """Add a record; True when it improves on the best metric (judged by the writing process only)."""
        self.records.append(record)
        if not self.writes:
            return False
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        value = record.get(self.best_metric) if self.best_metric else None
        if value is None:
            return False
        if self.best_value is not None and (value < self.best_value) != (self.best_mode == "min"):
            return False
        self.best_value = value
        return True

    def state(self) -> tuple[dict, dict[str, Any]]:
        return {}, {"best_value": self.best_value, "log_records": len(self.records)}

    def load_state(self, tensors: dict, meta: dict[str, Any]) -> None:
        """Back to a checkpoint: its best value, and only the records written before it (the file is rewritten).

        By count, not by step: an epoch's end (grid, evaluation) may run after a checkpoint of its last step,
        and a resume from that checkpoint runs it again, which must not add its records twice."""
        self.best_value = meta.get("best_value")
        if not self.writes:
            self.records = []
            return
        lines = [line for line in self.path.read_text().splitlines() if line.strip()] if self.path.is_file() else []
        if "log_records" in meta:  # what came after (a line torn by a power cut among it) is dropped unread
            self.records = [json.loads(line) for line in lines[: meta["log_records"]]]
        else:  # checkpoints written before the count was kept
            self.records = [r for r in map(json.loads, lines) if r["step"] <= meta["step"]]
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in self.records))
