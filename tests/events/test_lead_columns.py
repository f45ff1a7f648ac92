"""Events and a lead table with extra columns together: the columns join the event
features, the post-outcome checks run on them, and the point-in-time rule holds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from intent_model import build_training_set
from intent_model.errors import InputError
from intent_model.events.features import FeatureSpec, compute_features
from intent_model.events.taxonomy import load_taxonomy
from intent_model.io.config import Config, GuardConfig, TableConfig
from intent_model.table.encoding import TableColumn

SMALL_GUARDS = GuardConfig(min_positives=1, min_negatives=1)


def _with_extra_columns(demo) -> pd.DataFrame:
    """The demo leads plus an honest segment and a status sales wrote after the outcome."""
    hard = demo.events["event_type"].isin(["demo_request", "free_trial_signup", "purchase"])
    converted = demo.leads["lead_id"].astype(str).isin(demo.events.loc[hard, "lead_id"].astype(str))
    rng = np.random.default_rng(3)
    return demo.leads.assign(
        segment=rng.choice(["SMB", "Mid-market", "Enterprise"], len(demo.leads)),
        deal_status=np.where(converted, "Closed - Won", "Open"),
    )


@pytest.fixture(scope="module")
def both(small_demo):
    leads = _with_extra_columns(small_demo)
    return leads, build_training_set(small_demo.events, leads, Config(guards=SMALL_GUARDS))


def test_extra_lead_columns_join_the_event_features_and_the_outcome_is_left_out(both):
    _, training = both
    columns = list(training.X.columns)
    assert {"segment=SMB", "segment=Enterprise", "has_segment"} <= set(columns)
    assert not [c for c in columns if c.startswith(("deal_status", "has_deal_status"))]
    prefixes = ("has_lead_source", "lead_source=", "has_segment", "segment=")
    assert set(training.spec.names_of("lead_table")) == {
        c for c in columns if c.startswith(prefixes)
    }
    checks = training.report.table_checks.set_index("column")
    assert checks.loc["deal_status", "left_out"] and not checks.loc["segment", "flagged"]
    assert "left out 'deal_status'" in training.report.summary()


def test_event_features_are_unchanged_by_the_extra_columns(small_demo, both):
    leads, training = both
    plain = build_training_set(small_demo.events, small_demo.leads, Config(guards=SMALL_GUARDS))
    shared = [c for c in plain.X.columns if c not in training.spec.names_of("lead_table")]
    pd.testing.assert_frame_equal(plain.X[shared], training.X[shared])
    assert len(leads) == len(small_demo.leads)


def test_keep_column_keeps_a_flagged_lead_column(small_demo, both):
    leads, _ = both
    config = Config(guards=SMALL_GUARDS, table=TableConfig(keep_columns=("deal_status",)))
    training = build_training_set(small_demo.events, leads, config)
    assert "deal_status=Closed - Won" in training.X.columns
    assert training.report.table_checks.set_index("column").loc["deal_status", "kept"]


def test_a_lead_table_date_is_only_known_from_that_date_on():
    spec = FeatureSpec.from_config(Config().features, load_taxonomy())
    spec = FeatureSpec(
        **{
            **spec.__dict__,
            "profile_fields": (),
            "table_columns": (TableColumn("last_call_at", "date"),),
        }
    )
    leads = pd.DataFrame(
        {"lead_id": ["a"], "last_call_at": pd.to_datetime(["2024-03-10"], utc=True)}
    )
    keys = pd.DataFrame(
        {"lead_id": ["a", "a"], "cutoff": pd.to_datetime(["2024-03-01", "2024-03-20"], utc=True)}
    )
    events = pd.DataFrame(
        {
            "lead_id": ["a"],
            "timestamp": pd.to_datetime(["2024-02-01"], utc=True),
            "event_type": ["page_view"],
            "event_class": ["engagement"],
            "channel": ["web"],
        }
    )
    days = compute_features(events, keys, spec, leads)["days_since_last_call_at"].tolist()
    assert np.isnan(days[0]) and days[1] == pytest.approx(10.0)


def test_scoring_needs_the_lead_columns_the_model_was_trained_with(trained, small_demo):
    from intent_model.scoring.predict import predict

    result, _, _ = trained
    assert "lead_source" in [c["name"] for c in result.metadata["feature_spec"]["table_columns"]]
    with pytest.raises(InputError, match="lead_source"):
        predict(result.bundle_dir, small_demo.events, small_demo.leads.drop(columns="lead_source"))
