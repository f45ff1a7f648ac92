"""Metrics, threshold, tiers, the time split and the points rule, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intent_model.errors import InputError
from intent_model.modeling.baselines import PointsRule
from intent_model.modeling.evaluate import (
    assign_tiers,
    choose_threshold,
    choose_tier_bounds,
    classification_metrics,
    expected_calibration_error,
    top_k_metrics,
)
from intent_model.modeling.split import grouped_folds, out_of_time_split
from intent_model.training.promote import beats


def test_top_k_precision_recall_and_lift_by_hand():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05])
    metrics = top_k_metrics(y, p, 2)
    assert metrics == {"precision": 0.5, "recall": 0.5, "lift": 2.5}


def test_calibration_error_is_zero_for_calibrated_bins_and_large_when_off():
    y = np.array([0] * 90 + [1] * 10)
    assert expected_calibration_error(y, np.full(100, 0.1), n_bins=1) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.full(100, 0.6), n_bins=1) == pytest.approx(0.5)


def test_metrics_include_every_design_metric():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    metrics = classification_metrics(y, np.clip(y * 0.6 + rng.random(500) * 0.4, 0, 1), 50)
    for name in (
        "roc_auc",
        "average_precision",
        "log_loss",
        "brier",
        "ece",
        "precision_top5pct",
        "recall_top10pct",
        "lift_top20pct",
        "precision_at_capacity",
    ):
        assert name in metrics


def test_threshold_maximises_f1_and_tiers_follow_the_shares():
    y = np.array([0, 0, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.8, 0.9])
    assert choose_threshold(y, p) == pytest.approx(0.8)
    scores = np.linspace(0, 1, 1001)
    bounds = choose_tier_bounds(scores, (0.05, 0.15, 0.30))
    tiers = pd.Series(assign_tiers(scores, bounds)).value_counts(normalize=True)
    assert tiers["A"] == pytest.approx(0.05, abs=0.002) and tiers["D"] == pytest.approx(
        0.5, abs=0.002
    )
    with pytest.raises(ValueError, match="tier_shares"):
        choose_tier_bounds(scores, (0.5, 0.5, 0.1))


def test_split_leaves_a_horizon_between_development_and_holdout():
    cutoffs = pd.date_range("2024-01-01", periods=6, freq="14D", tz="UTC")
    keys = pd.DataFrame({"lead_id": "a", "cutoff": cutoffs})
    split = out_of_time_split(keys, holdout_cutoffs=2, horizon_days=30)
    assert list(split.holdout_cutoffs) == list(cutoffs[-2:])
    assert split.development_cutoffs.max() + pd.Timedelta(days=30) <= cutoffs[-2]
    assert not (split.development & split.holdout).any()
    with pytest.raises(InputError, match="no development cutoff"):
        out_of_time_split(keys, holdout_cutoffs=5, horizon_days=30)


def test_folds_never_split_a_lead():
    groups = np.repeat(np.arange(30), 4)
    labels = np.tile([0, 1, 0, 0], 30)
    for train, valid in grouped_folds(groups, 3, labels):
        assert not set(groups[train]) & set(groups[valid])


def test_points_rule_rewards_recent_events_more_and_never_drops_with_more():
    X = pd.DataFrame(
        {
            "n_demo_request_7d": [1, 0, 1],
            "n_demo_request_30d": [1, 1, 2],
            "n_demo_request_90d": [1, 1, 2],
            "has_phone": [0, 0, 0],
        }
    )
    points = PointsRule().fit(X).points(X).tolist()
    assert points[0] > points[1]
    assert points[2] >= points[0]


def test_promotion_metric_direction():
    assert beats("average_precision", 0.31, 0.30) and not beats("average_precision", 0.3, 0.3)
    assert beats("log_loss", 0.20, 0.21) and not beats("brier", 0.07, 0.06)


@pytest.mark.slow  # 200 draws of 100 resamples: about a minute
@settings(max_examples=5, deadline=None, derandomize=True)
@given(
    separation=st.floats(0.5, 1.5),
    base_rate=st.floats(0.1, 0.4),
    n_leads=st.integers(200, 400),
    snapshots=st.integers(1, 4),
)
def test_lead_intervals_cover_a_synthetic_scorers_true_auc_at_about_the_stated_rate(
    separation, base_rate, n_leads, snapshots
):
    from scipy.stats import norm

    from intent_model.modeling.evaluate import intervals_by_lead

    true_auc = norm.cdf(separation / np.sqrt(2))  # the binormal scorer's population AUC
    covered = 0
    draws = 40
    for seed in range(draws):
        rng = np.random.default_rng(seed)
        y_lead = (rng.random(n_leads) < base_rate).astype(int)
        # A lead's snapshots are alike: resampling snapshots instead of leads would make
        # the intervals too narrow (about half as wide with four), and miss often.
        leads = np.repeat(np.arange(n_leads), snapshots)
        y = np.repeat(y_lead, snapshots)
        noise = rng.normal(0, 0.05, n_leads * snapshots)
        score = np.repeat(rng.normal(separation * y_lead, 1.0), snapshots) + noise
        bands = intervals_by_lead(leads, y, {"m": score}, "m", seed=seed, metrics=("roc_auc",))
        low, high = bands["m"]["roc_auc"]
        covered += low <= true_auc <= high
    # 90% intervals: 36 of 40 expected; 30 is three binomial deviations below.
    assert covered >= 0.75 * draws, covered


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 300),
    distinct_scores=st.integers(1, 20),
)
def test_resampled_metrics_equal_scikit_learns_with_ties_and_zero_weights(seed, n, distinct_scores):
    from sklearn.metrics import average_precision_score, roc_auc_score

    from intent_model.modeling.evaluate import _RankedScores

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = rng.integers(0, distinct_scores, n) / distinct_scores  # many ties
    weight = rng.integers(0, 3, n).astype(float)  # a lead drawn 0, 1 or 2 times
    kept = weight > 0
    if len(np.unique(y[kept])) < 2:
        return
    found = _RankedScores(y, p).metrics(weight, ("roc_auc", "average_precision"))
    assert found["roc_auc"] == pytest.approx(
        roc_auc_score(y[kept], p[kept], sample_weight=weight[kept]), abs=1e-12
    )
    assert found["average_precision"] == pytest.approx(
        average_precision_score(y[kept], p[kept], sample_weight=weight[kept]), abs=1e-12
    )


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_importance_scored_in_batches_is_importance_scored_copy_by_copy(monkeypatch, n_jobs):
    from sklearn.ensemble import HistGradientBoostingClassifier

    from intent_model.modeling import evaluate

    rng = np.random.default_rng(4)
    X = pd.DataFrame(rng.normal(size=(700, 5)), columns=[f"x{j}" for j in range(5)])
    y = (X["x0"] + 0.5 * X["x3"] + rng.normal(size=700) > 0.8).astype(int).to_numpy()
    model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X, y)
    families = {"strong": ["x0"], "weaker": ["x3", "x4"], "noise": ["x1", "x2"]}

    def importance():
        return evaluate.family_importance(
            lambda frame: model.predict_proba(frame)[:, 1], X, y, families, n_jobs=n_jobs
        )

    batched = importance()  # every copy in one call at 700 rows
    monkeypatch.setattr(evaluate, "IMPORTANCE_BATCH_ROWS", 1)  # one call per copy
    pd.testing.assert_frame_equal(batched, importance())
    monkeypatch.setattr(evaluate, "IMPORTANCE_BATCH_ROWS", 1500)  # two copies a call
    pd.testing.assert_frame_equal(batched, importance())
    assert batched["family"].tolist() == ["strong", "weaker", "noise"]


def test_stacked_copies_keep_each_columns_dtype_and_shuffle_only_their_columns():
    from intent_model.modeling.evaluate import _stacked_copies

    X = pd.DataFrame(
        {
            "a": np.array([1.5, 2.5, 3.5], dtype=np.float32),
            "b": [10, 20, 30],
            "c": pd.array([1, None, 3], dtype="Int64"),
        }
    )
    order = np.array([2, 0, 1])
    stacked = _stacked_copies(X, [(["a", "c"], order), (["b"], order)])
    assert stacked.dtypes.tolist() == X.dtypes.tolist()
    first, second = stacked.iloc[:3].reset_index(drop=True), stacked.iloc[3:].reset_index(drop=True)
    expected = X.copy()
    expected[["a", "c"]] = X[["a", "c"]].iloc[order].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, expected)
    expected = X.copy()
    expected["b"] = X["b"].to_numpy()[order]
    pd.testing.assert_frame_equal(second, expected)
