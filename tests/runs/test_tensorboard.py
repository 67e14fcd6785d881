"""log.tensorboard: the same records and grids as the run folder, as TensorBoard events; a clear line without it."""

import json
import sys

import pytest

from gankit import load_config, train

OVERRIDES = ["data.max_items=256", "train.batch_size=32", "train.epochs=3", "log.every=4", "log.tensorboard=true"]


def _events(run):
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    events = accumulator.EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    return events.Reload()


def test_tensorboard_holds_the_records_and_grids(tmp_path):
    pytest.importorskip("tensorboard")
    run = train(load_config(overrides=OVERRIDES), out=tmp_path, quiet=True)
    events = _events(run)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    for key in ("loss_d", "loss_g", "d_real", "lr_g"):
        scalars = events.Scalars(key)
        assert [s.step for s in scalars] == [r["step"] for r in records]
        assert [s.value for s in scalars] == pytest.approx([r[key] for r in records], rel=1e-6)
    images = events.Images("samples")
    assert len(images) == len(list((run / "samples").glob("*.png"))) == 3
    assert [i.step for i in images] == [8, 16, 24]
    assert images[0].width > 0 and images[0].height > 0


def test_without_the_package_the_run_goes_on_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as if not installed
    run = train(load_config(overrides=OVERRIDES), out=tmp_path, quiet=True)
    assert (run / "checkpoints" / "final.json").is_file()
    assert not (run / "tensorboard").exists()
    lines = [line for line in capsys.readouterr().err.splitlines() if "tensorboard" in line]
    assert lines == ["gankit: log.tensorboard is on but the tensorboard package is not installed "
                     "(pip install tensorboard); going on without it"]  # fmt: skip
