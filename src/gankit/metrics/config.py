"""The `eval` section of a run config: evaluation during training, with a registered feature extractor."""

from __future__ import annotations

from dataclasses import dataclass

from gankit.metrics.extractors import extractor_name
from gankit.metrics.names import metric_names
from gankit.typecheck import positive


@dataclass
class EvalConfig:
    every: int | None = None  # epochs between evaluations (FID etc., into metrics.jsonl); None: off
    n: int = 2000  # generated samples per evaluation (and at most this many real ones)
    extractor: str = "lenet-mnist"  # feature extractor: `gankit extractors`, or an evaluator's .json

    def __post_init__(self) -> None:
        positive("eval.every", self.every)
        positive("eval.n", self.n)
        extractor_name(self.extractor)  # a registered name or an evaluator's .json

    def metric_names(self, conditional: bool = True) -> list[str]:
        return metric_names(self.n, extractor_name(self.extractor), conditional) if self.every else []
