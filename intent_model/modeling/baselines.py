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
                column = f"n_{event_type}_{days}d"
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
