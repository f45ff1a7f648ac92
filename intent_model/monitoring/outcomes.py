"""Each scored lead's outcome after the scores' ``as_of``, and what the scores were worth.

Pure functions over DataFrames: the outcome of an event model's score is a hard
conversion (by the model's own taxonomy) in ``[as_of, as_of + horizon)``, the
model's label; of a table model's, a label that turned positive in a newer export.
The ranking metrics are measured over the leads that were ranked (open leads);
converted and closed leads keep their row and their status, unmeasured.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from intent_model.modeling.evaluate import (
    TIER_NAMES,
    classification_metrics,
    intervals_by_lead,
    top_k_metrics,
)

# The metrics a monitoring run measures, and the training's out-of-time figures it
# compares them with.
MONITORED = ("roc_auc", "average_precision", "brier", "ece", "lift_top10pct")
RESAMPLES = 300


def event_outcomes(
    scores: pd.DataFrame, hard_events: pd.DataFrame, as_of: pd.Timestamp, horizon_days: float
) -> pd.DataFrame:
    """``converted`` (0/1) and ``converted_at`` (the first hard conversion in the window)
    for every scored lead.

    Examples
    --------
    >>> t = pd.Timestamp("2025-01-01", tz="UTC")
    >>> scores = pd.DataFrame({"lead_id": ["a", "b", "c"]})
    >>> hard = pd.DataFrame({"lead_id": ["a", "b", "c"], "timestamp": [
    ...     t, t + pd.Timedelta(days=30), t - pd.Timedelta(seconds=1)]})
    >>> event_outcomes(scores, hard, t, 30)["converted"].tolist()
    [1, 0, 0]
    """
    end = as_of + pd.Timedelta(days=horizon_days)
    inside = hard_events[(hard_events["timestamp"] >= as_of) & (hard_events["timestamp"] < end)]
    first = inside.groupby(inside["lead_id"].astype(str))["timestamp"].min()
    converted_at = scores["lead_id"].astype(str).map(first)
    return scores.assign(
        converted=converted_at.notna().astype(int).to_numpy(),
        converted_at=pd.to_datetime(converted_at.to_numpy(), utc=True),
    )


def table_outcomes(scores: pd.DataFrame, newer_labels: pd.Series) -> pd.DataFrame:
    """``converted`` from a newer export's label (lead id -> 0/1); a lead the newer export
    lacks did not convert as far as it knows. ``converted_at`` is unknown."""
    label = scores["lead_id"].astype(str).map(newer_labels).fillna(0).astype(int)
    return scores.assign(converted=label.to_numpy(), converted_at=pd.NaT)


def realized(
    outcomes: pd.DataFrame, capacity: int, seed: int = 0
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """The metrics over the ranked leads, and a 90% interval for the ranking ones from
    resampling the leads."""
    ranked = outcomes[outcomes["rank"].notna()]
    y = ranked["converted"].to_numpy(dtype=int)
    p = ranked["p_hard"].to_numpy(dtype=float)
    metrics = {
        k: v for k, v in classification_metrics(y, p, None).items() if k in (*MONITORED, "n")
    }
    if len(y):
        at_capacity = top_k_metrics(y, p, capacity)
        metrics["precision_at_capacity"] = at_capacity["precision"]
    intervals: dict[str, list[float]] = {}
    if len(np.unique(y)) == 2:
        # One row per lead here: resampling the leads is resampling the rows.
        bands = intervals_by_lead(
            ranked["lead_id"].to_numpy(), y, {"model": p}, "model", RESAMPLES, seed
        )
        intervals = {k: v for k, v in bands["model"].items() if v}
    return metrics, intervals


def tier_rates(outcomes: pd.DataFrame) -> dict[str, dict[str, float]]:
    """For each tier: leads, how many converted, the rate."""
    ranked = outcomes[outcomes["rank"].notna()]
    found = {}
    for tier in TIER_NAMES:
        rows = ranked[ranked["tier"] == tier]
        converted = int(rows["converted"].sum())
        found[tier] = {
            "leads": int(len(rows)),
            "converted": converted,
            "rate": converted / len(rows) if len(rows) else float("nan"),
        }
    return found


def decile_rates(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Conversion rate by score decile of the ranked leads (1 = the best-scored tenth)."""
    ranked = outcomes[outcomes["rank"].notna()].sort_values("rank")
    decile = np.ceil(np.arange(1, len(ranked) + 1) / max(len(ranked), 1) * 10).astype(int)
    table = (
        ranked.assign(decile=decile)
        .groupby("decile")
        .agg(leads=("converted", "size"), converted=("converted", "sum"), p_hard=("p_hard", "mean"))
    )
    return table.assign(rate=table["converted"] / table["leads"]).reset_index()
