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

A profile column a request leaves out is a field the lead has not given, as an
empty cell is in batch. A request that breaks the contract (no rows, no or an
empty ``lead_id``, a time that is not one) is answered by ``mlflow models
serve`` with HTTP 400 and one line naming the column, never a stack trace.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import mlflow.pyfunc
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from intent_model.errors import InputError, IntentModelError
from intent_model.events.features import FeatureSpec
from intent_model.events.stream import build_features
from intent_model.io.config import ColumnMapping, Config
from intent_model.io.validate import PROVIDED_AT_SUFFIX, as_utc
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
        try:
            as_of = request_time((params or {}).get("as_of") or None)
            frame = pd.DataFrame(model_input)
            if frame.empty:
                raise InputError(
                    f"{REQUEST_SOURCE}: no rows; send the lead's events as rows (lead_id, "
                    "timestamp, event_type, ...) or one row with its profile"
                )
            return pyfunc_scores(self.model, self.metadata, frame, self.version, as_of)
        except IntentModelError as error:
            raise RequestError(one_line(str(error))) from None


class RequestError(MlflowException):
    """A request that breaks the input contract: HTTP 400 with one line.

    MLflow's scoring server prefixes the whole request's text to the message of an
    error raised while predicting; the message of this one stays the line it was
    made with, so the answer names the column at fault and nothing else.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, error_code=INVALID_PARAMETER_VALUE)

    @property
    def message(self) -> str:
        return self._line

    @message.setter
    def message(self, value: str) -> None:
        if not hasattr(self, "_line"):
            self._line = value


def one_line(message: str) -> str:
    r"""An input error as one line for a request: its findings joined, the batch advice
    (quarantine, file dialects) left out.

    Examples
    --------
    >>> one_line("<DataFrame>: bad rows\n  column 'lead_id' is empty in 1 row(s): row 0\n"
    ...          "Fix these rows, or pass --on-bad-rows quarantine")
    "request: bad rows: column 'lead_id' is empty in 1 row(s): row 0"
    """
    lines = [line.strip() for line in message.replace("<DataFrame>", REQUEST_SOURCE).splitlines()]
    kept = [line for line in lines if line and not line.startswith("Fix these rows")]
    return kept[0] + "".join(
        (": " if i == 1 else "; ") + line for i, line in enumerate(kept[1:], 1)
    )


def request_time(as_of: str | None) -> pd.Timestamp | None:
    """The request's ``as_of`` parameter as a UTC time (None: now)."""
    if as_of is None:
        return None
    try:
        return as_utc(as_of)
    except (ValueError, TypeError):
        raise InputError(
            f"{REQUEST_SOURCE}: params as_of = {as_of!r} is not a time; give an ISO-8601 time "
            "such as 2025-02-01T00:00:00Z"
        ) from None


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
    # A profile column the request leaves out is a field not given, as an empty cell is.
    expected = [c for c in event_request_columns(info.feature_spec) if c not in EVENT_COLUMNS]
    rows = rows.reindex(columns=[*rows.columns, *(c for c in expected if c not in rows)])
    profile = [c for c in rows.columns if c not in EVENT_COLUMNS]
    leads = None
    if profile:
        if rows["lead_id"].isna().any():
            raise InputError(f"{REQUEST_SOURCE}: column 'lead_id' is empty in a row")
        # Profile values repeated on every row of a lead, or given on one: the first given.
        leads = rows.groupby("lead_id", sort=False)[profile].first().reset_index()
    as_of = as_of if as_of is not None else pd.Timestamp.now(tz="UTC").floor("s")
    # A request names its columns as the signature does (ours), whatever the training files
    # called them.
    config = dataclasses.replace(config, columns=ColumnMapping())
    return build_features(events, leads, as_of, config, info.feature_spec, info.taxonomy, jobs=1)
