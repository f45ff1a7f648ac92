"""The trained artifact: a calibrated classifier plus the decisions made on validation data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from intent_model.errors import ModelError
from intent_model.modeling.evaluate import assign_tiers
from intent_model.modeling.pipeline import CalibratedIntentClassifier

SCORE_COLUMNS = ("p_hard", "intent", "score", "tier")


@dataclass
class IntentModel:
    """What ``model.skops`` holds.

    Attributes
    ----------
    classifier : CalibratedIntentClassifier
    feature_names : list of str
        Columns the classifier expects, in order.
    threshold : float
        ``p_hard`` at or above it means ``intent = "hard"``.
    tier_bounds : dict
        Lowest ``p_hard`` of tiers A, B and C.
    """

    classifier: CalibratedIntentClassifier
    feature_names: list[str]
    threshold: float
    tier_bounds: dict[str, float]

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of a hard conversion within the horizon."""
        return self.classifier.predict_proba(self._aligned(features))[:, 1]

    def score(self, features: pd.DataFrame) -> pd.DataFrame:
        """``p_hard``, ``intent`` (hard/soft), ``score`` (0-100) and ``tier`` per row."""
        p_hard = self.predict_proba(features)
        return pd.DataFrame(
            {
                "p_hard": p_hard,
                "intent": np.where(p_hard >= self.threshold, "hard", "soft"),
                "score": np.clip(np.round(p_hard * 100), 0, 100).astype(int),
                "tier": assign_tiers(p_hard, self.tier_bounds),
            },
            index=features.index,
        )

    def _aligned(self, features: pd.DataFrame) -> pd.DataFrame:
        missing = [name for name in self.feature_names if name not in features.columns]
        if missing:
            raise ModelError(
                f"the model expects {len(missing)} feature(s) the data does not have: "
                f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}"
            )
        return features[self.feature_names].astype(np.float32)
