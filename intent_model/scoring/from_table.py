"""Scoring a CRM table with a model trained on one (``intent-model predict --leads F`` alone).

Same output contract as event scoring (:mod:`intent_model.scoring.output`): one row per
lead, none dropped, ranked, with reasons in the table's own words ("Lead
Source = Reference", "company_size not given"). A label column in the file is
ignored: the model never reads a column it was not trained on.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from intent_model.errors import ConfigError, InputError, ModelError
from intent_model.io.config import Config
from intent_model.io.validate import CheckedTable, as_utc
from intent_model.modeling.drift import DriftMonitor
from intent_model.modeling.model import IntentModel
from intent_model.runtime import StageTimes
from intent_model.scoring.output import output_id_column, output_rows, score_features
from intent_model.scoring.population import describe_population, status_of_leads
from intent_model.scoring.result import (
    PredictionResult,
    check_every_lead_scored,
    warn_drift,
    write_scores,
)
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


def predict_table_scores(
    loaded, events, leads, out, as_of, config, previous, times: StageTimes
) -> PredictionResult:
    """``intent_model.predict`` for a model trained on a lead table: every row scored,
    drift against the training table, open leads ranked, written when ``out`` is given."""
    if events is not None:
        raise ConfigError(
            f"{loaded.source} was trained on a lead table alone: score it with --leads only"
        )
    if leads is None:
        raise ConfigError("nothing to score: give events, or a lead table (--leads)")
    scored, moment, checked, features = predict_table(
        loaded, leads, as_utc(as_of) if as_of is not None else None, config, times
    )
    drift = None
    reference = loaded.info.drift_reference
    if reference:
        with times.stage("drift"):
            monitor = DriftMonitor(reference)
            monitor.add(features, scored["p_hard"].to_numpy())
            drift = monitor.report(groups=column_groups(loaded.info.table_spec))
        warn_drift(drift, 0.0)
    rows = checked.frame.reset_index(drop=True)
    label_col = loaded.info.label_col
    status = status_of_leads(
        len(scored),
        label=rows.get(label_col),
        rows=rows,
        closed_values=config.predict.closed_values,
        score_all=config.predict.score == "all",
    )
    with times.stage("rank"):
        scores = output_rows(scored, status, moment, loaded.version, config, previous)
    counted = (
        []
        if len(scores) == checked.n_used
        else [f"{checked.n_used:,} leads in but {len(scores):,} rows out"]
    )
    check_every_lead_scored(scores, checked, counted)
    result = PredictionResult(
        id_column=output_id_column(config),
        scores=scores,
        as_of=moment,
        model_version=loaded.version,
        n_leads_in=checked.n_used,
        accounting=[checked.accounting()],
        unknown_types=pd.DataFrame(columns=["event_type", "n_rows"]),
        drift=drift,
        population=describe_population(scores["intent"], 0, None),
        stage_seconds=times.seconds,
    )
    if out is not None:
        with times.stage("write"):
            write_scores(result, out)
    return result
