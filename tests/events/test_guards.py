"""Guards: data sufficiency with numbers, the leakage alarm, outcome-like columns, CRM labels."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from intent_model.errors import ConfigError, InputError
from intent_model.events.guards import leakage_alarm, single_feature_auc
from intent_model.events.training_set import build_training_set
from intent_model.io.config import Config, GuardConfig, LabelConfig


def test_too_little_data_is_refused_with_the_numbers(demo):
    few = demo.events[demo.events["lead_id"].isin(demo.leads["lead_id"][:40])]
    with pytest.raises(InputError) as error:
        build_training_set(few, config=Config(guards=GuardConfig(min_positives=500)))
    message = str(error.value)
    assert "not enough data" in message
    assert "positive snapshots" in message and "at least 500 are needed" in message


def test_too_short_a_history_for_windows_and_horizon_is_refused(demo):
    short = demo.events[demo.events["timestamp"] < demo.start + pd.Timedelta(days=100)]
    with pytest.raises(InputError, match=r"need at least 120 days"):
        build_training_set(short, config=Config(labels=LabelConfig(min_history_days=10)))


def test_leakage_alarm_names_a_feature_that_sees_the_label():
    rng = np.random.default_rng(0)
    y = pd.Series(rng.integers(0, 2, 400))
    features = pd.DataFrame(
        {"honest": rng.normal(size=400) + y * 0.3, "leak": y + rng.normal(0, 0.01, 400)}
    )
    keys = pd.DataFrame({"lead_id": range(400), "cutoff": pd.Timestamp("2024-01-01", tz="UTC")})
    flagged = leakage_alarm(features, y, keys, threshold=0.95)
    assert flagged["feature"].tolist() == ["leak"]
    auc = single_feature_auc(features, y)
    assert 0.55 < auc["honest"] < 0.9 and auc["leak"] > 0.99


def test_inverted_features_are_folded_and_constants_are_neutral():
    y = pd.Series([0, 0, 1, 1])
    auc = single_feature_auc(pd.DataFrame({"inv": [4.0, 3, 2, 1], "const": 1.0, "nan": np.nan}), y)
    assert auc.tolist() == [1.0, 0.5, 0.5]


def test_outcome_like_profile_columns_are_listed_and_never_features(demo):
    leads = demo.leads.assign(lead_status="won", deal_stage="closed")
    small = Config(guards=GuardConfig(min_positives=1, min_negatives=1, min_cutoffs=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        training = build_training_set(demo.events, leads, small)
    assert training.report.outcome_like_columns == ["lead_status", "deal_stage"]
    assert not any("status" in c or "stage" in c for c in training.X.columns)
    assert "look like CRM outcomes): lead_status, deal_stage" in training.report.summary()
    refused = small.replace(
        features=small.features.__class__(profile_fields=("email", "lead_status"))
    )
    with pytest.raises(ConfigError, match="lead_status"):
        build_training_set(demo.events, leads, refused)


def test_label_rate_is_reported_per_cutoff(demo):
    small = Config(guards=GuardConfig(min_positives=1, min_negatives=1, min_cutoffs=1))
    training = build_training_set(demo.events, demo.leads, small)
    rates = training.report.label_rates
    assert rates["n_snapshots"].sum() == len(training.y)
    assert rates["n_positive"].sum() == training.y.sum()
    assert rates["cutoff"].is_monotonic_increasing


def test_crm_label_mode_builds_features_as_of_labeled_at(demo):
    first = demo.leads.iloc[:60].copy()
    first["intent"] = np.where(np.arange(60) % 3 == 0, "hard", "soft")
    first["labeled_at"] = demo.start + pd.Timedelta(days=150)
    config = Config(
        labels=LabelConfig(label_col="intent"),
        guards=GuardConfig(min_positives=1, min_negatives=1, min_cutoffs=1),
    )
    training = build_training_set(demo.events, first, config)
    assert len(training.y) == 60 and training.y.sum() == 20
    assert (training.keys["cutoff"] == demo.start + pd.Timedelta(days=150)).all()
    late = demo.events["timestamp"] >= demo.start + pd.Timedelta(days=150)
    assert training.X["n_events_all"].sum() <= (~late).sum()
