"""Metrics, the decision threshold and the tiers.

Every metric is computed on out-of-time snapshots. The threshold and the
tiers are chosen on the development set's out-of-fold predictions, never on
the evaluation set:

* threshold: the calibrated probability that maximises F1 (hard intent is
  rare; F1 balances missing buyers against wasting sales time);
* tiers: A holds the top ``tier_shares[0]`` of validation scores, B the next
  ``tier_shares[1]``, C the next ``tier_shares[2]``, D the rest; the cut
  points are stored as probabilities, so a tier means the same in every run.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    precision_recall_curve,
    roc_auc_score,
)

from intent_model.runtime import thread_budget

TOP_SHARES = (0.05, 0.10, 0.20)
TIER_NAMES = ("A", "B", "C", "D")
CALIBRATION_BINS = 10


def expected_calibration_error(
    y: np.ndarray, p: np.ndarray, n_bins: int = CALIBRATION_BINS
) -> float:
    """Mean |observed rate - mean probability| over equal-count bins, weighted by bin size.

    Equal-count bins suit rare positives: equal-width bins would leave the
    upper bins nearly empty.

    Examples
    --------
    >>> round(expected_calibration_error(np.array([0, 0, 1, 1]), np.array([0., 0., 1., 1.]), 2), 3)
    0.0
    """
    order = np.argsort(p, kind="stable")
    error = 0.0
    for part in np.array_split(order, n_bins):
        if len(part):
            error += len(part) * abs(y[part].mean() - p[part].mean())
    return float(error / len(y))


def top_share_metrics(y: np.ndarray, p: np.ndarray, share: float) -> dict[str, float]:
    """Precision, recall and lift among the ``share`` highest-scored rows."""
    k = max(1, int(round(share * len(y))))
    return top_k_metrics(y, p, k)


def top_k_metrics(y: np.ndarray, p: np.ndarray, k: int) -> dict[str, float]:
    """Precision, recall and lift among the ``k`` highest-scored rows (ties broken by order)."""
    k = min(max(1, k), len(y))
    top = np.argsort(-p, kind="stable")[:k]
    base_rate = y.mean()
    precision = y[top].mean()
    return {
        "precision": float(precision),
        "recall": float(y[top].sum() / max(y.sum(), 1)),
        "lift": float(precision / base_rate) if base_rate > 0 else float("nan"),
    }


def classification_metrics(
    y: np.ndarray | pd.Series, p: np.ndarray, capacity: int | None = None
) -> dict[str, float]:
    """Every metric of the model card (docs/training.md) for one set of predictions."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    both = len(np.unique(y)) == 2
    metrics = {
        "n": float(len(y)),
        "positive_rate": float(y.mean()),
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "average_precision": float(average_precision_score(y, p)) if both else float("nan"),
        "log_loss": float(log_loss(y, np.clip(p, 1e-7, 1 - 1e-7), labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "ece": expected_calibration_error(y, p),
    }
    for share in TOP_SHARES:
        for name, value in top_share_metrics(y, p, share).items():
            metrics[f"{name}_top{int(share * 100)}pct"] = value
    if capacity:
        for name, value in top_k_metrics(y, p, capacity).items():
            metrics[f"{name}_at_capacity"] = value
    return metrics


def metrics_per_cutoff(
    y: np.ndarray | pd.Series, p: np.ndarray, cutoffs: pd.Series, capacity: int | None = None
) -> pd.DataFrame:
    """The metrics at each cutoff, so a user sees whether quality holds over time."""
    y = np.asarray(y)
    rows = []
    for cutoff in np.sort(pd.unique(cutoffs)):
        at = (cutoffs == cutoff).to_numpy()
        rows.append({"cutoff": cutoff, **classification_metrics(y[at], p[at], capacity)})
    return pd.DataFrame(rows)


def choose_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The probability that maximises F1 on validation predictions."""
    precision, recall, thresholds = precision_recall_curve(np.asarray(y).astype(int), p)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = int(np.argmax(f1[:-1])) if len(thresholds) else 0
    return float(thresholds[best]) if len(thresholds) else 0.5


def choose_tier_bounds(p: np.ndarray, shares: tuple[float, ...]) -> dict[str, float]:
    """Lower probability bound of tiers A, B, C from validation predictions (D is the rest)."""
    if len(shares) != len(TIER_NAMES) - 1 or sum(shares) >= 1 or min(shares) <= 0:
        raise ValueError(f"tier_shares must be three positive shares summing below 1, got {shares}")
    cumulative = np.cumsum(shares)
    bounds = np.quantile(p, 1.0 - cumulative)
    return {name: float(bound) for name, bound in zip(TIER_NAMES[:-1], bounds, strict=True)}


def assign_tiers(p: np.ndarray, bounds: dict[str, float]) -> np.ndarray:
    """The tier of each probability (A highest)."""
    tiers = np.full(len(p), TIER_NAMES[-1], dtype=object)
    for name in reversed(TIER_NAMES[:-1]):
        tiers[p >= bounds[name]] = name
    return tiers


def lift_curve(y: np.ndarray, p: np.ndarray, points: int = 50) -> pd.DataFrame:
    """Share of leads contacted (best first) vs share of positives found, and lift."""
    order = np.argsort(-p, kind="stable")
    found = np.cumsum(np.asarray(y)[order])
    shares = np.linspace(1 / points, 1.0, points)
    k = np.maximum(1, np.round(shares * len(p)).astype(int))
    gain = found[k - 1] / max(found[-1], 1)
    return pd.DataFrame({"share_contacted": shares, "gain": gain, "lift": gain / shares})


def family_importance(
    predict_proba,
    X: pd.DataFrame,
    y: np.ndarray,
    families: dict[str, list[str]],
    n_repeats: int = 3,
    random_state: int = 0,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Permutation importance of each feature family: the drop in average precision
    when all of the family's columns are shuffled together (rows kept intact).

    Shuffling a family as one block keeps its columns consistent with each
    other, so correlated features (``n_x_7d``, ``n_x_30d``) are judged together.
    ``n_jobs`` predictions run at once, in threads (the same figures for any number).
    """
    # Hundreds of predictions of a few thousand rows each: one thread each. With a pool
    # per call, every call waits for the slowest of its threads, and on a busy machine
    # that one is descheduled (measured: 10.1 s instead of 1.6 s beside one busy process).
    # Separate predictions in separate threads wait for nobody.
    with thread_budget(1):
        return _family_importance(
            predict_proba, X, y, families, n_repeats, random_state, max(1, n_jobs)
        )


# The shuffled copies of the rows are scored in calls of about this many rows: a call's
# fixed cost (a gradient boosting's is a Python step per tree) is paid per batch, not per
# copy, which on a few hundred rows was most of the time.
IMPORTANCE_BATCH_ROWS = 50_000


def _family_importance(
    predict_proba, X, y, families, n_repeats, random_state, n_jobs
) -> pd.DataFrame:
    rng = np.random.default_rng(random_state)
    y = np.asarray(y)
    baseline = average_precision_score(y, predict_proba(X))
    found = {f: [c for c in columns if c in X.columns] for f, columns in families.items()}
    found = {f: columns for f, columns in found.items() if columns}
    # Drawn in one order whatever the threads do: the figures do not depend on n_jobs.
    shuffles = [(family, rng.permutation(len(X))) for family in found for _ in range(n_repeats)]
    per_call = max(1, IMPORTANCE_BATCH_ROWS // max(1, len(X)))
    batches = [shuffles[k : k + per_call] for k in range(0, len(shuffles), per_call)]

    def batch_drops(batch: list) -> list[float]:
        scores = predict_proba(_stacked_copies(X, [(found[f], order) for f, order in batch]))
        return [baseline - average_precision_score(y, s) for s in np.split(scores, len(batch))]

    with ThreadPoolExecutor(n_jobs) as threads:
        drops = [drop for batch in threads.map(batch_drops, batches) for drop in batch]
    rows = []
    for k, (family, columns) in enumerate(found.items()):
        mine = drops[k * n_repeats : (k + 1) * n_repeats]
        rows.append(
            {
                "family": family,
                "n_features": len(columns),
                "importance_mean": float(np.mean(mine)),
                "importance_std": float(np.std(mine)),
            }
        )
    return pd.DataFrame(rows).sort_values("importance_mean", ascending=False, ignore_index=True)


def _stacked_copies(X: pd.DataFrame, copies: list[tuple[list[str], np.ndarray]]) -> pd.DataFrame:
    """Copies of ``X`` one under the other, each with some columns' rows in another order
    (``(columns, order)`` per copy); every column keeps its dtype."""
    stacked = {}
    for name in X.columns:
        column = X[name]
        if isinstance(column.dtype, np.dtype):
            values = column.to_numpy()
            parts = [values[order] if name in moved else values for moved, order in copies]
            stacked[name] = np.concatenate(parts)
        else:  # an extension dtype (nullable integers...) keeps its own arrays
            parts = [column.iloc[order] if name in moved else column for moved, order in copies]
            stacked[name] = pd.concat(parts, ignore_index=True)
    return pd.DataFrame(stacked, columns=X.columns)


INTERVAL_METRICS = ("roc_auc", "average_precision", "lift_top10pct")
INTERVAL_LEVEL = 0.90


class _RankedScores:
    """One scorer's rows sorted by score once, so that each resample's weighted ROC AUC,
    average precision and lift are cumulative sums (as scikit-learn computes them, ties
    as one threshold) instead of a sort each: hundreds of resamples of 100,000 rows took
    seconds per scorer through ``roc_auc_score`` and ``average_precision_score``."""

    def __init__(self, y: np.ndarray, p: np.ndarray) -> None:
        self.order = np.argsort(-np.asarray(p, dtype=float), kind="stable")
        self.y = np.asarray(y, dtype=float)[self.order]
        ranked = np.asarray(p, dtype=float)[self.order]
        # The last row of each run of equal scores: one threshold per distinct score.
        self.ends = np.r_[np.flatnonzero(np.diff(ranked) != 0), len(ranked) - 1]

    def metrics(self, weight: np.ndarray, wanted: tuple[str, ...]) -> dict[str, float]:
        w = np.asarray(weight, dtype=float)[self.order]
        tp = np.cumsum(w * self.y)[self.ends]
        fp = np.cumsum(w * (1.0 - self.y))[self.ends]
        positives, negatives = tp[-1], fp[-1]
        found = {}
        if "roc_auc" in wanted:
            tpr = np.r_[0.0, tp / positives]
            fpr = np.r_[0.0, fp / negatives]
            found["roc_auc"] = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
        if "average_precision" in wanted:
            recall_step = np.diff(np.r_[0.0, tp / positives])
            called = tp + fp
            precision = np.divide(tp, called, out=np.zeros_like(tp), where=called > 0)
            found["average_precision"] = float(np.sum(recall_step * precision))
        if "lift_top10pct" in wanted:
            kept = w > 0
            y, w = self.y[kept], w[kept]
            top = np.cumsum(w) <= 0.10 * w.sum()
            top[0] = True
            base = np.average(y, weights=w)
            lift = np.average(y[top], weights=w[top]) / base if base > 0 else np.nan
            found["lift_top10pct"] = float(lift)
        return found


def intervals_by_lead(
    leads: np.ndarray,
    y: np.ndarray,
    predictions: dict[str, np.ndarray],
    main: str,
    n_resamples: int = 100,
    seed: int = 0,
    metrics: tuple[str, ...] = INTERVAL_METRICS,
) -> dict[str, dict[str, list[float]]]:
    """90% intervals of ``metrics`` (ROC AUC, average precision and lift in the top 10% by
    default) of every scorer, and of the main scorer's lead over each other one
    (``<kind>_gain``), from resampling the leads with replacement: a lead's snapshots stay
    together.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 400)
    >>> found = intervals_by_lead(np.arange(400), y, {"m": y + rng.normal(0, 1, 400)}, "m")
    >>> low, high = found["m"]["roc_auc"]
    >>> bool(0.6 < low < high < 0.9)
    True
    """
    codes, _ = pd.factorize(pd.Series(np.asarray(leads).astype(str)))
    n_leads = codes.max() + 1
    y = np.asarray(y).astype(int)
    rng = np.random.default_rng(seed)
    draws: dict[str, dict[str, list[float]]] = {k: {m: [] for m in metrics} for k in predictions}
    gains: dict[str, dict[str, list[float]]] = {
        k: {m: [] for m in metrics} for k in predictions if k != main
    }
    ranked = {k: _RankedScores(y, p) for k, p in predictions.items()}
    with thread_budget(1):
        for _ in range(n_resamples):
            weight = np.bincount(rng.integers(0, n_leads, n_leads), minlength=n_leads)[codes]
            if len(np.unique(y[weight > 0])) < 2:
                continue
            drawn = {k: scores.metrics(weight, metrics) for k, scores in ranked.items()}
            for kind, values in drawn.items():
                for metric, value in values.items():
                    draws[kind][metric].append(value)
                    if kind != main:
                        gains[kind][metric].append(drawn[main][metric] - value)
    tail = (1 - INTERVAL_LEVEL) / 2 * 100

    def band(values: list[float]) -> list[float]:
        return [float(v) for v in np.nanpercentile(values, [tail, 100 - tail])] if values else []

    found = {k: {m: band(v) for m, v in metrics.items()} for k, metrics in draws.items()}
    for kind, metrics in gains.items():
        found[f"{kind}_gain"] = {m: band(v) for m, v in metrics.items()}
    return found
