"""A trained model loaded for scoring, from a bundle directory or an MLflow model URI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from intent_model.events.features import FeatureSpec
from intent_model.events.taxonomy import Taxonomy
from intent_model.io.config import Config
from intent_model.modeling.bundle import load_bundle
from intent_model.modeling.metadata import ModelInfo
from intent_model.modeling.model import IntentModel

MODEL_URI_PREFIXES = ("models:/", "runs:/", "models:", "mlflow-artifacts:")


@dataclass
class LoadedModel:
    """A trained model with its metadata, from a bundle directory or an MLflow URI."""

    model: IntentModel
    metadata: dict[str, Any]
    source: str

    @property
    def info(self) -> ModelInfo:
        """The typed view of the metadata: kind of model, specs, version label."""
        return ModelInfo(self.metadata)

    @property
    def spec(self) -> FeatureSpec:
        return self.info.feature_spec

    @property
    def taxonomy(self) -> Taxonomy:
        return self.info.taxonomy

    @property
    def version(self) -> str:
        return self.info.version


def load_model(source: str | Path, tracking_uri: str | None = None) -> LoadedModel:
    """Load a model you trust from a bundle directory or an MLflow model URI.

    Parameters
    ----------
    source : str or Path
        A bundle directory (``models/demo``), or
        ``models:/lead-intent/3``, ``models:/lead-intent@champion``, ``runs:/<id>/model``.
    tracking_uri : str, optional
        MLflow store for URIs; defaults to ``sqlite:///mlflow.db``.

    Notes
    -----
    Loading never runs code from the model's files: the model file is a
    skops archive whose every type is checked against the types intent_model
    models are made of, and a registered model is downloaded and read the
    same way (MLflow's loader, which runs the code file stored with the
    model, is not used). Bundles of the previous format (a pickle) are refused.
    """
    text = str(source)
    if text.startswith(MODEL_URI_PREFIXES):
        from intent_model.modeling import tracking

        uri = tracking_uri or Config().training.tracking_uri
        model, metadata = tracking.registered_bundle(uri, text)
        return LoadedModel(model=model, metadata=metadata, source=text)
    model, metadata = load_bundle(source)
    return LoadedModel(model=model, metadata=metadata, source=text)
