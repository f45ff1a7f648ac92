"""The feature families: one object per family holds its features' names and meanings,
its computation and how a value is said to a person.

``FAMILIES`` in the order features are laid out; a new family is a new class here
(see docs/extending.md), and nothing else parses its names.
"""

from __future__ import annotations

from intent_model.events.families.account import Account, add_account_features
from intent_model.events.families.activity import (
    ACTIVITY_TREND_DAYS,
    ALWAYS,
    CHANGE_CLASSES,
    NEVER,
    PSEUDO_EVENTS,
    Change,
    Counts,
    Decay,
    Diversity,
    Intensity,
    Recency,
    count_name,
    windows,
)
from intent_model.events.families.base import DAY_NS, FeatureFamily, Meaning, Quote, Said
from intent_model.events.families.profile import Information, TableValues

FAMILIES: dict[str, FeatureFamily] = {
    family.name: family
    for family in (
        Information(),
        TableValues("profile"),
        Counts(),
        Recency(),
        Intensity(),
        Diversity(),
        Decay(),
        Change(),
        Account(),
        TableValues("lead_table"),
    )
}
FEATURE_FAMILIES = tuple(FAMILIES)
# The families computed from a lead's own events at each cutoff, in the order their values
# are needed (intensity reads the counts; change the counts and recency). The profile
# values, the leads table's columns and the account roll-ups are computed once for all
# cutoffs, in intent_model.events.features.
PER_CUTOFF = ("information", "counts", "recency", "intensity", "diversity", "decay", "change")

__all__ = [
    "ACTIVITY_TREND_DAYS",
    "ALWAYS",
    "CHANGE_CLASSES",
    "DAY_NS",
    "FAMILIES",
    "FEATURE_FAMILIES",
    "NEVER",
    "PER_CUTOFF",
    "PSEUDO_EVENTS",
    "FeatureFamily",
    "Meaning",
    "Quote",
    "Said",
    "add_account_features",
    "count_name",
    "windows",
]
