"""An independent recount of what the raw events and the leads table say of one lead at a
cutoff, the plain pandas way: the truth every number of a reason is checked against."""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
import pytest

from intent_model.events.families import Quote
from intent_model.events.features import FeatureSpec
from intent_model.events.log import load_events
from intent_model.events.taxonomy import EVENT_CLASSES, Taxonomy, load_taxonomy
from intent_model.io.config import FeatureConfig
from intent_model.words import number

DAY = pd.Timedelta(days=1)


class Recount:
    """The raw truth of one lead at the cutoff, counted the plain way."""

    def __init__(
        self,
        events: pd.DataFrame,
        leads: pd.DataFrame,
        spec: FeatureSpec,
        cutoff: pd.Timestamp,
        taxonomy: Taxonomy | None = None,
    ) -> None:
        self.taxonomy = taxonomy or load_taxonomy()
        classified = load_events(events, taxonomy=self.taxonomy).events
        self.cutoff = cutoff
        self.events = classified[classified["timestamp"] < cutoff]
        self.leads = leads.assign(lead_id=leads["lead_id"].astype(str)).set_index("lead_id")
        self.spec = spec

    @functools.cache  # noqa: B019 (one recount per test case)
    def _own(self, lead: str, scope: str) -> pd.DataFrame:
        if scope == "lead":
            return self.events[self.events["lead_id"] == lead]
        return self.events[self.events["lead_id"].isin(self.colleagues(lead))]

    def colleagues(self, lead: str) -> list[str]:
        if "account_id" not in self.leads:
            return []
        account = self.leads["account_id"].get(lead)
        if account is None or not str(account).strip() or account != account:
            return []
        known = set(self.events["lead_id"]) | set(self.leads.index)
        same = self.leads.index[self.leads["account_id"] == account]
        return [other for other in same if other != lead and other in known]

    def _within(self, frame: pd.DataFrame, window) -> pd.DataFrame:
        if window is None:
            return frame
        start, end = window
        since, until = self.cutoff - start * DAY, self.cutoff - end * DAY
        return frame[(frame["timestamp"] >= since) & (frame["timestamp"] < until)]

    def _of(self, frame: pd.DataFrame, what: str) -> pd.DataFrame:
        if what == "events":
            return frame
        if what in EVENT_CLASSES:
            return frame[frame["event_class"] == what]
        if what == "unknown types":
            return frame[~frame["event_type"].astype(str).isin(self.taxonomy.classes)]
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
            age = (self.cutoff - self._of(events, quote.of)["timestamp"]) / DAY
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
            if created is not None and created == created and created < self.cutoff:
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
        return math.nan if moment is None else (self.cutoff - moment) / DAY

    def _profile(self, lead: str, quote: Quote) -> float:
        row = self.leads.loc[lead] if lead in self.leads.index else None
        given = {f: self._given(row, f) for f in self.spec.profile_fields}
        if quote.quantity == "given":
            return float(given[quote.of])
        if quote.quantity == "fields_given":
            return float(sum(given.values()))
        if quote.quantity == "corporate_email":
            if not given["email"]:
                return math.nan
            return float(row["email"].split("@")[-1] not in self.spec.free_email_domains)
        return quote.value  # a leads-table value is said as the table holds it

    def _given(self, row, field: str) -> bool:
        """Filled in with a value that is not a placeholder, before the cutoff (its
        ``<field>_provided_at``, else the lead's creation, else always)."""
        if row is None or field not in row or not isinstance(row[field], str):
            return False
        if row[field].strip().casefold() in ("", *FeatureConfig().placeholders()):
            return False
        when = row.get(f"{field}_provided_at")
        if when is None or when != when:
            when = row.get("created_at")
        return when is None or when != when or when < self.cutoff


def assert_every_sentence_true(
    features: pd.DataFrame, recount: Recount, spec: FeatureSpec, names: list[str] | None = None
) -> int:
    """Say every feature (of ``names``) of every lead, and check each sentence against the
    recount; returns how many sentences were checked."""
    truths: dict[tuple, float] = {}
    checked = 0
    for lead, row in features.iterrows():
        for feature in names or spec.feature_names:
            assert_true(str(lead), feature, spec.say(feature, row), recount, truths)
            checked += 1
    return checked


def assert_true(lead: str, feature: str, said, recount: Recount, truths: dict) -> None:
    """Every quantity the sentence quotes is what the recount finds, and the sentence
    writes it."""
    # Our own words never show a feature's name (a table's values are said with its columns').
    in_table_words = any(quote.quantity == "value" for quote in said.quotes)
    assert said.text and (in_table_words or "_" not in said.text), (feature, said.text)
    for quote in said.quotes:
        key = (lead, quote.quantity, quote.of, quote.window, quote.scope)
        if key not in truths:
            truths[key] = recount.truth(lead, quote)
        truth = truths[key] if quote.quantity != "value" else quote.value
        where = f"{lead} {feature}: {said.text!r} quotes {quote}, the events say {truth}"
        if math.isnan(truth) or math.isnan(quote.value):
            assert math.isnan(truth) and math.isnan(quote.value), where
            continue
        assert quote.value == pytest.approx(truth, rel=1e-5, abs=1e-4), where
        shown = quote.shown or number(quote.value)
        assert shown in said.text, where
