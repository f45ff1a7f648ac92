"""A table model's figures drawn in a worker process are the figures drawn here."""

from __future__ import annotations

import io
from functools import partial

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from intent_model.modeling.pipeline import SMALL_TABLE_ROWS, run_in_worker
from intent_model.modeling.plots import evaluation_figures, importance_figures, png_files


def _figure_inputs():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 600)
    predictions = {
        kind: np.clip(0.4 * y + rng.random(600) * 0.6, 0, 1)
        for kind in ("model", "logistic_regression", "points_rule")
    }
    checks = pd.DataFrame(
        {
            "column": ["visits", "source", "status"],
            "single_column_auc": [0.7, 0.6, 0.97],
            "left_out": [False, False, True],
            "kept": False,
            "suspected": [True, False, False],
        }
    )
    return y, predictions, checks, 0.9


IMPORTANCE = pd.DataFrame(
    {"column": ["visits", "source"], "importance_mean": [0.05, 0.01], "importance_std": 0.002}
)


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


@pytest.mark.parametrize(
    ("n_jobs", "n_rows"),
    [(1, 600), (2, 600), (2, SMALL_TABLE_ROWS)],
    ids=["here", "small-table-worker", "large-table-worker"],
)
def test_figures_drawn_in_a_worker_are_the_same_pictures(n_jobs, n_rows):
    parts = [(evaluation_figures, *_figure_inputs()), (importance_figures, IMPORTANCE)]
    here, there = {}, {}
    for draw, *inputs in parts:
        here |= png_files(draw, *inputs)
        there |= run_in_worker(partial(png_files, draw, *inputs), n_jobs, n_rows).result(300)
    assert set(there) == {
        "roc_pr.png",
        "reliability.png",
        "lift_gain.png",
        "column_checks.png",
        "importance_by_column.png",
    }
    for name, png in there.items():
        assert png.startswith(b"\x89PNG")
        assert np.array_equal(_pixels(png), _pixels(here[name])), name


def test_a_failure_in_the_worker_reaches_the_caller():
    broken = partial(png_files, importance_figures, IMPORTANCE.drop(columns="column"))
    with pytest.raises(KeyError):
        run_in_worker(broken, 2, SMALL_TABLE_ROWS).result(timeout=300)
