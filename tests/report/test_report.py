"""`gankit report` without a browser: what the page holds, that it is self-contained, and that run strings
are text. tests/report/test_browser.py loads the same pages in Chromium."""

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys

import pytest

from conftest import PAYLOADS
from gankit import RunError, report
from gankit.report import read_run


def _html(runs, tmp_path, name="report.html") -> str:
    return report(runs, tmp_path / name).read_text()


def test_one_run_holds_grids_curves_evaluation_and_checkpoints(runs, tmp_path):
    run = runs[0]
    html = _html([run], tmp_path)
    grids = sorted((run / "samples").glob("epoch_*.png"))
    frames = re.findall(r"<img class=frame data-epoch='(\d+)'[^>]*src='data:image/png;base64,([^']+)'", html)
    assert [int(epoch) for epoch, _ in frames] == [1, 2, 3]
    assert [base64.b64decode(data) for _, data in frames] == [p.read_bytes() for p in grids]
    assert html.count("data:image/svg+xml;base64,") == 2  # losses, and the in-training evaluations
    evaluation = json.loads((run / "eval.json").read_text())["metrics"]
    assert "fid200[lenet-mnist]" in evaluation
    for name, value in evaluation.items():
        assert f"<td>{name}</td><td class=num>{value:.4g}</td>" in html
    for record in (run / "checkpoints").glob("*.json"):
        sha = json.loads(record.read_text())["sha256"]
        assert f"<td>{record.stem}</td>" in html and sha in html
    assert html.count(">verified</td>") == len(list((run / "checkpoints").glob("*.json")))


def test_the_page_is_self_contained_and_its_one_script_is_allowed_by_hash(runs, tmp_path):
    html = _html(list(runs), tmp_path)
    references = re.findall(r"""(?:src|href)=['"]?([^'" >]+)""", html)
    assert references and all(ref.startswith(("data:", "#")) for ref in references)
    assert not re.search(r"https?://|//cdn|@import|url\(", html.replace("http://www.w3.org", ""))
    (script,) = re.findall(r"<script>(.*?)</script>", html, re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    csp = re.search(r"Content-Security-Policy' content=\"([^\"]+)\"", html).group(1)
    assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp


def test_several_runs_compare_the_fields_that_differ(runs, tmp_path):
    html = _html(list(runs), tmp_path)
    table = re.search(r"<table class=compare-config>(.*?)</table>", html, re.S).group(1)
    assert re.findall(r"<tr><td>([^<]+)</td>", table) == ["optim.lr_g", "train.seed"]
    assert "<td>0.0005</td>" in table
    metrics = re.search(r"<table class=compare-metrics>(.*?)</table>", html, re.S).group(1)
    assert "<td>fid200[lenet-mnist]</td>" in metrics and "<td>loss_g</td>" in metrics
    assert html.count("<section class=run") == 2


def test_strings_from_the_run_folder_are_text(hostile_run, tmp_path):
    html = _html([hostile_run], tmp_path)
    assert html.count("<script") == 1  # the page's own
    for payload in PAYLOADS.values():
        assert payload not in html
    assert "&lt;img src=x onerror=window.pwned=1&gt;" in html
    assert "&lt;/pre&gt;&lt;script&gt;window.pwned=2&lt;/script&gt;" in html


def test_a_torn_record_and_a_changed_checkpoint_are_shown_not_raised(runs, tmp_path):
    run = tmp_path / "copy"
    shutil.copytree(runs[0], run)
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 25, "epo')  # a write cut by a kill
    tensors = run / "checkpoints" / "final.safetensors"
    data = bytearray(tensors.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tensors.write_bytes(bytes(data))
    view = read_run(run)
    assert view.skipped_lines == 1 and view.records == read_run(runs[0]).records
    assert [c.verified for c in view.checkpoints if c.name == "final"] == [False]
    html = _html([run], tmp_path)
    assert "1 unreadable line(s) skipped" in html and "DOES NOT MATCH" in html


def test_refusals_are_one_line_and_write_nothing(runs, tmp_path):
    existing = tmp_path / "report.html"
    existing.write_text("keep me")
    with pytest.raises(RunError, match="already exists"):
        report([runs[0]], existing)
    assert existing.read_text() == "keep me"
    report([runs[0]], existing, overwrite=True)
    assert existing.read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(RunError, match="not a gankit run folder"):
        report([tmp_path], tmp_path / "other.html")
    with pytest.raises(RunError, match=r"should end in \.html"):
        report([runs[0]], tmp_path / "report.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_the_command(runs, tmp_path):
    out = tmp_path / "both.html"
    done = subprocess.run(
        [sys.executable, "-m", "gankit", "report", *map(str, runs), "--out", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.strip() == f"wrote {out}"
    again = subprocess.run(
        [sys.executable, "-m", "gankit", "report", str(runs[0]), "--out", str(out)], capture_output=True, text=True
    )
    assert again.returncode != 0 and "Traceback" not in again.stderr
    assert again.stderr.strip().splitlines() == [
        f"gankit: error: {out} already exists (choose another --out or pass --overwrite)"
    ]
