"""The notebooks run top to bottom on small demo data, and are committed without outputs."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = [
    "01-explore-events.ipynb",
    "02-train-and-evaluate.ipynb",
    "03-score-and-explain.ipynb",
    "04-crm-table.ipynb",
]


def _parameters(notebook: nbformat.NotebookNode, values: dict) -> None:
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    cell.source += "\n# injected by the tests\n" + "\n".join(
        f"{name} = {value!r}" for name, value in values.items()
    )


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, small_demo):
    from intent_model import write_demo_data

    root = tmp_path_factory.mktemp("notebooks")
    write_demo_data(small_demo, root / "data")
    return root


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom(name, workspace):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    _parameters(
        notebook,
        {
            "DATA_DIR": str(workspace / "data"),
            "MODEL_DIR": str(workspace / "models" / "notebook"),
            "CRM_MODEL_DIR": str(workspace / "models" / "crm" / "notebook"),
            "TRACKING_URI": f"sqlite:///{workspace / 'mlflow.db'}",
            "SMALL_DATA": True,
        },
    )
    # Notebook 03 reads what 02 trained (the tests run them in order).
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(workspace)}},
    ).execute()
    errors = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_are_committed_without_outputs(name):
    notebook = json.loads((NOTEBOOKS / name).read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, name
