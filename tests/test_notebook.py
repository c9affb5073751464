"""The walkthrough notebook: statically sound on every run, executed end to end when ``slow`` runs.

The execution fits the real models (tiny sampler settings, set in the notebook) on a small
generated export: about 2-3 minutes on two cores.
"""

import ast
import importlib
import importlib.util
from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "walkthrough.ipynb"


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


@pytest.fixture(scope="module")
def notebook():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    return nb


def test_notebook_is_committed_without_outputs(notebook):
    for cell in code_cells(notebook):
        assert cell.outputs == [] and cell.execution_count is None


def test_notebook_code_parses_and_its_imports_exist(notebook):
    for cell in code_cells(notebook):
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("partner_forecast"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name) or importlib.util.find_spec(
                        f"{node.module}.{alias.name}") is not None, f"{node.module}.{alias.name}"


@pytest.mark.slow
def test_walkthrough_notebook_executes(notebook, tmp_path):
    from nbclient import NotebookClient

    client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for c in code_cells(notebook) for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.get("data", {})]
    assert len(images) >= 6  # fan, distribution, ASR, curves, scenario delta, waterfall
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "forecasting" in text and "run " in text
