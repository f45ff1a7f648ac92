"""Snapshots and labels: cutoffs, population, the label window and its boundaries."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intent_model.errors import InputError
from intent_model.events.labels import (
    FutureFeaturesWarning,
    crm_labels,
    keep_by_population_rules,
    label_snapshots,
    make_cutoffs,
    population,
)
from intent_model.io.config import LabelConfig

CUTOFF = pd.Timestamp("2024-03-01", tz="UTC")


def _keys(*leads: str, cutoff: pd.Timestamp = CUTOFF) -> pd.DataFrame:
    return pd.DataFrame({"lead_id": list(leads), "cutoff": cutoff})


def _hard(*rows: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": [r[0] for r in rows],
            "timestamp": pd.to_datetime([r[1] for r in rows], utc=True),
        }
    )


def test_hard_event_exactly_at_the_cutoff_is_in_the_label_window():
    labels = label_snapshots(_keys("a"), _hard(("a", "2024-03-01T00:00:00Z")), horizon_days=30)
    assert labels.tolist() == [1]


def test_hard_event_exactly_at_cutoff_plus_horizon_is_not():
    labels = label_snapshots(_keys("a"), _hard(("a", "2024-03-31T00:00:00Z")), horizon_days=30)
    assert labels.tolist() == [0]
    just_inside = _hard(("a", "2024-03-30T23:59:59.999Z"))
    assert label_snapshots(_keys("a"), just_inside, horizon_days=30).tolist() == [1]


def test_hard_event_before_the_cutoff_is_not_a_label():
    labels = label_snapshots(_keys("a", "b"), _hard(("a", "2024-02-29T23:59:59Z")), horizon_days=30)
    assert labels.tolist() == [0, 0]


def test_labels_follow_their_own_lead_only():
    keys = pd.concat([_keys("a", "b"), _keys("a", cutoff=CUTOFF + pd.Timedelta(days=31))])
    hard = _hard(("b", "2024-03-10"), ("a", "2024-04-05"))
    assert label_snapshots(keys.reset_index(drop=True), hard, 30).tolist() == [0, 1, 1]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("ab"), st.integers(-100, 100)), max_size=12),
    st.lists(st.tuples(st.sampled_from("ab"), st.integers(-200, 200)), max_size=12),
)
def test_label_depends_only_on_hard_events_inside_its_window(inside_or_not, outside):
    horizon = 30
    events = [(lead, day) for lead, day in inside_or_not]
    # Extra events strictly outside [cutoff, cutoff + horizon) for either lead.
    extra = [(lead, day) for lead, day in outside if day < 0 or day >= horizon]

    def hard(rows):
        return pd.DataFrame(
            {
                "lead_id": [r[0] for r in rows],
                "timestamp": pd.DatetimeIndex(
                    [CUTOFF + pd.Timedelta(days=r[1]) for r in rows], dtype="datetime64[ns, UTC]"
                ),
            }
        )

    keys = _keys("a", "b")
    base = label_snapshots(keys, hard(events), horizon)
    with_extra = label_snapshots(keys, hard(events + extra), horizon)
    assert base.tolist() == with_extra.tolist()
    expected = [int(any(lead == k and 0 <= day < horizon for lead, day in events)) for k in "ab"]
    assert base.tolist() == expected


def test_monthly_cutoffs_leave_history_first_and_a_whole_horizon_last():
    cutoffs = make_cutoffs(
        pd.Timestamp("2024-01-10", tz="UTC"), pd.Timestamp("2024-07-20", tz="UTC"), LabelConfig()
    )
    assert cutoffs.strftime("%Y-%m-%d").tolist() == ["2024-04-01", "2024-05-01", "2024-06-01"]
    weekly = make_cutoffs(
        pd.Timestamp("2024-01-01", tz="UTC"),
        pd.Timestamp("2024-04-01", tz="UTC"),
        LabelConfig(step_days=7, min_history_days=30, horizon_days=14),
    )
    assert weekly[0] == pd.Timestamp("2024-01-31", tz="UTC")
    assert weekly[-1] + pd.Timedelta(days=14) <= pd.Timestamp("2024-04-01", tz="UTC")
    assert (weekly[1:] - weekly[:-1] == pd.Timedelta(days=7)).all()


def test_a_lead_joins_the_population_only_after_it_exists():
    first_seen = pd.Series(
        pd.to_datetime(["2024-02-01", "2024-03-01", None], utc=True),
        index=["early", "at", "unknown"],
    )
    cutoffs = pd.DatetimeIndex([CUTOFF, CUTOFF + pd.Timedelta(days=1)])
    keys = population(first_seen, cutoffs)
    assert list(zip(keys["lead_id"], keys["cutoff"].dt.day, strict=True)) == [
        ("early", 1),
        ("at", 2),
        ("early", 2),
    ]


def test_population_rules_drop_recent_converters_and_stop_after_first_positive():
    keys = pd.DataFrame(
        {
            "lead_id": ["a", "a", "a", "b"],
            "cutoff": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-03-01", "2024-02-01"], utc=True
            ),
        }
    )
    labels = pd.Series([0, 1, 0, 0])
    hard = _hard(("a", "2024-01-20"), ("b", "2023-11-01"))
    recent = keep_by_population_rules(keys, labels, hard, LabelConfig(exclude_recent_hard_days=30))
    assert recent.tolist() == [True, False, True, True]
    stopped = keep_by_population_rules(
        keys, labels, hard, LabelConfig(stop_after_first_positive=True)
    )
    assert stopped.tolist() == [True, True, False, True]


def test_crm_labels_take_many_spellings_and_cut_off_at_labeled_at():
    leads = pd.DataFrame(
        {
            "lead_id": ["a", "b", "c", "d"],
            "intent": ["Hard", "soft", "", "1"],
            "labeled_at": ["2024-02-01", "2024-02-02", None, None],
        }
    )
    end = pd.Timestamp("2024-06-01", tz="UTC")
    keys, labels = crm_labels(leads, LabelConfig(label_col="intent"), end)
    assert keys["lead_id"].tolist() == ["a", "b", "d"]
    assert labels.tolist() == [1, 0, 1]
    assert keys["cutoff"].tolist()[0] == pd.Timestamp("2024-02-01", tz="UTC")
    assert keys["cutoff"].tolist()[2] == end


def test_crm_labels_without_labeled_at_warn_loudly_and_bad_values_fail():
    leads = pd.DataFrame({"lead_id": ["a", "b"], "intent": ["yes", "maybe"]})
    with pytest.raises(
        InputError, match=r"1 value\(s\) that are not a label .*not labelled yet\): line 3: 'maybe'"
    ):
        crm_labels(leads, LabelConfig(label_col="intent"), CUTOFF, "leads.csv")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        crm_labels(leads.iloc[:1], LabelConfig(label_col="intent"), CUTOFF, "leads.csv")
    assert any(issubclass(w.category, FutureFeaturesWarning) for w in caught)
