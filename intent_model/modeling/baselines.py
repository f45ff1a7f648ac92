"""The points rule marketing teams write by hand, as a baseline every report shows.

Points per event type (a demo request is worth more than a page view), with
recency decay (an event in the last 7 days counts fully, in the 30 days
before half, in the 90 days before a quarter), plus a bonus for the
information the lead gave (phone, company, job title, corporate e-mail, ...).
Nothing is learned from the labels: :class:`PointsRule` only turns points
into a monotone score; calibration happens outside, as for every model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from intent_model.events.families import count_name

# Typical lead-scoring sheet values.
EVENT_POINTS = {
    "demo_request": 30,
    "price_quote_request": 30,
    "contact_form_submit": 25,
    "free_trial_signup": 25,
    "sales_call": 25,
    "purchase": 20,
    "pricing_page_view": 10,
    "add_to_cart": 10,
    "case_study_view": 5,
    "webinar_registration": 5,
    "whitepaper_download": 5,
    "ebook_download": 5,
    "email_click": 3,
    "product_page_view": 2,
    "newsletter_signup": 2,
    "page_view": 1,
    "email_open": 1,
}
FIELD_POINTS = {
    "has_phone": 10,
    "has_company": 5,
    "has_job_title": 5,
    "has_budget": 10,
    "has_timeline": 10,
    "email_is_corporate": 10,
}
RECENCY_WEIGHTS = ((7, 1.0), (30, 0.5), (90, 0.25))


class PointsRule(ClassifierMixin, BaseEstimator):
    """Hand-written lead score: points per event with recency decay, plus profile bonuses.

    ``predict_proba`` maps points to ``(0, 1)`` monotonically (``points /
    (points + scale)``); wrap it in a calibrator for real probabilities.

    Parameters
    ----------
    scale : float
        Points at which the score is 0.5.

    Examples
    --------
    >>> X = pd.DataFrame({"n_demo_request_7d": [1, 0], "n_demo_request_30d": [1, 0],
    ...                   "n_demo_request_90d": [1, 0], "has_phone": [1, 0]})
    >>> PointsRule().fit(X, [1, 0]).points(X).tolist()
    [40.0, 0.0]
    """

    def __init__(self, scale: float = 50.0) -> None:
        self.scale = scale

    def fit(self, X: pd.DataFrame, y=None) -> PointsRule:
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def points(self, X: pd.DataFrame) -> pd.Series:
        """The rule's points for each row."""
        check_is_fitted(self, "feature_names_in_")
        total = np.zeros(len(X))
        for event_type, value in EVENT_POINTS.items():
            previous_count = 0.0
            for days, weight in RECENCY_WEIGHTS:
                column = count_name(event_type, f"{days}d")
                if column not in X:
                    continue
                count = X[column].to_numpy(dtype=float)
                total += value * weight * (count - previous_count)
                previous_count = count
        for column, value in FIELD_POINTS.items():
            if column in X:
                total += value * np.nan_to_num(X[column].to_numpy(dtype=float))
        return pd.Series(total, index=X.index, name="points")

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        points = np.maximum(self.points(X).to_numpy(), 0.0)
        positive = points / (points + self.scale)
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


class TablePointsRule(ClassifierMixin, BaseEstimator):
    """The points rule a marketer writes for a CRM table, as a baseline.

    10 points for each engagement number at the top of its range (scaled by
    the lead's percentile among the training leads: more visits, more time on
    site), 10 for the most recent dates (fewer days since the last activity),
    and 5 per form field given. Nothing is learned from the labels.

    Parameters
    ----------
    engagement, recency, fields : tuple of str
        Feature columns: numbers where more means more interest, days since
        something (fewer is better), and 0/1 given-or-not flags.

    Examples
    --------
    >>> X = pd.DataFrame({"visits": [0, 5, 50], "days_since_last": [300, 30, 1],
    ...                   "has_phone": [0, 1, 1]})
    >>> rule = TablePointsRule(("visits",), ("days_since_last",), ("has_phone",)).fit(X)
    >>> rule.points(X).round(1).tolist()
    [0.0, 15.0, 25.0]
    """

    def __init__(
        self,
        engagement: tuple[str, ...] = (),
        recency: tuple[str, ...] = (),
        fields: tuple[str, ...] = (),
        scale: float = 50.0,
    ) -> None:
        self.engagement = engagement
        self.recency = recency
        self.fields = fields
        self.scale = scale

    def fit(self, X: pd.DataFrame, y=None) -> TablePointsRule:
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        levels = np.linspace(0, 1, 101)
        self.quantiles_ = {
            column: np.nanquantile(X[column].to_numpy(dtype=float), levels)
            if X[column].notna().any()
            else np.zeros_like(levels)
            for column in (*self.engagement, *self.recency)
        }
        return self

    def points(self, X: pd.DataFrame) -> pd.Series:
        """The rule's points for each row."""
        check_is_fitted(self, "quantiles_")
        total = np.zeros(len(X))
        for column in (*self.engagement, *self.recency):
            values = X[column].to_numpy(dtype=float)
            grid = self.quantiles_[column]
            share = np.interp(values, grid, np.linspace(0, 1, len(grid)))
            if column in self.recency:
                share = 1.0 - share
            total += 10.0 * np.nan_to_num(share)
        for column in self.fields:
            total += 5.0 * np.nan_to_num(X[column].to_numpy(dtype=float))
        return pd.Series(total, index=X.index, name="points")

    predict_proba = PointsRule.predict_proba
    predict = PointsRule.predict
