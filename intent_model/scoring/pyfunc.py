"""The MLflow face of a trained model: ``mlflow.pyfunc.load_model(uri).predict(features)``.

MLflow loads it from ``mlflow_entry.py`` (models from code, no cloudpickle)
with the bundle's ``model.skops`` and ``metadata.json`` as artifacts. The
model file is checked against its SHA-256 and loaded as a bundle's is: a
skops archive of known types, never a pickle.

``predict`` takes a features table (``intent_model.build_features`` with the
model's spec; an optional ``lead_id`` column is carried through), or for a
model trained on a CRM table, rows of such a table as they are, and returns
the scoring contract: ``p_hard, intent, score, tier, rank, top_reasons,
next_action, model_version``.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from intent_model.modeling.bundle import load_checked_model
from intent_model.modeling.metadata import ModelInfo
from intent_model.modeling.tracking import registered_version

ENTRY_POINT = Path(__file__).with_name("mlflow_entry.py")


class LeadIntentPyfunc(mlflow.pyfunc.PythonModel):
    """Scores a features table with the bundle's model, reasons and playbook."""

    def load_context(self, context) -> None:
        metadata = json.loads(Path(context.artifacts["metadata"]).read_text())
        model_path = Path(context.artifacts["model"])
        self.metadata = metadata
        self.model = load_checked_model(model_path, metadata, str(model_path.parent))
        self.version = registered_version(metadata)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return pyfunc_scores(self.model, self.metadata, pd.DataFrame(model_input), self.version)


def pyfunc_scores(
    model, metadata: dict, features: pd.DataFrame, version: str | None = None
) -> pd.DataFrame:
    """The pyfunc output for a features table (also the signature's output example)."""
    from intent_model.io.config import config_from_dict
    from intent_model.scoring.from_table import encode_table, score_table_rows
    from intent_model.scoring.output import add_rank, score_features

    frame = features.reset_index(drop=True)
    config = config_from_dict(metadata["config"], source="model metadata")
    info = ModelInfo(metadata, registered_version=version)
    if info.is_table_model:
        # A table model takes the table's own rows and encodes them itself.
        encoded, _ = encode_table(info.table_spec, frame, "model input", None)
        scored = score_table_rows(model, info.table_spec, frame, encoded, config)
    else:
        scored = score_features(model, frame, info.feature_spec, config)
    if "lead_id" in frame:
        scored.insert(0, "lead_id", frame["lead_id"].astype(str).to_numpy())
    scored = add_rank(scored)
    scored["model_version"] = info.version
    return scored
