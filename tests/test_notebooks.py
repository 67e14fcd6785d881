"""notebooks/: stored without outputs, and each runs top to bottom with a small budget.

nbclient executes them (the Jupyter project's own executor, which nbmake and papermill wrap); the budget goes
in as papermill does it, a cell after the one tagged "parameters", so the notebooks stay papermill-compatible
and the suite needs no more than nbclient and ipykernel.
"""

from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))

SMALL_BUDGETS = {  # about 10 s of training each on 2 cores
    "01-quickstart": "EPOCHS = 1\nMAX_ITEMS = 256",
    "02-gan-family": "EPOCHS = 1\nMAX_ITEMS = 256\nEVAL_N = 200",
    "03-evaluation": "EPOCHS = 1\nN = 400",
    "04-synthetic-data": "EPOCHS = 1\nSTEPS = 20\nFRACTIONS = (0.1,)\nSEEDS = (0,)",
    "05-signals": "EPOCHS = 2\nWAVES_EPOCHS = 2\nN = 300\nQUICK = True",
}


def test_every_notebook_has_a_budget_here():
    assert sorted(SMALL_BUDGETS) == [p.stem for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs_and_with_a_parameters_cell(path):
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code), "strip the outputs"
    assert [cell for cell in code if "parameters" in cell.metadata.get("tags", [])], "tag the budget cell"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_top_to_bottom(path, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(path, as_version=4)
    at = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    injected = nbformat.v4.new_code_cell(SMALL_BUDGETS[path.stem])
    injected.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(at + 1, injected)
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on the first failing cell
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any(o.output_type == "display_data" for o in outputs)  # pictures were shown
    assert (tmp_path / "runs-notebooks").is_dir()  # it wrote where it was run, not into the checkout
