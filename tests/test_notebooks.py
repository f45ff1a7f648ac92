"""The notebooks run top to bottom as a user opens them: after ``make demo``, with the
parameters they are committed with, and they are committed without outputs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NAMES = [
    "01-explore-events.ipynb",
    "02-train-and-evaluate.ipynb",
    "03-score-and-explain.ipynb",
    "04-crm-table.ipynb",
]


@pytest.fixture(scope="module")
def after_make_demo(tmp_path_factory) -> Path:
    """A copy of the project's layout where the Makefile's ``demo`` target has run (on
    fewer leads than its default, for time), with this environment as its ``.venv``."""
    root = tmp_path_factory.mktemp("checkout")
    shutil.copytree(NOTEBOOKS, root / "notebooks")
    venv = Path(sys.executable).parent.parent
    finished = subprocess.run(
        [
            "make",
            "-f",
            str(ROOT / "Makefile"),
            "-C",
            str(root),
            "demo",
            f"VENV={venv}",
            "DEMO_LEADS=1500",
            "-o",
            str(venv / ".installed"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    return root


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_as_committed_after_make_demo(name, after_make_demo):
    notebook = nbformat.read(after_make_demo / "notebooks" / name, as_version=4)
    # Notebook 03 reads what make demo trained and registered (the tests run them in order).
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(after_make_demo / "notebooks")}},
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
