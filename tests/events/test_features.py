"""Point-in-time features: hand-checked values, the cutoff boundary, and chunk invariance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intent_model.events.features import FeatureSpec, compute_features, lead_time_order
from intent_model.events.log import load_events
from intent_model.events.stream import build_features
from intent_model.events.taxonomy import load_taxonomy
from intent_model.events.training_set import build_training_set
from intent_model.io.config import Config, FeatureConfig, GuardConfig, RuntimeConfig

CUTOFF = pd.Timestamp("2024-03-01", tz="UTC")
TAXONOMY = load_taxonomy()


def _events(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    raw = pd.DataFrame(rows, columns=["lead_id", "timestamp", "event_type"]).assign(channel="web")
    return load_events(raw).events


@pytest.fixture
def hand_events() -> pd.DataFrame:
    return _events(
        [
            ("a", "2024-01-01T10:00:00Z", "page_view"),
            ("a", "2024-02-20T10:00:00Z", "whitepaper_download"),
            ("a", "2024-02-23T00:00:00Z", "pricing_page_view"),  # exactly 7 days before
            ("a", "2024-02-29T09:00:00Z", "pricing_page_view"),
            ("a", "2024-02-29T18:00:00Z", "page_view"),
            ("a", "2024-03-01T00:00:00Z", "demo_request"),  # exactly at the cutoff
            ("a", "2024-03-05T00:00:00Z", "purchase"),
            ("c", "2024-02-16T00:00:00Z", "ebook_download"),  # one half-life before
        ]
    )


@pytest.fixture
def hand_leads() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": ["a", "b"],
            "created_at": pd.to_datetime(["2024-01-01", "2024-02-01"], utc=True),
            "email": ["ann@acme.com", "bob@gmail.com"],
            "email_provided_at": pd.to_datetime(["2024-01-01", "2024-02-01"], utc=True),
            "phone": ["+1 555", "+1 556"],
            "phone_provided_at": pd.to_datetime(["2024-02-29", "2024-03-02"], utc=True),
            "company": ["Acme", None],
            "company_provided_at": pd.to_datetime(["2024-03-01", None], utc=True),
        }
    )


def _spec(lead_columns=()) -> FeatureSpec:
    return FeatureSpec.from_config(FeatureConfig(), TAXONOMY, lead_columns)


def _features(events, leads=None, cutoff=CUTOFF, leads_ids=("a", "b", "c")) -> pd.DataFrame:
    keys = pd.DataFrame({"lead_id": list(leads_ids), "cutoff": cutoff})
    spec = _spec(leads.columns if leads is not None else ())
    return compute_features(events, keys, spec, leads).set_axis(list(leads_ids))


def test_counts_by_window_with_inclusive_start_and_exclusive_cutoff(hand_events, hand_leads):
    a = _features(hand_events, hand_leads).loc["a"]
    assert [a["n_pricing_page_view_7d"], a["n_pricing_page_view_30d"]] == [2, 2]
    assert [a["n_page_view_7d"], a["n_page_view_30d"], a["n_page_view_90d"]] == [1, 1, 2]
    assert [a["n_whitepaper_download_7d"], a["n_whitepaper_download_30d"]] == [0, 1]
    assert [a["n_events_7d"], a["n_events_all"]] == [3, 5]
    assert [a["n_hard_all"], a["n_soft_all"], a["n_engagement_all"]] == [0, 1, 4]
    assert a["n_demo_request_all"] == 0  # the event at the cutoff belongs to the label window


def test_recency_intensity_and_diversity_by_hand(hand_events, hand_leads):
    a = _features(hand_events, hand_leads).loc["a"]
    assert a["days_since_last_event"] == pytest.approx(0.25)
    assert a["days_since_first_event"] == pytest.approx(60 - 10 / 24)
    assert a["days_since_last_soft"] == pytest.approx(9 + 14 / 24)
    assert np.isnan(a["days_since_last_hard"])
    assert a["days_since_created"] == pytest.approx(60)
    assert [a["n_active_days_7d"], a["n_active_days_all"]] == [2, 4]
    assert a["events_per_active_day"] == pytest.approx(1.25)
    assert a["trend_7d_vs_prior_30d"] == pytest.approx((4 / 7) / (2 / 30))
    assert [a["n_distinct_event_types"], a["n_distinct_channels"]] == [3, 1]


def test_decayed_engagement_halves_every_half_life(hand_events):
    c = _features(hand_events).loc["c"]
    assert c["decayed_soft_events"] == pytest.approx(0.5)
    assert c["decayed_events_total"] == pytest.approx(0.5)


def test_profile_fields_count_only_from_when_they_were_given(hand_events, hand_leads):
    features = _features(hand_events, hand_leads)
    a, b = features.loc["a"], features.loc["b"]
    assert [a["has_email"], a["has_phone"], a["has_company"]] == [1, 1, 0]  # company at the cutoff
    assert a["n_fields_provided"] == 2 and a["share_fields_provided"] == pytest.approx(2 / 3)
    assert [b["has_email"], b["has_phone"]] == [1, 0]  # phone given the day after
    assert [a["email_is_corporate"], b["email_is_corporate"]] == [1, 0]
    later = _features(hand_events, hand_leads, cutoff=pd.Timestamp("2024-03-03", tz="UTC"))
    assert later.loc["b", "has_phone"] == 1 and later.loc["a", "has_company"] == 1


def test_a_lead_without_events_gets_a_row_from_its_profile(hand_events, hand_leads):
    b = _features(hand_events, hand_leads).loc["b"]
    assert b["n_events_all"] == 0 and np.isnan(b["days_since_last_event"])
    assert b["days_since_created"] == pytest.approx(29)
    assert b["has_email"] == 1


EVENT_TYPES = ["page_view", "pricing_page_view", "whitepaper_download", "demo_request", "odd_type"]
event_rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.integers(-90 * 24 * 60, 90 * 24 * 60),  # minutes from the cutoff
        st.sampled_from(EVENT_TYPES),
        st.sampled_from(["web", "email"]),
    ),
    max_size=40,
)


def _frame(rows) -> pd.DataFrame:
    raw = pd.DataFrame(
        {
            "lead_id": [r[0] for r in rows],
            "timestamp": [CUTOFF + pd.Timedelta(minutes=r[1]) for r in rows],
            "event_type": [r[2] for r in rows],
            "channel": [r[3] for r in rows],
        }
    )
    if raw.empty:
        raw["timestamp"] = pd.Series([], dtype="datetime64[ns, UTC]")
        return raw.assign(event_class=pd.Categorical([], categories=["hard", "soft", "engagement"]))
    return load_events(raw).events


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=event_rows, future=event_rows, changed_types=st.lists(st.sampled_from(EVENT_TYPES)))
def test_events_at_or_after_the_cutoff_never_change_a_feature(history, future, changed_types):
    before = [r for r in history if r[1] < 0]
    at_or_after = [r for r in history if r[1] >= 0]
    reference = _features(_frame(before))
    # Add events at or after the cutoff, remove them, or change their type.
    added = [(lead, abs(minute), kind, channel) for lead, minute, kind, channel in future]
    retyped = [
        (lead, minute, changed_types[i % len(changed_types)] if changed_types else kind, channel)
        for i, (lead, minute, kind, channel) in enumerate(at_or_after)
    ]
    for variant in (before + at_or_after, before + at_or_after + added, before + retyped):
        pd.testing.assert_frame_equal(_features(_frame(variant)), reference, check_exact=True)


@settings(max_examples=40, deadline=None)
@given(st.integers(-5 * 24 * 60, 5 * 24 * 60))
def test_a_field_counts_exactly_when_it_was_given_before_the_cutoff(minutes):
    leads = pd.DataFrame(
        {
            "lead_id": ["a"],
            "phone": ["+1 555"],
            "phone_provided_at": [CUTOFF + pd.Timedelta(minutes=minutes)],
        }
    )
    features = _features(_frame([]), leads, leads_ids=("a",))
    assert features.loc["a", "has_phone"] == (1.0 if minutes < 0 else 0.0)


def _small_guards() -> GuardConfig:
    return GuardConfig(min_positives=1, min_negatives=1, min_cutoffs=1)


def test_features_in_chunks_equal_features_in_one_piece_bit_for_bit(demo, tmp_path):
    one_piece = build_training_set(demo.events, demo.leads, Config(guards=_small_guards()))
    small = Config(features=FeatureConfig(chunk_events=20_000), guards=_small_guards())
    in_chunks = build_training_set(demo.events, demo.leads, small)
    demo.events.to_parquet(tmp_path / "events.parquet")
    streamed = build_training_set(tmp_path / "events.parquet", demo.leads, small, workdir=tmp_path)
    assert len(one_piece.X) > 1000 and one_piece.y.sum() > 20
    for other in (in_chunks, streamed):
        pd.testing.assert_frame_equal(other.X, one_piece.X, check_exact=True)
        pd.testing.assert_series_equal(other.y, one_piece.y)
        pd.testing.assert_frame_equal(other.keys, one_piece.keys)
    scoring = build_features(demo.events, demo.leads, as_of="2024-12-01", config=Config())
    scoring_streamed = build_features(
        tmp_path / "events.parquet", demo.leads, as_of="2024-12-01", config=small, workdir=tmp_path
    )
    pd.testing.assert_frame_equal(scoring_streamed, scoring, check_exact=True)
    assert len(scoring) == len(demo.leads)


def test_feature_threads_follow_the_runtime_jobs_setting(demo, monkeypatch):
    from intent_model.events import stream

    pools = []

    class Recorded(stream.ThreadPoolExecutor):
        def __init__(self, max_workers=None, **kwargs):
            pools.append(max_workers)
            super().__init__(max_workers=max_workers, **kwargs)

    monkeypatch.setattr(stream, "ThreadPoolExecutor", Recorded)
    one = Config(runtime=RuntimeConfig(jobs=1))
    build_features(demo.events, demo.leads, as_of="2024-12-01", config=one)
    build_features(demo.events, demo.leads, as_of="2024-12-01", config=one, jobs=3)
    assert pools == [1, 3]


def test_streaming_a_parquet_log_accounts_for_quarantined_rows(tmp_path):
    rows = [("a", "2024-01-01", "page_view")] * 30 + [("", "2024-01-02", "page_view")] * 3
    raw = pd.DataFrame(rows, columns=["lead_id", "timestamp", "event_type"])
    raw.loc[5, "timestamp"] = "not a time"
    raw.to_parquet(tmp_path / "e.parquet")
    config = Config(features=FeatureConfig(chunk_events=10))
    config = config.replace(input=config.input.__class__(on_bad_rows="quarantine"))
    from intent_model.events.chunks import open_events

    chunks = open_events(tmp_path / "e.parquet", config, TAXONOMY, tmp_path / "work")
    assert chunks.n_chunks == 4
    assert chunks.checked.n_read == 33 and chunks.checked.n_rejected == 4
    assert set(chunks.checked.rejected["_rejected_row"]) == {"row 5", "row 30", "row 31", "row 32"}
    assert sum(len(chunks.chunk(i)) for i in range(chunks.n_chunks)) == 29


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 4)), max_size=30),
    st.booleans(),
    st.sampled_from([6, 70_000]),
)
def test_lead_time_order_is_lexsort_by_lead_then_time(rows, presort, n_leads):
    lead = np.array([r[0] for r in rows], dtype=np.int64)
    timestamp = np.array([r[1] for r in rows], dtype=np.int64)
    if presort:
        by_time = np.argsort(timestamp, kind="stable")
        lead, timestamp = lead[by_time], timestamp[by_time]
    expected = np.lexsort((timestamp, lead))
    assert lead_time_order(lead, timestamp, n_leads).tolist() == expected.tolist()


def test_placeholder_profile_values_count_as_not_given_and_are_reported(hand_events):
    leads = pd.DataFrame(
        {
            "lead_id": ["a", "b", "c"],
            "company": ["Acme", "-- Select --", " N/A "],
            "job_title": ["CTO", "Unknown", ""],
        }
    )
    features = _features(hand_events, leads)
    assert features["has_company"].tolist() == [1, 0, 0]
    assert features["has_job_title"].tolist() == [1, 0, 0]
    small = Config(guards=GuardConfig(min_positives=0, min_negatives=0, min_cutoffs=0))
    with pytest.warns(UserWarning, match="provided_at"):
        report = build_training_set(hand_events, leads, small, check=False).report
    counts = {(r.column, r.value): r.n_cells for r in report.placeholders.itertuples()}
    # The one placeholder counter of both modes: blanks are counted too.
    assert counts == {
        ("company", "-- select --"): 1,
        ("company", "n/a"): 1,
        ("job_title", "(blank)"): 1,
        ("job_title", "unknown"): 1,
    }
    assert "placeholders and blanks counted as not given" in report.summary()
