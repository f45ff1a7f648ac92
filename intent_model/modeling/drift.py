"""Drift between the data a model was trained on and the data it scores.

At training, the bundle stores a reference: decile bin edges and shares of
every feature and of ``p_hard``, taken at the latest held-out cutoff (one
cutoff, like a scoring run). At scoring, the same bins are counted chunk by
chunk and compared with the population stability index,
``PSI = sum((actual - expected) * ln(actual / expected))``.

Thresholds (the usual credit-scoring convention): below 0.10 stable, 0.10 to
0.25 a moderate shift worth a look, above 0.25 a significant shift: a
:class:`DriftWarning` says which feature families or the score moved. A share
of events of unknown types above 1% also warns: the taxonomy needs an update.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from intent_model.events.features import FEATURE_FAMILIES, FeatureSpec

N_BINS = 10
MODERATE_PSI = 0.10
SIGNIFICANT_PSI = 0.25
UNKNOWN_TYPE_SHARE_WARNING = 0.01
_FLOOR = 1e-4


class DriftWarning(UserWarning):
    """Scoring data differs markedly from the training data."""


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two distributions over the same bins.

    Examples
    --------
    >>> psi(np.array([0.5, 0.5]), np.array([0.5, 0.5]))
    0.0
    >>> round(psi(np.array([0.9, 0.1]), np.array([0.5, 0.5])), 3)
    0.879
    """
    p = np.maximum(np.asarray(expected, dtype=float), _FLOOR)
    q = np.maximum(np.asarray(actual, dtype=float), _FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def _edges(values: np.ndarray) -> list[float]:
    """Inner decile edges of the non-missing values (may be fewer for discrete features)."""
    present = values[~np.isnan(values)]
    if len(present) == 0:
        return []
    inner = np.quantile(present, np.linspace(0, 1, N_BINS + 1)[1:-1])
    return sorted({float(e) for e in inner})


def _bin_counts(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Counts per bin: ``len(edges) + 1`` value bins, then one bin for missing values."""
    missing = np.isnan(values)
    bins = np.searchsorted(np.asarray(edges), values[~missing], side="right")
    counts = np.bincount(bins, minlength=len(edges) + 1).astype(float)
    return np.append(counts, missing.sum())


def reference_summary(features: pd.DataFrame, p_hard: np.ndarray) -> dict[str, Any]:
    """The drift reference stored in a bundle's metadata."""
    summary: dict[str, Any] = {"n": int(len(features)), "features": {}}
    for name in features.columns:
        values = features[name].to_numpy(dtype=float)
        edges = _edges(values)
        counts = _bin_counts(values, edges)
        summary["features"][name] = {"edges": edges, "shares": (counts / counts.sum()).tolist()}
    edges = _edges(np.asarray(p_hard, dtype=float))
    counts = _bin_counts(np.asarray(p_hard, dtype=float), edges)
    summary["score"] = {"edges": edges, "shares": (counts / counts.sum()).tolist()}
    return summary


class DriftMonitor:
    """Counts scoring data into the reference bins, chunk by chunk; then reports PSI."""

    def __init__(self, reference: Mapping[str, Any]) -> None:
        self.reference = reference
        self._counts = {
            name: np.zeros(len(ref["shares"])) for name, ref in reference["features"].items()
        }
        self._score_counts = np.zeros(len(reference["score"]["shares"]))

    def add(self, features: pd.DataFrame, p_hard: np.ndarray) -> None:
        for name, ref in self.reference["features"].items():
            if name in features:
                values = features[name].to_numpy(dtype=float)
                self._counts[name] += _bin_counts(values, ref["edges"])
        self._score_counts += _bin_counts(
            np.asarray(p_hard, dtype=float), self.reference["score"]["edges"]
        )

    def feature_psi(self) -> pd.Series:
        """PSI of every feature."""
        return pd.Series(
            {
                name: psi(np.asarray(ref["shares"]), self._counts[name] / self._counts[name].sum())
                for name, ref in self.reference["features"].items()
                if self._counts[name].sum() > 0
            },
            name="psi",
        )

    def report(
        self, spec: FeatureSpec | None = None, groups: Mapping[str, list[str]] | None = None
    ) -> pd.DataFrame:
        """PSI per feature family (mean and worst feature) and of the score, with a verdict.

        ``groups`` replaces the families (a table model groups features by column).
        """
        per_feature = self.feature_psi()
        if groups is None:
            groups = {family: spec.names_of(family) for family in FEATURE_FAMILIES}
        rows = []
        for family, members in groups.items():
            names = [n for n in members if n in per_feature.index]
            if not names:
                continue
            values = per_feature[names]
            rows.append(
                {
                    "what": family,
                    "psi": float(values.mean()),
                    "worst_feature": str(values.idxmax()),
                    "worst_psi": float(values.max()),
                }
            )
        if self._score_counts.sum() > 0:
            score_psi = psi(
                np.asarray(self.reference["score"]["shares"]),
                self._score_counts / self._score_counts.sum(),
            )
            rows.append(
                {
                    "what": "score (p_hard)",
                    "psi": score_psi,
                    "worst_feature": "",
                    "worst_psi": score_psi,
                }
            )
        table = pd.DataFrame(rows)
        if len(table):
            table["verdict"] = np.select(
                [table["psi"] > SIGNIFICANT_PSI, table["psi"] > MODERATE_PSI],
                ["significant shift", "moderate shift"],
                default="stable",
            )
        return table
