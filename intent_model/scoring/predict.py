"""Batch scoring (``intent_model.predict``): every lead in, one row per lead out.

The rows are those of :mod:`intent_model.scoring.output`. No lead is dropped:
the leads counted in are checked against the rows going out before anything
is written, and the file is written atomically.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from intent_model.errors import ConfigError, InputError, ModelError
from intent_model.events.features import FeatureSpec
from intent_model.events.taxonomy import Taxonomy, describe_unknown, load_taxonomy
from intent_model.events.training_set import EventsInput, FeatureStream, LeadsInput, Progress
from intent_model.io.config import Config, TaxonomyConfig, with_columns
from intent_model.io.database import is_database_url
from intent_model.io.files import write_table
from intent_model.io.load import load_leads
from intent_model.io.validate import CheckedTable, as_utc
from intent_model.modeling.bundle import load_bundle
from intent_model.modeling.drift import (
    SIGNIFICANT_PSI,
    UNKNOWN_TYPE_SHARE_WARNING,
    DriftMonitor,
    DriftWarning,
)
from intent_model.modeling.evaluate import TIER_NAMES
from intent_model.modeling.metadata import ModelInfo
from intent_model.modeling.model import IntentModel
from intent_model.runtime import StageTimes, thread_budget
from intent_model.scoring.output import event_lead_scores, output_rows
from intent_model.scoring.population import (
    NOT_YET,
    describe_population,
    population_of,
    status_of_leads,
)

MODEL_URI_PREFIXES = ("models:/", "runs:/", "models:", "mlflow-artifacts:")


class UnseenEventTypesWarning(UserWarning):
    """Scoring data has event types the model's taxonomy does not know (counted as engagement)."""


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


@dataclass
class PredictionResult:
    """Scores of every lead, and the account of the run."""

    scores: pd.DataFrame
    as_of: pd.Timestamp
    model_version: str
    n_leads_in: int
    accounting: list[str]
    unknown_types: pd.DataFrame
    n_duplicate_events: int = 0
    n_events_at_or_after_as_of: int = 0
    drift: pd.DataFrame | None = None
    unknown_type_share: float = 0.0
    out: Path | str | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    population: list[str] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        scores = self.scores
        tiers = scores["tier"].value_counts().reindex(list(TIER_NAMES), fill_value=0)
        intents = scores["intent"].value_counts()
        others = list(intents.index.difference(["hard", "soft"]))
        intents = intents.reindex(["hard", "soft", *others], fill_value=0)
        from_profile = int((scores["scored_from"] == "profile only").sum())
        from_table = bool((scores["scored_from"] == "table").all())
        lines = [
            f"Scored {len(scores):,} leads ({self.n_leads_in:,} in) as of {self.as_of} "
            f"with {self.model_version}.",
            "  intent: " + ", ".join(f"{k} {v:,}" for k, v in intents.items()),
            "  tier:   " + ", ".join(f"{k} {v:,}" for k, v in tiers.items()),
            f"  {from_profile:,} lead(s) had no events before as_of and were scored from "
            "their profile only"
            if not from_table
            else "  scored from the lead table's columns (no events)",
            *[f"  {line}" for line in self.population],
            *[f"  {line}" for line in self.accounting],
        ]
        if self.stage_seconds:
            times = StageTimes()
            times.seconds = dict(self.stage_seconds)
            lines.append(f"  {times.line()}")
        if self.n_events_at_or_after_as_of:
            lines.append(
                f"  {self.n_events_at_or_after_as_of:,} events at or after as_of were not used "
                "(features see only the past)"
            )
        if self.n_duplicate_events:
            lines.append(
                f"  {self.n_duplicate_events:,} duplicated events (same lead, time and type) "
                "kept as events"
            )
        if "trend" in scores:
            counts = scores["trend"].value_counts()
            lines.append("  trend:  " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        if len(self.unknown_types):
            lines.append(
                "  event types the model's taxonomy does not know (counted as engagement): "
                + describe_unknown(self.unknown_types)
            )
        if self.drift is not None and len(self.drift):
            lines.append("  drift against the training data (PSI; > 0.25 is a significant shift):")
            for row in self.drift.itertuples(index=False):
                worst = (
                    f", worst {row.worst_feature} {row.worst_psi:.3f}" if row.worst_feature else ""
                )
                lines.append(f"    {row.what:<15} {row.psi:.3f} {row.verdict}{worst}")
        if self.out:
            run = f" (run_id {self.run_id})" if is_database_url(str(self.out)) else ""
            lines.append(f"  written to {self.out}{run}")
        return "\n".join(lines)


def _write_scores(result: PredictionResult, out: str | Path) -> None:
    """Write the scores; a database table also gets the run's id, so that the jobs that
    read the table can tell one night's run from the next."""
    scores = result.scores
    if is_database_url(out):
        scores = scores.assign(run_id=result.run_id)
    result.out = write_table(scores, out)


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

    Returns
    -------
    PredictionResult
    """
    config = with_columns(config, columns)
    with thread_budget(config.runtime.jobs) as cores:
        config = config.replace(runtime=dataclasses.replace(config.runtime, jobs=cores))
        return _predict(
            model, events, leads, out, as_of, config, previous, tracking_uri, workdir, progress
        )


def _predict(
    model, events, leads, out, as_of, config, previous, tracking_uri, workdir, progress
) -> PredictionResult:
    """``predict`` within the run's thread budget (``config.runtime.jobs`` is resolved)."""
    times = StageTimes()
    with times.stage("load model"):
        loaded = model if isinstance(model, LoadedModel) else load_model(model, tracking_uri)
    if loaded.info.is_table_model or events is None:
        return _predict_table(loaded, events, leads, out, as_of, config, previous, times)
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
            _write_scores(result, out)
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
    _warn_drift(counts["drift"], counts["unknown_type_share"])
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


def _predict_table(
    loaded, events, leads, out, as_of, config, previous, times: StageTimes
) -> PredictionResult:
    from intent_model.scoring.from_table import column_groups, predict_table

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
        _warn_drift(drift, 0.0)
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
    _check_every_lead_scored(scores, checked, counted)
    result = PredictionResult(
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
            _write_scores(result, out)
    return result


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


def _warn_drift(drift: pd.DataFrame | None, unknown_share: float) -> None:
    shifted = (
        drift.loc[drift["psi"] > SIGNIFICANT_PSI, "what"].tolist() if drift is not None else []
    )
    if shifted:
        warnings.warn(
            f"significant drift against the training data (PSI > {SIGNIFICANT_PSI}) in: "
            f"{', '.join(shifted)}; check the inputs, and retrain if the shift is real",
            DriftWarning,
            stacklevel=4,
        )
    if unknown_share > UNKNOWN_TYPE_SHARE_WARNING:
        warnings.warn(
            f"{unknown_share:.1%} of events have types the model's taxonomy does not know "
            f"(more than {UNKNOWN_TYPE_SHARE_WARNING:.0%}); extend the taxonomy and retrain",
            DriftWarning,
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
    _check_every_lead_scored(scores, lead_table, problems, skipped)


def _check_every_lead_scored(
    scores: pd.DataFrame,
    lead_table: CheckedTable | None,
    problems: list[str] | None = None,
    skipped: pd.Index | None = None,
) -> None:
    """No lead id twice, and every lead of the leads table with a score (or skipped as not
    yet created); else nothing is written."""
    problems = list(problems or [])
    ids = scores["lead_id"]
    if ids.duplicated().any():
        problems.append(f"{int(ids.duplicated().sum()):,} lead ids scored twice")
    if lead_table is not None:
        expected = lead_table.frame["lead_id"].astype(str)
        if skipped is not None and len(skipped):
            expected = expected[~expected.isin(skipped)]
        absent = ~expected.isin(ids)
        if absent.any():
            problems.append(f"{int(absent.sum()):,} leads of the leads table have no score")
    if problems:
        raise ModelError("refusing to write scores: " + "; ".join(problems))
