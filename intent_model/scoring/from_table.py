"""Scoring a CRM table with a model trained on one (``intent-model predict --leads F`` alone).

Same output contract as event scoring (:mod:`intent_model.scoring.output`): one row per
lead, none dropped, ranked, with reasons in the table's own words ("Lead
Source = Reference", "company_size not given"). A label column in the file is
ignored: the model never reads a column it was not trained on.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from intent_model.errors import InputError, ModelError
from intent_model.io.config import Config
from intent_model.io.validate import CheckedTable
from intent_model.modeling.model import IntentModel
from intent_model.runtime import StageTimes
from intent_model.scoring.output import score_features
from intent_model.table.encoding import TableSpec, latest_moment
from intent_model.table.roles import load_lead_table

SCORED_FROM_TABLE = "table"


def encode_table(
    spec: TableSpec, frame: pd.DataFrame, source: str, as_of: pd.Timestamp | None
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Features of a lead table as the model's spec encodes them, and the as_of used.

    ``as_of`` defaults to one second after the latest date in the table's date
    columns (its export time), else now.
    """
    moment = as_of if as_of is not None else latest_moment(frame, spec)
    moment = moment if moment is not None else pd.Timestamp.now(tz="UTC").floor("s")
    try:
        return spec.encode(frame, moment), moment
    except KeyError as exc:
        missing = exc.args[0]
        raise InputError(
            f"{source}: the table lacks column(s) the model was trained with: "
            f"{', '.join(map(str, missing))}; map them with [columns] or retrain without them"
        ) from None


def column_groups(spec: TableSpec) -> dict[str, list[str]]:
    """Features by the table column they come from (and the field counts)."""
    groups: dict[str, list[str]] = {}
    for feature in spec.feature_names:
        groups.setdefault(spec.source_of(feature), []).append(feature)
    return groups


def score_table_rows(
    model: IntentModel,
    spec: TableSpec,
    frame: pd.DataFrame,
    features: pd.DataFrame,
    config: Config,
    times: StageTimes | None = None,
) -> pd.DataFrame:
    """``p_hard, intent, score, tier, top_reasons, next_action`` per row of a lead table."""
    return score_features(
        model,
        features.reset_index(drop=True),
        None,
        config,
        times,
        concept=spec.source_of,
        text=spec.describer(frame),
    )


def predict_table(
    loaded,
    leads: str | Path | pd.DataFrame | CheckedTable,
    as_of: pd.Timestamp | None,
    config: Config,
    times: StageTimes | None = None,
) -> tuple[pd.DataFrame, pd.Timestamp, CheckedTable, pd.DataFrame]:
    """Scores of every lead of a table (lead_id first, unranked), the as_of, the checked
    table and the features.

    Raises
    ------
    InputError
        Missing columns, repeated or empty ids, no rows.
    ModelError
        When the model is not a table model.
    """
    if not loaded.info.is_table_model:
        raise ModelError(f"{loaded.source} was trained on events: give the events too (--events)")
    times = times or StageTimes()
    with times.stage("read"):
        table = load_lead_table(leads, config)
    spec = loaded.info.table_spec
    with times.stage("features"):
        features, moment = encode_table(spec, table.frame, table.source, as_of)
    scored = score_table_rows(loaded.model, spec, table.frame, features, config, times)
    scored.insert(0, "lead_id", table.frame["lead_id"].astype(str).to_numpy())
    scored["scored_from"] = SCORED_FROM_TABLE
    return scored, moment, table.checked, features
