"""Guards before training: enough data, no leaks.

* :func:`check_sufficiency` refuses to train on too few positives, negatives
  or cutoffs, or on a history too short for the windows and the horizon,
  with the numbers (commercial scorers publish similar minimums).
* :func:`leakage_alarm` names any single feature whose out-of-time AUC on its
  own is above a threshold: no honest engagement signal is that good alone.
* :func:`outcome_like_columns` names profile columns that look like a CRM
  outcome (status, stage, converted, won, ...); they are never features.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from intent_model.errors import InputError
from intent_model.io.config import Config
from intent_model.table.checks import outcome_word
from intent_model.words import duration, number


def check_sufficiency(
    labels: pd.Series,
    keys: pd.DataFrame,
    first_event: pd.Timestamp,
    last_event: pd.Timestamp,
    config: Config,
) -> None:
    """Raise :class:`InputError` with the numbers when the data cannot support a model."""
    guards = config.guards
    n_positive = int(labels.sum())
    n_negative = int(len(labels) - n_positive)
    n_cutoffs = int(keys["cutoff"].nunique())
    span_days = (last_event - first_event) / pd.Timedelta(days=1)
    needed_days = max(config.features.windows_days) + config.labels.horizon_days
    problems = []
    if span_days < needed_days:
        problems.append(
            f"the events span {number(round(span_days, 1))} days; the longest feature window "
            f"({duration(max(config.features.windows_days))}) plus the horizon "
            f"({duration(config.labels.horizon_days)}) need at least {duration(needed_days)}"
        )
    if n_cutoffs < guards.min_cutoffs:
        problems.append(
            f"{n_cutoffs} cutoff(s) fit in the data; at least {guards.min_cutoffs} are needed "
            "to train on some and evaluate on later ones"
        )
    if n_positive < guards.min_positives:
        problems.append(
            f"{n_positive:,} positive snapshots (a hard conversion within "
            f"{duration(config.labels.horizon_days)}); at least {guards.min_positives} are needed"
        )
    if n_negative < guards.min_negatives:
        problems.append(
            f"{n_negative:,} negative snapshots; at least {guards.min_negatives} are needed"
        )
    if problems:
        raise InputError(
            "not enough data to train a trustworthy model:\n  - "
            + "\n  - ".join(problems)
            + "\nAdd history or leads, lengthen the horizon, or lower the minimums in [guards]."
        )


def single_feature_auc(features: pd.DataFrame, labels: pd.Series) -> pd.Series:
    """AUC of each feature used alone as a score, folded so 0.3 counts as 0.7.

    Missing values rank below every observed value. Constant features get 0.5.
    """
    y = np.asarray(labels)
    if len(np.unique(y)) < 2:
        return pd.Series(0.5, index=features.columns)
    result = {}
    for name in features.columns:
        values = features[name].to_numpy(dtype=float)
        missing = np.isnan(values)
        if missing.all():
            result[name] = 0.5
            continue
        filled = np.where(missing, np.nanmin(values) - 1.0, values)
        if np.all(filled == filled[0]):
            result[name] = 0.5
            continue
        auc = roc_auc_score(y, filled)
        result[name] = max(auc, 1.0 - auc)
    return pd.Series(result, name="single_feature_auc")


def leakage_alarm(
    features: pd.DataFrame, labels: pd.Series, keys: pd.DataFrame, threshold: float = 0.95
) -> pd.DataFrame:
    """Features whose AUC alone on the latest cutoff is above ``threshold``.

    The latest cutoff is the one a model would be evaluated on out of time.

    Returns
    -------
    pandas.DataFrame
        ``feature``, ``auc_out_of_time``, most suspicious first (empty when clean).
    """
    if not len(features):
        return pd.DataFrame(columns=["feature", "auc_out_of_time"])
    latest = keys["cutoff"].to_numpy() == keys["cutoff"].max()
    auc = single_feature_auc(features.loc[latest], labels[latest])
    flagged = auc[auc > threshold].sort_values(ascending=False)
    return pd.DataFrame({"feature": flagged.index, "auc_out_of_time": flagged.to_numpy()})


def outcome_like_columns(columns: list[str] | pd.Index) -> list[str]:
    """Profile columns whose names look like a CRM outcome written after the fact."""
    return [str(c) for c in columns if outcome_word(str(c))]
