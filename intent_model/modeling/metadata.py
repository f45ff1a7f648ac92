"""One typed view of a bundle's ``metadata.json``: which kind of model, what it reads, its name.

Every reader of a model's metadata asks this view, so that the kind of model
(trained on events or on a CRM table) and its version label are decided in
one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from intent_model.events.features import FeatureSpec
from intent_model.events.taxonomy import Taxonomy
from intent_model.table.encoding import TableSpec

EVENTS_MODE = "events"
TABLE_MODE = "table"
DEFAULT_REGISTERED_MODEL = "lead-intent"


@dataclass(frozen=True)
class ModelInfo:
    """What a trained model's metadata says, typed.

    Parameters
    ----------
    metadata : dict
        The bundle's ``metadata.json`` as written by training.
    registered_version : str, optional
        The registry's version of the model when the metadata predates the
        registration (as the copy logged with the MLflow model does).
    """

    metadata: dict[str, Any]
    registered_version: str | None = None

    @property
    def mode(self) -> str:
        """``"events"`` or ``"table"`` (bundles without the key were trained on events)."""
        return self.metadata.get("mode", EVENTS_MODE)

    @property
    def is_table_model(self) -> bool:
        return self.mode == TABLE_MODE

    @property
    def feature_spec(self) -> FeatureSpec:
        return FeatureSpec.from_dict(self.metadata["feature_spec"])

    @property
    def table_spec(self) -> TableSpec:
        return TableSpec.from_dict(self.metadata["table_spec"])

    @property
    def taxonomy(self) -> Taxonomy:
        return Taxonomy.from_dict(self.metadata["taxonomy"])

    @property
    def horizon_days(self) -> float | None:
        """The label horizon of an event model (None for a table model)."""
        return self.metadata.get("horizon_days")

    @property
    def label_col(self) -> str | None:
        """The label column of a table model (None for an event model)."""
        return self.metadata.get("label_col")

    @property
    def drift_reference(self) -> dict[str, Any] | None:
        return self.metadata.get("drift_reference")

    @property
    def registered_model(self) -> str:
        return self.metadata.get("mlflow", {}).get("registered_model", DEFAULT_REGISTERED_MODEL)

    @property
    def version(self) -> str:
        """The ``model_version`` every score row carries: ``lead-intent v3`` once registered,
        else ``bundle <first 12 hex of the model's SHA-256>``."""
        registered = self.registered_version or self.metadata.get("mlflow", {}).get("version")
        if registered:
            return f"{self.registered_model} v{registered}"
        return f"bundle {self.metadata.get('model_sha256', '?')[:12]}"
