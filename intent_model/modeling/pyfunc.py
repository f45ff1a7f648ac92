"""The MLflow face of a trained model: ``mlflow.pyfunc.load_model(uri).predict(features)``.

MLflow loads it from ``mlflow_entry.py`` (models from code, no cloudpickle)
with the bundle's ``model.joblib`` and ``metadata.json`` as artifacts. The
model file is checked against its SHA-256 before it is unpickled.
"""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import mlflow.pyfunc
import pandas as pd

from intent_model.errors import ModelError
from intent_model.modeling.bundle import sha256_of


class LeadIntentPyfunc(mlflow.pyfunc.PythonModel):
    """Scores a features table: ``p_hard``, ``intent``, ``score``, ``tier`` per row."""

    def load_context(self, context) -> None:
        metadata = json.loads(Path(context.artifacts["metadata"]).read_text())
        model_path = context.artifacts["model"]
        if sha256_of(model_path) != metadata["model_sha256"]:
            raise ModelError(f"{model_path}: SHA-256 does not match the model's metadata")
        self.metadata = metadata
        self.model = joblib.load(model_path)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return self.model.score(pd.DataFrame(model_input)).reset_index(drop=True)
