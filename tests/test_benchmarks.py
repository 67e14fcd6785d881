"""The speed benchmark runs end to end (a smoke test: timings are never asserted in tests)."""

import pytest
from benchmarks import speed


def test_speed_benchmark_prints_a_row_per_cell(capsys):
    assert speed.main(["--steps", "2", "--repeats", "1", "--batches", "8", "--presets", "mnist-vanilla"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| mnist-vanilla")]
    assert len(rows) == 1 and rows[0].endswith("x |")


def test_reference_loop_trains_the_same_networks():
    # Both loops must see the preset's shapes: a wrong shape would fail inside the networks.
    for preset in speed.PRESETS:
        assert speed.reference_rate(preset, 8, steps=1, warmup=1) > 0


@pytest.mark.parametrize("preset", list(speed.PRESETS))
def test_gankit_loop_runs_each_preset(preset):
    assert speed.gankit_rate(preset, 8, steps=1, warmup=1) > 0
