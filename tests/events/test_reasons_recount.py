"""Every sentence a reason can say is true: each number it states is recounted from the raw
events (and the leads table), for every feature family, on generated logs."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intent_model.events.families import FAMILIES, FEATURE_FAMILIES
from intent_model.events.families.base import FeatureFamily
from intent_model.events.features import FeatureSpec
from intent_model.events.stream import build_features
from intent_model.events.taxonomy import load_taxonomy
from intent_model.io.config import Config, FeatureConfig, with_columns
from intent_model.table.encoding import TableColumn
from tests.recount import Recount, assert_every_sentence_true

CUTOFF = pd.Timestamp("2024-06-01", tz="UTC")
TAXONOMY = load_taxonomy()
TYPES = [
    "page_view",
    "pricing_page_view",
    "email_open",
    "whitepaper_download",
    "webinar_registration",
    "demo_request",
    "purchase",
    "mystery_event",
]
CONFIG = with_columns(Config(), {"account_id": "account_id"})
DAY = pd.Timedelta(days=1)

event_rows = st.lists(
    st.tuples(
        st.integers(0, 5),  # lead
        st.floats(-200, 12, allow_nan=False),  # days from the cutoff (some after it)
        st.sampled_from(TYPES),
        st.sampled_from(["web", "email", None]),
    ),
    min_size=1,
    max_size=60,
)


def _log(rows) -> tuple[pd.DataFrame, pd.DataFrame]:
    events = pd.DataFrame(
        {
            "lead_id": [f"L{lead}" for lead, *_ in rows],
            "timestamp": [CUTOFF + pd.Timedelta(days=d).round("s") for _, d, *_ in rows],
            "event_type": [t for *_, t, _ in rows],
            "channel": [c for *_, c in rows],
        }
    )
    leads = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(7)],
            "created_at": [CUTOFF - d * DAY if d else pd.NaT for d in (300, 40, 0, 5, 90, 0, 10)],
            "email": ["a@acme.com", "b@gmail.com", None, "d@firm.io", None, "f@yahoo.com", ""],
            "phone": ["+1 5", None, "+1 6", None, "N/A", None, "+1 7"],
            "account_id": ["X", "X", "Y", "Y", "Y", None, ""],
        }
    )
    leads["created_at"] = pd.to_datetime(leads["created_at"], utc=True)
    return events, leads


def _spec(leads: pd.DataFrame) -> FeatureSpec:
    spec = FeatureSpec.from_config(FeatureConfig(), TAXONOMY, leads.columns, accounts=True)
    return dataclasses.replace(spec, table_columns=(TableColumn("tier", "categorical"),))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=event_rows)
def test_every_number_a_reason_states_is_recounted_from_the_raw_events(rows):
    events, leads = _log(rows)
    spec = _spec(leads)
    features = build_features(
        events,
        leads.assign(tier=["gold", "", None, "silver", "gold", "x", "y"]),
        CUTOFF,
        CONFIG,
        spec,
        TAXONOMY,
        jobs=1,
    )
    assert_every_sentence_true(features, Recount(events, leads, spec, CUTOFF), spec)


def test_a_smoothed_ratio_of_no_events_says_none_not_a_multiple():
    events, leads = _log([(0, -100.0, "demo_request", "web"), (0, -60.0, "demo_request", "web")])
    spec = _spec(leads)
    features = build_features(events, leads.assign(tier="gold"), CUTOFF, CONFIG, spec, TAXONOMY)
    said = spec.say("rate_vs_usual_hard_30d", features.loc["L0"])
    assert said.text == "no hard conversions in the last 30 days, 2 in the lead's 300 days in all"
    assert "x" not in said.text.split()


def test_every_family_says_every_one_of_its_features():
    events, leads = _log([(0, -3.0, "page_view", "web")])
    spec = _spec(leads)
    spec = dataclasses.replace(
        spec,
        profile_columns=(TableColumn("phone", "categorical", ("+1 5",), ("+1 5",), False),),
    )
    for family in FEATURE_FAMILIES:
        names = spec.names_of(family)
        assert names, f"the family {family} has no features in a spec that uses every family"
        for name in names:
            said = spec.say(name, {n: 1.0 for n in spec.meanings[name].reads})
            assert said.text, (family, name)


def test_a_family_without_words_fails_loudly():
    class Silent(FeatureFamily):
        name = "silent"

    with pytest.raises(NotImplementedError):
        Silent().say("x", None, (1.0,), None)
    assert all(type(f).say is not FeatureFamily.say for f in FAMILIES.values())
