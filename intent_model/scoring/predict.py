"""Batch scoring (``intent_model.predict``): every lead in, one row per lead out.

The rows are those of :mod:`intent_model.scoring.output`. No lead is dropped:
the leads counted in are checked against the rows going out before anything
is written, and the file is written atomically.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from intent_model.errors import InputError, ModelError
from intent_model.events.features import FeatureSpec
from intent_model.events.inputs import EventsInput, LeadsInput, Progress
from intent_model.events.stream import FeatureStream
from intent_model.events.taxonomy import describe_unknown, load_taxonomy
from intent_model.io.config import Config, TaxonomyConfig, with_columns
from intent_model.io.load import load_leads
from intent_model.io.validate import CheckedTable
from intent_model.modeling.drift import (
    DriftMonitor,
)
from intent_model.runtime import StageTimes, thread_budget
from intent_model.scoring.from_table import predict_table_scores
from intent_model.scoring.loaded import LoadedModel, load_model
from intent_model.scoring.output import event_lead_scores, output_id_column, output_rows
from intent_model.scoring.population import (
    NOT_YET,
    describe_population,
    population_of,
)
from intent_model.scoring.result import (
    PredictionResult,
    check_every_lead_scored,
    warn_drift,
    write_scores,
)


class UnseenEventTypesWarning(UserWarning):
    """Scoring data has event types the model's taxonomy does not know (counted as engagement)."""


def predict(
    model: LoadedModel | str | Path,
    events: EventsInput | None = None,
    leads: LeadsInput = None,
    out: str | Path | None = None,
    as_of: str | pd.Timestamp | None = None,
    config: Config | None = None,
    *,
    previous: str | Path | pd.DataFrame | None = None,
    columns: Mapping[str, str] | None = None,
    tracking_uri: str | None = None,
    workdir: str | Path | None = None,
    progress: Progress | None = None,
    report: str | Path | None = None,
) -> PredictionResult:
    """Score every lead: ``p_hard``, intent, score, tier, rank, reasons and next action.

    Parameters
    ----------
    model : LoadedModel, path or MLflow URI
    events, leads
        As for training; every lead in either is scored (leads with no events
        before ``as_of`` from their profile alone, flagged in ``scored_from``).
        A model trained on a CRM table scores a lead table alone (no events;
        ``as_of`` then defaults to just after the table's latest date).
    out : path, optional
        ``.parquet`` or ``.csv`` to write atomically.
    as_of : str or Timestamp, optional
        Score as of this moment (events strictly before it); defaults to one
        second after the latest event. Always written into the output.
    config : Config, optional
        Column mapping, bad-row policy, playbook texts, reasons per lead.
    previous : path or DataFrame, optional
        Last run's output: adds ``trend`` (rising / steady / falling / new).
    columns : mapping, optional
        Our column names to yours, like the CLI's flags (``{"lead_id": "Prospect ID"}``).
    report : path, optional
        Also write a self-contained HTML page of the run (tiers, the top leads with their
        reasons, drift, the model's figures) for a person to open in a browser.

    Returns
    -------
    PredictionResult
    """
    config = with_columns(config, columns)
    with thread_budget(config.runtime.jobs) as cores:
        config = config.replace(runtime=dataclasses.replace(config.runtime, jobs=cores))
        times = StageTimes()
        with times.stage("load model"):
            loaded = model if isinstance(model, LoadedModel) else load_model(model, tracking_uri)
        result = _predict(
            loaded, events, leads, out, as_of, config, previous, workdir, progress, times
        )
    if report is not None:
        from intent_model.modeling.report import write_page
        from intent_model.scoring.report import scoring_report

        write_page(scoring_report(result, loaded), report)
    return result


def _predict(
    loaded: LoadedModel, events, leads, out, as_of, config, previous, workdir, progress, times
) -> PredictionResult:
    """``predict`` within the run's thread budget (``config.runtime.jobs`` is resolved)."""
    if loaded.info.is_table_model or events is None:
        return predict_table_scores(loaded, events, leads, out, as_of, config, previous, times)
    if list(loaded.model.feature_names) != loaded.spec.feature_names:
        raise ModelError(
            f"{loaded.source}: the model's feature list does not match its feature spec; "
            "the bundle is inconsistent, retrain it"
        )
    # The leads table is read and validated once, here, and handed on.
    lead_table = (
        load_leads(leads, config) if isinstance(leads, str | Path | pd.DataFrame) else leads
    )
    _check_profile_columns(loaded.spec, lead_table)
    _warn_other_taxonomy(loaded, config)
    run = _score_every_lead(loaded, events, lead_table, as_of, config, workdir, progress, times)
    with times.stage("rank"):
        scored, status, skipped = _population(run.scored, run.lead_table, run.as_of, loaded, config)
        scores = output_rows(scored, status, run.as_of, loaded.version, config, previous)
    _check_counts(scores, run.n_leads_in, run.lead_table, skipped)
    result = PredictionResult(
        id_column=output_id_column(config),
        scores=scores,
        as_of=run.as_of,
        model_version=loaded.version,
        n_leads_in=run.n_leads_in,
        accounting=run.accounting,
        unknown_types=run.unknown_types,
        population=describe_population(
            scores["intent"], len(skipped), converted_days(loaded, config)
        ),
        stage_seconds=times.seconds,
        **run.counts,
    )
    if out is not None:
        with times.stage("write"):
            write_scores(result, out)
    return result


@dataclass
class _ScoringRun:
    """Every lead's scores, unranked, with what the run read and saw."""

    scored: pd.DataFrame
    as_of: pd.Timestamp
    n_leads_in: int
    lead_table: CheckedTable | None
    accounting: list[str]
    unknown_types: pd.DataFrame
    counts: dict[str, Any]


def _score_every_lead(
    loaded: LoadedModel,
    events: EventsInput,
    lead_table: CheckedTable | None,
    as_of: str | pd.Timestamp | None,
    config: Config,
    workdir: str | Path | None,
    progress: Progress | None,
    times: StageTimes,
) -> _ScoringRun:
    """Features chunk by chunk, each chunk scored as it comes, drift watched on the way."""
    spec = loaded.spec
    parts, n_leads_in = [], 0
    reference = loaded.info.drift_reference
    monitor = DriftMonitor(reference) if reference else None
    stream = FeatureStream(
        events, lead_table, as_of, config, spec, loaded.taxonomy, workdir=workdir
    )
    with contextlib.ExitStack() as running:
        with times.stage("read"):
            running.enter_context(stream)
        _warn_unseen(stream.events.unknown_types)
        chunks = iter(stream.chunks(progress))
        while True:
            with times.stage("features"):
                features = next(chunks, None)
            if features is None:
                break
            n_leads_in += len(features)
            scored_chunk = event_lead_scores(loaded.model, features, spec, config, times)
            if monitor is not None:
                with times.stage("drift"):
                    monitor.add(features, scored_chunk["p_hard"].to_numpy())
            parts.append(scored_chunk)
    accounting = [stream.events.checked.accounting()]
    if stream.lead_table is not None:
        accounting.append(stream.lead_table.accounting())
    accounting += [f"rejected rows and their reasons: {p}" for p in stream.quarantine_files]
    unknown = stream.events.unknown_types
    n_events = max(stream.events.checked.n_used, 1)
    counts = {
        "n_duplicate_events": stream.n_duplicate_events,
        "n_events_at_or_after_as_of": stream.n_events_at_or_after_as_of,
        "unknown_type_share": float(unknown["n_rows"].sum()) / n_events if len(unknown) else 0.0,
        "drift": monitor.report(spec) if monitor is not None else None,
    }
    warn_drift(counts["drift"], counts["unknown_type_share"])
    return _ScoringRun(
        scored=pd.concat(parts, ignore_index=True),
        as_of=stream.as_of,
        n_leads_in=n_leads_in,
        lead_table=stream.lead_table,
        accounting=accounting,
        unknown_types=unknown,
        counts=counts,
    )


def _warn_other_taxonomy(loaded: LoadedModel, config: Config) -> None:
    # Only a taxonomy the user gave can differ on purpose; the defaults say nothing.
    configured = load_taxonomy(config.taxonomy)
    given = config.taxonomy != TaxonomyConfig()
    if given and dict(configured.classes) != dict(loaded.taxonomy.classes):
        warnings.warn(
            "the config's taxonomy differs from the one the model was trained with; scoring "
            "uses the model's (retrain to change it)",
            UserWarning,
            stacklevel=3,
        )


def _population(
    scored: pd.DataFrame,
    lead_table: CheckedTable | None,
    as_of: pd.Timestamp,
    loaded: LoadedModel,
    config: Config,
) -> tuple[pd.DataFrame, np.ndarray, pd.Index]:
    """Drop the leads created after ``as_of``; tell open, converted and closed leads apart.

    Returns the scored rows kept, their status, and the ids of the leads skipped.
    """
    status = population_of(
        scored["lead_id"],
        scored["_n_events"].to_numpy(),
        scored["_days_since_last_hard"].to_numpy(dtype=float),
        lead_table.frame if lead_table is not None else None,
        as_of,
        exclude_converted_days=converted_days(loaded, config),
        closed_values=config.predict.closed_values,
        score_all=config.predict.score == "all",
    )
    not_yet = status == NOT_YET
    skipped = pd.Index(scored.loc[not_yet, "lead_id"])
    return scored.loc[~not_yet].reset_index(drop=True), status[~not_yet], skipped


def converted_days(loaded: LoadedModel, config: Config) -> float | None:
    """Days before as_of within which a hard conversion means converted (config, else the
    model's label horizon)."""
    if config.predict.exclude_converted_days is not None:
        return config.predict.exclude_converted_days
    return loaded.info.horizon_days


def _check_profile_columns(spec: FeatureSpec, lead_table: CheckedTable | None) -> None:
    needed = [*spec.profile_fields, *(c.name for c in spec.table_columns)]
    if not needed:
        return
    if lead_table is None:
        raise InputError(
            "the model uses columns of a leads table ("
            + ", ".join(needed)
            + "); pass the leads table too (--leads), or every lead would look like it gave "
            "no information"
        )
    missing = [f for f in needed if f not in lead_table.frame.columns]
    if missing:
        raise InputError(
            f"the leads table lacks profile column(s) the model was trained with: "
            f"{', '.join(missing)}; map them with [columns] or retrain without them"
        )


def _warn_unseen(unknown: pd.DataFrame) -> None:
    if len(unknown):
        warnings.warn(
            "event types the model's taxonomy does not know, counted as engagement: "
            + describe_unknown(unknown),
            UnseenEventTypesWarning,
            stacklevel=4,
        )


def _check_counts(
    scores: pd.DataFrame, n_leads_in: int, lead_table: CheckedTable | None, skipped: pd.Index
) -> None:
    problems = []
    if len(scores) + len(skipped) != n_leads_in:
        problems.append(
            f"{n_leads_in:,} leads in but {len(scores):,} rows out and {len(skipped):,} "
            "not yet created"
        )
    check_every_lead_scored(scores, lead_table, problems, skipped)
