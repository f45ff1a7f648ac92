"""Every sentence a reason can say is true: each number it states is recounted from the raw
events (and the leads table), for every feature family, on generated logs."""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intent_model.events.families import FAMILIES, FEATURE_FAMILIES, Quote
from intent_model.events.families.base import FeatureFamily
from intent_model.events.features import FeatureSpec
from intent_model.events.log import load_events
from intent_model.events.stream import build_features
from intent_model.events.taxonomy import EVENT_CLASSES, load_taxonomy
from intent_model.io.config import Config, FeatureConfig, with_columns
from intent_model.table.encoding import TableColumn
from intent_model.words import number

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


class Recount:
    """The raw truth of one lead at the cutoff, counted the plain way."""

    def __init__(self, events: pd.DataFrame, leads: pd.DataFrame, spec: FeatureSpec) -> None:
        classified = load_events(events).events
        self.events = classified[classified["timestamp"] < CUTOFF]
        self.leads = leads.set_index("lead_id")
        self.spec = spec

    @functools.cache  # noqa: B019 (one recount per test case)
    def _own(self, lead: str, scope: str) -> pd.DataFrame:
        if scope == "lead":
            return self.events[self.events["lead_id"] == lead]
        return self.events[self.events["lead_id"].isin(self.colleagues(lead))]

    def colleagues(self, lead: str) -> list[str]:
        account = self.leads["account_id"].get(lead)
        if account is None or not str(account).strip() or account != account:
            return []
        known = set(self.events["lead_id"]) | set(self.leads.index)
        same = self.leads.index[self.leads["account_id"] == account]
        return [other for other in same if other != lead and other in known]

    @staticmethod
    def _within(frame: pd.DataFrame, window) -> pd.DataFrame:
        if window is None:
            return frame
        start, end = window
        return frame[
            (frame["timestamp"] >= CUTOFF - start * DAY) & (frame["timestamp"] < CUTOFF - end * DAY)
        ]

    @staticmethod
    def _of(frame: pd.DataFrame, what: str) -> pd.DataFrame:
        if what == "events":
            return frame
        if what in EVENT_CLASSES:
            return frame[frame["event_class"] == what]
        if what == "unknown types":
            return frame[~frame["event_type"].astype(str).isin(TAXONOMY.classes)]
        return frame[frame["event_type"] == what]

    def truth(self, lead: str, quote: Quote) -> float:
        events = self._within(self._own(lead, quote.scope), quote.window)
        if quote.quantity == "count":
            return float(len(self._of(events, quote.of)))
        if quote.quantity == "active_days":
            return float(events["timestamp"].dt.floor("D").nunique())
        if quote.quantity == "distinct":
            column = "event_type" if quote.of == "types" else "channel"
            return float(events[column].dropna().nunique())
        if quote.quantity == "decayed":
            age = (CUTOFF - self._of(events, quote.of)["timestamp"]) / DAY
            return float(np.exp2(-age / self.spec.decay_half_life_days).sum())
        if quote.quantity == "days_since":
            return self._days_since(lead, quote)
        if quote.quantity == "contacts":
            return float(len(self.colleagues(lead)))
        if quote.quantity == "active_contacts":
            return float(events["lead_id"].nunique())
        return self._profile(lead, quote)

    def _days_since(self, lead: str, quote: Quote) -> float:
        events = self._own(lead, quote.scope)
        if quote.of == "created":
            moments = list(events["timestamp"])
            created = self.leads["created_at"].get(lead)
            if created is not None and created == created and created < CUTOFF:
                moments.append(created)
            moment = min(moments) if moments else None
        elif quote.of in ("first event", "last event"):
            times = events["timestamp"]
            moment = (
                (times.min() if quote.of == "first event" else times.max()) if len(times) else None
            )
        else:
            times = self._of(events, quote.of)["timestamp"]
            moment = times.max() if len(times) else None
        return math.nan if moment is None else (CUTOFF - moment) / DAY

    def _profile(self, lead: str, quote: Quote) -> float:
        row = self.leads.loc[lead] if lead in self.leads.index else None
        given = {
            f: row is not None
            and isinstance(row[f], str)
            and row[f].strip().casefold() not in ("", *FeatureConfig().placeholders())
            for f in self.spec.profile_fields
        }
        if quote.quantity == "given":
            return float(given[quote.of])
        if quote.quantity == "fields_given":
            return float(sum(given.values()))
        if quote.quantity == "corporate_email":
            if not given["email"]:
                return math.nan
            return float(row["email"].split("@")[-1] not in self.spec.free_email_domains)
        return quote.value  # a leads-table value is said as the table holds it


def assert_every_sentence_true(features: pd.DataFrame, recount: Recount, spec: FeatureSpec):
    truths: dict[tuple, float] = {}
    for lead, row in features.iterrows():
        for feature in spec.feature_names:
            said = spec.say(feature, row)
            assert said.text and "_" not in said.text.replace(" ", ""), (feature, said.text)
            for quote in said.quotes:
                key = (lead, quote.quantity, quote.of, quote.window, quote.scope)
                if key not in truths:
                    truths[key] = recount.truth(str(lead), quote)
                truth = truths[key] if quote.quantity != "value" else quote.value
                where = f"{lead} {feature}: {said.text!r} quotes {quote}, the events say {truth}"
                if math.isnan(truth) or math.isnan(quote.value):
                    assert math.isnan(truth) and math.isnan(quote.value), where
                    continue
                assert quote.value == pytest.approx(truth, rel=1e-5, abs=1e-4), where
                shown = quote.shown or number(quote.value)
                assert shown in said.text, where


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
    assert_every_sentence_true(features, Recount(events, leads, spec), spec)


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
