"""What every feature family shares: what a value means, how it is said, and the words'
own numbers (so that a test can recount each one from the raw events).

A family (:mod:`intent_model.events.families`) makes its features' names, their
:class:`Meaning` (the parameters the name was built from: what is counted, over
which window) and says a lead's value in words through :meth:`FeatureFamily.say`.
Nothing turns a name back into a meaning: the meaning is made with the name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from intent_model.words import duration, plural

DAY_NS = 86_400 * 10**9


@dataclass(frozen=True)
class Quote:
    """One raw quantity a sentence states about a lead, as the lead's events give it.

    Attributes
    ----------
    quantity : str
        ``count`` (events), ``days_since`` (a moment), ``active_days``, ``distinct``
        (kinds of events or channels), ``decayed`` (events weighted by age),
        ``fields_given``, ``given`` (one field), ``corporate_email`` or ``value``
        (a leads-table value, said as the table holds it).
    of : str
        What is counted: an event type, a class (``hard``, ``soft``,
        ``engagement``), ``events``, ``unknown types``, a field, ``first event``,
        ``last event``, ``created``, ``types`` or ``channels``.
    window : tuple of float, optional
        Events in ``[cutoff - window[0] days, cutoff - window[1] days)``; None: every
        event before the cutoff.
    scope : str
        ``lead`` (its own events) or ``account`` (its colleagues' at the account).
    value : float
        The quantity, unrounded.
    shown : str
        The quantity as the sentence writes it.
    """

    quantity: str
    of: str = ""
    window: tuple[float, float] | None = None
    scope: str = "lead"
    value: float = math.nan
    shown: str = ""


@dataclass(frozen=True)
class Said:
    """A feature's value in words, with the raw quantities the words state."""

    text: str
    quotes: tuple[Quote, ...] = ()


@dataclass(frozen=True)
class Meaning:
    """What one feature is: its family, the concept reasons group it under, the features
    its words read (itself first), and the parameters its name was made from."""

    family: str
    concept: str
    reads: tuple[str, ...]
    what: str = ""
    window: int | None = None  # days; None: all time
    other: int | None = None  # a second window, where the feature compares two
    extra: Mapping[str, Any] = field(default_factory=dict)


class FeatureFamily:
    """A family of features: names and meanings (:meth:`meanings`), the values at a cutoff
    (:meth:`compute`, where the family is computed per lead) and the words (:meth:`say`)."""

    name = ""

    def meanings(self, spec) -> dict[str, Meaning]:
        raise NotImplementedError

    def say(self, feature: str, meaning: Meaning, values: tuple[float, ...], spec) -> Said:
        """The words for a lead whose ``meaning.reads`` features have ``values``."""
        raise NotImplementedError

    def meaning(self, concept: str, reads: tuple[str, ...], **parameters: Any) -> Meaning:
        return Meaning(self.name, concept, reads, **parameters)


# --- words for days and events -------------------------------------------------------


def whole_days(days: float) -> int:
    """Days as a sentence rounds them (half up)."""
    return int(math.floor(days + 0.5))


def ago(days: float) -> str:
    """``today`` under a day, else ``12 days ago`` (rounded)."""
    if days < 0.5:
        return "today"
    whole = whole_days(days)
    return f"{whole} {plural('day', whole)} ago"


def in_days(days: int | None) -> str:
    """``in the last 7 days`` / ``in total``."""
    if days is None:
        return "in total"
    return f"in the last {duration(days)}"


def window_of(days: int | None) -> tuple[float, float] | None:
    return None if days is None else (float(days), 0.0)


def event_noun(what: str) -> str:
    """The noun for one event of a type or class: ``pricing page view``, ``hard conversion``."""
    if what in ("hard", "soft"):
        return f"{what} conversion"
    if what == "engagement":
        return "engagement event"
    if what == "events":
        return "event"
    return what.replace("_", " ")
