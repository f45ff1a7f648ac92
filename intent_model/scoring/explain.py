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
features' values, and its text shows the feature that pushed most. The
concept and the words come from the feature's family
(:mod:`intent_model.events.families`), which says only raw quantities of the
lead's events: a smoothed ratio is told through the counts it is made of.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from intent_model.events.features import FeatureSpec
from intent_model.modeling.model import IntentModel
from intent_model.modeling.pipeline import CategoryCodes, FeatureSubset
from intent_model.scoring.treeshap import tree_shap

POSITIVE_REASONS = 3
NEGATIVE_REASONS = 2


@dataclass(frozen=True)
class Explanation:
    """Per-row contributions (calibrated log-odds) of each feature, and the base value."""

    contributions: pd.DataFrame
    base_value: float


def explain(model: IntentModel, features: pd.DataFrame) -> Explanation:
    """Exact contributions of every feature to each row's calibrated logit: tree SHAP for
    a gradient boosting, the linear terms for a logistic regression (on its standardised
    inputs, whose training means are zero); a candidate that reads a subset of the
    features gives the others none.

    Examples
    --------
    The contributions add up to the score: ``base_value + contributions.sum(axis=1)``
    equals ``logit(p_hard)`` for sigmoid calibration.
    """
    estimator = model.classifier.estimator_
    steps = list(estimator.steps) if hasattr(estimator, "steps") else [("model", estimator)]
    columns = list(model.feature_names)
    if isinstance(steps[0][1], FeatureSubset):
        columns = list(steps.pop(0)[1].columns)
    aligned = features[columns].to_numpy(dtype=np.float32)
    final = steps[-1][1]
    if isinstance(final, LogisticRegression):
        values, base = _linear_terms(steps, aligned, columns)
    else:
        values, base = _tree_terms(steps, pd.DataFrame(aligned, columns=columns))
    calibrator = model.classifier.calibrator_
    if not isinstance(calibrator, IsotonicRegression):
        slope = float(calibrator.coef_[0, 0])
        values = values * slope
        base = base * slope + float(calibrator.intercept_[0])
    every = np.zeros((len(features), len(model.feature_names)))
    position = {name: j for j, name in enumerate(model.feature_names)}
    every[:, [position[c] for c in columns]] = values
    return Explanation(
        contributions=pd.DataFrame(every, columns=model.feature_names, index=features.index),
        base_value=base,
    )


def _tree_terms(steps: list, inputs: pd.DataFrame) -> tuple[np.ndarray, float]:
    """Each input's tree SHAP value in the gradient boosting's log-odds, and the base value.
    A categorical column's code gives its value to the indicator of the row's category
    (:meth:`CategoryCodes.spread`)."""
    coded = None
    for _, step in steps[:-1]:
        if isinstance(step, CategoryCodes):
            coded = (step, inputs)
        inputs = step.transform(inputs)
    booster = steps[-1][1]
    encoded, order = np.asarray(inputs, dtype=np.float64), np.arange(inputs.shape[1])
    if getattr(booster, "_preprocessor", None) is not None:
        # The booster's trees read its categorical columns first (as their category's
        # position), then the others.
        categorical = np.asarray(booster.is_categorical_, dtype=bool)
        encoded = booster._preprocessor.transform(inputs)
        order = np.r_[np.flatnonzero(categorical), np.flatnonzero(~categorical)]
    explainer = tree_shap(booster)
    values = np.zeros((len(encoded), len(order)))
    values[:, order] = explainer.shap_values(encoded)
    if coded is not None:
        values = coded[0].spread(values, coded[1])
    return values, explainer.expected_value


def _linear_terms(steps: list, values: np.ndarray, columns: list[str]):
    """Each input's term in a logistic regression's log-odds (an imputed value's missing
    indicator counts for its input), and the intercept."""
    # As the pipeline learnt them: by name (the imputer knows its inputs' names).
    inputs = pd.DataFrame(values.astype(float), columns=columns)
    names = np.asarray(columns, dtype=object)
    for _, step in steps[:-1]:
        names = step.get_feature_names_out(names)
        inputs = step.transform(inputs)
    regression = steps[-1][1]
    terms = np.asarray(inputs) * regression.coef_[0]
    source = {c: j for j, c in enumerate(columns)}
    per_input = np.zeros((len(values), len(columns)))
    for k, name in enumerate(names):
        name = str(name).removeprefix("missingindicator_")
        per_input[:, source[name]] += terms[:, k]
    return per_input, float(regression.intercept_[0])


def concept_of(feature: str, spec: FeatureSpec) -> str:
    """The concept a feature belongs to (its family's grouping): all windows of one count
    share one concept, and all features of one leads-table column too."""
    return spec.meanings[feature].concept


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
    words = _words(chosen, features, spec, text)
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
    words = _words(chosen, features, spec, wording.get("text"))
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


def _words(chosen: _Chosen, features: pd.DataFrame, spec: FeatureSpec | None, text) -> np.ndarray:
    """The words of every slot (an object array shaped like ``chosen.column``)."""
    if text is not None:  # a table's wording reads the row's raw value: per cell
        rows, slots = np.nonzero(chosen.shown)
        words = np.full(chosen.column.shape, "", dtype=object)
        for row, slot in zip(rows, slots, strict=True):
            name = chosen.names[chosen.column[row, slot]]
            words[row, slot] = text(int(row), name, float(chosen.value[row, slot]))
        return words
    # A feature's words read the same for the same values of the features they quote: say
    # each distinct combination once.
    columns = chosen.column.ravel()
    row_of = np.repeat(np.arange(chosen.column.shape[0]), chosen.column.shape[1])
    words = np.empty(len(columns), dtype=object)
    for column in np.unique(columns):
        cells = np.flatnonzero(columns == column)
        name = chosen.names[column]
        reads = spec.meanings[name].reads
        values = features[list(reads)].to_numpy(dtype=float)[row_of[cells]]
        distinct, codes = np.unique(values, axis=0, return_inverse=True, equal_nan=True)
        said = np.array([spec.say(name, tuple(map(float, v))).text for v in distinct], dtype=object)
        words[cells] = said[codes.ravel()]
    return words.reshape(chosen.column.shape)
