"""The families computed from a lead's own events before a cutoff: counts, recency,
intensity, diversity, time decay and change against its habit.

Each family makes its names and meanings, computes its values from the events
strictly before the cutoff (arrays sorted by lead, then time), and says a
value in words that quote only raw quantities of the lead's events.
"""

from __future__ import annotations

import numpy as np

from intent_model.events.families.base import (
    DAY_NS,
    FeatureFamily,
    Meaning,
    Quote,
    Said,
    ago,
    event_noun,
    in_days,
    whole_days,
    window_of,
)
from intent_model.events.taxonomy import EVENT_CLASSES
from intent_model.words import counted, duration, duration_suffix, number, plural

NEVER = np.iinfo(np.int64).max
ALWAYS = np.iinfo(np.int64).min
CHANGE_CLASSES = (*EVENT_CLASSES, "events")
# The trend of intensity: events per day in the last 7 days against the 30 before.
ACTIVITY_TREND_DAYS = (7, 30)
# Pseudo-events in the rates compared by the change features, so that quiet leads sit
# at a finite value near zero instead of at an undefined ratio.
PSEUDO_EVENTS = 0.5


def windows(spec) -> list[tuple[str, int | None]]:
    """(name suffix, days) of every window, all time last (days None)."""
    return [(duration_suffix(w), w) for w in spec.windows_days] + [("all", None)]


def window_starts(spec, cutoff: int) -> list[tuple[str, int]]:
    """(suffix, earliest timestamp) per window: "last 7 days" is ``[cutoff - 7d, cutoff)``."""
    return [
        (suffix, ALWAYS if w is None else cutoff - round(w * DAY_NS)) for suffix, w in windows(spec)
    ]


def trend_name(what: str, short: float, long: float) -> str:
    """The trend feature of a class: the short window against the rest of the long one."""
    return f"trend_{what}_{duration_suffix(short)}_vs_prior_{duration_suffix(long - short)}"


def count_name(what: str, suffix: str) -> str:
    """The count feature of an event type, a class or ``events`` over one window."""
    return f"n_{what}_{suffix}"


class Counts(FeatureFamily):
    """Events per type, per class and in all, over each window."""

    name = "counts"

    def meanings(self, spec) -> dict[str, Meaning]:
        found = {}
        for what in (*spec.event_types, *EVENT_CLASSES, "events"):
            for suffix, days in windows(spec):
                name = count_name(what, suffix)
                found[name] = self.meaning(f"count:{what}", (name,), what=what, window=days)
        found["n_unknown_type_events_all"] = self.meaning(
            "count:unknown", ("n_unknown_type_events_all",), what="unknown types"
        )
        return found

    def say(self, feature, meaning, values, spec) -> Said:
        (count,) = values
        noun = "event" if meaning.what == "unknown types" else event_noun(meaning.what)
        shown = counted(count, noun)
        quote = Quote("count", meaning.what, window_of(meaning.window), value=count, shown=shown)
        if meaning.what == "unknown types":
            return Said(f"{shown} of types the taxonomy does not know", (quote,))
        return Said(f"{shown} {in_days(meaning.window)}", (quote,))

    def compute(self, before, profile, spec, cutoff: int, n_leads: int, so_far: dict) -> dict:
        n_types, n_classes = len(spec.event_types), len(EVENT_CLASSES)
        features = {}
        for suffix, start in window_starts(spec, cutoff):
            inside = before.timestamp >= start
            known = inside & (before.type_code >= 0)
            by_type = np.bincount(
                before.lead[known] * n_types + before.type_code[known],
                minlength=n_leads * n_types,
            ).reshape(n_leads, n_types)
            for j, event_type in enumerate(spec.event_types):
                features[count_name(event_type, suffix)] = by_type[:, j].astype(float)
            by_class = np.bincount(
                before.lead[inside] * n_classes + before.class_code[inside],
                minlength=n_leads * n_classes,
            ).reshape(n_leads, n_classes)
            for j, event_class in enumerate(EVENT_CLASSES):
                features[count_name(event_class, suffix)] = by_class[:, j].astype(float)
            features[count_name("events", suffix)] = by_class.sum(axis=1).astype(float)
        unknown = before.type_code < 0
        features["n_unknown_type_events_all"] = np.bincount(
            before.lead[unknown], minlength=n_leads
        ).astype(float)
        return features


class Recency(FeatureFamily):
    """Days since the first and last event, the last of each class, and creation."""

    name = "recency"
    _SAID = {
        "first event": ("no activity yet", "first activity"),
        "last event": ("no activity yet", "last activity"),
        "created": ("creation date unknown", "lead created"),
        "hard": ("no hard conversion yet", "last hard conversion"),
        "soft": ("no soft conversion yet", "last soft conversion"),
        "engagement": ("no engagement yet", "last engagement"),
    }

    def meanings(self, spec) -> dict[str, Meaning]:
        names = {
            "days_since_first_event": "first event",
            "days_since_last_event": "last event",
            **{f"days_since_last_{c}": c for c in EVENT_CLASSES},
            "days_since_created": "created",
        }
        return {name: self.meaning(name, (name,), what=what) for name, what in names.items()}

    def say(self, feature, meaning, values, spec) -> Said:
        (days,) = values
        never, label = self._SAID[meaning.what]
        if days != days:
            return Said(never, (Quote("days_since", meaning.what),))
        shown = ago(days)
        return Said(
            f"{label} {shown}", (Quote("days_since", meaning.what, value=days, shown=shown),)
        )

    def compute(self, before, profile, spec, cutoff: int, n_leads: int, so_far: dict) -> dict:
        first, last = first_and_last(before.lead, before.timestamp, n_leads)
        features = {
            "days_since_first_event": days_since(first, cutoff),
            "days_since_last_event": days_since(last, cutoff),
        }
        for j, event_class in enumerate(EVENT_CLASSES):
            of_class = before.class_code == j
            _, last_of_class = first_and_last(
                before.lead[of_class], before.timestamp[of_class], n_leads
            )
            features[f"days_since_last_{event_class}"] = days_since(last_of_class, cutoff)
        created = np.where(profile.created_at < cutoff, profile.created_at, NEVER)
        # Without a known creation time before the cutoff, the first event is the creation.
        created = np.where(created == NEVER, first, np.minimum(created, first))
        features["days_since_created"] = days_since(created, cutoff)
        return features


class Intensity(FeatureFamily):
    """Active days per window, events per active day, and the short-term trend."""

    name = "intensity"

    def meanings(self, spec) -> dict[str, Meaning]:
        found = {
            f"n_active_days_{suffix}": self.meaning(
                "activity_days", (f"n_active_days_{suffix}",), window=days
            )
            for suffix, days in windows(spec)
        }
        found["events_per_active_day"] = self.meaning(
            "events_per_active_day",
            ("events_per_active_day", count_name("events", "all"), "n_active_days_all"),
        )
        recent, prior = ACTIVITY_TREND_DAYS
        recent_count = count_name("events", f"{recent}d")
        reads = ("trend_7d_vs_prior_30d",)
        if recent in spec.windows_days:
            reads += (recent_count,)
        found["trend_7d_vs_prior_30d"] = self.meaning(
            "trend_7d_vs_prior_30d", reads, window=recent, other=recent + prior
        )
        return found

    def say(self, feature, meaning, values, spec) -> Said:
        if feature == "events_per_active_day":
            _, n_events, n_days = values
            if n_days == 0:
                quote = Quote("active_days", "events", value=0.0, shown="no activity")
                return Said("no activity yet", (quote,))
            return Said(
                f"{number(n_events)} {plural('event', n_events)} on {number(n_days)} active "
                f"{plural('day', n_days)} ({number(round(n_events / n_days, 1))} a day)",
                (
                    Quote("count", "events", value=n_events),
                    Quote("active_days", "events", value=n_days),
                ),
            )
        if feature == "trend_7d_vs_prior_30d":
            return self._say_trend(meaning, values)
        (n_days,) = values
        shown = counted(n_days, "day")
        quote = Quote("active_days", "events", window_of(meaning.window), value=n_days, shown=shown)
        return Said(f"active on {shown} {in_days(meaning.window)}", (quote,))

    def _say_trend(self, meaning, values) -> Said:
        recent_days, prior_days = ACTIVITY_TREND_DAYS
        ratio = values[0]
        if len(values) < 2:
            # The recent count is not a feature of this spec: say the smoothed ratio as it is.
            return Said(
                f"events per day in the last {recent_days} days at {number(round(ratio, 1))}x "
                f"those of the {prior_days} days before (one event added to each)"
            )
        recent = values[1]
        # The ratio is ((recent + 1) / 7) / ((prior + 1) / 30): its prior count, exactly.
        prior = round((recent + 1) * prior_days / (recent_days * ratio) - 1)
        recent_shown = counted(recent, "event")
        return Said(
            f"{recent_shown} in the last {recent_days} days, "
            f"{number(prior)} in the {prior_days} days before",
            (
                Quote("count", "events", (recent_days, 0.0), value=recent, shown=recent_shown),
                Quote("count", "events", (recent_days + prior_days, recent_days), value=prior),
            ),
        )

    def compute(self, before, profile, spec, cutoff: int, n_leads: int, so_far: dict) -> dict:
        features = {}
        for suffix, start in window_starts(spec, cutoff):
            inside = before.timestamp >= start
            features[f"n_active_days_{suffix}"] = active_days(
                before.lead[inside], before.timestamp[inside], n_leads
            )
        with np.errstate(invalid="ignore", divide="ignore"):
            features["events_per_active_day"] = (
                so_far[count_name("events", "all")] / features["n_active_days_all"]
            )
        recent_days, prior_days = ACTIVITY_TREND_DAYS
        recent_start = cutoff - recent_days * DAY_NS
        prior_start = recent_start - prior_days * DAY_NS
        recent = np.bincount(before.lead[before.timestamp >= recent_start], minlength=n_leads)
        prior_mask = (before.timestamp >= prior_start) & (before.timestamp < recent_start)
        prior = np.bincount(before.lead[prior_mask], minlength=n_leads)
        # Events per day in the last 7 days over events per day in the 30 before,
        # with one pseudo-event each so that quiet leads sit at a finite value.
        features["trend_7d_vs_prior_30d"] = ((recent + 1) / recent_days) / (
            (prior + 1) / prior_days
        )
        return features


class Diversity(FeatureFamily):
    """Distinct event types and channels."""

    name = "diversity"

    def meanings(self, spec) -> dict[str, Meaning]:
        return {
            "n_distinct_event_types": self.meaning(
                "n_distinct_event_types", ("n_distinct_event_types",), what="types"
            ),
            "n_distinct_channels": self.meaning(
                "n_distinct_channels", ("n_distinct_channels",), what="channels"
            ),
        }

    def say(self, feature, meaning, values, spec) -> Said:
        (n,) = values
        noun = "different kind" if meaning.what == "types" else "channel"
        quote = Quote("distinct", meaning.what, value=n, shown=counted(n, noun))
        if meaning.what == "types":
            return Said(f"{quote.shown} of activity", (quote,))
        return Said(f"active through {quote.shown}", (quote,))

    def compute(self, before, profile, spec, cutoff: int, n_leads: int, so_far: dict) -> dict:
        return {
            "n_distinct_event_types": distinct_per_lead(before.lead, before.any_type_code, n_leads),
            "n_distinct_channels": distinct_per_lead(before.lead, before.channel_code, n_leads),
        }


class Decay(FeatureFamily):
    """Events per class and in all, each weighted by its age (half-life in the spec)."""

    name = "decay"

    def meanings(self, spec) -> dict[str, Meaning]:
        found = {
            f"decayed_{c}_events": self.meaning(
                f"decayed_{c}_events", (f"decayed_{c}_events",), what=c
            )
            for c in EVENT_CLASSES
        }
        found["decayed_events_total"] = self.meaning(
            "decayed_events_total", ("decayed_events_total",), what="events"
        )
        return found

    def say(self, feature, meaning, values, spec) -> Said:
        (score,) = values
        shown = number(round(score, 1))
        return Said(
            f"{plural(event_noun(meaning.what), 2)} weighted by age: {shown} (an event counts "
            f"half after {duration(spec.decay_half_life_days)})",
            (Quote("decayed", meaning.what, value=score, shown=shown),),
        )

    def compute(self, before, profile, spec, cutoff: int, n_leads: int, so_far: dict) -> dict:
        age_days = (cutoff - before.timestamp) / DAY_NS
        weight = np.exp2(-age_days / spec.decay_half_life_days)
        n_classes = len(EVENT_CLASSES)
        by_class = np.bincount(
            before.lead * n_classes + before.class_code,
            weights=weight,
            minlength=n_leads * n_classes,
        ).reshape(n_leads, n_classes)
        features = {f"decayed_{c}_events": by_class[:, j] for j, c in enumerate(EVENT_CLASSES)}
        features["decayed_events_total"] = np.bincount(
            before.lead, weights=weight, minlength=n_leads
        )
        return features


class Change(FeatureFamily):
    """Interest against the lead's own habit: the log of its rate in each recent window
    over its usual rate (all events over its tenure), and the log of the rate in each short
    window over the rate in the rest of the next longer one. Both are smoothed ratios, so
    their words quote the raw counts they are made of, never the ratio."""

    name = "change"

    def meanings(self, spec) -> dict[str, Meaning]:
        found = {}
        for c in CHANGE_CLASSES:
            for w in spec.windows_days:
                name = f"rate_vs_usual_{c}_{duration_suffix(w)}"
                reads = (
                    name,
                    count_name(c, duration_suffix(w)),
                    count_name(c, "all"),
                    "days_since_created",
                )
                found[name] = self.meaning(name, reads, what=c, window=w)
        for c in CHANGE_CLASSES:
            for short, long in spec.window_pairs:
                name = trend_name(c, short, long)
                reads = (
                    name,
                    count_name(c, duration_suffix(short)),
                    count_name(c, duration_suffix(long)),
                )
                found[name] = self.meaning(name, reads, what=c, window=short, other=long)
        return found

    def say(self, feature, meaning, values, spec) -> Said:
        noun = event_noun(meaning.what)
        if feature.startswith("rate_vs_usual_"):
            _, recent, total, tenure = values
            if total == 0:
                shown = counted(0, noun)
                return Said(f"{shown} yet", (Quote("count", meaning.what, value=0.0, shown=shown),))
            whole = whole_days(0.0 if tenure != tenure else tenure)
            tenure_shown = f"{whole} {plural('day', whole)}"
            recent_shown = counted(recent, noun)
            return Said(
                f"{recent_shown} {in_days(meaning.window)}, {number(total)} in the "
                f"lead's {tenure_shown} in all",
                (
                    Quote(
                        "count",
                        meaning.what,
                        window_of(meaning.window),
                        value=recent,
                        shown=recent_shown,
                    ),
                    Quote("count", meaning.what, value=total),
                    Quote("days_since", "created", value=tenure, shown=tenure_shown),
                ),
            )
        _, inside, outside = values
        short, long = meaning.window, meaning.other
        earlier = outside - inside
        inside_shown = counted(inside, noun)
        return Said(
            f"{inside_shown} {in_days(short)}, "
            f"{number(earlier)} in the {duration(long - short)} before",
            (
                Quote("count", meaning.what, (float(short), 0.0), value=inside, shown=inside_shown),
                Quote("count", meaning.what, (float(long), float(short)), value=earlier),
            ),
        )

    def compute(self, before, profile, spec, cutoff: int, n_leads: int, so_far: dict) -> dict:
        tenure = np.nan_to_num(so_far["days_since_created"], nan=0.0)
        changes = {}
        for c in CHANGE_CLASSES:
            usual = np.log(
                (so_far[count_name(c, "all")] + PSEUDO_EVENTS)
                / np.maximum(tenure, spec.windows_days[-1])
            )
            for w in spec.windows_days:
                recent = np.log((so_far[count_name(c, duration_suffix(w))] + PSEUDO_EVENTS) / w)
                changes[f"rate_vs_usual_{c}_{duration_suffix(w)}"] = recent - usual
            for short, long in spec.window_pairs:
                inside = so_far[count_name(c, duration_suffix(short))]
                outside = so_far[count_name(c, duration_suffix(long))]
                earlier = (outside - inside + PSEUDO_EVENTS) / (long - short)
                changes[trend_name(c, short, long)] = np.log(
                    (inside + PSEUDO_EVENTS) / short
                ) - np.log(earlier)
        return changes


# --- per-lead helpers over events sorted by lead, then time ----------------------------


def first_and_last(lead: np.ndarray, timestamp: np.ndarray, n_leads: int) -> tuple:
    """First and last timestamp per lead of arrays sorted by (lead, time); NaN-free ints."""
    first = np.full(n_leads, NEVER, dtype=np.int64)
    last = np.full(n_leads, NEVER, dtype=np.int64)
    if len(lead):
        starts = np.flatnonzero(np.r_[True, lead[1:] != lead[:-1]])
        ends = np.r_[starts[1:], len(lead)] - 1
        first[lead[starts]] = timestamp[starts]
        last[lead[ends]] = timestamp[ends]
    return first, last


def days_since(moment: np.ndarray, cutoff: int) -> np.ndarray:
    unknown = moment == NEVER
    days = (cutoff - np.where(unknown, cutoff, moment)) / DAY_NS
    return np.where(unknown, np.nan, days)


def active_days(lead: np.ndarray, timestamp: np.ndarray, n_leads: int) -> np.ndarray:
    """Distinct UTC calendar days with an event, per lead (arrays sorted by lead, time)."""
    day = timestamp // DAY_NS
    new_day = np.r_[True, (lead[1:] != lead[:-1]) | (day[1:] != day[:-1])] if len(lead) else []
    return np.bincount(lead, weights=np.asarray(new_day, dtype=float), minlength=n_leads)


def distinct_per_lead(lead: np.ndarray, code: np.ndarray, n_leads: int) -> np.ndarray:
    valid = code >= 0
    width = int(code.max(initial=0)) + 1
    pairs = np.unique(lead[valid].astype(np.int64) * width + code[valid])
    return np.bincount(pairs // width, minlength=n_leads).astype(float)
