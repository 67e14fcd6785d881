"""A study's finished units kept on disk as each ends, so that an interrupted study loses at most the unit it was in.

    OUT/study.json         what was asked (data, source, budgets, fractions, ratios, seeds, classifier steps)
    OUT/units/TAG.json     the scores of one finished unit, e.g. fraction0.1-seed2 or rare-seed0

A unit is a (fraction, seed) of the balanced study or a seed of the rare-class one: its subset, its synthetic
samples and its classifiers depend only on what study.json records, so a resumed study computes the same table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gankit.errors import ConfigError
from gankit.runs.files import atomic_write_text

STUDY, UNITS = "study.json", "units"


class Units:
    """The finished units of the study in `out`: opened fresh (an empty folder), or with `resume` to continue one."""

    def __init__(self, out: Path, asked: dict[str, Any], resume: bool):
        self.out = out
        asked = json.loads(json.dumps(asked))  # tuples become lists, as they come back from the file
        if out.exists() and any(out.iterdir()):
            if not resume:
                raise ConfigError(
                    f"{out} is not empty", "choose another --out, or add --resume to continue the study stopped there"
                )
            self._check(asked)
        elif resume:
            raise ConfigError(f"--resume: {out} holds no study", "leave out --resume to start one there")
        else:
            (out / UNITS).mkdir(parents=True, exist_ok=True)
            atomic_write_text(out / STUDY, json.dumps(asked, indent=1))

    def _check(self, asked: dict[str, Any]) -> None:
        try:
            stopped = json.loads((self.out / STUDY).read_text())
        except (OSError, ValueError):
            raise ConfigError(
                f"--resume: {self.out} has no readable {STUDY}, so it is not a study gankit can continue",
                "choose another --out",
            ) from None
        if (self.out / "utility.json").exists():
            raise ConfigError(f"--resume: the study in {self.out} has finished (utility.json)", "choose another --out")
        for key in sorted(set(stopped) | set(asked)):
            if stopped.get(key) != asked.get(key):
                raise ConfigError(
                    f"--resume: the study in {self.out} was run with {key} = {stopped.get(key)!r}, not {asked.get(key)!r}",
                    "give the options it was started with",
                )
        (self.out / UNITS).mkdir(exist_ok=True)

    def scores(self, tag: str, run: Callable[[], Any]) -> Any:
        """The scores of unit `tag`: as kept if it finished, else run() now and kept as it returns."""
        path = self.out / UNITS / f"{tag}.json"
        if path.is_file():
            return json.loads(path.read_text())
        scores = run()
        atomic_write_text(path, json.dumps(scores, indent=1))
        return scores
