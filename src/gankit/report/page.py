"""`gankit report`: one self-contained HTML file of one or more runs.

Everything is inline (grids as PNG data URIs, curves as SVG data URIs, one small script for the grid slider),
so the file opens offline and makes no request. Every string that comes from a run folder (names, config
values, metric names) goes through `escape`, and the Content-Security-Policy allows only the page's own
script, by its hash: a run named `<script>` renders as text, and even a missed escape could not run code.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

from gankit.errors import RunError
from gankit.report.view import RunView, read_run
from gankit.runs.files import atomic_write_text
from gankit.version import __version__
from gankit.viz.curves import comparison_figure, evaluations, losses_figure, metrics_figure, readouts

SLIDER = """
for (const viewer of document.querySelectorAll(".grids")) {
  const frames = viewer.querySelectorAll("img.frame");
  const slider = viewer.querySelector("input");
  const label = viewer.querySelector(".epoch");
  slider.addEventListener("input", () => {
    frames.forEach((frame, i) => { frame.hidden = i !== Number(slider.value); });
    label.textContent = frames[Number(slider.value)].dataset.epoch;
  });
}
"""

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0 1.2em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre, .hash { font-family: ui-monospace, monospace; font-size: 12px; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; }
.grids img.frame { image-rendering: pixelated; width: 420px; max-width: 100%; border: 1px solid #ccc; }
.grids input { width: 420px; max-width: 100%; display: block; }
img.chart { max-width: 100%; }
img.pairs { image-rendering: pixelated; max-width: 100%; border: 1px solid #ccc; }
.bad { color: #b00; font-weight: bold; } .muted { color: #777; }
"""

COMPARED_METRICS = 4  # evaluation metrics drawn run over run (all of them are in the table)
SUMMARY_FIELDS = ("data.name", "model.name", "loss.name", "train.epochs", "train.batch_size", "train.seed")


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(SLIDER.encode()).digest()).decode()
    return f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{digest}'"


def _data_uri(mime: str, payload: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode()}"


def _svg(fig) -> str:
    """A matplotlib figure as an SVG data URI (text drawn as paths, so no run string reaches the markup)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg")
    return _data_uri("image/svg+xml", buffer.getvalue())


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _table(header: list[str] | None, rows: list[list[Any]], cls: str, numbers: bool = True) -> str:
    """A table of escaped cells; `numbers` right-aligns numeric ones; no header row when `header` is None."""

    def cell(value: Any) -> str:
        numeric = numbers and isinstance(value, (int, float)) and not isinstance(value, bool)
        return f"<td{' class=num' if numeric else ''}>{escape(_value(value))}</td>"

    head = "" if header is None else "<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr></thead>"
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table class={cls}>{head}<tbody>{body}</tbody></table>"


def _grids(view: RunView) -> str:
    if not view.grids:
        return "<p class=muted>no sample grids yet</p>"
    last = len(view.grids) - 1
    frames = "".join(
        f"<img class=frame data-epoch='{epoch}' alt='samples after epoch {epoch}' {'' if i == last else 'hidden '}"
        f"src='{_data_uri('image/png', path.read_bytes())}'>"
        for i, (epoch, path) in enumerate(view.grids)
    )
    first, final = view.grids[0][0], view.grids[-1][0]
    return (
        f"<div class=grids><p>Samples from the same fixed noise after epoch <b class=epoch>{final}</b> "
        f"(slide: epochs {first} to {final})</p>"
        f"<input type=range min=0 max={last} value={last} aria-label='epoch'>{frames}</div>"
    )


def _curves(view: RunView) -> str:
    out = []
    if readouts(view.records):
        out.append(f"<img class=chart alt='losses' src='{_svg(losses_figure(view.records))}'>")
    if evaluations(view.records):
        out.append(f"<img class=chart alt='evaluation metrics' src='{_svg(metrics_figure(view.records))}'>")
    return "".join(out) or "<p class=muted>no readouts yet</p>"


def _evaluation(view: RunView) -> str:
    if not view.evaluation:
        return "<p class=muted>no eval.json (run <code>gankit eval RUN</code>)</p>"
    ev = view.evaluation
    about = [[key, ev[key]] for key in ("checkpoint", "reference", "samples", "seed") if key in ev]
    extractor = ev.get("extractor")
    if isinstance(extractor, dict):
        about.append(["extractor", extractor.get("name")])
    metrics = ev.get("metrics") if isinstance(ev.get("metrics"), dict) else {}
    return _table(None, about, "eval-about", numbers=False) + _table(
        ["metric", "value"], [[k, v] for k, v in metrics.items()], "eval-metrics"
    )


def _audit(view: RunView) -> str:
    """The memorisation audit: its verdict, the numbers of each space and the closest pairs."""
    audit = view.audit
    if not audit:
        return "<p class=muted>no audit.json (run <code>gankit audit RUN</code>)</p>"
    spaces = audit.get("spaces") if isinstance(audit.get("spaces"), dict) else {}
    columns = ["share_below", "expected_share", "sample_dcr_median", "holdout_dcr_median", "median_ratio", "flagged"]
    rows = [[name, *(s.get(c) for c in columns)] for name, s in spaces.items() if isinstance(s, dict)]
    pairs = ""
    if view.audit_pairs is not None:
        src = _data_uri("image/png", view.audit_pairs.read_bytes())
        pairs = f"<p>Closest pairs (sample, then its nearest training item):</p><img class=pairs alt='closest pairs' src='{src}'>"
    verdict = str(audit.get("verdict", ""))
    flagged = any(isinstance(s, dict) and s.get("flagged") for s in spaces.values())
    return (
        f"<p class='verdict{' bad' if flagged else ''}'>{escape(verdict)}</p>"
        + _table(None, [["yardstick", audit.get("yardstick")], ["samples", audit.get("samples")]], "audit-about", False)
        + _table(["space", *columns], rows, "audit-spaces")
        + pairs
    )


def _checkpoints(view: RunView) -> str:
    if not view.checkpoints:
        return "<p class=muted>no checkpoints</p>"
    rows = "".join(
        f"<tr><td>{escape(c.name)}</td><td class=num>{escape(_value(c.step))}</td>"
        f"<td class=num>{escape(_value(c.epoch))}</td>"
        f"<td class=num>{'missing' if c.size is None else f'{c.size / 1e6:.2f} MB'}</td>"
        f"<td class=hash>{escape(c.sha256)}</td>"
        f"<td{'' if c.verified else ' class=bad'}>{'verified' if c.verified else 'DOES NOT MATCH'}</td></tr>"
        for c in view.checkpoints
    )
    head = "".join(f"<th>{h}</th>" for h in ("checkpoint", "step", "epoch", "size", "sha256", "tensor file"))
    return f"<table class=checkpoints><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _run_section(view: RunView, index: int) -> str:
    summary = [["folder", str(view.path)], ["status", view.status]]
    summary += [[key, view.config[key]] for key in SUMMARY_FIELDS if key in view.config]
    if view.skipped_lines:
        summary.append(["metrics.jsonl", f"{view.skipped_lines} unreadable line(s) skipped"])
    return (
        f"<section class=run id='run-{index}'><h2>#{index} {escape(view.name)}</h2>"
        + _table(None, summary, "summary", numbers=False)
        + "<h3>Samples</h3>"
        + _grids(view)
        + "<h3>Curves</h3>"
        + _curves(view)
        + "<h3>Evaluation</h3>"
        + _evaluation(view)
        + "<h3>Copies of training items? (audit)</h3>"
        + _audit(view)
        + "<h3>Checkpoints</h3>"
        + _checkpoints(view)
        + f"<details><summary>config.yaml</summary><pre>{escape(view.config_text)}</pre></details></section>"
    )


def _comparison(views: list[RunView]) -> str:
    labels = [f"#{i} {v.name}" for i, v in enumerate(views, 1)]
    keys = sorted(set().union(*(v.config for v in views)))
    missing = object()
    differ = [k for k in keys if len({json.dumps(v.config.get(k, missing), default=str) for v in views}) > 1]
    config_rows = [[k, *(v.config.get(k, "(not set)") for v in views)] for k in differ]
    finals = [v.final_metrics() for v in views]
    metric_names = [k for k in dict.fromkeys(k for f in finals for k in f) if k != "images_per_s"]
    metric_rows = [[k, *(f.get(k, "") for f in finals)] for k in metric_names]
    charted = [k for k in ("loss_d", "loss_g") if any(k in r for v in views for r in v.records)]
    evaluated = {k for v in views for r in evaluations(v.records) for k in r if "_std" not in k}
    charted += [k for k in metric_names if k in evaluated and k not in ("step", "epoch")][:COMPARED_METRICS]
    chart = ""
    if charted:
        figure = comparison_figure({f"#{i}": v.records for i, v in enumerate(views, 1)}, charted)
        chart = f"<img class=chart alt='curves of all runs' src='{_svg(figure)}'>"
    return (
        "<section id=comparison><h2>Comparison</h2><h3>Final values</h3>"
        + _table(["metric", *labels], metric_rows, "compare-metrics")
        + f"<h3>Config fields that differ ({len(differ)})</h3>"
        + (_table(["field", *labels], config_rows, "compare-config", numbers=False) if differ else "<p>none</p>")
        + chart
        + "</section>"
    )


def render(views: list[RunView]) -> str:
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    index = "".join(
        f"<li><a href='#run-{i}'>#{i} {escape(v.name)}</a> ({escape(v.status)})</li>" for i, v in enumerate(views, 1)
    )
    body = (_comparison(views) if len(views) > 1 else "") + "".join(_run_section(v, i) for i, v in enumerate(views, 1))
    title = escape(views[0].name if len(views) == 1 else f"{len(views)} runs")
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{_csp()}\">"
        f"<title>gankit report: {title}</title><style>{STYLE}</style></head><body>"
        f"<h1>gankit report</h1><p class=muted>made {made} by gankit {escape(__version__)}</p><ul>{index}</ul>"
        f"{body}<script>{SLIDER}</script></body></html>\n"
    )


def report(run_dirs: list[str | Path], out: str | Path = "report.html", overwrite: bool = False) -> Path:
    """Write one self-contained HTML report of the runs to `out` (never over an existing file unless told)."""
    if not run_dirs:
        raise RunError("no run folder given", "name one or more run folders made by gankit train")
    out = Path(out).expanduser()
    if out.exists() and not overwrite:
        raise RunError(f"{out} already exists", "choose another --out or pass --overwrite")
    if out.suffix.lower() not in (".html", ".htm"):
        raise RunError(f"--out {out} should end in .html", "e.g. --out report.html")
    views = [read_run(path) for path in run_dirs]
    return atomic_write_text(out, render(views))
