"""Reasons: which features pushed each lead's score up or down, in words a sales team reads.

The method is exact path-dependent tree SHAP on the gradient-boosting model's
log-odds (:mod:`intent_model.scoring.treeshap`: the values of the ``shap``
library's ``TreeExplainer``, computed once per distinct decision pattern of
each tree). Sigmoid calibration is a positive
linear map of those log-odds, so the SHAP values scaled by its slope add up,
with the base value, to the logit of the calibrated ``p_hard`` itself: the
reasons are faithful to the score, not to a surrogate. (With isotonic
calibration the map is monotone but not linear: signs stay faithful, sizes
are in the model's log-odds.)

Features are grouped into concepts (an event type over all its windows, a
profile field, a recency measure), a concept's push is the sum of its
features' values, and its text shows the feature that pushed most.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from intent_model.events.features import FeatureSpec
from intent_model.modeling.model import IntentModel
from intent_model.scoring.treeshap import tree_shap

POSITIVE_REASONS = 3
NEGATIVE_REASONS = 2
_COUNT = re.compile(r"^n_(?P<what>.+)_(?P<window>\d+d|all)$")


@dataclass(frozen=True)
class Explanation:
    """Per-row contributions (calibrated log-odds) of each feature, and the base value."""

    contributions: pd.DataFrame
    base_value: float


def explain(model: IntentModel, features: pd.DataFrame) -> Explanation:
    """Exact tree-SHAP contributions of every feature to each row's calibrated logit.

    Examples
    --------
    The contributions add up to the score: ``base_value + contributions.sum(axis=1)``
    equals ``logit(p_hard)`` for sigmoid calibration.
    """
    aligned = features[model.feature_names].to_numpy(dtype=np.float32)
    estimator = model.classifier.estimator_
    booster = estimator[-1] if hasattr(estimator, "steps") else estimator
    explainer = tree_shap(booster)
    values = explainer.shap_values(aligned)
    base = explainer.expected_value
    calibrator = model.classifier.calibrator_
    if not isinstance(calibrator, IsotonicRegression):
        slope = float(calibrator.coef_[0, 0])
        values = values * slope
        base = base * slope + float(calibrator.intercept_[0])
    return Explanation(
        contributions=pd.DataFrame(values, columns=model.feature_names, index=features.index),
        base_value=base,
    )


def concept_of(feature: str, spec: FeatureSpec) -> str:
    """The concept a feature belongs to: all windows of one count share one concept,
    and all features of one leads-table column too."""
    if feature in spec.lead_table_features:
        return "table:" + spec.columns_spec.source_of(feature)
    match = _COUNT.match(feature)
    if match and not feature.startswith("n_active_days"):
        return f"count:{match['what']}"
    if feature.startswith("n_active_days"):
        return "activity_days"
    if feature in ("n_fields_provided", "share_fields_provided"):
        return "fields_provided"
    return feature


@dataclass(frozen=True)
class Driver:
    """One reason: a concept's total push on the calibrated logit, told through one feature."""

    feature: str
    value: float
    contribution: float
    text: str


def top_drivers(
    features: pd.DataFrame,
    explanation: Explanation,
    spec: FeatureSpec | None,
    n_positive: int = POSITIVE_REASONS,
    n_negative: int = NEGATIVE_REASONS,
    *,
    concept: Callable[[str], str] | None = None,
    text: Callable[[int, str, float], str] | None = None,
) -> list[list[Driver]]:
    """Per row, the strongest pushes up (positive ``contribution``) then down.

    ``concept`` (feature -> concept) and ``text`` (row position, feature, value
    -> words) replace the event features' grouping and wording, for models
    trained on a CRM table.
    """
    chosen = _chosen_reasons(features, explanation, spec, n_positive, n_negative, concept)
    words = _words(chosen, spec, text)
    drivers = []
    for row in range(len(chosen.column)):
        drivers.append(
            [
                Driver(
                    feature=chosen.names[chosen.column[row, slot]],
                    value=float(chosen.value[row, slot]),
                    contribution=float(chosen.contribution[row, slot]),
                    text=words[row, slot],
                )
                for slot in np.flatnonzero(chosen.shown[row])
            ]
        )
    return drivers


def reason_texts(
    features: pd.DataFrame,
    explanation: Explanation,
    spec: FeatureSpec | None,
    n_positive: int = POSITIVE_REASONS,
    n_negative: int = NEGATIVE_REASONS,
    **wording: Callable,
) -> pd.Series:
    """``top_reasons`` per row: ``+`` pushes up, then ``-`` pushes down, ``; ``-joined.

    For example ``+ 3 pricing page views in the last 7 days; - no phone given``.
    ``wording`` takes ``concept`` and ``text`` as for :func:`top_drivers`.
    """
    concept = wording.get("concept")
    chosen = _chosen_reasons(features, explanation, spec, n_positive, n_negative, concept)
    words = _words(chosen, spec, wording.get("text"))
    signed = np.where(chosen.contribution > 0, "+ ", "- ").astype(object) + words
    signed[~chosen.shown] = None
    texts = ["; ".join(w for w in row if w is not None) for row in signed.tolist()]
    return pd.Series(texts, index=features.index, name="top_reasons")


@dataclass(frozen=True)
class _Chosen:
    """The reasons of every row, ``n_positive + n_negative`` slots each (ups, then downs)."""

    names: list[str]
    column: np.ndarray  # the feature that speaks for the slot's concept
    value: np.ndarray  # that feature's value for the row
    contribution: np.ndarray  # the concept's total push
    shown: np.ndarray  # an up slot needs a push > 0, a down slot < 0


def _chosen_reasons(features, explanation, spec, n_positive, n_negative, concept) -> _Chosen:
    concept = concept or (lambda feature: concept_of(feature, spec))
    contributions = explanation.contributions
    columns = list(contributions.columns)
    concept_names, concept_codes = np.unique([concept(c) for c in columns], return_inverse=True)
    values = contributions.to_numpy()
    # Sum contributions per concept (a matrix product with a 0/1 membership matrix).
    membership = np.zeros((len(columns), len(concept_names)))
    membership[np.arange(len(columns)), concept_codes] = 1.0
    per_concept = values @ membership
    # Within each concept, the feature with the largest |contribution| speaks for it.
    strongest = np.zeros((len(values), len(concept_names)), dtype=np.int64)
    for j in range(len(concept_names)):
        members = np.flatnonzero(concept_codes == j)
        strongest[:, j] = members[np.argmax(np.abs(values[:, members]), axis=1)]
    order = np.argsort(-per_concept, axis=1, kind="stable")
    slots = np.concatenate([order[:, :n_positive], order[:, ::-1][:, :n_negative]], axis=1)
    rows = np.arange(len(values))[:, None]
    push = per_concept[rows, slots]
    column = strongest[rows, slots]
    up = np.arange(slots.shape[1]) < min(n_positive, len(concept_names))
    return _Chosen(
        names=columns,
        column=column,
        value=features[columns].to_numpy(dtype=float)[rows, column],
        contribution=push,
        shown=np.where(up, push > 0, push < 0),
    )


def _words(chosen: _Chosen, spec: FeatureSpec | None, text) -> np.ndarray:
    """The words of every slot (an object array shaped like ``chosen.column``)."""
    if text is not None:  # a table's wording reads the row's raw value: per cell
        rows, slots = np.nonzero(chosen.shown)
        words = np.full(chosen.column.shape, "", dtype=object)
        for row, slot in zip(rows, slots, strict=True):
            name = chosen.names[chosen.column[row, slot]]
            words[row, slot] = text(int(row), name, float(chosen.value[row, slot]))
        return words
    # Event features read the same for the same value: word each (feature, value) once.
    columns, values = chosen.column.ravel(), chosen.value.ravel()
    words = np.empty(len(columns), dtype=object)
    for column in np.unique(columns):
        rows = np.flatnonzero(columns == column)
        codes, distinct = pd.factorize(values[rows], use_na_sentinel=False)
        name = chosen.names[column]
        said = np.array([describe(name, float(v), spec) for v in distinct], dtype=object)
        words[rows] = said[codes]
    return words.reshape(chosen.column.shape)


def describe(feature: str, value: float, spec: FeatureSpec) -> str:
    """A feature and its value in plain words.

    Examples
    --------
    >>> spec = FeatureSpec(("pricing_page_view",), (7,), 14.0, ("phone",), ())
    >>> describe("n_pricing_page_view_7d", 3, spec)
    '3 pricing page views in the last 7 days'
    >>> describe("has_phone", 0, spec)
    'no phone given'
    >>> describe("days_since_last_event", 64.2, spec)
    'last activity 64 days ago'
    """
    missing = value != value  # NaN
    if feature in spec.lead_table_features:
        return spec.columns_spec.describe_value(feature, value)
    count = _COUNT.match(feature)
    if count and not feature.startswith("n_active_days"):
        what, window = count["what"], count["window"]
        noun = _noun(what, int(value) if not missing else 0)
        period = "in total" if window == "all" else f"in the last {window[:-1]} days"
        if feature == "n_unknown_type_events_all":
            return f"{_number(value)} events of types the taxonomy does not know"
        return (
            f"no {_noun(what, 2)} {period}" if value == 0 else f"{_number(value)} {noun} {period}"
        )
    if feature.startswith("has_"):
        field = feature[4:].replace("_", " ")
        return f"{field} given" if value >= 1 else f"no {field} given"
    if feature == "n_fields_provided":
        return f"{_number(value)} of {len(spec.profile_fields)} profile fields given"
    if feature == "share_fields_provided":
        return f"{value:.0%} of profile fields given"
    if feature == "email_is_corporate":
        if missing:
            return "no e-mail address given"
        return (
            "corporate e-mail address" if value >= 1 else "free e-mail address (gmail, yahoo, ...)"
        )
    if feature.startswith("days_since_"):
        return _recency(feature[len("days_since_") :], value)
    if feature.startswith("n_active_days_"):
        window = feature[len("n_active_days_") :]
        period = "in total" if window == "all" else f"in the last {window[:-1]} days"
        return f"active on {_number(value)} day{'s' if value != 1 else ''} {period}"
    if feature == "events_per_active_day":
        return "no activity yet" if missing else f"{value:.1f} events per active day"
    if feature == "trend_7d_vs_prior_30d":
        direction = "up" if value >= 1 else "down"
        return f"activity {direction} ({value:.1f}x) in the last 7 days against the 30 before"
    if feature == "n_distinct_event_types":
        return f"{_number(value)} different kinds of activity"
    if feature == "n_distinct_channels":
        return f"active through {_number(value)} channel{'s' if value != 1 else ''}"
    if feature.startswith("decayed_"):
        what = feature[len("decayed_") :].replace("_events", "").replace("_", " ")
        half_life = f"{spec.decay_half_life_days:g}"
        return f"recent {what} activity (score {value:.1f}, half-life {half_life} days)"
    if feature.startswith(("rate_vs_usual_", "trend_", "account_")):
        return _change_or_account(feature, value)
    return f"{feature.replace('_', ' ')} = {value:g}"


_RATE_VS_USUAL = re.compile(r"^rate_vs_usual_(?P<what>\w+?)_(?P<days>\d+)d$")
_TREND = re.compile(r"^trend_(?P<what>\w+?)_(?P<days>\d+)d_vs_prior_(?P<prior>\d+)d$")
_ACCOUNT_COUNT = re.compile(r"^account_n_(?P<what>\w+?)_(?P<window>\d+d|all)$")


def _activity(what: str) -> str:
    return "activity" if what == "events" else f"{what} activity"


def _change_or_account(feature: str, value: float) -> str:
    """The change features (logs of rate ratios, told as multiples) and the account
    roll-ups (what the lead's colleagues did), in words."""
    if match := _RATE_VS_USUAL.match(feature):
        return (
            f"{_activity(match['what'])} in the last {match['days']} days at "
            f"{np.exp(value):.1f}x the lead's usual rate"
        )
    if match := _TREND.match(feature):
        return (
            f"{_activity(match['what'])} in the last {match['days']} days at "
            f"{np.exp(value):.1f}x the {match['prior']} days before"
        )
    if match := _ACCOUNT_COUNT.match(feature):
        window = match["window"]
        period = "in total" if window == "all" else f"in the last {window[:-1]} days"
        label = {"hard": "hard conversions", "soft": "soft conversions"}.get(
            match["what"], f"{match['what']} events"
        )
        return f"{_number(value)} {label} by colleagues at the account {period}"
    if feature.startswith("account_days_since_last_"):
        kind = feature[len("account_days_since_last_") :]
        label = {"hard": "hard conversion", "soft": "soft conversion"}.get(kind, kind)
        if value != value:
            return f"no {label} by a colleague at the account yet"
        return f"a colleague's last {label} {_ago(value)}"
    if feature == "account_contacts":
        return f"{_number(value)} other contact{'s' if value != 1 else ''} at the account"
    if feature.startswith("account_active_contacts_"):
        days = feature[len("account_active_contacts_") : -1]
        return f"{_number(value)} colleague(s) at the account active in the last {days} days"
    if feature == "account_decayed_events_total":
        return f"colleagues' recent activity at the account (score {value:.1f})"
    return f"{feature.replace('_', ' ')} = {value:g}"


def _ago(days: float) -> str:
    if days < 1:
        return "today"
    whole = int(round(days))
    return f"{whole} day{'s' if whole != 1 else ''} ago"


def _recency(what: str, value: float) -> str:
    if what == "last_event":
        return "no activity yet" if value != value else f"last activity {_ago(value)}"
    if what == "first_event":
        return "no activity yet" if value != value else f"first activity {_ago(value)}"
    if what == "created":
        return "creation date unknown" if value != value else f"lead created {_ago(value)}"
    kind = what.replace("last_", "")
    label = {"hard": "hard conversion", "soft": "soft conversion", "engagement": "engagement"}.get(
        kind, kind.replace("_", " ")
    )
    return f"no {label} yet" if value != value else f"last {label} {_ago(value)}"


def _noun(what: str, count: int) -> str:
    words = what.replace("_", " ")
    if what in ("hard", "soft"):
        words = f"{what} conversion"
    elif what == "events":
        words = "event"
    return words if count == 1 else _plural(words)


def _plural(words: str) -> str:
    if words.endswith(("s", "x", "ch", "sh")):
        return words + "es"
    if words.endswith("y") and not words.endswith(("ay", "ey", "oy", "uy")):
        return words[:-1] + "ies"
    return words + "s"


def _number(value: float) -> str:
    return f"{int(value):,}" if value == int(value) else f"{value:,.1f}"
