"""Durations in hours as well as days, and the snapshot cadence chosen from the log."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intent_model.errors import ConfigError
from intent_model.events.chunks import LeadTimeline, open_events
from intent_model.events.features import FeatureSpec, compute_features
from intent_model.events.labels import AUTO_MIN_POSITIVES, choose_cadence, make_cutoffs
from intent_model.events.log import load_events
from intent_model.events.taxonomy import load_taxonomy
from intent_model.events.training_set import build_training_set
from intent_model.io.config import (
    Config,
    FeatureConfig,
    GuardConfig,
    LabelConfig,
    config_from_dict,
    parse_duration,
)

TAXONOMY = load_taxonomy()
SMALL_GUARDS = GuardConfig(min_positives=1, min_negatives=1, min_cutoffs=1)


@given(st.integers(1, 24 * 400))
def test_a_duration_in_hours_is_the_same_value_as_in_days(hours):
    in_hours = parse_duration(f"{hours}h")
    assert in_hours * 24 == pytest.approx(hours)
    if hours % 24 == 0:
        assert in_hours == hours // 24 == parse_duration(f"{hours // 24}d")
        assert isinstance(in_hours, int)


@pytest.mark.parametrize("bad", ["soon", "-2d", "6x", "0.5m", True, [1]])
def test_a_bad_duration_names_the_key_and_the_forms_it_takes(bad):
    with pytest.raises(ConfigError, match="horizon_days"):
        config_from_dict({"labels": {"horizon_days": bad}}, "intent.toml")


def test_a_config_file_takes_hours_days_and_weeks():
    config = config_from_dict(
        {
            "labels": {"horizon_days": "2d", "step_days": "12h", "min_history_days": "1w"},
            "features": {"windows_days": ["6h", "1d", 3], "decay_half_life_days": "36h"},
            "predict": {"exclude_converted_days": "48h"},
        }
    )
    assert config.labels.horizon_days == 2 and config.labels.step_days == 0.5
    assert config.labels.min_history_days == 7
    assert config.features.windows_days == (0.25, 1, 3)
    assert config.features.decay_half_life_days == 1.5
    assert config.predict.exclude_converted_days == 2


def _log(seed: int, n_leads: int = 60, days: int = 12) -> pd.DataFrame:
    """Events every few hours over ``days`` days, some of them purchases."""
    rng = np.random.default_rng(seed)
    n = n_leads * 15
    start = pd.Timestamp("2024-05-01", tz="UTC")
    raw = pd.DataFrame(
        {
            "lead_id": rng.integers(0, n_leads, n).astype(str),
            "timestamp": start + pd.to_timedelta(rng.integers(0, days * 24 * 60, n), unit="min"),
            "event_type": rng.choice(
                ["page_view", "pricing_page_view", "add_to_cart", "purchase"],
                n,
                p=[0.6, 0.2, 0.15, 0.05],
            ),
            "channel": "web",
        }
    )
    return raw


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), hours=st.sampled_from([24, 48, 72, 168]))
def test_hours_give_the_same_features_and_labels_as_the_same_days(seed, hours):
    raw = _log(seed)
    days = hours // 24
    in_days = Config(
        labels=LabelConfig(horizon_days=days, step_days=1, min_history_days=2),
        features=FeatureConfig(windows_days=(1, days), decay_half_life_days=days),
        guards=SMALL_GUARDS,
    )
    in_hours = Config(
        labels=LabelConfig(horizon_days=f"{hours}h", step_days="24h", min_history_days="48h"),
        features=FeatureConfig(windows_days=("24h", f"{hours}h"), decay_half_life_days=f"{hours}h"),
        guards=SMALL_GUARDS,
    )
    # The guards judge whether a model is worth training, not what these values are.
    a = build_training_set(raw, None, in_days, check=False)
    b = build_training_set(raw, None, in_hours, check=False)
    pd.testing.assert_frame_equal(a.X, b.X, check_exact=True)
    pd.testing.assert_series_equal(a.y, b.y)
    pd.testing.assert_frame_equal(a.keys, b.keys)


def test_an_hour_window_counts_the_events_of_those_hours_and_says_so():
    events = load_events(
        pd.DataFrame(
            {
                "lead_id": ["a", "a", "a", "a"],
                "timestamp": pd.to_datetime(
                    [
                        "2024-03-01T05:59:59Z",  # 6h 0m 1s before: outside
                        "2024-03-01T06:00:00Z",  # exactly 6 hours before: inside
                        "2024-03-01T11:00:00Z",
                        "2024-03-01T12:00:00Z",  # at the cutoff: not before it
                    ],
                    utc=True,
                ),
                "event_type": "pricing_page_view",
                "channel": "web",
            }
        )
    ).events
    spec = FeatureSpec.from_config(FeatureConfig(windows_days=("6h", "1d")), TAXONOMY)
    keys = pd.DataFrame({"lead_id": ["a"], "cutoff": pd.Timestamp("2024-03-01T12:00", tz="UTC")})
    row = compute_features(events, keys, spec).iloc[0]
    assert row["n_pricing_page_view_6h"] == 2
    assert row["n_pricing_page_view_1d"] == 3
    assert "n_pricing_page_view_6d" not in row
    said = spec.say("n_pricing_page_view_6h", row)
    assert said.text == "2 pricing page views in the last 6 hours"


def test_cutoffs_every_twelve_hours_start_on_the_hour():
    cutoffs = make_cutoffs(
        pd.Timestamp("2024-01-01T07:30", tz="UTC"),
        pd.Timestamp("2024-01-04T00:00", tz="UTC"),
        LabelConfig(horizon_days="1d", min_history_days="12h", step_days="12h"),
    )
    assert cutoffs.strftime("%d %H").tolist() == ["01 20", "02 08", "02 20"]


def _timeline(first_seen_days, hard: list[tuple[int, float]]) -> LeadTimeline:
    start = pd.Timestamp("2024-01-01", tz="UTC").value
    day = pd.Timedelta(days=1).value
    return LeadTimeline(
        np.array([start + round(d * day) for d in first_seen_days], dtype=np.int64),
        np.array([lead for lead, _ in hard], dtype=np.int64),
        np.array([start + round(t * day) for _, t in hard], dtype=np.int64),
    )


def test_auto_keeps_month_starts_when_they_give_enough_positives():
    rng = np.random.default_rng(0)
    n_leads = 20_000
    hard = [(lead, rng.uniform(0, 400)) for lead in rng.integers(0, n_leads, 8_000)]
    timeline = _timeline(np.zeros(n_leads), hard)
    first, last = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2025-02-04", tz="UTC")
    cadence = choose_cadence(timeline, first, last, LabelConfig(), 3, 3)
    assert cadence.step == "month" and cadence.chosen_by == "auto"
    month = cadence.candidates.iloc[0]
    assert month["development_positives"] >= AUTO_MIN_POSITIVES
    assert f"{month['development_positives']:,} positive" in cadence.describe()


def test_auto_goes_finer_on_a_small_log_and_counts_exactly():
    # Two leads; one hard conversion each: lead 0 at day 100.5, lead 1 (seen from day
    # 90) at day 95. With month starts from 2024-03-01 and a 30-day horizon, lead 0 is
    # positive at the April cutoff (day 91) only, lead 1 at none (entered day 90 < 91,
    # converted day 95: positive at April too).
    timeline = _timeline([0, 90], [(0, 100.5), (1, 95)])
    first, last = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-12-31", tz="UTC")
    cadence = choose_cadence(timeline, first, last, LabelConfig(), 3, 3)
    table = cadence.candidates.set_index("cadence")
    month = table.loc["at month starts"]
    assert month["development_cutoffs"] == 7  # 03-01 .. 09-01; 10-01 and later held out
    assert month["development_positives"] == 2
    # Too few positives anywhere: the cadence with most of them, the quarter horizon.
    assert cadence.step == 8.0
    assert table["development_positives"].idxmax() == "every 8 days"
    fixed = choose_cadence(timeline, first, last, LabelConfig(step_days="month"), 3, 3)
    assert fixed.step == "month" and fixed.chosen_by == "config" and fixed.candidates is None


def test_the_streamed_log_chooses_the_cadence_the_frame_does(tmp_path):
    raw = _log(3, n_leads=200, days=30)
    raw.to_parquet(tmp_path / "events.parquet")
    config = Config(
        labels=LabelConfig(horizon_days="2d", min_history_days="2d"),
        features=FeatureConfig(chunk_events=500),
        guards=SMALL_GUARDS,
    )
    in_memory = open_events(raw, config, TAXONOMY)
    streamed = open_events(tmp_path / "events.parquet", config, TAXONOMY, tmp_path / "spill")
    assert streamed.n_chunks > 1
    choices = [
        choose_cadence(c.timeline, c.first_timestamp, c.last_timestamp, config.labels, 3, 3)
        for c in (in_memory, streamed)
    ]
    pd.testing.assert_frame_equal(choices[0].candidates, choices[1].candidates)
    assert choices[0].step == choices[1].step
    built = build_training_set(raw, None, config, check=False)
    assert built.report.cadence.step == choices[0].step
    assert built.report.cadence.describe() in built.report.summary()
