"""Real short runs for the report tests: a trained run with grids, readouts, evaluations, eval.json and
checkpoints, and a second one that differs in two fields; plus a run folder whose strings are HTML."""

import json
import shutil

import pytest
import yaml

from gankit import evaluate, load_config, train

SHORT = [
    "data.max_items=256",
    "train.batch_size=32",
    "train.epochs=3",
    "log.every=4",
    "eval.every=1",
    "eval.n=100",
]


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    first = train(load_config(overrides=SHORT), out=out, quiet=True)
    evaluate(first, n=200)
    second = train(load_config(overrides=[*SHORT, "optim.lr_g=0.0005", "train.seed=7"]), out=out, quiet=True)
    return first, second


# Each one would run script if it reached the page as markup; window.pwned records it.
PAYLOADS = {
    "folder": "<img src=x onerror=window.pwned=1>",
    "description": "</pre><script>window.pwned=2</script>",
    "record": "<svg onload=window.pwned=3>",
    "metric": "<script>window.pwned=4</script>",
}


@pytest.fixture(scope="session")
def hostile_run(runs, tmp_path_factory):
    """A copy of a real run under a name that is markup, with markup in its config, records and eval.json."""
    run = tmp_path_factory.mktemp("hostile") / PAYLOADS["folder"]
    shutil.copytree(runs[0], run)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["description"] = PAYLOADS["description"]
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    with open(run / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"step": 24, "epoch": 3, "loss_d": 0.5, PAYLOADS["record"]: 1.0}) + "\n")
    report = json.loads((run / "eval.json").read_text())
    report["metrics"][PAYLOADS["metric"]] = 0.5
    report["reference"] = PAYLOADS["description"]
    (run / "eval.json").write_text(json.dumps(report))
    return run
