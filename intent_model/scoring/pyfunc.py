"""The MLflow face of a trained model: ``mlflow.pyfunc.load_model(uri).predict(features)``.

MLflow loads it from ``mlflow_entry.py`` (models from code, no cloudpickle)
with the bundle's ``model.skops`` and ``metadata.json`` as artifacts. The
model file is checked against its SHA-256 and loaded as a bundle's is: a
skops archive of known types, never a pickle.

``predict`` takes, for a model trained on events, either

* **events rows** (the form an online request takes: a lead that just filled
  in a form): ``lead_id, timestamp, event_type, channel`` and the lead's
  profile columns (``created_at``, ``email``, ``company``... as in the leads
  table), repeated on each of its rows or given on any one of them; a row
  without ``event_type`` carries only the profile. Features are built as of
  the ``as_of`` parameter (default: now), from the events strictly before it,
  by the same code as batch scoring, so the ``p_hard`` is batch's to the last
  digit; or
* a **features table** (``intent_model.build_features`` with the model's spec;
  an optional ``lead_id`` column is carried through);

or, for a model trained on a CRM table, rows of such a table as they are. It
returns the scoring contract: ``p_hard, intent, score, tier, rank,
top_reasons, next_action, model_version``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from intent_model.errors import InputError
from intent_model.events.features import FeatureSpec
from intent_model.events.training_set import build_features
from intent_model.io.config import ColumnMapping, Config
from intent_model.io.validate import PROVIDED_AT_SUFFIX
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
        as_of = (params or {}).get("as_of") or None
        return pyfunc_scores(
            self.model, self.metadata, pd.DataFrame(model_input), self.version, as_of
        )


EVENT_COLUMNS = ("lead_id", "timestamp", "event_type", "channel")
REQUEST_SOURCE = "request"


def event_request_columns(spec: FeatureSpec) -> tuple[str, ...]:
    """The columns of the events-rows form besides the features: the events' own, and
    the profile columns the model reads from the leads table."""
    profile = [(f, f"{f}{PROVIDED_AT_SUFFIX}") for f in spec.profile_fields]
    return (
        *EVENT_COLUMNS,
        "created_at",
        *[name for pair in profile for name in pair],
        *(c.name for c in spec.table_columns),
    )


def pyfunc_scores(
    model,
    metadata: dict,
    features: pd.DataFrame,
    version: str | None = None,
    as_of: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """The pyfunc output for a features table or events rows (also the signature's output
    example)."""
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
        if "event_type" in frame:
            frame = _features_of_requested_leads(frame, info, config, as_of).reset_index()
        scored = score_features(model, frame, info.feature_spec, config)
    if "lead_id" in frame:
        scored.insert(0, "lead_id", frame["lead_id"].astype(str).to_numpy())
    scored = add_rank(scored)
    scored["model_version"] = info.version
    return scored


def _features_of_requested_leads(
    rows: pd.DataFrame, info: ModelInfo, config: Config, as_of: str | pd.Timestamp | None
) -> pd.DataFrame:
    """Features, as of ``as_of`` (default now), of the leads whose events and profile the
    rows carry: the batch feature code on a log of a few rows."""
    if "lead_id" not in rows:
        raise InputError(f"{REQUEST_SOURCE}: events rows need a lead_id column")
    has_event = rows["event_type"].notna().to_numpy()
    events = rows.loc[has_event, [c for c in EVENT_COLUMNS if c in rows]]
    profile = [c for c in rows.columns if c not in EVENT_COLUMNS]
    leads = None
    if profile:
        # Profile values repeated on every row of a lead, or given on one: the first given.
        leads = rows.groupby("lead_id", sort=False)[profile].first().reset_index()
    as_of = as_of if as_of is not None else pd.Timestamp.now(tz="UTC").floor("s")
    # A request names its columns as the signature does (ours), whatever the training files
    # called them.
    config = dataclasses.replace(config, columns=ColumnMapping())
    return build_features(events, leads, as_of, config, info.feature_spec, info.taxonomy, jobs=1)
