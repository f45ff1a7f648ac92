"""The out-of-time split: the latest cutoffs for evaluation, earlier ones for everything else.

Development cutoffs end a whole horizon before the first held-out cutoff (the
gap of scikit-lego's ``TimeGapSplit``): a development label window
``[cutoff, cutoff + horizon)`` then closes before the evaluation period
starts, so nothing learned from it has seen the held-out future. Inside the
development set, folds are grouped by lead, so one lead's snapshots never sit
on both sides of a fold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from intent_model.errors import InputError
from intent_model.events.labels import split_cutoffs
from intent_model.io.config import Config
from intent_model.table.checks import stratified_rows


@dataclass(frozen=True)
class TimeSplit:
    """Boolean masks over the snapshots, and the cutoffs on each side."""

    development: np.ndarray
    holdout: np.ndarray
    development_cutoffs: pd.DatetimeIndex
    holdout_cutoffs: pd.DatetimeIndex


def out_of_time_split(keys: pd.DataFrame, holdout_cutoffs: int, horizon_days: int) -> TimeSplit:
    """Hold out the latest ``holdout_cutoffs`` cutoffs; develop on those a horizon before.

    Raises
    ------
    InputError
        When fewer than one development cutoff would remain.

    Examples
    --------
    >>> keys = pd.DataFrame({"lead_id": ["a"] * 5, "cutoff": pd.date_range(
    ...     "2024-01-01", periods=5, freq="MS", tz="UTC")})
    >>> split = out_of_time_split(keys, holdout_cutoffs=2, horizon_days=30)
    >>> split.development.tolist(), split.holdout.tolist()
    ([True, True, True, False, False], [False, False, False, True, True])
    """
    cutoffs = pd.DatetimeIndex(np.sort(keys["cutoff"].unique()))
    if holdout_cutoffs < 1:
        raise ValueError(f"holdout_cutoffs must be at least 1, got {holdout_cutoffs}")
    development_cutoffs, held = split_cutoffs(cutoffs, holdout_cutoffs, horizon_days)
    if len(development_cutoffs) == 0:
        raise InputError(
            f"{len(cutoffs)} cutoff(s) leave no development cutoff a horizon ({horizon_days} d) "
            f"before the {holdout_cutoffs} held-out one(s); add history or hold out fewer"
        )
    cutoff = keys["cutoff"]
    return TimeSplit(
        development=cutoff.isin(development_cutoffs).to_numpy(),
        holdout=cutoff.isin(held).to_numpy(),
        development_cutoffs=development_cutoffs,
        holdout_cutoffs=held,
    )


def grouped_folds(
    groups: pd.Series | np.ndarray, n_folds: int, labels: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds grouped by lead, each with both classes in its validation part when possible."""
    groups = np.asarray(groups)
    n_groups = len(pd.unique(groups))
    n_splits = min(n_folds, n_groups)
    if n_groups == len(groups):
        folds = _one_row_per_group_folds(groups, n_splits)
    else:
        folds = list(GroupKFold(n_splits=n_splits).split(labels, labels, groups))
    for train, valid in folds:
        if len(np.unique(labels[train])) < 2:
            raise InputError("a training fold has one class only; add data or use fewer folds")
        if len(valid) == 0:
            raise InputError("a validation fold is empty; add data or use fewer folds")
    return folds


def _one_row_per_group_folds(
    groups: np.ndarray, n_splits: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``GroupKFold``'s folds when every group is one row (a lead table): it deals the
    groups, in reverse sorted order, to the folds in turn; this does it without its
    Python loop over the groups."""
    order = np.argsort(groups, kind="stable")
    fold = np.empty(len(groups), dtype=np.int64)
    fold[order] = (len(groups) - 1 - np.arange(len(groups))) % n_splits
    return [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(n_splits)]


@dataclass(frozen=True)
class TableEvaluation:
    """How the table's model is evaluated: the newest leads held out, or cross-validation."""

    method: str  # "out-of-time" or "cross-validation"
    description: str
    development: np.ndarray  # rows the models learn from
    holdout: np.ndarray  # rows the metrics are measured on (out of fold, for CV)
    # Cross-validation: the rows the candidate, its trees and the calibrator are chosen on
    # (never measured); None out of time, where the development rows choose.
    selection: np.ndarray | None = None


# Without a date, a quarter of the leads, but at least 5,000 (or half of a smaller table),
# and at most [table] selection_rows, chooses the model; the others measure that choice
# by cross-validation. One choice instead of one per outer fold: a fifth of the fits of
# nested cross-validation, and still no lead both chooses the model and measures it. On
# 6,500 leads, choosing on a quarter (1,625) chose fewer trees than the table supports:
# ROC AUC 0.9145 and ECE 0.0235, against 0.9180 and 0.0154 choosing on half.
SELECTION_SHARE = 0.25
SELECTION_FLOOR = 5_000


def choose_evaluation(frame: pd.DataFrame, y: np.ndarray, config: Config) -> TableEvaluation:
    """Out of time when the table has creation dates; stratified cross-validation otherwise."""
    everything = np.ones(len(y), dtype=bool)
    why_cv = None
    if "created_at" in frame.columns and frame["created_at"].notna().any():
        created = frame["created_at"]
        cut = created.quantile(1.0 - config.table.holdout_share)
        holdout = (created > cut).to_numpy()
        development = ~holdout
        if min(y[holdout].sum(), (1 - y[holdout]).sum(), y[development].sum()) < 10:
            why_cv = (
                "the newest leads hold fewer than 10 of a class, too few for an out-of-time "
                "evaluation"
            )
        else:
            dated = created[holdout]
            return TableEvaluation(
                method="out-of-time",
                description=(
                    f"out of time: the models learn from the {int(development.sum()):,} leads "
                    f"created up to {cut.date()} and are measured on the "
                    f"{int(holdout.sum()):,} leads created after ({dated.min().date()} to "
                    f"{dated.max().date()}), as they will be used: on leads newer than any "
                    f"they learned from. Newer leads have had less time to convert (converted: "
                    f"{y[development].mean():.1%} before, {y[holdout].mean():.1%} after)."
                ),
                development=development,
                holdout=holdout,
            )
    why_cv = why_cv or "the table has no creation date (give one with --created-at-col)"
    selection = _selection_rows(y, config)
    measured = ~selection
    folds = config.table.evaluation_folds
    return TableEvaluation(
        method="cross-validation",
        description=(
            f"cross-validation, because {why_cv}. The candidate, its number of trees and the "
            f"calibrator are chosen on {int(selection.sum()):,} leads drawn at random "
            f"(stratified); the other {int(measured.sum()):,} are measured by stratified "
            f"{folds}-fold cross-validation of that choice, so no lead both chooses the model "
            "and measures it. Old and new leads are mixed, so a change over time (new "
            "campaigns, sources, sales process) is not measured and the figures may be "
            "optimistic."
        ),
        development=everything,
        holdout=measured,
        selection=selection,
    )


def _selection_rows(y: np.ndarray, config: Config) -> np.ndarray:
    """A stratified random share of the rows (``SELECTION_SHARE``, at most
    ``[table] selection_rows``), as a mask."""
    at_most = round(max(SELECTION_SHARE * len(y), min(len(y) / 2, SELECTION_FLOOR)))
    if config.table.selection_rows:
        at_most = min(at_most, config.table.selection_rows)
    mask = np.zeros(len(y), dtype=bool)
    mask[stratified_rows(y, at_most, config.training.random_state)] = True
    return mask
